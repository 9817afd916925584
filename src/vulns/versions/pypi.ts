import {
  compareCodeUnits,
  compareDecimalStrings,
  endOfDigits,
  isAsciiDigit,
  isAsciiLowercaseLetter,
  stripLeadingZeros,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/** A PEP 440 public version plus local label, numbers as digit strings. */
export interface PythonVersion {
  readonly epoch: string;
  readonly release: readonly string[];
  readonly pre: { readonly phase: 'a' | 'b' | 'rc'; readonly number: string } | undefined;
  readonly post: string | undefined;
  readonly dev: string | undefined;
  readonly local: readonly string[];
}

/**
 * What the PyPI scheme orders: a PEP 440 version, or a pre-PEP 440 "legacy" version (PyPI still hosts
 * them) keyed as packaging < 22 `LegacyVersion` did; every legacy version sorts before every PEP 440 one.
 */
export type ParsedPythonVersion =
  | { readonly kind: 'pep440'; readonly version: PythonVersion }
  | { readonly kind: 'legacy'; readonly key: readonly string[] };

const separators = new Set(['-', '_', '.']);

// PEP 440 §Pre-release spelling, §Post-release spelling: alternative spellings and what they normalise to,
// longest first so that "preview" is not read as "pre" followed by "view".
const preReleaseSpellings: ReadonlyArray<readonly [string, 'a' | 'b' | 'rc']> = [
  ['preview', 'rc'],
  ['alpha', 'a'],
  ['beta', 'b'],
  ['pre', 'rc'],
  ['rc', 'rc'],
  ['a', 'a'],
  ['b', 'b'],
  ['c', 'rc'],
];
const postReleaseSpellings = ['post', 'rev', 'r'];

/**
 * Reads one optional "[sep]keyword[sep][number]" segment at `position` (PEP 440 Appendix B). Returns
 * the spelling matched, its number ("0" when implicit, §Implicit pre-release number) and where it ends,
 * or undefined when the segment is absent. Each step moves forward, so the whole parse is linear.
 */
function readLabelledSegment(
  text: string,
  position: number,
  spellings: readonly string[],
): { spelling: string; number: string; end: number } | undefined {
  let cursor = position;
  if (separators.has(text[cursor] ?? '')) cursor++;
  const spelling = spellings.find((candidate) => text.startsWith(candidate, cursor));
  if (spelling === undefined) return undefined;
  cursor += spelling.length;
  // A letter straight after the keyword would make it a different word ("alphabet"); the caller's
  // next segment or the end-of-string check decides.
  if (separators.has(text[cursor] ?? '')) {
    if (isAsciiDigit(text[cursor + 1])) {
      const end = endOfDigits(text, cursor + 1);
      return { spelling, number: text.slice(cursor + 1, end), end };
    }
    return { spelling, number: '0', end: cursor + 1 };
  }
  const end = endOfDigits(text, cursor);
  return { spelling, number: end > cursor ? text.slice(cursor, end) : '0', end };
}

/** PEP 440 Appendix B's grammar, read by hand so that hostile input cannot make a regex backtrack. */
function readPep440(text: string): PythonVersion | undefined {
  let position = text[0] === 'v' ? 1 : 0; // §Preceding v character
  let end = endOfDigits(text, position);
  if (end === position) return undefined;
  let epoch = '0';
  if (text[end] === '!') {
    epoch = text.slice(position, end);
    position = end + 1;
    end = endOfDigits(text, position);
    if (end === position) return undefined;
  }
  const release: string[] = [text.slice(position, end)];
  position = end;
  while (text[position] === '.' && isAsciiDigit(text[position + 1])) {
    end = endOfDigits(text, position + 1);
    release.push(text.slice(position + 1, end));
    position = end;
  }

  let pre: PythonVersion['pre'];
  const preSegment = readLabelledSegment(
    text,
    position,
    preReleaseSpellings.map(([spelling]) => spelling),
  );
  if (preSegment !== undefined) {
    const phase = preReleaseSpellings.find(([spelling]) => spelling === preSegment.spelling)?.[1] ?? 'rc';
    pre = { phase, number: preSegment.number };
    position = preSegment.end;
  }

  let post: string | undefined;
  if (text[position] === '-' && isAsciiDigit(text[position + 1])) {
    // §Implicit post releases: "1.0-1" is 1.0.post1.
    end = endOfDigits(text, position + 1);
    post = text.slice(position + 1, end);
    position = end;
  } else {
    const postSegment = readLabelledSegment(text, position, postReleaseSpellings);
    if (postSegment !== undefined) {
      post = postSegment.number;
      position = postSegment.end;
    }
  }

  let dev: string | undefined;
  const devSegment = readLabelledSegment(text, position, ['dev']);
  if (devSegment !== undefined) {
    dev = devSegment.number;
    position = devSegment.end;
  }

  const local: string[] = [];
  if (text[position] === '+') {
    // §Local version identifiers: [a-z0-9]+ segments joined by ".", "-" or "_".
    let segmentStart = position + 1;
    for (let cursor = segmentStart; ; cursor++) {
      const char = text[cursor];
      if (char === undefined || separators.has(char)) {
        if (cursor === segmentStart) return undefined;
        local.push(text.slice(segmentStart, cursor));
        if (char === undefined) break;
        segmentStart = cursor + 1;
      } else if (!isAsciiDigit(char) && !isAsciiLowercaseLetter(char)) {
        return undefined;
      }
    }
    position = text.length;
  }
  if (position !== text.length) return undefined;
  return { epoch, release, pre, post, dev, local };
}

/**
 * packaging < 22 `_legacy_cmpkey`: split into digit runs, letter runs, "." and "-" (and whatever lies
 * between them), zero-pad numbers to 8, mark words with "*", map pre/preview/rc to "c" and dev to "@",
 * and drop the trailing zeros and "final-" markers that make "1.0" equal "1".
 */
function legacyKey(text: string): string[] {
  const pieces: string[] = [];
  let other = '';
  let position = 0;
  while (position < text.length) {
    const char = text[position] as string;
    let end = position + 1;
    if (isAsciiDigit(char)) end = endOfDigits(text, position);
    else if (isAsciiLowercaseLetter(char)) {
      while (end < text.length && isAsciiLowercaseLetter(text[end])) end++;
    } else if (char !== '.' && char !== '-') {
      other += char;
      position++;
      continue;
    }
    if (other !== '') pieces.push(other);
    other = '';
    pieces.push(text.slice(position, end));
    position = end;
  }
  if (other !== '') pieces.push(other);

  const replacements: ReadonlyMap<string, string> = new Map([
    ['pre', 'c'],
    ['preview', 'c'],
    ['-', 'final-'],
    ['rc', 'c'],
    ['dev', '@'],
  ]);
  const key: string[] = [];
  for (const piece of [...pieces.map((raw) => replacements.get(raw) ?? raw), 'final']) {
    if (piece === '.') continue;
    const part = isAsciiDigit(piece[0]) ? piece.padStart(8, '0') : `*${piece}`;
    if (part.startsWith('*')) {
      if (part < '*final') while (key.at(-1) === '*final-') key.pop();
      while (key.at(-1) === '00000000') key.pop();
    }
    key.push(part);
  }
  return key;
}

export function parsePythonVersion(version: string): ParsedPythonVersion {
  checkVersionText('pypi', version.trim()); // §Leading and trailing whitespace: ignored
  const text = version.trim().toLowerCase(); // §Case sensitivity
  const pep440 = readPep440(text);
  return pep440 === undefined
    ? { kind: 'legacy', key: legacyKey(text) }
    : { kind: 'pep440', version: pep440 };
}

/** PEP 440 §Normalization: the canonical spelling, e.g. "1.0post1" → "1.0.post1", "1.0-1" → "1.0.post1". */
export function normalizePythonVersion(version: string): string {
  const parsed = parsePythonVersion(version);
  if (parsed.kind === 'legacy') throw invalidVersion('pypi', version, 'it is not a PEP 440 version');
  const { epoch, release, pre, post, dev, local } = parsed.version;
  const number = stripLeadingZeros;
  return [
    epoch === '0' || number(epoch) === '0' ? '' : `${number(epoch)}!`,
    release.map(number).join('.'),
    pre === undefined ? '' : `${pre.phase}${number(pre.number)}`,
    post === undefined ? '' : `.post${number(post)}`,
    dev === undefined ? '' : `.dev${number(dev)}`,
    local.length === 0
      ? ''
      : `+${local.map((segment) => (endOfDigits(segment, 0) === segment.length ? number(segment) : segment)).join('.')}`,
  ].join('');
}

function compareRelease(a: readonly string[], b: readonly string[]): -1 | 0 | 1 {
  // §Final releases: the shorter release segment is padded with zeros.
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const order = compareDecimalStrings(a[index] ?? '0', b[index] ?? '0');
    if (order !== 0) return order;
  }
  return 0;
}

