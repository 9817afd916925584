import {
  highestSeverity,
  isSpecificCpeValue,
  parseCpe,
  preferredVulnerabilityId,
  type Advisory,
  type AffectedPackage,
  type Cpe,
  type SeverityScore,
  type VulnerabilityAliases,
} from '../advisories/index.ts';
import { versionSchemeFor } from '../versions/index.ts';
import {
  compileAffected,
  evaluateAffected,
  type CompiledAffected,
  type VersionReadings,
} from './affected-evaluation.ts';
import { packageIdentityFromOsv, packageIdentityFromPurl, type PackageIdentity } from './ecosystems.ts';
import type { Finding, FindingCollector, MatchableComponent, UnevaluatedMatch } from './finding.ts';

/**
 * An advisory made ready for matching: its vulnerability id settled (through the alias groups when
 * given), its affected packages compiled and keyed by package identity, its CPEs keyed by vendor and
 * product. Shared by both directions of matching (a new SBOM against every advisory, a new advisory
 * against every release), so both decide alike.
 */

export interface PreparedAdvisory {
  advisory: Advisory;
  vulnerability: string;
  /** Shared by every finding of the advisory; `FindingCollector` copies before it merges. */
  aliases: readonly string[];
  advisoryIds: readonly string[];
  affected: PreparedAffected[];
  cpes: PreparedCpe[];
}

export interface PreparedAffected {
  prepared: PreparedAdvisory;
  compiled: CompiledAffected;
  identity: PackageIdentity | undefined;
  severity: SeverityScore | undefined;
}

export interface PreparedCpe {
  prepared: PreparedAdvisory;
  cpe: Cpe;
  text: string;
  key: string;
}

/** CPE matching compares vendor and product, then the version (NISTIR 7696 name matching, reduced to what advisories use). */
export function cpeKeyOf(cpe: Cpe): string | undefined {
  return isSpecificCpeValue(cpe.vendor) && isSpecificCpeValue(cpe.product)
    ? `${cpe.vendor}:${cpe.product}`
    : undefined;
}

function vulnerabilityIdsOf(
  advisory: Advisory,
  aliases: VulnerabilityAliases | undefined,
): { vulnerability: string; aliases: string[] } {
  const group = aliases?.groupOf(advisory.id);
  if (group !== undefined) {
    return { vulnerability: group.canonicalId, aliases: group.ids.filter((id) => id !== group.canonicalId) };
  }
  const ids = [...new Set([advisory.id, ...advisory.aliases, ...advisory.cves])];
  const vulnerability = preferredVulnerabilityId(ids) ?? advisory.id;
  return { vulnerability, aliases: ids.filter((id) => id !== vulnerability) };
}

function identityOfAffected(affected: AffectedPackage): PackageIdentity | undefined {
  if (affected.ecosystem !== undefined && affected.name !== undefined)
    return packageIdentityFromOsv(affected.ecosystem, affected.name);
  if (affected.purl !== undefined) return packageIdentityFromPurl(affected.purl);
  return undefined;
}

export function prepareAdvisory(advisory: Advisory, aliases?: VulnerabilityAliases): PreparedAdvisory {
  const prepared: PreparedAdvisory = {
    advisory,
    ...vulnerabilityIdsOf(advisory, aliases),
    advisoryIds: [advisory.id],
    affected: [],
    cpes: [],
  };
  for (const affected of advisory.affected) {
    prepared.affected.push({
      prepared,
      compiled: compileAffected(affected),
      identity: identityOfAffected(affected),
      severity: highestSeverity([...affected.severity, ...advisory.severity]),
    });
  }
  for (const text of advisory.cpes) {
    const cpe = parseCpe(text);
    const key = cpe === undefined ? undefined : cpeKeyOf(cpe);
    if (cpe !== undefined && key !== undefined) prepared.cpes.push({ prepared, cpe, text, key });
  }
  return prepared;
}

/** The version to match: the component's own, else its purl's. */
export function componentVersionOf(component: MatchableComponent): string | undefined {
  return component.version ?? component.purl?.version;
}

