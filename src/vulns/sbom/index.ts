/**
 * SBOMs, pure: bytes in, a normalised SBOM and its completeness out; no database, no network.
 * `parseSbom` reads CycloneDX JSON 1.2–1.6 and SPDX 2.3 JSON, which are attacker-controlled, and only
 * throws `VigilError` with an `SBOM_*` code.
 */
export { parseSbom, readSbomStream, SbomStreamReader, maxNestingDepth } from './parse-sbom.ts';
export { readPackageUrl, type PackageUrlReading } from './package-url.ts';
export type { SbomErrorCode, SbomViolation } from './errors.ts';
export type {
  ParsedSbom,
  SbomFormat,
  SbomSpecVersion,
  SbomMetadata,
  SbomComponent,
  SbomParty,
  SbomTool,
  SbomRelationship,
  RelationshipKind,
  SbomWarning,
  SbomWarningCode,
  ComponentHash,
  HashAlgorithm,
  PackageUrl,
} from './parsed-sbom.ts';
export {
  completenessReport,
  type CompletenessReport,
  type StandardCompleteness,
  type ComponentElementResult,
  type DocumentElementResult,
} from './completeness.ts';
