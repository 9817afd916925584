import { isVigilError } from '../../core/index.ts';
import { quoteInput, versionError } from './errors.ts';
import { versionSchemes } from './registry.ts';
import type { VersionScheme, VersionSchemeName } from './scheme.ts';

/**
 * package-url/vers-spec version ranges ("vers:npm/>=1.0.0|<2.0.0"): parsing, validation, canonical
 * form and containment. A vers arrives inside advisories and VEX documents, so it is attacker-controlled:
 * everything here either returns a result or throws VigilError with a VULNS_VERS_* or
 * VULNS_VERSION_INVALID code, in time linear in the input (plus one sort of the constraints).
 */

/** Clause 5 §5.3.3.1; "=" is the equality comparator, written as a bare version. */
export type VersComparator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface VersConstraint {
  readonly comparator: VersComparator;
  /** Percent-decoded. */
  readonly version: string;
}

export interface VersRange {
  /** The vers type ("npm", "deb", "pypi"), lowercase. */
  readonly type: string;
  readonly scheme: VersionScheme;
  /** "vers:<type>/*": every version, past and future. */
  readonly matchesAll: boolean;
  /** Sorted by version in the scheme's order; empty when `matchesAll`. */
  readonly constraints: readonly VersConstraint[];
}

/** vers types with a comparator here: purl types, plus the scheme-named types "semver", "generic" and "lexicographic". */
const schemeByVersType: ReadonlyMap<string, VersionSchemeName> = new Map<string, VersionSchemeName>([
  ['npm', 'npm'],
  ['pypi', 'pypi'],
  ['maven', 'maven'],
  ['golang', 'go'],
  ['cargo', 'cargo'],
  ['deb', 'debian'],
  ['apk', 'alpine'],
  ['alpine', 'alpine'],
  ['rpm', 'rpm'],
  ['openssl', 'openssl'],
  ['semver', 'semver'],
  ['generic', 'generic'],
  ['lexicographic', 'lexicographic'],
]);

/** The scheme that orders a vers type's versions, or undefined when it has none here. */
export function versionSchemeForVersType(type: string): VersionScheme | undefined {
  const name = schemeByVersType.get(type);
  return name === undefined ? undefined : versionSchemes[name];
}

/** Far above any real range; bounds the work a hostile range can cause, the sort included. */
export const maxVersLength = 16_384;

// Clause 5 §5.3.3.2: characters a version must percent-encode.
const mustEncode = new Set(['>', '<', '=', '!', '*', '|', '%', ' ']);
const asciiWhitespace = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

function versInvalid(text: string, message: string, cause?: unknown): Error {
  return versionError('VULNS_VERS_INVALID', message, { vers: quoteInput(text) }, cause);
}

/**
 * Orders two constraint versions. vers-spec treats versions as opaque until they must be ordered, so a
 * version the type's scheme cannot read is found here, and reported as a fault of the range.
 */
function compareConstraintVersions(
  text: string,
  range: { type: string; scheme: VersionScheme },
  a: string,
  b: string,
): number {
  try {
    return range.scheme.compare(a, b);
  } catch (error) {
    if (!isVigilError(error, 'VULNS_VERSION_INVALID')) throw error;
    const culprit = range.scheme.isValid(a) ? b : a;
    throw versInvalid(text, `${quoteInput(culprit)} is not a valid ${range.type} version`, error);
  }
}

function isHexDigit(char: string | undefined): boolean {
  return char !== undefined && /^[0-9A-Fa-f]$/.test(char);
}

/** Decodes percent-encoding exactly once (§5.3.3.2); `canonical` also demands uppercase hex (RFC 3986 §2.1). */
function decodeVersion(text: string, raw: string, canonical: boolean): string {
  let decoded = '';
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index] as string;
    if (char !== '%') {
      if (mustEncode.has(char)) {
        throw versInvalid(
          text,
          `non-canonical VERS: ${JSON.stringify(char)} in a version must be percent-encoded`,
        );
      }
      decoded += char;
      continue;
    }
    const high = raw[index + 1];
    const low = raw[index + 2];
    if (!isHexDigit(high) || !isHexDigit(low)) {
      throw versInvalid(text, 'non-canonical VERS: invalid percent-encoding in version');
    }
    const triplet = `${high}${low}`;
    if (canonical && triplet !== triplet.toUpperCase()) {
      throw versInvalid(text, 'non-canonical VERS: percent-encoding in version is not canonical');
    }
    const code = Number.parseInt(triplet, 16);
    if (code < 0x20 || code > 0x7e) throw versInvalid(text, 'a version is printable ASCII (§5.3.3.2)');
    decoded += String.fromCharCode(code);
    index += 2;
  }
  return decoded;
}

