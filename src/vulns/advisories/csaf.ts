import type {
  Advisory,
  AdvisoryProduct,
  AdvisoryReference,
  AffectedPackage,
  CsafProductStatusCategory,
  ProductStatement,
  RemediationCategory,
  SeverityScore,
  VexJustification,
  VexStatus,
} from './advisory.ts';
import { readProductTree, type ProductTree } from './csaf-product-tree.ts';
import { scoreCvssVector } from './cvss.ts';
import { advisoryError, invalidAdvisory } from './errors.ts';
import { readJsonDocument, type JsonInput } from './json-input.ts';
import {
  distinct,
  expectObject,
  mapArray,
  optionalArray,
  optionalDateTime,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringArray,
  pointer,
  requiredDateTime,
  requiredString,
  type JsonObject,
} from './json-fields.ts';
import { guardParser } from './parser-guard.ts';
import { isCveId, maxVulnerabilityIdLength, readVulnerabilityId } from './vulnerability-ids.ts';

/**
 * CSAF 2.0 documents (OASIS CSAF Version 2.0, 2022): `csaf_security_advisory`, `csaf_vex` and any other
 * category of the `csaf_base` profile. One `Advisory` per entry of `vulnerabilities` (§3.2.3), its
 * `product_status` (§3.2.3.9) turned into VEX statements per product, with justifications from `flags`
 * (§3.2.3.5), impact statements from `threats` (§3.2.3.13) and action statements from `remediations`
 * (§3.2.3.12). Documents are attacker-controlled: bounded (64 MiB), walked without unbounded recursion,
 * and every product id they use must be defined (mandatory test §6.1.1) with one status group each
 * (§6.1.6), or the document is refused with VULNS_ADVISORY_INVALID.
 */

export interface CsafDocument {
  trackingId: string;
  /** `document.category`: csaf_security_advisory, csaf_vex, csaf_informational_advisory, csaf_base or another. */
  category: string;
  title: string;
  publisher: string;
  /** `document.tracking.status`: draft, interim or final. */
  trackingStatus: string;
  initialReleaseDate: string;
  currentReleaseDate: string;
  products: AdvisoryProduct[];
  /** One per vulnerability. */
  advisories: Advisory[];
}

/** Group expansions (`group_ids` → product ids) one document may cause; bounds the work of a hostile one. */
const maxExpandedProductReferences = 5_000_000;

/** §3.2.3.9 categories in the order their statements are kept when a product appears under two of one status. */
const statusOfCategory: readonly (readonly [CsafProductStatusCategory, VexStatus | undefined])[] = [
  ['known_affected', 'affected'],
  ['first_affected', 'affected'],
  ['last_affected', 'affected'],
  ['first_fixed', 'fixed'],
  ['fixed', 'fixed'],
  ['known_not_affected', 'not_affected'],
  ['under_investigation', 'under_investigation'],
  // "recommended" says which version to take, not whether this one is affected: no statement.
  ['recommended', undefined],
];

/** §3.2.3.5: the flag labels, which are the VEX justifications. */
const justifications: ReadonlySet<string> = new Set<VexJustification>([
  'component_not_present',
  'inline_mitigations_already_exist',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_not_present',
]);

const remediationCategories: ReadonlySet<string> = new Set<RemediationCategory>([
  'mitigation',
  'no_fix_planned',
  'none_available',
  'vendor_fix',
  'workaround',
]);

class ProductReferences {
  private expanded = 0;

  constructor(private readonly tree: ProductTree) {}

  /** `product_ids` (or another list of product ids) and the members of `group_ids`, each checked to be defined (§6.1.1, §6.1.4). */
  resolve(object: JsonObject, path: string, productKey = 'product_ids', withGroups = true): string[] {
    const ids: string[] = [];
    const productIdsPath = pointer(path, productKey);
    optionalStringArray(object, productKey, path).forEach((id, index) => {
      if (!this.tree.products.has(id)) {
        throw invalidAdvisory(
          pointer(productIdsPath, index),
          'names a product the product tree does not define (CSAF 2.0 §6.1.1)',
        );
      }
      ids.push(id);
    });
    if (!withGroups) return distinct(ids);
    const groupIdsPath = pointer(path, 'group_ids');
    optionalStringArray(object, 'group_ids', path).forEach((groupId, index) => {
      const members = this.tree.groups.get(groupId);
      if (members === undefined) {
        throw invalidAdvisory(
          pointer(groupIdsPath, index),
          'names a product group that is not defined (CSAF 2.0 §6.1.4)',
        );
      }
      this.expanded += members.length;
      if (this.expanded > maxExpandedProductReferences) {
        throw advisoryError(
          'VULNS_ADVISORY_TOO_LARGE',
          'the document references product groups too many times',
          {
            facts: { maxExpandedProductReferences },
          },
        );
      }
      ids.push(...members);
    });
    return distinct(ids);
  }
}

