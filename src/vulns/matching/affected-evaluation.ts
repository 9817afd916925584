import { isVigilError } from '../../core/index.ts';
import type { AffectedPackage, RangeEvent, RangeType } from '../advisories/index.ts';
import {
  normalizeVers,
  parseVers,
  versContains,
  versionSchemeFor,
  versionSchemes,
  type PreparedVersion,
  type VersionScheme,
  type VersRange,
} from '../versions/index.ts';

/**
 * Whether a version of a package is affected, by the OSV schema's evaluation algorithm (OSV schema
 * §Evaluation, `IsVulnerable`), exactly:
 * - a version is affected if it is listed in `versions` or lies in any range;
 * - a range's events are sorted by the range's order ("0" as `introduced` sorts before everything); walking
 *   them, `introduced` (v >= it) makes the version vulnerable, `fixed` (v >= it) and `last_affected`
 *   (v > it) make it not; `limit` events only bound the range (`BeforeLimits`: v < some limit, a limit
 *   containing "*" being infinity, no limit meaning "*");
 * - SEMVER ranges are ordered by SemVer 2.0.0 whatever the ecosystem; ECOSYSTEM ranges by the ecosystem's
 *   comparator (`vulns/versions`);
 * - GIT ranges order commits by the repository's history, which a version string cannot be placed in: they
 *   match nothing here (OSV asks sources to enumerate `versions` next to GIT ranges for this reason).
 * A version the order cannot read, or a range whose own versions it cannot read, is neither affected nor
 * unaffected: it is reported as unevaluated, with the reason. Nothing here throws.
 *
 * Advisories are compiled once (events checked, read and sorted); a component version is read once per
 * order however many advisories name its package.
 */

export type AffectedEvaluation =
  | { affected: true; evaluated: true; matchedBy: string }
  | { affected: false; evaluated: true }
  | { affected: false; evaluated: false; reason: string };

/** An event with its version read by the range's order; `introduced: "0"` needs no reading. */
interface CompiledEvent {
  event: RangeEvent;
  prepared: PreparedVersion | undefined;
}

interface CompiledRange {
  type: RangeType;
  scheme: VersionScheme | undefined;
  /** Without `limit` events, sorted by the scheme (stable: ties keep document order). */
  sortedEvents: readonly CompiledEvent[];
  /** Finite limits; with none (or a "*" one) the range is `unlimited`. */
  limits: readonly PreparedVersion[];
  unlimited: boolean;
  /** Why the range cannot be evaluated, when it cannot. */
  problem?: string;
}

interface CompiledVersRange {
  text: string;
  range?: VersRange;
  problem?: string;
}

export interface CompiledAffected {
  readonly affected: AffectedPackage;
  /** The ecosystem's order, for `versions` and ECOSYSTEM ranges. */
  readonly ecosystemScheme: VersionScheme | undefined;
  readonly versions: ReadonlySet<string>;
  /** The listed versions the ecosystem's order reads, for equality in that order. */
  readonly preparedVersions: readonly PreparedVersion[];
  readonly ranges: readonly CompiledRange[];
  readonly versRanges: readonly CompiledVersRange[];
}

/**
 * A component version as each order read it (or `null` where the order refused it): one reading per order,
 * however many advisories name the package. Use one per version.
 */
export type VersionReadings = Map<VersionScheme, PreparedVersion | null>;

/** Most evaluations end here; one shared answer spares an allocation each. */
const notAffected: AffectedEvaluation = Object.freeze({ affected: false, evaluated: true });

const gitRangeProblem = 'GIT ranges name commits, and a version string cannot be placed in a commit graph';

/** The ecosystem's order: OSV ecosystem, else the purl type (CSAF products named by purl). */
function ecosystemSchemeOf(affected: AffectedPackage): VersionScheme | undefined {
  const name = affected.ecosystem ?? affected.purl?.type;
  return name === undefined ? undefined : versionSchemeFor(name);
}

function isIntroducedZero(event: RangeEvent): boolean {
  return event.kind === 'introduced' && event.version === '0';
}

/** The version as the order reads it, or undefined when the order refuses it. */
function tryPrepare(scheme: VersionScheme, version: string): PreparedVersion | undefined {
  try {
    return scheme.prepare(version);
  } catch (error) {
    if (isVigilError(error, 'VULNS_VERSION_INVALID')) return undefined;
    throw error;
  }
}

