/**
 * Advisories, pure: bytes in, one normalised `Advisory` shape out; no database, no network. Reads OSV
 * records and JSON-lines (gzip or not), CSAF 2.0 advisories and VEX documents, and the CISA KEV
 * catalogue. All of them are attacker-controlled: every parser here is bounded in size and only throws
 * VigilError with a VULNS_ADVISORY_* or VULNS_FORMAT_UNKNOWN code.
 */
export type { AdvisoryErrorCode } from './errors.ts';
export type {
  Advisory,
  AdvisorySource,
  AdvisoryReference,
  AdvisoryProduct,
  AffectedPackage,
  AffectedRange,
  RangeEvent,
  RangeEventKind,
  RangeType,
  PackageCoordinates,
  SeverityScore,
  SeverityRating,
  ProductStatement,
  VexStatus,
  VexJustification,
  CsafProductStatusCategory,
  RemediationCategory,
  KevEntry,
  KevCatalogue,
} from './advisory.ts';
export { parseOsvRecord } from './osv.ts';
export {
  parseOsvJsonLines,
  readOsvJsonLines,
  keptLineErrorLimit,
  type OsvLineResult,
  type OsvLineError,
  type OsvJsonLinesReport,
} from './osv-json-lines.ts';
export { parseCsaf, type CsafDocument } from './csaf.ts';
export { parseKevCatalogue } from './kev.ts';
export {
  detectAdvisoryFormat,
  parseAdvisoryFile,
  type AdvisoryFormat,
  type AdvisoryFile,
} from './detect-format.ts';
export { mergeAliases, type VulnerabilityAliases, type VulnerabilityGroup } from './aliases.ts';
export { preferredVulnerabilityId, compareVulnerabilityIds, isCveId } from './vulnerability-ids.ts';
export { scoreCvssVector, ratingOfScore, highestSeverity } from './cvss.ts';
export { parseCpe, formatCpe, isSpecificCpeValue, type Cpe } from './cpe.ts';
export {
  readJsonDocument,
  maxDocumentBytes,
  maxJsonLinesBytes,
  maxRecordBytes,
  type JsonInput,
} from './json-input.ts';