function encodeVersion(version: string): string {
  let encoded = '';
  for (const char of version) {
    encoded += mustEncode.has(char)
      ? `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
      : char;
  }
  return encoded;
}

const comparatorPrefixes: readonly VersComparator[] = ['>=', '<=', '!=', '<', '>'];

/** The how-to-parse steps shared by `parseVers` (canonical) and `normalizeVers` (lenient). */
function readVers(
  text: unknown,
  canonical: boolean,
): { type: string; scheme: VersionScheme; matchesAll: boolean; constraints: VersConstraint[] } {
  if (typeof text !== 'string') throw versionError('VULNS_VERS_INVALID', 'a vers must be a string');
  if (text.length > maxVersLength) throw versInvalid(text, `a vers is at most ${maxVersLength} characters`);
  for (const char of text) {
    if (asciiWhitespace.has(char)) throw versInvalid(text, 'non-canonical VERS: whitespace is not permitted');
    const code = char.charCodeAt(0);
    if (code < 0x21 || code > 0x7e) throw versInvalid(text, 'a vers is a printable ASCII string (§5.3.3.2)');
  }
  const colon = text.indexOf(':');
  const uriScheme = colon === -1 ? '' : text.slice(0, colon);
  if ((canonical ? uriScheme : uriScheme.toLowerCase()) !== 'vers') {
    throw versInvalid(text, 'a vers starts with the URI scheme "vers:" (§5.3.1)');
  }
  const slash = text.indexOf('/', colon + 1);
  if (slash === -1) throw versInvalid(text, 'a vers needs "/" between its type and constraints (§5.2)');
  const rawType = text.slice(colon + 1, slash);
  // §5.3.2: ASCII letters, digits, "." and "-", starting with a letter; lowercase when canonical.
  if (!/^[A-Za-z][A-Za-z0-9.-]*$/.test(rawType))
    throw versInvalid(text, 'the vers type is malformed (§5.3.2)');
  if (canonical && rawType !== rawType.toLowerCase()) {
    throw versInvalid(text, 'non-canonical VERS: type must be lowercase');
  }
  const type = rawType.toLowerCase();
  if (type === 'invalid') throw versInvalid(text, 'the vers type "invalid" is always invalid (§5.3.2.1)');

  const body = text.slice(slash + 1);
  if (body.length === 0) throw versInvalid(text, 'a vers needs at least one constraint (§5.3.3)');
  const rawConstraints = body === '*' ? [] : body.split('|');
  if (body.startsWith('|')) throw versInvalid(text, 'non-canonical VERS: leading pipe is not permitted');
  if (body.endsWith('|')) throw versInvalid(text, 'non-canonical VERS: trailing pipe is not permitted');
  if (rawConstraints.includes(''))
    throw versInvalid(text, 'non-canonical VERS: consecutive pipes are not permitted');
  const constraints: VersConstraint[] = [];
  for (const raw of rawConstraints) {
    if (raw.includes('*'))
      throw versInvalid(text, 'an asterisk stands alone, without other constraints (§5.4)');
    const prefix = comparatorPrefixes.find((candidate) => raw.startsWith(candidate));
    let rawVersion = prefix === undefined ? raw : raw.slice(prefix.length);
    if (prefix === undefined && raw.startsWith('=')) {
      if (canonical) throw versInvalid(text, 'non-canonical VERS: equality is a bare version, without "="');
      rawVersion = raw.slice(1);
    }
    if (rawVersion.length === 0) throw versInvalid(text, 'a constraint has no version (§5.3.3)');
    constraints.push({ comparator: prefix ?? '=', version: decodeVersion(text, rawVersion, canonical) });
  }

  const schemeName = schemeByVersType.get(type);
  if (schemeName === undefined) {
    throw versionError(
      'VULNS_VERS_TYPE_UNSUPPORTED',
      `no version comparator for vers type ${quoteInput(type)}`,
      {
        type,
      },
    );
  }
  const scheme = versionSchemes[schemeName];
  return { type, scheme, matchesAll: body === '*', constraints };
}

const isLower = (comparator: VersComparator): boolean => comparator === '<' || comparator === '<=';
const isUpper = (comparator: VersComparator): boolean => comparator === '>' || comparator === '>=';
/** The comparators a version equal to the constraint's satisfies. */
const admitsEqual = (comparator: VersComparator): boolean =>
  comparator === '=' || comparator === '<=' || comparator === '>=';

/**
 * Clause 5 §5.4 on sorted constraints: versions unique; ignoring "!=", an equality is followed only by
 * an equality, ">" or ">="; ignoring "!=" and equalities, "<"/"<=" and ">"/">=" alternate. Also refused,
 * as how-to-parse.md "Simplifying constraints" calls them redundant and invalid: an equality right after
 * ">" or ">=" (it lies inside that open interval).
 */
function checkConstraintSequence(
  text: string,
  range: { type: string; scheme: VersionScheme },
  constraints: readonly VersConstraint[],
): void {
  for (let index = 1; index < constraints.length; index++) {
    const previous = (constraints[index - 1] as VersConstraint).version;
    const order = compareConstraintVersions(
      text,
      range,
      previous,
      (constraints[index] as VersConstraint).version,
    );
    if (order > 0) throw versInvalid(text, 'non-canonical VERS: constraints are not sorted by version');
    if (order === 0) throw versInvalid(text, 'invalid VERS: a version appears in more than one constraint');
  }
  const withoutExclusions = constraints.filter((constraint) => constraint.comparator !== '!=');
  for (let index = 1; index < withoutExclusions.length; index++) {
    const current = (withoutExclusions[index - 1] as VersConstraint).comparator;
    const next = (withoutExclusions[index] as VersConstraint).comparator;
    if ((current === '=' && isLower(next)) || (isUpper(current) && next === '=')) {
      throw versInvalid(text, `invalid VERS: "${current}" may not be followed by "${next}"`);
    }
  }
  const bounds = withoutExclusions.filter((constraint) => constraint.comparator !== '=');
  for (let index = 1; index < bounds.length; index++) {
    const current = (bounds[index - 1] as VersConstraint).comparator;
    const next = (bounds[index] as VersConstraint).comparator;
    if ((isLower(current) && isLower(next)) || (isUpper(current) && isUpper(next))) {
      throw versInvalid(text, `invalid VERS: "${current}" may not be followed by "${next}"`);
    }
  }
}

/**
 * Parses a vers in canonical form and validates it as vers-spec requires ("tools shall not correct or
 * normalise invalid input during parsing"): lowercase scheme and type, no "=" prefix, uppercase
 * percent-encoding, constraints sorted by version, each version once, comparators in a valid sequence.
 * Versions stay opaque until they must be ordered, as the vers-spec canonical-parse tests expect
 * ("vers:npm/1.0%252F0" parses): a lone version the scheme cannot read is reported by `versContains`.
 */
export function parseVers(text: string): VersRange {
  const read = readVers(text, true);
  checkConstraintSequence(text, read, read.constraints);
  return Object.freeze({ ...read, constraints: Object.freeze(read.constraints) });
}

/**
 * Reads a vers that may not be canonical (upper-case scheme or type, "=" prefixes, lowercase
 * percent-encoding, constraints in any order) and returns it with its constraints sorted by version.
 * It does not drop or reject redundant constraints; the vers-spec "validate" tests expect them kept.
 * Syntax errors and versions the scheme cannot read are still refused.
 */
export function normalizeVers(text: string): VersRange {
  const read = readVers(text, false);
  const sorted = read.constraints
    .map((constraint, index) => ({ constraint, index }))
    .sort(
      (a, b) =>
        compareConstraintVersions(text, read, a.constraint.version, b.constraint.version) ||
        a.index - b.index,
    )
    .map(({ constraint }) => constraint);
  return Object.freeze({ ...read, constraints: Object.freeze(sorted) });
}

/** The canonical string of a range: "vers:<type>/" and its constraints, versions percent-encoded. */
export function formatVers(range: VersRange): string {
  const constraints = range.matchesAll
    ? '*'
    : range.constraints
        .map(({ comparator, version }) => `${comparator === '=' ? '' : comparator}${encodeVersion(version)}`)
        .join('|');
  return `vers:${range.type}/${constraints}`;
}

/**
 * Whether `version` lies in the range, by the vers-spec algorithm ("Checking if a version is contained
 * within a range", docs/specification/how-to-parse.md) with the range type's comparator. Throws
 * VULNS_VERSION_INVALID when `version` is not a version of that scheme, even for "*", and
 * VULNS_VERS_INVALID when a constraint's version is not (parsing leaves versions opaque).
 */
export function versContains(range: VersRange, version: string): boolean {
  const { scheme } = range;
  scheme.compare(version, version); // refuses a version the scheme cannot read, with its typed error
  for (const constraint of range.constraints) {
    if (!scheme.isValid(constraint.version)) {
      throw versInvalid(
        formatVers(range),
        `${quoteInput(constraint.version)} is not a valid ${range.type} version`,
      );
    }
  }
  if (range.matchesAll) return true;
  const compareTo = (other: string): number => scheme.compare(version, other);
  const constraints = range.constraints;
  if (constraints.some((c) => admitsEqual(c.comparator) && compareTo(c.version) === 0)) return true;
  if (constraints.some((c) => c.comparator === '!=' && compareTo(c.version) === 0)) return false;
  const bounds = constraints.filter((c) => c.comparator !== '=' && c.comparator !== '!=');
  const first = bounds[0];
  const last = bounds.at(-1);
  if (first !== undefined && isLower(first.comparator) && compareTo(first.version) < 0) return true;
  if (last !== undefined && isUpper(last.comparator) && compareTo(last.version) > 0) return true;
  for (let index = 1; index < bounds.length; index++) {
    const current = bounds[index - 1] as VersConstraint;
    const next = bounds[index] as VersConstraint;
    if (isUpper(current.comparator) && isLower(next.comparator)) {
      if (compareTo(current.version) > 0 && compareTo(next.version) < 0) return true;
    }
  }
  return false;
}