function compileRange(
  type: RangeType,
  events: readonly RangeEvent[],
  ecosystemScheme: VersionScheme | undefined,
): CompiledRange {
  const limitEvents = events.filter((event) => event.kind === 'limit');
  const finiteLimits = limitEvents.filter((event) => !event.version.includes('*'));
  const unlimited = finiteLimits.length < limitEvents.length || limitEvents.length === 0;
  const unevaluable = (scheme: VersionScheme | undefined, problem: string): CompiledRange => ({
    type,
    scheme,
    sortedEvents: [],
    limits: [],
    unlimited,
    problem,
  });
  if (type === 'GIT') return unevaluable(undefined, gitRangeProblem);
  const scheme = type === 'SEMVER' ? versionSchemes.semver : ecosystemScheme;
  if (scheme === undefined)
    return unevaluable(undefined, 'an ECOSYSTEM range needs the package ecosystem to order versions');
  const compiled: CompiledEvent[] = [];
  const limits: PreparedVersion[] = [];
  for (const event of events) {
    if (event.kind === 'limit' && event.version.includes('*')) continue;
    const prepared = isIntroducedZero(event) ? undefined : tryPrepare(scheme, event.version);
    if (prepared === undefined && !isIntroducedZero(event)) {
      const shown = JSON.stringify(event.version.slice(0, 80));
      return unevaluable(
        scheme,
        `the advisory's ${event.kind} version ${shown} is not a valid ${scheme.name} version`,
      );
    }
    if (event.kind === 'limit') limits.push(prepared as PreparedVersion);
    else compiled.push({ event, prepared });
  }
  const sortedEvents = compiled
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => {
      if (a.entry.prepared === undefined || b.entry.prepared === undefined) {
        return a.entry.prepared === b.entry.prepared
          ? a.index - b.index
          : a.entry.prepared === undefined
            ? -1
            : 1;
      }
      return scheme.comparePrepared(a.entry.prepared, b.entry.prepared) || a.index - b.index;
    })
    .map(({ entry }) => entry);
  return { type, scheme, sortedEvents, limits, unlimited };
}

function compileVersRange(text: string): CompiledVersRange {
  try {
    return { text, range: parseVers(text) };
  } catch {
    try {
      // CSAF and CycloneDX producers write ranges out of canonical order; the meaning is unambiguous.
      return { text, range: normalizeVers(text) };
    } catch (error) {
      return { text, problem: isVigilError(error) ? error.message : 'the vers range cannot be read' };
    }
  }
}

/** Prepares an affected package for many evaluations: versions read, events checked and sorted, once. */
export function compileAffected(affected: AffectedPackage): CompiledAffected {
  const ecosystemScheme = ecosystemSchemeOf(affected);
  const preparedVersions: PreparedVersion[] = [];
  if (ecosystemScheme !== undefined) {
    for (const version of affected.versions) {
      const prepared = tryPrepare(ecosystemScheme, version);
      if (prepared !== undefined) preparedVersions.push(prepared);
    }
  }
  return {
    affected,
    ecosystemScheme,
    versions: new Set(affected.versions),
    preparedVersions,
    ranges: affected.ranges.map((range) => compileRange(range.type, range.events, ecosystemScheme)),
    versRanges: affected.versRanges.map(compileVersRange),
  };
}

const compiledCache = new WeakMap<AffectedPackage, CompiledAffected>();

function compiledOf(affected: AffectedPackage): CompiledAffected {
  let compiled = compiledCache.get(affected);
  if (compiled === undefined) {
    compiled = compileAffected(affected);
    compiledCache.set(affected, compiled);
  }
  return compiled;
}

function readingOf(
  scheme: VersionScheme,
  version: string,
  readings: VersionReadings,
): PreparedVersion | null {
  let reading = readings.get(scheme);
  if (reading === undefined) {
    reading = tryPrepare(scheme, version) ?? null;
    readings.set(scheme, reading);
  }
  return reading;
}

/** `v == version` of IncludedInVersions: the same string, or equal in the ecosystem's order. */
function listedVersion(
  compiled: CompiledAffected,
  version: string,
  readings: VersionReadings,
): string | undefined {
  if (compiled.versions.size === 0) return undefined;
  if (compiled.versions.has(version)) return version;
  const scheme = compiled.ecosystemScheme;
  if (scheme === undefined || compiled.preparedVersions.length === 0) return undefined;
  const reading = readingOf(scheme, version, readings);
  if (reading === null) return undefined;
  return compiled.preparedVersions.find((listed) => scheme.comparePrepared(reading, listed) === 0)?.version;
}