function readReferences(object: JsonObject, path: string): AdvisoryReference[] {
  return mapArray(object, 'references', path, (value, itemPath) => {
    const reference = expectObject(value, itemPath);
    const summary = optionalString(reference, 'summary', itemPath);
    return {
      type: optionalString(reference, 'category', itemPath) ?? 'external',
      url: requiredString(reference, 'url', itemPath, { nonEmpty: true, maxLength: 4096 }),
      ...(summary === undefined ? {} : { summary }),
    };
  });
}

/** §3.2.3.11 scores: CVSS v3 (`vectorString`, `baseScore`) and v2 objects, each about some products. */
function readScores(vulnerability: JsonObject, path: string, references: ProductReferences): SeverityScore[] {
  const scores: SeverityScore[] = [];
  optionalArray(vulnerability, 'scores', path).forEach((value, index) => {
    const scorePath = pointer(pointer(path, 'scores'), index);
    const score = expectObject(value, scorePath);
    const productIds = references.resolve(score, scorePath, 'products', false);
    for (const [key, type] of [
      ['cvss_v3', 'CVSS_V3'],
      ['cvss_v2', 'CVSS_V2'],
    ] as const) {
      const cvss = optionalObject(score, key, scorePath);
      if (cvss === undefined) continue;
      const cvssPath = pointer(scorePath, key);
      const vector = requiredString(cvss, 'vectorString', cvssPath, { nonEmpty: true });
      scores.push({
        ...scoreCvssVector(type, vector, optionalNumber(cvss, 'baseScore', cvssPath)),
        productIds,
      });
    }
  });
  return scores;
}

/** The text of notes of the given categories (§3.2.3.7), in document order. */
function notesText(
  vulnerability: JsonObject,
  path: string,
  categories: readonly string[],
): string | undefined {
  const texts = mapArray(vulnerability, 'notes', path, (value, notePath) => {
    const note = expectObject(value, notePath);
    const category = requiredString(note, 'category', notePath);
    const text = requiredString(note, 'text', notePath);
    return categories.includes(category) ? text : undefined;
  }).filter((text): text is string => text !== undefined);
  return texts.length === 0 ? undefined : texts.join('\n\n');
}

/** Same vendor, family and product name: versions of one product line. */
function productLineOf(product: AdvisoryProduct): string {
  return JSON.stringify([
    product.vendor ?? '',
    product.productFamily ?? '',
    product.productName ?? product.name,
  ]);
}

