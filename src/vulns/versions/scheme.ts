import { isVigilError, type VigilError } from '../../core/index.ts';
import { signOf } from './ascii-text.ts';
import { quoteInput, versionError } from './errors.ts';

export type VersionSchemeName =
  | 'semver'
  | 'go'
  | 'cargo'
  | 'npm'
  | 'pypi'
  | 'maven'
  | 'debian'
  | 'alpine'
  | 'rpm'
  | 'openssl'
  | 'generic'
  | 'lexicographic';

/**
 * A version its scheme has read once, to be compared many times without reading it again (matching holds
 * one component version against many advisory bounds). Opaque: only its scheme's `comparePrepared` reads it.
 */
export interface PreparedVersion {
  readonly scheme: VersionSchemeName;
  readonly version: string;
  readonly parsed: unknown;
}

/**
 * One ecosystem's version order. Versions reach it from advisories, SBOMs and vers ranges, all
 * attacker-controlled: `compare` either orders them or throws VigilError VULNS_VERSION_INVALID, in time
 * linear in the input, and never loops or recurses without bound.
 */
export interface VersionScheme {
  readonly name: VersionSchemeName;
  /** -1, 0 or 1 as `a` sorts before, with or after `b`. */
  compare(a: string, b: string): -1 | 0 | 1;
  /** Whether `compare` accepts this version; never throws. */
  isValid(version: string): boolean;
  /** Reads a version once for many comparisons; throws VULNS_VERSION_INVALID as `compare` does. */
  prepare(version: string): PreparedVersion;
  /** `compare` on versions this scheme prepared; a version prepared by another scheme is a programming error. */
  comparePrepared(a: PreparedVersion, b: PreparedVersion): -1 | 0 | 1;
}

/** Longer than any version in the OSV, Debian, Alpine or Maven data we match against; a bound on work per version. */
export const maxVersionLength = 256;

export function invalidVersion(scheme: VersionSchemeName, version: string, reason: string): VigilError {
  return versionError(
    'VULNS_VERSION_INVALID',
    `${quoteInput(version)} is not a valid ${scheme} version: ${reason}`,
    {
      scheme,
      version: version.slice(0, maxVersionLength),
    },
  );
}

/**
 * The checks every scheme makes before parsing: a non-empty string of at most `maxVersionLength` UTF-16
 * units, with no whitespace or control characters and (unless `allowNonAscii`) nothing beyond ASCII.
 * Non-ASCII text, where allowed, must be well-formed UTF-16 (no lone surrogates).
 */
export function checkVersionText(
  scheme: VersionSchemeName,
  version: unknown,
  options: { allowNonAscii?: boolean } = {},
): asserts version is string {
  if (typeof version !== 'string') {
    throw versionError('VULNS_VERSION_INVALID', `a ${scheme} version must be a string`, { scheme });
  }
  if (version.length === 0) throw invalidVersion(scheme, version, 'it is empty');
  if (version.length > maxVersionLength) {
    throw invalidVersion(scheme, version, `it is longer than ${maxVersionLength} characters`);
  }
  for (let index = 0; index < version.length; index++) {
    const code = version.charCodeAt(index);
    if (code <= 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)) {
      throw invalidVersion(scheme, version, 'it contains whitespace or a control character');
    }
    if (code < 0x80) continue;
    if (options.allowNonAscii !== true)
      throw invalidVersion(scheme, version, 'it contains a non-ASCII character');
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = version.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff))
        throw invalidVersion(scheme, version, 'it is not well-formed UTF-16');
      index++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      throw invalidVersion(scheme, version, 'it is not well-formed UTF-16');
    }
  }
}

/**
 * Builds a scheme from a parser (which checks the text and throws VULNS_VERSION_INVALID) and an order on
 * parsed versions. Keeps every comparator file down to its grammar and its order.
 */
export function defineVersionScheme<Parsed>(
  name: VersionSchemeName,
  parse: (version: string) => Parsed,
  compareParsed: (a: Parsed, b: Parsed) => number,
): VersionScheme {
  return Object.freeze({
    name,
    compare(a: string, b: string): -1 | 0 | 1 {
      return signOf(compareParsed(parse(a), parse(b)));
    },
    prepare(version: string): PreparedVersion {
      return { scheme: name, version, parsed: parse(version) };
    },
    comparePrepared(a: PreparedVersion, b: PreparedVersion): -1 | 0 | 1 {
      if (a.scheme !== name || b.scheme !== name) {
        throw new TypeError(
          `comparePrepared of ${name} was given a ${a.scheme === name ? b.scheme : a.scheme} version`,
        );
      }
      return signOf(compareParsed(a.parsed as Parsed, b.parsed as Parsed));
    },
    isValid(version: string): boolean {
      try {
        parse(version);
        return true;
      } catch (error) {
        if (isVigilError(error, 'VULNS_VERSION_INVALID')) return false;
        throw error;
      }
    },
  });
}