function describeInterval(
  range: CompiledRange,
  opening: RangeEvent,
  closing: RangeEvent | undefined,
): string {
  const lower = `>=${opening.version}`;
  const upper =
    closing === undefined ? '' : closing.kind === 'fixed' ? ` <${closing.version}` : ` <=${closing.version}`;
  const limit = range.unlimited
    ? ''
    : ` (limit ${range.limits.map((limit) => `<${limit.version}`).join(' or ')})`;
  return `${range.type} ${lower}${upper}${limit}`;
}

/** IncludedInRanges for one evaluable range and a version its order has read; the matched interval, if any. */
function matchRange(range: CompiledRange, version: PreparedVersion): string | undefined {
  const scheme = range.scheme as VersionScheme;
  // BeforeLimits: with no limit (or a "*" one) every version is before it.
  if (!range.unlimited && !range.limits.some((limit) => scheme.comparePrepared(version, limit) < 0))
    return undefined;
  const events = range.sortedEvents;
  // The walk below leaves the state the last event to fire set. A version at or above the highest event
  // makes that event fire last (unless it is a last_affected equal to the version), so it alone decides:
  // one comparison instead of a walk, for the common case of a version newer than every event.
  const highest = events[events.length - 1] as CompiledEvent;
  if (highest.prepared !== undefined) {
    const order = scheme.comparePrepared(version, highest.prepared);
    if (order > 0 || (order === 0 && highest.event.kind !== 'last_affected')) {
      return highest.event.kind === 'introduced'
        ? describeInterval(range, highest.event, undefined)
        : undefined;
    }
  }
  let vulnerable = false;
  let opening = -1;
  for (let index = 0; index < events.length; index++) {
    const { event, prepared } = events[index] as CompiledEvent;
    const order = prepared === undefined ? 1 : scheme.comparePrepared(version, prepared);
    // Events are sorted: once one lies above the version, none after it can change the outcome.
    if (order < 0) break;
    if (event.kind === 'introduced') {
      vulnerable = true;
      opening = index;
    } else if (event.kind === 'fixed' || (event.kind === 'last_affected' && order > 0)) {
      vulnerable = false;
    }
  }
  if (!vulnerable) return undefined;
  let closing: RangeEvent | undefined;
  for (let index = opening + 1; index < events.length && closing === undefined; index++) {
    const { event } = events[index] as CompiledEvent;
    if (event.kind === 'fixed' || event.kind === 'last_affected') closing = event;
  }
  return describeInterval(range, (events[opening] as CompiledEvent).event, closing);
}

/** Evaluates a compiled affected package; `isAffected` compiles and caches for you. */
export function evaluateAffected(
  compiled: CompiledAffected,
  version: string,
  readings: VersionReadings = new Map(),
): AffectedEvaluation {
  const listed = listedVersion(compiled, version, readings);
  if (listed !== undefined) return { affected: true, evaluated: true, matchedBy: `versions lists ${listed}` };
  let evaluatedAny = compiled.versions.size > 0;
  let unevaluatedReason: string | undefined;
  let hasGitRange = false;
  for (const range of compiled.ranges) {
    if (range.problem !== undefined) {
      if (range.type === 'GIT') hasGitRange = true;
      else unevaluatedReason ??= range.problem;
      continue;
    }
    const scheme = range.scheme as VersionScheme;
    const reading = readingOf(scheme, version, readings);
    if (reading === null) {
      unevaluatedReason ??= `${JSON.stringify(version.slice(0, 80))} is not a valid ${scheme.name} version`;
      continue;
    }
    const matchedBy = matchRange(range, reading);
    if (matchedBy !== undefined) return { affected: true, evaluated: true, matchedBy };
    evaluatedAny = true;
  }
  for (const versRange of compiled.versRanges) {
    if (versRange.range === undefined) {
      unevaluatedReason ??= versRange.problem;
      continue;
    }
    try {
      if (versContains(versRange.range, version))
        return { affected: true, evaluated: true, matchedBy: versRange.text };
      evaluatedAny = true;
    } catch (error) {
      if (!isVigilError(error)) throw error;
      unevaluatedReason ??= error.message;
    }
  }
  if (unevaluatedReason !== undefined)
    return { affected: false, evaluated: false, reason: unevaluatedReason };
  if (!evaluatedAny) {
    const reason = hasGitRange
      ? gitRangeProblem
      : 'the advisory names the package without versions or ranges';
    return { affected: false, evaluated: false, reason };
  }
  return notAffected;
}

/**
 * Whether `version` of the package is affected, by OSV schema §Evaluation (see the top of this file).
 * Never throws on what the advisory or the version contain: what cannot be decided is `evaluated: false`
 * with the reason.
 */
export function isAffected(affected: AffectedPackage, version: string): AffectedEvaluation {
  return evaluateAffected(compiledOf(affected), version);
}
