/**
 * One shape for every advisory Vigil reads (OSV records, CSAF 2.0 documents), so matching, triage and
 * deadlines never care where an advisory came from. Plain data: storable and sendable as JSON as it is;
 * absent facts are left out rather than guessed.
 */

export type AdvisorySource = 'osv' | 'csaf';

/** OSV schema `affected[].ranges[].type`. */
export type RangeType = 'SEMVER' | 'ECOSYSTEM' | 'GIT';

/** OSV schema `affected[].ranges[].events[]`: each event holds exactly one of these. */
export type RangeEventKind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

export interface RangeEvent {
  kind: RangeEventKind;
  /** As written: `introduced: "0"` sorts before every version, a `limit` containing `*` is infinity. */
  version: string;
}

export interface AffectedRange {
  type: RangeType;
  /** The repository a GIT range's commits belong to. */
  repo?: string;
  /** In document order; evaluation sorts them (OSV schema §Evaluation). */
  events: RangeEvent[];
}

/** A package URL without version (purl spec, ECMA-427), as packageurl-js normalised it. */
export interface PackageCoordinates {
  type: string;
  namespace?: string;
  name: string;
}

/** OSV schema `affected[]`; CSAF products named by purl become entries of the same shape. */
export interface AffectedPackage {
  /** The OSV ecosystem as written ("Go", "PyPI", "Debian:12"); absent for CSAF products (see `purl`). */
  ecosystem?: string;
  /** The package name in its ecosystem, as written ("golang.org/x/net", "group:artifact"). */
  name?: string;
  /** OSV `package.purl` or the CSAF product's purl helper, without version, when it is a valid package URL. */
  purl?: PackageCoordinates;
  ranges: AffectedRange[];
  /** Explicitly affected versions (OSV `versions`; CSAF products with one version). */
  versions: string[];
  /**
   * Affected version ranges as package-url/vers-spec strings: CSAF `product_version_range` branches
   * written as vers. A Vigil extension of the OSV shape, evaluated with `versContains`.
   */
  versRanges: string[];
  /** OSV `affected[].severity`: this package's own severity, when it differs from the record's. */
  severity: SeverityScore[];
}

/** CVSS v3.x and v4.0 rating scale (CVSS v3.1 specification §5, CVSS v4.0 specification §6). */
export type SeverityRating = 'none' | 'low' | 'medium' | 'high' | 'critical';

export interface SeverityScore {
  /** OSV severity type: `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, or another the source names. */
  type: string;
  /** The CVSS vector string, as written. */
  vector?: string;
  /** The CVSS base score: stated by the source, or computed here from a CVSS 3.x vector. */
  baseScore?: number;
  baseScoreOrigin?: 'stated' | 'computed';
  rating?: SeverityRating;
  /** A non-CVSS score as written (an Ubuntu priority). */
  text?: string;
  /** Why a vector could not be read, when it could not; the entry is kept so nothing is silently lost. */
  problem?: string;
  /** CSAF: the products this score is about (`scores[].products`). */
  productIds?: string[];
}

export interface AdvisoryReference {
  /** OSV reference type (ADVISORY, FIX, WEB, ...) or CSAF reference category (external, self). */
  type: string;
  url: string;
  summary?: string;
}

/** The four VEX statuses (CISA "Minimum Requirements for VEX", 2023; CSAF 2.0 §4.5; CycloneDX analysis). */
export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

/**
 * Why a product is not affected: the CSAF 2.0 §3.2.3.5 flag labels, which are the CISA VEX status
 * justifications. CycloneDX justifications are mapped onto these (see matching's CycloneDX VEX reader).
 */
export type VexJustification =
  | 'component_not_present'
  | 'vulnerable_code_not_present'
  | 'vulnerable_code_not_in_execute_path'
  | 'vulnerable_code_cannot_be_controlled_by_adversary'
  | 'inline_mitigations_already_exist';

/** CSAF 2.0 §3.2.3.9 `product_status` categories. */
export type CsafProductStatusCategory =
  | 'first_affected'
  | 'first_fixed'
  | 'fixed'
  | 'known_affected'
  | 'known_not_affected'
  | 'last_affected'
  | 'recommended'
  | 'under_investigation';

