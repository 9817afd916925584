import {
  compareCodeUnits,
  compareDecimalStrings,
  endOfDigits,
  isAsciiLowercaseLetter,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/** An OpenSSL release name: "1.1.1k", "0.9.8za", "3.0.0-alpha1", "3.2.1". */
export interface OpenSslVersion {
  readonly numbers: readonly string[];
  /** The letter release of 0.9.x-1.1.1 ("k", "za"); "" for the base release. */
  readonly letters: string;
  readonly prerelease: { readonly stage: string; readonly number: string } | undefined;
}

// OpenSSL 3 VERSION.dat PRE_RELEASE_TAG stages, and the older "-beta1"/"-pre1" names, in release order.
const prereleaseStages = ['alpha', 'beta', 'pre', 'rc'];

export function parseOpenSslVersion(version: string): OpenSslVersion {
  checkVersionText('openssl', version);
  const numbers: string[] = [];
  let position = 0;
  for (;;) {
    const end = endOfDigits(version, position);
    if (end === position) throw invalidVersion('openssl', version, 'a numeric component is missing');
    numbers.push(version.slice(position, end));
    position = end;
    if (version[position] !== '.') break;
    position++;
  }
  if (numbers.length > 4)
    throw invalidVersion('openssl', version, 'it has more than four numeric components');
  const lettersStart = position;
  while (isAsciiLowercaseLetter(version[position])) position++;
  const letters = version.slice(lettersStart, position);
  let prerelease: OpenSslVersion['prerelease'];
  if (version[position] === '-') {
    const stageStart = position + 1;
    let stageEnd = stageStart;
    while (isAsciiLowercaseLetter(version[stageEnd])) stageEnd++;
    const stage = version.slice(stageStart, stageEnd);
    if (!prereleaseStages.includes(stage)) {
      throw invalidVersion(
        'openssl',
        version,
        `pre-release stage must be one of ${prereleaseStages.join(', ')}`,
      );
    }
    const numberEnd = endOfDigits(version, stageEnd);
    prerelease = { stage, number: version.slice(stageEnd, numberEnd) || '0' };
    position = numberEnd;
  }
  if (position !== version.length) {
    throw invalidVersion('openssl', version, `unexpected ${JSON.stringify(version[position])}`);
  }
  return { numbers, letters, prerelease };
}

/**
 * Numbers first (missing ones are 0), then the letter release ("1.1.1" < "1.1.1a" < "1.1.1z" <
 * "1.1.1za", plain string order, as OpenSSL names them), then pre-releases before their release.
 */
export function compareOpenSslVersions(a: OpenSslVersion, b: OpenSslVersion): -1 | 0 | 1 {
  for (let index = 0; index < Math.max(a.numbers.length, b.numbers.length); index++) {
    const order = compareDecimalStrings(a.numbers[index] ?? '0', b.numbers[index] ?? '0');
    if (order !== 0) return order;
  }
  const byLetters = compareCodeUnits(a.letters, b.letters);
  if (byLetters !== 0) return byLetters;
  if (a.prerelease === undefined || b.prerelease === undefined) {
    return a.prerelease === b.prerelease ? 0 : a.prerelease === undefined ? 1 : -1;
  }
  const stageOrder =
    prereleaseStages.indexOf(a.prerelease.stage) - prereleaseStages.indexOf(b.prerelease.stage);
  if (stageOrder !== 0) return stageOrder < 0 ? -1 : 1;
  return compareDecimalStrings(a.prerelease.number, b.prerelease.number);
}

export const opensslScheme = defineVersionScheme('openssl', parseOpenSslVersion, compareOpenSslVersions);