/** Excluded components (CycloneDX 1.6 `scope: excluded`) are not part of what ships. */
export function isShipped(component: MatchableComponent): boolean {
  return component.scope !== 'excluded';
}

/** Decides one component against one affected package its purl names; adds a finding or an unevaluated pair. */
export function matchByPurl(
  component: MatchableComponent,
  version: string | undefined,
  entry: PreparedAffected,
  readings: VersionReadings,
  collector: FindingCollector,
): void {
  const { prepared } = entry;
  if (version === undefined) {
    collector.addUnevaluated(
      unevaluatedMatch(prepared, component, undefined, 'the component has no version'),
    );
    return;
  }
  const evaluation = evaluateAffected(entry.compiled, version, readings);
  if (evaluation.affected) {
    const finding: Finding = {
      vulnerability: prepared.vulnerability,
      aliases: prepared.aliases,
      advisoryIds: prepared.advisoryIds,
      componentRef: component.ref,
      version,
      matchedRange: evaluation.matchedBy,
      matchedBy: 'purl',
      confidence: 'high',
    };
    if (component.purl?.canonical !== undefined) finding.purl = component.purl.canonical;
    if (entry.severity !== undefined) finding.severity = entry.severity;
    collector.add(finding);
  } else if (!evaluation.evaluated) {
    collector.addUnevaluated(unevaluatedMatch(prepared, component, version, evaluation.reason));
  }
}

function unevaluatedMatch(
  prepared: PreparedAdvisory,
  component: MatchableComponent,
  version: string | undefined,
  reason: string,
): UnevaluatedMatch {
  const match: UnevaluatedMatch = {
    vulnerability: prepared.vulnerability,
    advisoryId: prepared.advisory.id,
    componentRef: component.ref,
    reason,
  };
  if (component.purl?.canonical !== undefined) match.purl = component.purl.canonical;
  if (version !== undefined) match.version = version;
  return match;
}

function sameCpeVersion(version: string, cpeVersion: string): boolean {
  if (version.toLowerCase() === cpeVersion) return true;
  const scheme = versionSchemeFor('generic');
  return scheme.isValid(version) && scheme.isValid(cpeVersion) && scheme.compare(version, cpeVersion) === 0;
}

/**
 * Decides a component without purl against an advisory CPE with the same vendor and product: a CPE naming
 * a version matches that version; a CPE for any version defers to the advisory's affected ranges. Findings
 * are low-confidence: vendor and product names are not package identities.
 */
export function matchByCpe(
  component: MatchableComponent,
  componentCpe: Cpe,
  entry: PreparedCpe,
  readings: VersionReadings,
  collector: FindingCollector,
): void {
  const { prepared } = entry;
  const version =
    component.version ?? (isSpecificCpeValue(componentCpe.version) ? componentCpe.version : undefined);
  const unevaluated = (reason: string): void =>
    collector.addUnevaluated(unevaluatedMatch(prepared, component, version, reason));
  if (version === undefined) return unevaluated('the component has no version');
  const found = (matchedRange: string, severity: SeverityScore | undefined): void =>
    collector.add({
      vulnerability: prepared.vulnerability,
      aliases: prepared.aliases,
      advisoryIds: prepared.advisoryIds,
      componentRef: component.ref,
      ...(component.cpe === undefined ? {} : { cpe: component.cpe }),
      version,
      matchedRange,
      matchedBy: 'cpe',
      confidence: 'low',
      ...(severity === undefined ? {} : { severity }),
    });
  if (isSpecificCpeValue(entry.cpe.version)) {
    if (sameCpeVersion(version, entry.cpe.version))
      found(entry.text, highestSeverity(prepared.advisory.severity));
    return;
  }
  if (prepared.affected.length === 0)
    return unevaluated(`${entry.text} names no version and the advisory has no ranges`);
  let reason: string | undefined;
  for (const affected of prepared.affected) {
    const evaluation = evaluateAffected(affected.compiled, version, readings);
    if (evaluation.affected) return found(`${entry.text} ${evaluation.matchedBy}`, affected.severity);
    if (!evaluation.evaluated) reason ??= evaluation.reason;
  }
  if (reason !== undefined) unevaluated(reason);
}
