import {
  compareDecimalStrings,
  isAsciiDigit,
  isAsciiLowercaseLetter,
  isPrintableAscii,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/**
 * Alpine's apk version order: a port of apk-tools 2.x src/version.c (the apk in Alpine 3.x releases),
 * whose grammar is digit{.digit}...{letter}{_suffix{number}}...{-r#}. Like `apk version -t` it orders
 * any string: tokens are compared pairwise and a malformed tail only matters when everything before
 * it is equal. Numbers are compared by value at any length (apk's C int would overflow).
 */
const token = {
  invalid: -1,
  digitOrZero: 0,
  digit: 1,
  letter: 2,
  suffix: 3,
  suffixNumber: 4,
  revisionNumber: 5,
  end: 6,
} as const;
type Token = (typeof token)[keyof typeof token];

// apk-tools pre_suffixes (valued -4..-1, before "no suffix") and post_suffixes (0..4, after it).
const preSuffixes = ['alpha', 'beta', 'pre', 'rc'];
const postSuffixes = ['cvs', 'svn', 'git', 'hg', 'p'];

/** A token's value: a small integer, or a run of digits (a non-negative number of any size). */
type TokenValue = number | { readonly digits: string };

function compareValues(a: TokenValue, b: TokenValue): -1 | 0 | 1 {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a !== 'number' && typeof b !== 'number') return compareDecimalStrings(a.digits, b.digits);
  const small = (typeof a === 'number' ? a : b) as number;
  const large = (typeof a === 'number' ? b : a) as { digits: string };
  const order = small < 0 ? -1 : compareDecimalStrings(String(small), large.digits);
  return (typeof a === 'number' ? order : -order || 0) as -1 | 0 | 1;
}

/** A cursor over one version: the type of the token at `position`, as next_token() classified it. */
interface Tokenizer {
  readonly text: string;
  position: number;
  type: Token;
}

/** next_token(): classifies what follows, refusing a token type that may not follow the previous one. */
function classifyNext(cursor: Tokenizer): void {
  const { text } = cursor;
  const char = text[cursor.position];
  let next: Token = token.invalid;
  if (char === undefined) {
    next = token.end;
  } else if (
    (cursor.type === token.digit || cursor.type === token.digitOrZero) &&
    isAsciiLowercaseLetter(char)
  ) {
    next = token.letter;
  } else if (cursor.type === token.letter && isAsciiDigit(char)) {
    next = token.digit;
  } else if (cursor.type === token.suffix && isAsciiDigit(char)) {
    next = token.suffixNumber;
  } else {
    if (char === '.') next = token.digitOrZero;
    else if (char === '_') next = token.suffix;
    else if (char === '-' && text[cursor.position + 1] === 'r') {
      next = token.revisionNumber;
      cursor.position++;
    }
    cursor.position++;
  }
  if (
    next < cursor.type &&
    !(
      (next === token.digitOrZero && cursor.type === token.digit) ||
      (next === token.suffix && cursor.type === token.suffixNumber) ||
      (next === token.digit && cursor.type === token.letter)
    )
  ) {
    next = token.invalid;
  }
  cursor.type = next;
}

/** get_token(): reads the token of the current type, returns its value and classifies the next one. */
function readToken(cursor: Tokenizer): TokenValue {
  const { text } = cursor;
  if (cursor.position >= text.length) {
    cursor.type = token.end;
    return 0;
  }
  const start = cursor.position;
  let value: TokenValue;
  let nextType: Token | undefined;
  const kind = cursor.type === token.digitOrZero && text[start] !== '0' ? token.digit : cursor.type;
  switch (kind) {
    case token.digitOrZero:
      // Leading zeros count against the number: "1.05" < "1.5" (Gentoo's rule).
      while (text[cursor.position] === '0') cursor.position++;
      value = -(cursor.position - start);
      nextType = token.digit;
      break;
    case token.digit: // also a component without leading zeros
    case token.suffixNumber:
    case token.revisionNumber:
      while (isAsciiDigit(text[cursor.position])) cursor.position++;
      value = { digits: text.slice(start, cursor.position) || '0' };
      break;
    case token.letter:
      value = text.charCodeAt(cursor.position);
      cursor.position++;
      break;
    case token.suffix: {
      const preIndex = preSuffixes.findIndex((suffix) => text.startsWith(suffix, start));
      const postIndex =
        preIndex === -1 ? postSuffixes.findIndex((suffix) => text.startsWith(suffix, start)) : -1;
      if (preIndex === -1 && postIndex === -1) {
        cursor.type = token.invalid;
        return -1;
      }
      value = preIndex !== -1 ? preIndex - preSuffixes.length : postIndex;
      cursor.position += (preIndex !== -1 ? preSuffixes[preIndex] : postSuffixes[postIndex])?.length ?? 0;
      break;
    }
    default:
      cursor.type = token.invalid;
      return -1;
  }
  if (cursor.position >= text.length) cursor.type = token.end;
  else if (nextType !== undefined) cursor.type = nextType;
  else classifyNext(cursor);
  return value;
}

/** apk_version_validate(): whether the whole version follows the grammar. */
export function isWellFormedAlpineVersion(version: string): boolean {
  const cursor: Tokenizer = { text: version, position: 0, type: token.digit };
  while (cursor.type !== token.end && cursor.type !== token.invalid) readToken(cursor);
  return cursor.type === token.end;
}

export function parseAlpineVersion(version: string): string {
  checkVersionText('alpine', version);
  if (!isPrintableAscii(version))
    throw invalidVersion('alpine', version, 'it contains a non-ASCII character');
  return version;
}

/**
 * apk_version_compare(). Every token read consumes at least one character, or ends the walk, so this
 * is linear in the shorter version.
 */
export function compareAlpineVersions(a: string, b: string): -1 | 0 | 1 {
  const left: Tokenizer = { text: a, position: 0, type: token.digit };
  const right: Tokenizer = { text: b, position: 0, type: token.digit };
  let leftValue: TokenValue = 0;
  let rightValue: TokenValue = 0;
  while (
    left.type === right.type &&
    left.type !== token.end &&
    left.type !== token.invalid &&
    compareValues(leftValue, rightValue) === 0
  ) {
    leftValue = readToken(left);
    rightValue = readToken(right);
  }
  const byValue = compareValues(leftValue, rightValue);
  if (byValue !== 0) return byValue;
  if (left.type === right.type) return 0;
  // Equal so far: the longer version is newer, unless what it goes on with is a pre-release suffix.
  if (left.type === token.suffix && compareValues(readToken({ ...left }), 0) < 0) return -1;
  if (right.type === token.suffix && compareValues(readToken({ ...right }), 0) < 0) return 1;
  return left.type > right.type ? -1 : 1;
}

export const alpineScheme = defineVersionScheme('alpine', parseAlpineVersion, compareAlpineVersions);
