/**
 * One shape for CycloneDX and SPDX documents: what the rest of Vigil (matching, triage, the completeness
 * report, the evidence bundle) reads, whatever format the manufacturer shipped. Plain data, so it can be
 * stored and sent as JSON as it is; absent facts are left out rather than guessed.
 */

export type SbomFormat = 'CycloneDX' | 'SPDX';

/** The specification versions read: CycloneDX 1.2–1.6 and SPDX 2.3. */
export type SbomSpecVersion = '1.2' | '1.3' | '1.4' | '1.5' | '1.6' | '2.3';

/**
 * Digest algorithms in one spelling (CycloneDX's `hash-alg`, extended by the SPDX 2.3 §7.10 checksum
 * algorithms CycloneDX lacks): SPDX `SHA256` becomes `SHA-256`, `SHA1` becomes `SHA-1`.
 */
export type HashAlgorithm =
  | 'MD2'
  | 'MD4'
  | 'MD5'
  | 'MD6'
  | 'SHA-1'
  | 'SHA-224'
  | 'SHA-256'
  | 'SHA-384'
  | 'SHA-512'
  | 'SHA3-256'
  | 'SHA3-384'
  | 'SHA3-512'
  | 'BLAKE2b-256'
  | 'BLAKE2b-384'
  | 'BLAKE2b-512'
  | 'BLAKE3'
  | 'ADLER32';

export interface ComponentHash {
  algorithm: HashAlgorithm;
  /** Lower-case hexadecimal. */
  value: string;
}

/** A package URL (purl spec, ECMA-427) that packageurl-js accepted, in its canonical form and its parts. */
export interface PackageUrl {
  canonical: string;
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string>;
  subpath?: string;
}

/** A person or organisation as an SBOM names it; any of the three may be missing. */
export interface SbomParty {
  name?: string;
  email?: string;
  url?: string;
}

export interface SbomTool {
  vendor?: string;
  name?: string;
  version?: string;
}

export interface SbomComponent {
  /**
   * The component's reference inside its document: CycloneDX `bom-ref`, SPDX `SPDXID`. A CycloneDX
   * component without a `bom-ref` (optional in every version) gets the JSON Pointer to it, such as
   * `#/components/3/components/0`, and `refGenerated: true`.
   */
  ref: string;
  refGenerated: boolean;
  /** The component this one is nested in (CycloneDX `components[].components`). */
  parentRef?: string;
  /** CycloneDX `type` (library, application, firmware, ...); SPDX `primaryPackagePurpose`, lower-cased. */
  type?: string;
  /** CycloneDX `scope`: `excluded` components are not part of what ships (CycloneDX 1.6 `scope`). */
  scope?: 'required' | 'optional' | 'excluded';
  /** CycloneDX `group` (Maven groupId, npm scope, ...); SPDX has none. */
  group?: string;
  name: string;
  version?: string;
  purl?: PackageUrl;
  cpe?: string;
  hashes: ComponentHash[];
  /** CycloneDX `supplier`; SPDX `supplier` (SPDX 2.3 §7.5). */
  supplier?: SbomParty;
  /**
   * Who made the component: CycloneDX `manufacturer` and `authors` (1.6) and `author`; SPDX `originator`
   * (SPDX 2.3 §7.6).
   */
  authors: SbomParty[];
  /** CycloneDX `publisher`. */
  publisher?: string;
  /**
   * SPDX licence identifiers, names or expressions as written: CycloneDX `license.id`, `license.name`,
   * `expression`; SPDX `licenseConcluded` and `licenseDeclared` (SPDX 2.3 §7.13, §7.15), without
   * `NOASSERTION`. Distinct, in document order.
   */
  licences: string[];
}

/**
 * `depends-on`: `from` needs `to` (CycloneDX `dependsOn`, SPDX `DEPENDS_ON` and the inverted `*_DEPENDENCY_OF`).
 * `contains`: `to` is part of `from` (CycloneDX nested `components`, SPDX `CONTAINS`/`CONTAINED_BY`, `hasFiles`).
 * `provides`: `from` implements `to` (CycloneDX 1.6 `provides`).
 * `describes`: the document describes `to` (SPDX `DESCRIBES`, `DESCRIBED_BY`, `documentDescribes`).
 * `other`: any other SPDX 2.3 §11.1 relationship, kept with its name in `declaredAs`.
 */
export type RelationshipKind = 'depends-on' | 'contains' | 'provides' | 'describes' | 'other';

export interface SbomRelationship {
  from: string;
  to: string;
  kind: RelationshipKind;
  /** The document's own word for it: `dependsOn`, `components`, `provides`, or the SPDX `relationshipType`. */
  declaredAs: string;
}

export interface SbomMetadata {
  /** CycloneDX `metadata.timestamp`; SPDX `creationInfo.created` (SPDX 2.3 §6.9). As written. */
  timestamp?: string;
  /** CycloneDX `metadata.authors`; SPDX `Person:` and `Organization:` creators (SPDX 2.3 §6.8). */
  authors: SbomParty[];
  /** CycloneDX `metadata.supplier`. */
  supplier?: SbomParty;
  /** CycloneDX `metadata.manufacturer` (1.6) or `metadata.manufacture` (1.2–1.5). */
  manufacturer?: SbomParty;
  /** CycloneDX `metadata.tools` (either shape); SPDX `Tool:` creators. */
  tools: SbomTool[];
  /**
   * What the document describes. CycloneDX: `metadata.component`, which is not among `components`.
   * SPDX: the first described package, which is also among `components`.
   */
  component?: SbomComponent;
  /** The references of everything the document describes. */
  describedRefs: string[];
}

export type SbomWarningCode = 'PURL_INVALID' | 'REFERENCE_DANGLING' | 'REFERENCE_DUPLICATE';

/** Something wrong that does not make the document unusable; the affected datum is left out. */
export interface SbomWarning {
  code: SbomWarningCode;
  /** RFC 6901 JSON Pointer into the document. */
  path: string;
  message: string;
}

/** At most this many warnings are kept; `omittedWarnings` counts the rest. */
export const keptWarningLimit = 100;

export interface ParsedSbom {
  format: SbomFormat;
  specVersion: SbomSpecVersion;
  /** CycloneDX `serialNumber` (a UUID URN); SPDX `documentNamespace` (SPDX 2.3 §6.5). */
  documentId?: string;
  /** SPDX document `name` (SPDX 2.3 §6.4). */
  documentName?: string;
  metadata: SbomMetadata;
  /**
   * Every CycloneDX component, nested ones included (those nested in `metadata.component` too, but not
   * `metadata.component` itself), or every SPDX package; in document order.
   */
  components: SbomComponent[];
  relationships: SbomRelationship[];
  /**
   * Elements whose direct dependencies the document states, possibly as none: CycloneDX `dependencies[].ref`
   * ("components that do not have their own dependencies MUST be declared as empty elements"), SPDX
   * dependents of a dependency relationship, `NONE` included (SPDX 2.3 §11.1).
   */
  refsWithDeclaredDependencies: string[];
  warnings: SbomWarning[];
  omittedWarnings: number;
}

/**
 * A copy of the value without its `undefined` fields, so absent facts are absent in JSON and in
 * comparisons. (A copy: deleting fields would slow every later read of the object.)
 */
export function withoutAbsentFields<T extends object>(value: T): T {
  const present: Partial<T> = {};
  for (const key in value) {
    if (value[key] !== undefined) present[key] = value[key];
  }
  return present as T;
}
