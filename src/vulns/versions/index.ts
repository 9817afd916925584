/**
 * Version comparators and vers ranges for vulnerability matching, pure: strings in, orders out; no I/O.
 * Versions and ranges come from advisories and SBOMs (attacker-controlled); every function here either
 * answers or throws VigilError with a VULNS_VERSION_* / VULNS_VERS_* code (kind 'invalid').
 */
export type { VersionErrorCode } from './errors.ts';
export {
  maxVersionLength,
  type VersionScheme,
  type VersionSchemeName,
  type PreparedVersion,
} from './scheme.ts';
export { versionSchemes, versionSchemeFor, findVersionScheme } from './registry.ts';
export { normalizePythonVersion } from './pypi.ts';
export { isWellFormedAlpineVersion } from './alpine.ts';
export {
  parseVers,
  normalizeVers,
  formatVers,
  versContains,
  versionSchemeForVersType,
  maxVersLength,
  type VersRange,
  type VersConstraint,
  type VersComparator,
} from './vers.ts';
