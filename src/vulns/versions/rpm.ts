import {
  compareCodeUnits,
  compareDecimalStrings,
  endOfDigits,
  endOfLetters,
  isAsciiAlphanumeric,
  isAsciiDigit,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme } from './scheme.ts';

/** [epoch:]version[-release]; `release` is undefined when there is no hyphen at all. */
export interface RpmVersion {
  readonly epoch: string;
  readonly version: string;
  readonly release: string | undefined;
}

/**
 * Splits as rpm's rpmverParse() (rpmio/rpmver.c): the epoch is the run of digits before the first ":"
 * if that run reaches it (otherwise the colon belongs to the version), the release follows the last
 * "-". Every printable string is a version to rpm, so only text that no package could carry (empty,
 * too long, whitespace or control characters) is refused.
 */
export function parseRpmVersion(text: string): RpmVersion {
  checkVersionText('rpm', text, { allowNonAscii: true });
  let epoch = '0';
  let rest = text;
  const epochEnd = endOfDigits(text, 0);
  if (text[epochEnd] === ':') {
    if (epochEnd > 0) epoch = text.slice(0, epochEnd);
    rest = text.slice(epochEnd + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  return hyphen === -1
    ? { epoch, version: rest, release: undefined }
    : { epoch, version: rest.slice(0, hyphen), release: rest.slice(hyphen + 1) };
}

function isSegmentStart(char: string | undefined): boolean {
  return isAsciiAlphanumeric(char) || char === '~' || char === '^';
}

/**
 * rpmvercmp() (rpmio/rpmvercmp.c, rpm ≥ 4.15): alternating runs of ASCII digits and letters, anything
 * else a separator; "~" sorts before everything including the end of the string, "^" after the end
 * but before anything else; a number beats letters.
 */
export function compareRpmVersionParts(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isSegmentStart(a[i])) i++;
    while (j < b.length && !isSegmentStart(b[j])) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isAsciiDigit(a[i]);
    const leftEnd = numeric ? endOfDigits(a, i) : endOfLetters(a, i);
    const rightEnd = numeric ? endOfDigits(b, j) : endOfLetters(b, j);
    // Segments of different types: the numeric one is newer.
    if (rightEnd === j) return numeric ? 1 : -1;
    const left = a.slice(i, leftEnd);
    const right = b.slice(j, rightEnd);
    const order = numeric ? compareDecimalStrings(left, right) : compareCodeUnits(left, right);
    if (order !== 0) return order;
    i = leftEnd;
    j = rightEnd;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/**
 * rpm's EVR order (rpmVersionCompare): epochs numerically (absent = 0), then versions, then releases,
 * where a missing release sorts before any release, even an empty one ("1" < "1-").
 */
export function compareRpmVersions(a: RpmVersion, b: RpmVersion): -1 | 0 | 1 {
  const byEpoch = compareRpmVersionParts(a.epoch, b.epoch);
  if (byEpoch !== 0) return byEpoch;
  const byVersion = compareRpmVersionParts(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  if (a.release === undefined || b.release === undefined) {
    return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  }
  return compareRpmVersionParts(a.release, b.release);
}

/** RPM-based distributions: Red Hat, Rocky Linux, AlmaLinux, SUSE, Mageia, openEuler. */
export const rpmScheme = defineVersionScheme('rpm', parseRpmVersion, compareRpmVersions);