/** CSAF 2.0 §3.2.3.12.1 remediation categories. */
export type RemediationCategory =
  'mitigation' | 'no_fix_planned' | 'none_available' | 'vendor_fix' | 'workaround';

/** A product as the CSAF product tree names it (CSAF 2.0 §3.1.3, §3.2.2). */
export interface AdvisoryProduct {
  productId: string;
  name: string;
  /** From the branches above the product (CSAF 2.0 §3.2.2.1.1 branch categories). */
  vendor?: string;
  productFamily?: string;
  productName?: string;
  /** A `product_version` branch: one version. */
  version?: string;
  /** A `product_version_range` branch: a vers string or, in CSAF 2.0, free text such as "<=1.14.0". */
  versionRange?: string;
  /** `product_identification_helper.purl`, when it is a valid package URL. */
  purl?: PackageCoordinates & { version?: string; canonical: string };
  /** `product_identification_helper.cpe`, in CPE 2.3 formatted-string form. */
  cpe?: string;
  /** A product built by a relationship (CSAF 2.0 §3.2.2.4): `productReference` as `category` of `relatesTo`. */
  relationship?: { category: string; productReference: string; relatesToProductReference: string };
}

/** What a VEX source (CSAF `product_status`, flags, threats, remediations) says about one product. */
export interface ProductStatement {
  productId: string;
  productName?: string;
  /** The product's package URL (canonical), when the product tree names it by purl. */
  purl?: string;
  /** The product's version: its purl's, else its product_version branch's. */
  version?: string;
  status: VexStatus;
  /** The CSAF category the status came from. */
  csafStatus: CsafProductStatusCategory;
  justification?: VexJustification;
  /** CSAF threat of category `impact` (CSAF 2.0 §3.2.3.13): why the product is or is not affected. */
  impactStatement?: string;
  /** CSAF remediation details (CSAF 2.0 §3.2.3.12): what to do. */
  actionStatement?: string;
  remediationCategory?: RemediationCategory;
  /** Versions of the same product line the source lists as fixed, for an affected product with a vendor fix. */
  fixedVersions?: string[];
  remediationUrl?: string;
}

export interface Advisory {
  source: AdvisorySource;
  /** OSV `id`; for CSAF, the vulnerability's `cve`, else its first `ids[].text`, else `<tracking id>#<n>`. */
  id: string;
  /** Other ids of the same vulnerability: OSV `aliases`; CSAF `cve` and `ids[].text`. */
  aliases: string[];
  /** OSV `related`: similar but distinct; never merged. */
  related: string[];
  /** OSV `upstream`: vulnerabilities this one derives from; never merged. */
  upstream: string[];
  /** RFC 3339, as written. */
  modified?: string;
  published?: string;
  /** A withdrawn advisory matches nothing (OSV schema `withdrawn`). */
  withdrawn?: string;
  summary?: string;
  details?: string;
  severity: SeverityScore[];
  references: AdvisoryReference[];
  affected: AffectedPackage[];
  /** CPE 2.3 names of affected products, when the source names products by CPE. */
  cpes: string[];
  /** VEX statements per product (CSAF only; empty for OSV). */
  statements: ProductStatement[];
  /** CSAF: the document the vulnerability came from. */
  csaf?: { trackingId: string; category: string; title: string; publisher: string };
  /** CVE ids named by the source (CSAF `cve`, OSV ids and aliases that are CVEs). */
  cves: string[];
}

/** One entry of the CISA Known Exploited Vulnerabilities catalogue (schema of cisagov/kev-data). */
export interface KevEntry {
  cveId: string;
  vendorProject: string;
  product: string;
  vulnerabilityName: string;
  /** YYYY-MM-DD. */
  dateAdded: string;
  shortDescription: string;
  requiredAction: string;
  /** YYYY-MM-DD: the BOD 22-01 remediation deadline for federal agencies. */
  dueDate: string;
  knownRansomwareCampaignUse: 'Known' | 'Unknown';
  notes: string;
  cwes: string[];
}

export interface KevCatalogue {
  title: string;
  catalogVersion: string;
  dateReleased: string;
  entries: KevEntry[];
}