function readStatements(
  vulnerability: JsonObject,
  path: string,
  tree: ProductTree,
  references: ProductReferences,
): ProductStatement[] {
  const productStatus = optionalObject(vulnerability, 'product_status', path) ?? {};
  const statusPath = pointer(path, 'product_status');
  const statements = new Map<string, ProductStatement>();
  const groupOfProduct = new Map<string, VexStatus>();
  for (const [category, status] of statusOfCategory) {
    for (const productId of references.resolve(productStatus, statusPath, category, false)) {
      if (status === undefined) continue;
      const earlier = groupOfProduct.get(productId);
      if (earlier !== undefined && earlier !== status) {
        throw invalidAdvisory(
          statusPath,
          `product ${JSON.stringify(productId.slice(0, 80))} is both ${earlier} and ${status} (CSAF 2.0 §6.1.6)`,
        );
      }
      groupOfProduct.set(productId, status);
      if (statements.has(productId)) continue;
      const product = tree.products.get(productId);
      const version = product?.purl?.version ?? product?.version;
      statements.set(productId, {
        productId,
        ...(product === undefined ? {} : { productName: product.name }),
        ...(product?.purl === undefined ? {} : { purl: product.purl.canonical }),
        ...(version === undefined ? {} : { version }),
        status,
        csafStatus: category,
      });
    }
  }

  optionalArray(vulnerability, 'flags', path).forEach((value, index) => {
    const flagPath = pointer(pointer(path, 'flags'), index);
    const flag = expectObject(value, flagPath);
    const label = requiredString(flag, 'label', flagPath);
    if (!justifications.has(label))
      throw invalidAdvisory(pointer(flagPath, 'label'), 'is not a CSAF 2.0 §3.2.3.5 flag label');
    for (const productId of references.resolve(flag, flagPath)) {
      const statement = statements.get(productId);
      if (statement?.status === 'not_affected') statement.justification = label as VexJustification;
    }
  });

  optionalArray(vulnerability, 'threats', path).forEach((value, index) => {
    const threatPath = pointer(pointer(path, 'threats'), index);
    const threat = expectObject(value, threatPath);
    if (requiredString(threat, 'category', threatPath) !== 'impact') return;
    const details = requiredString(threat, 'details', threatPath);
    for (const productId of references.resolve(threat, threatPath)) {
      const statement = statements.get(productId);
      if (statement !== undefined) statement.impactStatement = details;
    }
  });

  // Versions the source lists as fixed, per product line, for "vendor_fix" remediations.
  const fixedVersionsOfLine = new Map<string, string[]>();
  for (const statement of statements.values()) {
    const product = tree.products.get(statement.productId);
    if (statement.status !== 'fixed' || product?.version === undefined) continue;
    const line = productLineOf(product);
    fixedVersionsOfLine.set(line, distinct([...(fixedVersionsOfLine.get(line) ?? []), product.version]));
  }

  optionalArray(vulnerability, 'remediations', path).forEach((value, index) => {
    const remediationPath = pointer(pointer(path, 'remediations'), index);
    const remediation = expectObject(value, remediationPath);
    const category = requiredString(remediation, 'category', remediationPath);
    if (!remediationCategories.has(category)) {
      throw invalidAdvisory(
        pointer(remediationPath, 'category'),
        'is not a CSAF 2.0 §3.2.3.12.1 remediation category',
      );
    }
    const details = requiredString(remediation, 'details', remediationPath);
    const url = optionalString(remediation, 'url', remediationPath, { maxLength: 4096 });
    for (const productId of references.resolve(remediation, remediationPath)) {
      const statement = statements.get(productId);
      if (statement === undefined || statement.status === 'not_affected' || statement.status === 'fixed')
        continue;
      statement.actionStatement =
        statement.actionStatement === undefined ? details : `${statement.actionStatement}\n${details}`;
      statement.remediationCategory ??= category as RemediationCategory;
      if (url !== undefined) statement.remediationUrl ??= url;
      const product = tree.products.get(productId);
      const fixedVersions =
        product === undefined ? undefined : fixedVersionsOfLine.get(productLineOf(product));
      if (category === 'vendor_fix' && fixedVersions !== undefined) statement.fixedVersions = fixedVersions;
    }
  });
  return [...statements.values()];
}

/**
 * Affected products named by purl become affected packages (one per package, its versions merged: the purl
 * version or the product_version branch, and product_version_range branches written as vers); products
 * named by CPE give the advisory its CPEs.
 */
function affectedFromStatements(
  statements: readonly ProductStatement[],
  tree: ProductTree,
): Pick<Advisory, 'affected' | 'cpes'> {
  const packages = new Map<string, AffectedPackage>();
  const cpes: string[] = [];
  for (const statement of statements) {
    if (statement.status !== 'affected') continue;
    const product = tree.products.get(statement.productId);
    if (product === undefined) continue;
    if (product.cpe !== undefined) cpes.push(product.cpe);
    if (product.purl === undefined) continue;
    const { type, namespace, name } = product.purl;
    const key = JSON.stringify([type, namespace ?? '', name]);
    let entry = packages.get(key);
    if (entry === undefined) {
      entry = {
        purl: namespace === undefined ? { type, name } : { type, namespace, name },
        ranges: [],
        versions: [],
        versRanges: [],
        severity: [],
      };
      packages.set(key, entry);
    }
    const version = product.purl.version ?? product.version;
    if (version !== undefined && !entry.versions.includes(version)) entry.versions.push(version);
    if (
      product.versionRange?.startsWith('vers:') === true &&
      !entry.versRanges.includes(product.versionRange)
    ) {
      entry.versRanges.push(product.versionRange);
    }
  }
  return { affected: [...packages.values()], cpes: distinct(cpes) };
}