/** Missing segments as packaging's `_cmpkey` places them: below or above every present value. */
function compareOptionalNumbers(a: string | undefined, b: string | undefined, missing: -1 | 1): -1 | 0 | 1 {
  if (a === undefined || b === undefined) {
    if (a === b) return 0;
    return a === undefined ? missing : (-missing as -1 | 1);
  }
  return compareDecimalStrings(a, b);
}

/** §Summary of permitted suffixes and relative ordering: .devN, aN, bN, rcN, <none>, .postN. */
function comparePreRelease(a: PythonVersion, b: PythonVersion): -1 | 0 | 1 {
  // A dev release of a final release ("1.0.dev0") sorts before its pre-releases ("1.0a0").
  const rank = (version: PythonVersion): number =>
    version.pre === undefined ? (version.post === undefined && version.dev !== undefined ? -1 : 1) : 0;
  const rankOrder = rank(a) - rank(b);
  if (rankOrder !== 0) return rankOrder < 0 ? -1 : 1;
  if (a.pre === undefined || b.pre === undefined) return 0;
  return compareCodeUnits(a.pre.phase, b.pre.phase) || compareDecimalStrings(a.pre.number, b.pre.number);
}

/** §Local version identifiers: numeric segments compare as numbers and above alphanumeric ones. */
function compareLocal(a: readonly string[], b: readonly string[]): -1 | 0 | 1 {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? -1 : 1;
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const left = a[index] as string;
    const right = b[index] as string;
    const leftNumeric = endOfDigits(left, 0) === left.length;
    const rightNumeric = endOfDigits(right, 0) === right.length;
    const order =
      leftNumeric && rightNumeric
        ? compareDecimalStrings(left, right)
        : leftNumeric !== rightNumeric
          ? leftNumeric
            ? 1
            : -1
          : compareCodeUnits(left, right);
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareKeys(a: readonly string[], b: readonly string[]): -1 | 0 | 1 {
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const order = compareCodeUnits(a[index] as string, b[index] as string);
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function comparePythonVersions(a: ParsedPythonVersion, b: ParsedPythonVersion): -1 | 0 | 1 {
  if (a.kind === 'legacy' || b.kind === 'legacy') {
    if (a.kind === 'legacy' && b.kind === 'legacy') return compareKeys(a.key, b.key);
    return a.kind === 'legacy' ? -1 : 1;
  }
  const left = a.version;
  const right = b.version;
  return (
    compareDecimalStrings(left.epoch, right.epoch) ||
    compareRelease(left.release, right.release) ||
    comparePreRelease(left, right) ||
    compareOptionalNumbers(left.post, right.post, -1) ||
    compareOptionalNumbers(left.dev, right.dev, 1) ||
    compareLocal(left.local, right.local)
  );
}

/** PEP 440 §Version scheme order, with legacy (non-PEP 440) versions below all others as pip once sorted them. */
export const pypiScheme = defineVersionScheme('pypi', parsePythonVersion, comparePythonVersions);
