import {
  compareDecimalStrings,
  endOfDigits,
  isAsciiAlphanumeric,
  isAsciiDigit,
  isAsciiLetter,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/** Debian Policy §5.6.12: [epoch:]upstream_version[-debian_revision]. */
export interface DebianVersion {
  readonly epoch: string;
  readonly upstream: string;
  readonly revision: string; // "" when absent, which orders as "0"
}

/** dpkg rejects epochs past INT_MAX (lib/dpkg/parsehelp.c parseversion). */
const maxEpoch = '2147483647';

/**
 * Parses as dpkg's parseversion() does, with its warnings treated as errors: versions come from
 * advisories and SBOMs (attacker-controlled), and Debian Policy §5.6.12 says which characters may appear.
 */
export function parseDebianVersion(version: string): DebianVersion {
  checkVersionText('debian', version);
  let epoch = '0';
  let rest = version;
  const colon = version.indexOf(':');
  if (colon !== -1) {
    epoch = version.slice(0, colon);
    if (epoch.length === 0 || endOfDigits(epoch, 0) !== epoch.length) {
      throw invalidVersion('debian', version, 'the epoch is not a number');
    }
    if (compareDecimalStrings(epoch, maxEpoch) > 0)
      throw invalidVersion('debian', version, 'the epoch is too big');
    rest = version.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);
  if (upstream.length === 0) throw invalidVersion('debian', version, 'the upstream version is empty');
  if (hyphen !== -1 && revision.length === 0)
    throw invalidVersion('debian', version, 'the revision is empty');
  if (!isAsciiDigit(upstream[0]))
    throw invalidVersion('debian', version, 'the upstream version must start with a digit');
  for (const char of upstream) {
    // §5.6.12: alphanumerics and . + - ~; dpkg also accepts ":" once an epoch is present.
    if (!isAsciiAlphanumeric(char) && !'.+-~'.includes(char) && !(char === ':' && colon !== -1)) {
      throw invalidVersion(
        'debian',
        version,
        `${JSON.stringify(char)} may not appear in an upstream version`,
      );
    }
  }
  for (const char of revision) {
    if (!isAsciiAlphanumeric(char) && !'.+~'.includes(char)) {
      throw invalidVersion('debian', version, `${JSON.stringify(char)} may not appear in a Debian revision`);
    }
  }
  return { epoch, upstream, revision };
}

/**
 * Debian Policy §5.6.12's sort weight of a non-digit: "~" before everything, even the end of the
 * string; then the end; then letters; then all other characters (dpkg's order()).
 */
function weight(char: string | undefined): number {
  if (char === undefined || isAsciiDigit(char)) return 0;
  if (isAsciiLetter(char)) return char.charCodeAt(0);
  if (char === '~') return -1;
  return char.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp(): alternate non-digit parts (by `weight`) and digit parts (numerically). */
export function compareDebianVersionParts(a: string, b: string): -1 | 0 | 1 {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isAsciiDigit(a[i])) || (j < b.length && !isAsciiDigit(b[j]))) {
      const left = weight(a[i]);
      const right = weight(b[j]);
      if (left !== right) return left < right ? -1 : 1;
      i++;
      j++;
    }
    const leftEnd = endOfDigits(a, i);
    const rightEnd = endOfDigits(b, j);
    const order = compareDecimalStrings(a.slice(i, leftEnd) || '0', b.slice(j, rightEnd) || '0');
    if (order !== 0) return order;
    i = leftEnd;
    j = rightEnd;
  }
  return 0;
}

export function compareDebianVersions(a: DebianVersion, b: DebianVersion): -1 | 0 | 1 {
  return (
    compareDecimalStrings(a.epoch, b.epoch) ||
    compareDebianVersionParts(a.upstream, b.upstream) ||
    compareDebianVersionParts(a.revision, b.revision)
  );
}

/** dpkg --compare-versions order (Debian Policy §5.6.12); Ubuntu packages use the same. */
export const debianScheme = defineVersionScheme('debian', parseDebianVersion, compareDebianVersions);