/** `ids[].text` that can serve as an id; others (free text with spaces) are not aliases. */
function idsOf(vulnerability: JsonObject, path: string): string[] {
  return mapArray(vulnerability, 'ids', path, (value, idPath) => {
    const id = requiredString(expectObject(value, idPath), 'text', idPath).trim();
    return id.length > 0 && id.length <= maxVulnerabilityIdLength && /^[\x21-\x7e]+$/.test(id)
      ? id
      : undefined;
  }).filter((id): id is string => id !== undefined);
}

export function csafDocumentFromJson(value: unknown): CsafDocument {
  const root = expectObject(value, '');
  const document = optionalObject(root, 'document', '');
  if (document === undefined) throw invalidAdvisory('/document', 'is required');
  const csafVersion = requiredString(document, 'csaf_version', '/document');
  if (csafVersion !== '2.0') throw invalidAdvisory('/document/csaf_version', 'only CSAF 2.0 is read');
  const category = requiredString(document, 'category', '/document', { nonEmpty: true });
  const title = requiredString(document, 'title', '/document', { nonEmpty: true });
  const publisherObject = optionalObject(document, 'publisher', '/document');
  if (publisherObject === undefined) throw invalidAdvisory('/document/publisher', 'is required');
  const tracking = optionalObject(document, 'tracking', '/document');
  if (tracking === undefined) throw invalidAdvisory('/document/tracking', 'is required');
  const trackingId = requiredString(tracking, 'id', '/document/tracking', {
    nonEmpty: true,
    maxLength: 1000,
  });
  const initialReleaseDate = requiredDateTime(tracking, 'initial_release_date', '/document/tracking');
  const currentReleaseDate = requiredDateTime(tracking, 'current_release_date', '/document/tracking');
  const publisher = requiredString(publisherObject, 'name', '/document/publisher');
  const documentReferences = readReferences(document, '/document');

  const tree = readProductTree(root);
  const references = new ProductReferences(tree);
  const advisories = mapArray(root, 'vulnerabilities', '', (item, path, index): Advisory => {
    const vulnerability = expectObject(item, path);
    const cveText = optionalString(vulnerability, 'cve', path);
    const cve = cveText === undefined ? undefined : readVulnerabilityId(cveText, pointer(path, 'cve'));
    if (cve !== undefined && !isCveId(cve)) throw invalidAdvisory(pointer(path, 'cve'), 'is not a CVE id');
    const ids = distinct([...(cve === undefined ? [] : [cve]), ...idsOf(vulnerability, path)]);
    const id = ids[0] ?? `${trackingId}#${index + 1}`;
    const statements = readStatements(vulnerability, path, tree, references);
    const advisory: Advisory = {
      source: 'csaf',
      id,
      aliases: ids.filter((other) => other !== id),
      related: [],
      upstream: [],
      modified: currentReleaseDate,
      published: optionalDateTime(vulnerability, 'release_date', path) ?? initialReleaseDate,
      severity: readScores(vulnerability, path, references),
      references: [...readReferences(vulnerability, path), ...documentReferences],
      ...affectedFromStatements(statements, tree),
      statements,
      csaf: { trackingId, category, title, publisher },
      cves: cve === undefined ? [] : [cve],
    };
    const summary =
      optionalString(vulnerability, 'title', path) ?? notesText(vulnerability, path, ['summary']);
    if (summary !== undefined) advisory.summary = summary;
    const details = notesText(vulnerability, path, ['description', 'details', 'summary', 'general']);
    if (details !== undefined) advisory.details = details;
    return advisory;
  });

  return {
    trackingId,
    category,
    title,
    publisher,
    trackingStatus: requiredString(tracking, 'status', '/document/tracking'),
    initialReleaseDate,
    currentReleaseDate,
    products: [...tree.products.values()],
    advisories,
  };
}

/**
 * Reads a CSAF 2.0 document: bytes (gzip or not, at most 64 MiB), JSON text, or parsed JSON. Throws only
 * VigilError: VULNS_ADVISORY_MALFORMED, _TOO_LARGE or _INVALID.
 */
export function parseCsaf(input: JsonInput): CsafDocument {
  return guardParser(() => csafDocumentFromJson(readJsonDocument(input)));
}
