import { compareCodeUnits, compareDecimalStrings, endOfDigits, isAsciiAlphanumeric } from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion, type VersionSchemeName } from './scheme.ts';

/** A version in the Semantic Versioning 2.0.0 shape; numbers kept as digit strings (no 2^53 limit). */
export interface SemanticVersion {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

/** What a SemVer dialect accepts beyond the strict SemVer 2.0.0 §2 grammar. */
export interface SemanticVersionSyntax {
  readonly leadingV: 'forbidden' | 'optional';
  /** "1" and "1.2" for 1.0.0 and 1.2.0: never, always, or only with no pre-release or build (Go). */
  readonly shortCore: 'never' | 'always' | 'without-suffix';
  /** A fourth and later numeric component ("1.2.3.4") is read as build metadata, as OSV does. */
  readonly extraCoreAsBuild: boolean;
  /** Leading zeros in numeric identifiers, which SemVer 2.0.0 §2 and §9 forbid. */
  readonly leadingZeros: boolean;
}

/** Strict SemVer 2.0.0 §2, §9, §10. */
export const strictSemanticVersionSyntax: SemanticVersionSyntax = Object.freeze({
  leadingV: 'forbidden',
  shortCore: 'never',
  extraCoreAsBuild: false,
  leadingZeros: false,
});

/**
 * OSV's SEMVER range type as its tools read it (osv-scalibr semantic/version-semver.go): an optional
 * leading "v", one to any number of numeric components (missing ones are 0, those past the third are
 * build metadata) and leading zeros tolerated. The order is SemVer 2.0.0 §11 throughout.
 */
export const osvSemanticVersionSyntax: SemanticVersionSyntax = Object.freeze({
  leadingV: 'optional',
  shortCore: 'always',
  extraCoreAsBuild: true,
  leadingZeros: true,
});

function isNumericIdentifier(identifier: string): boolean {
  return endOfDigits(identifier, 0) === identifier.length;
}

/** Dot-separated identifiers of [0-9A-Za-z-] (SemVer 2.0.0 §9, §10), from `start` up to `end`. */
function parseIdentifiers(
  scheme: VersionSchemeName,
  text: string,
  start: number,
  end: number,
  checkLeadingZeros: boolean,
): string[] {
  const identifiers = text.slice(start, end).split('.');
  for (const identifier of identifiers) {
    if (identifier.length === 0) throw invalidVersion(scheme, text, 'an identifier is empty');
    for (const char of identifier) {
      if (!isAsciiAlphanumeric(char) && char !== '-') {
        throw invalidVersion(scheme, text, `identifiers hold only [0-9A-Za-z-], not ${JSON.stringify(char)}`);
      }
    }
    if (
      checkLeadingZeros &&
      identifier.length > 1 &&
      identifier[0] === '0' &&
      isNumericIdentifier(identifier)
    ) {
      throw invalidVersion(scheme, text, 'a numeric identifier has a leading zero');
    }
  }
  return identifiers;
}

export function parseSemanticVersion(
  scheme: VersionSchemeName,
  text: string,
  syntax: SemanticVersionSyntax,
): SemanticVersion {
  checkVersionText(scheme, text);
  let position = 0;
  if (text[0] === 'v') {
    if (syntax.leadingV === 'forbidden') throw invalidVersion(scheme, text, 'it has a leading "v"');
    position = 1;
  }
  const core: string[] = [];
  for (;;) {
    const end = endOfDigits(text, position);
    if (end === position) throw invalidVersion(scheme, text, 'a numeric component is missing');
    const digits = text.slice(position, end);
    if (!syntax.leadingZeros && digits.length > 1 && digits[0] === '0') {
      throw invalidVersion(scheme, text, 'a numeric component has a leading zero');
    }
    core.push(digits);
    position = end;
    if (text[position] !== '.') break;
    if (core.length === 3 && !syntax.extraCoreAsBuild) {
      throw invalidVersion(scheme, text, 'it has more than three numeric components');
    }
    position++;
  }
  if (core.length < 3) {
    if (syntax.shortCore === 'never') throw invalidVersion(scheme, text, 'it needs MAJOR.MINOR.PATCH');
    if (syntax.shortCore === 'without-suffix' && position < text.length) {
      throw invalidVersion(scheme, text, 'a shortened version cannot carry a pre-release or build');
    }
  }
  let prerelease: string[] = [];
  let build: string[] = core.slice(3);
  if (text[position] === '-') {
    const plus = text.indexOf('+', position);
    const end = plus === -1 ? text.length : plus;
    prerelease = parseIdentifiers(scheme, text, position + 1, end, !syntax.leadingZeros);
    position = end;
  }
  if (text[position] === '+') {
    build = [...build, ...parseIdentifiers(scheme, text, position + 1, text.length, false)];
    position = text.length;
  }
  if (position !== text.length) {
    throw invalidVersion(scheme, text, `unexpected ${JSON.stringify(text[position])} after the version core`);
  }
  return {
    major: core[0] ?? '0',
    minor: core[1] ?? '0',
    patch: core[2] ?? '0',
    prerelease,
    build,
  };
}

/** SemVer 2.0.0 §11 precedence; build metadata is ignored (§10). */
export function compareSemanticVersions(a: SemanticVersion, b: SemanticVersion): -1 | 0 | 1 {
  const core =
    compareDecimalStrings(a.major, b.major) ||
    compareDecimalStrings(a.minor, b.minor) ||
    compareDecimalStrings(a.patch, b.patch);
  if (core !== 0) return core;
  // §11.3: a version with a pre-release has lower precedence than the same version without one.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  const shared = Math.min(a.prerelease.length, b.prerelease.length);
  for (let index = 0; index < shared; index++) {
    const left = a.prerelease[index] as string;
    const right = b.prerelease[index] as string;
    const leftNumeric = isNumericIdentifier(left);
    const rightNumeric = isNumericIdentifier(right);
    // §11.4.1-3: numeric identifiers compare numerically and sort before alphanumeric ones, which compare in ASCII order.
    const order =
      leftNumeric && rightNumeric
        ? compareDecimalStrings(left, right)
        : leftNumeric !== rightNumeric
          ? leftNumeric
            ? -1
            : 1
          : compareCodeUnits(left, right);
    if (order !== 0) return order;
  }
  // §11.4.4: a larger set of pre-release fields has higher precedence.
  return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length < b.prerelease.length ? -1 : 1;
}

/** The SemVer order of OSV "SEMVER" ranges (see `osvSemanticVersionSyntax`). */
export const semverScheme = defineVersionScheme(
  'semver',
  (version) => parseSemanticVersion('semver', version, osvSemanticVersionSyntax),
  compareSemanticVersions,
);
