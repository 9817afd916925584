import {
  compareCodeUnits,
  compareDecimalStrings,
  endOfDigits,
  endOfLetters,
  isAsciiDigit,
  isAsciiLetter,
  isPrintableAscii,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/** A run of digits or of letters (lowercased); everything else only separates runs. */
export type GenericVersionPart =
  { readonly kind: 'number'; readonly digits: string } | { readonly kind: 'word'; readonly letters: string };

export function parseGenericVersion(version: string): readonly GenericVersionPart[] {
  checkVersionText('generic', version);
  if (!isPrintableAscii(version))
    throw invalidVersion('generic', version, 'it contains a non-ASCII character');
  const parts: GenericVersionPart[] = [];
  let position = 0;
  while (position < version.length) {
    if (isAsciiDigit(version[position])) {
      const end = endOfDigits(version, position);
      parts.push({ kind: 'number', digits: version.slice(position, end) });
      position = end;
    } else if (isAsciiLetter(version[position])) {
      const end = endOfLetters(version, position);
      parts.push({ kind: 'word', letters: version.slice(position, end).toLowerCase() });
      position = end;
    } else {
      position++;
    }
  }
  if (parts.length === 0) throw invalidVersion('generic', version, 'it has no digits or letters');
  return parts;
}

/**
 * The fallback for ecosystems without a comparator of their own: runs compared pairwise, numbers
 * numerically and above words, words case-insensitively. When one version runs out, a missing run
 * counts as the number 0 ("1.0" = "1.0.0", "1.0" < "1.0.1"), and a word where the other has nothing
 * marks a pre-release ("1.0rc1" < "1.0"), the convention SemVer, PEP 440 and Maven share. Separators
 * carry no meaning ("1-0" = "1.0" = "1_0"). Good enough to order releases; not a substitute for a
 * scheme's own rules.
 */
export function compareGenericVersions(
  a: readonly GenericVersionPart[],
  b: readonly GenericVersionPart[],
): -1 | 0 | 1 {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index];
    const right = b[index];
    if (left === undefined || right === undefined) {
      const present = (left ?? right) as GenericVersionPart;
      const presentIsGreater = present.kind === 'number' ? compareDecimalStrings(present.digits, '0') : -1;
      if (presentIsGreater === 0) continue;
      return (left === undefined ? -presentIsGreater : presentIsGreater) as -1 | 1;
    }
    if (left.kind !== right.kind) return left.kind === 'number' ? 1 : -1;
    const order =
      left.kind === 'number'
        ? compareDecimalStrings(left.digits, (right as typeof left).digits)
        : compareCodeUnits(left.letters, (right as typeof left).letters);
    if (order !== 0) return order;
  }
  return 0;
}

export const genericScheme = defineVersionScheme('generic', parseGenericVersion, compareGenericVersions);
