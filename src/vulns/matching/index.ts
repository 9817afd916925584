/**
 * Matching, pure: advisories and SBOMs in, findings out; no database, no network. OSV semantics exactly
 * as the OSV schema evaluates them (`isAffected`), package identity across purl types and OSV ecosystems,
 * an `AdvisoryIndex` for a new SBOM against every advisory, a `ComponentIndex` for a new advisory against
 * every release, and CycloneDX VEX applied to an SBOM. Matching never throws on what advisories or SBOMs
 * contain: what cannot be decided is reported as unevaluated. `applyCycloneDxVex` reads an
 * attacker-controlled document and throws only VigilError (VULNS_VEX_INVALID, VULNS_ADVISORY_*).
 */
export {
  isAffected,
  compileAffected,
  evaluateAffected,
  type AffectedEvaluation,
  type CompiledAffected,
  type VersionReadings,
} from './affected-evaluation.ts';
export {
  osvEcosystemForPurl,
  purlTypeForOsvEcosystem,
  osvNameForPurl,
  baseEcosystem,
  normalisePackageName,
  packageIdentityFromPurl,
  packageIdentityFromOsv,
  type PackageIdentity,
} from './ecosystems.ts';
export type { Finding, UnevaluatedMatch, MatchableComponent, MatchConfidence } from './finding.ts';
export { AdvisoryIndex, type SbomMatchReport } from './advisory-index.ts';
export {
  ComponentIndex,
  type AdvisoryMatchReport,
  type ReleaseFinding,
  type ReleaseUnevaluatedMatch,
} from './component-index.ts';
export {
  applyCycloneDxVex,
  type VexApplication,
  type VexStatementApplication,
  type VexErrorCode,
} from './cyclonedx-vex.ts';
