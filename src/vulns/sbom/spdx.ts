import { invalidSbomError, type SbomViolation } from './errors.ts';
import { normaliseHashAlgorithm } from './hash-algorithms.ts';
import { readPackageUrl } from './package-url.ts';
import {
  withoutAbsentFields,
  type ComponentHash,
  type ParsedSbom,
  type RelationshipKind,
  type SbomComponent,
  type SbomParty,
  type SbomRelationship,
  type SbomTool,
} from './parsed-sbom.ts';
import { WarningCollector } from './warnings.ts';

/*
 * The parts of SPDX 2.3 JSON read here. The document has passed spdx-2.3.schema.json before it gets
 * here, so these types hold for every field listed.
 */
interface SpdxDocument {
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  documentDescribes?: string[];
  packages?: SpdxPackage[];
  files?: { SPDXID: string }[];
  snippets?: { SPDXID: string }[];
  relationships?: SpdxRelationship[];
}

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier?: string;
  originator?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  licenseConcluded?: string;
  licenseDeclared?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  primaryPackagePurpose?: string;
  hasFiles?: string[];
}

interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}

/** SPDX 2.3 §11.1: the related element may be `NONE` (there is none) or `NOASSERTION` (unknown). */
const noElement = new Set(['NONE', 'NOASSERTION']);

/**
 * SPDX 2.3 §11.1 relationship types read as edges of the dependency graph, with their direction:
 * `forward` means `spdxElementId` is the dependent (or container, or describer).
 */
const relationshipMeaning: ReadonlyMap<string, { kind: RelationshipKind; forward: boolean }> = new Map([
  ['DEPENDS_ON', { kind: 'depends-on', forward: true }],
  ['DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['BUILD_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['DEV_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['OPTIONAL_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['PROVIDED_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['TEST_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['RUNTIME_DEPENDENCY_OF', { kind: 'depends-on', forward: false }],
  ['CONTAINS', { kind: 'contains', forward: true }],
  ['CONTAINED_BY', { kind: 'contains', forward: false }],
  ['DESCRIBES', { kind: 'describes', forward: true }],
  ['DESCRIBED_BY', { kind: 'describes', forward: false }],
]);

/** SPDX 2.3 §3.2 (Annex on SPDX identifiers): elements of other documents are named `DocumentRef-x:SPDXRef-y`. */
const externalElementPattern = /^DocumentRef-[A-Za-z0-9.-]+:/;

/**
 * Normalises an SPDX 2.3 document that spdx-2.3.schema.json accepted: packages become components (files
 * and snippets are kept only as ends of relationships). Throws `SBOM_INVALID` when two elements share an
 * SPDXID, which must be unique within the document (SPDX 2.3 §7.2, §8.2, §9.1).
 */
export function normaliseSpdx(document: SpdxDocument): ParsedSbom {
  const warnings = new WarningCollector();
  const packages = document.packages ?? [];
  const elements = collectElementIds(document);

  const components = packages.map((spdxPackage, index) =>
    readPackage(spdxPackage, `/packages/${index}`, warnings),
  );

  const relationships: SbomRelationship[] = [];
  const refsWithDeclaredDependencies = new Set<string>();
  const describedRefs = new Set<string>();
  const noteDangling = (ref: string, path: string): void => {
    if (!elements.has(ref) && !noElement.has(ref) && !externalElementPattern.test(ref)) {
      warnings.add('REFERENCE_DANGLING', path, `${JSON.stringify(ref)} names no element of this document`);
    }
  };
  (document.documentDescribes ?? []).forEach((ref, index) => {
    noteDangling(ref, `/documentDescribes/${index}`);
    describedRefs.add(ref);
    relationships.push({
      from: document.SPDXID,
      to: ref,
      kind: 'describes',
      declaredAs: 'documentDescribes',
    });
  });
  packages.forEach((spdxPackage, packageIndex) => {
    (spdxPackage.hasFiles ?? []).forEach((file, index) => {
      noteDangling(file, `/packages/${packageIndex}/hasFiles/${index}`);
      relationships.push({ from: spdxPackage.SPDXID, to: file, kind: 'contains', declaredAs: 'hasFiles' });
    });
  });
  (document.relationships ?? []).forEach((relationship, index) => {
    const path = `/relationships/${index}`;
    const { spdxElementId, relationshipType, relatedSpdxElement } = relationship;
    noteDangling(spdxElementId, `${path}/spdxElementId`);
    noteDangling(relatedSpdxElement, `${path}/relatedSpdxElement`);
    const meaning = relationshipMeaning.get(relationshipType) ?? { kind: 'other', forward: true };
    if (meaning.kind === 'depends-on') {
      // "A DEPENDS_ON NONE" states that A has no dependencies; NOASSERTION states nothing.
      const dependent = meaning.forward ? spdxElementId : relatedSpdxElement;
      const statesSomething = meaning.forward
        ? relatedSpdxElement !== 'NOASSERTION'
        : !noElement.has(dependent);
      if (statesSomething) refsWithDeclaredDependencies.add(dependent);
    }
    if (noElement.has(relatedSpdxElement)) return;
    const [from, to] = meaning.forward
      ? [spdxElementId, relatedSpdxElement]
      : [relatedSpdxElement, spdxElementId];
    if (meaning.kind === 'describes' && from === document.SPDXID) describedRefs.add(to);
    relationships.push({ from, to, kind: meaning.kind, declaredAs: relationshipType });
  });

  const { authors, tools } = readCreators(document.creationInfo.creators);
  const componentByRef = new Map(components.map((component) => [component.ref, component]));
  const primary = [...describedRefs]
    .map((ref) => componentByRef.get(ref))
    .find((found) => found !== undefined);
  return withoutAbsentFields({
    format: 'SPDX',
    specVersion: '2.3',
    documentId: document.documentNamespace,
    documentName: document.name,
    metadata: withoutAbsentFields({
      timestamp: document.creationInfo.created,
      authors,
      tools,
      component: primary,
      describedRefs: [...describedRefs],
    }),
    components,
    relationships,
    refsWithDeclaredDependencies: [...refsWithDeclaredDependencies],
    warnings: warnings.kept,
    omittedWarnings: warnings.omitted,
  });
}

/** Every SPDXID of the document, refusing the document if one is used twice. */
function collectElementIds(document: SpdxDocument): Set<string> {
  const ids = new Set<string>([document.SPDXID]);
  const duplicates: SbomViolation[] = [];
  const collect = (elements: readonly { SPDXID: string }[] | undefined, member: string): void => {
    (elements ?? []).forEach((element, index) => {
      if (ids.has(element.SPDXID)) {
        duplicates.push({
          instancePath: `/${member}/${index}/SPDXID`,
          message: `SPDXID ${JSON.stringify(element.SPDXID)} is used twice; it must be unique within the document`,
        });
      }
      ids.add(element.SPDXID);
    });
  };
  collect(document.packages, 'packages');
  collect(document.files, 'files');
  collect(document.snippets, 'snippets');
  if (duplicates.length > 0) {
    throw invalidSbomError('SPDX 2.3 document reuses an SPDXID', duplicates, {
      facts: { format: 'SPDX', specVersion: '2.3' },
    });
  }
  return ids;
}

function readPackage(spdxPackage: SpdxPackage, path: string, warnings: WarningCollector): SbomComponent {
  let purl: SbomComponent['purl'];
  let cpe: string | undefined;
  (spdxPackage.externalRefs ?? []).forEach((reference, index) => {
    const category = reference.referenceCategory.replaceAll('_', '-');
    // SPDX 2.3 Annex F: `purl` under PACKAGE-MANAGER, `cpe23Type` and `cpe22Type` under SECURITY.
    if (category === 'PACKAGE-MANAGER' && reference.referenceType === 'purl' && purl === undefined) {
      const reading = readPackageUrl(reference.referenceLocator);
      if (reading.valid) purl = reading.purl;
      else warnings.add('PURL_INVALID', `${path}/externalRefs/${index}/referenceLocator`, reading.problem);
    }
    if (
      category === 'SECURITY' &&
      (reference.referenceType === 'cpe23Type' || reference.referenceType === 'cpe22Type') &&
      cpe === undefined
    ) {
      cpe = reference.referenceLocator;
    }
  });
  const originator = readParty(spdxPackage.originator);
  const licences = new Set<string>();
  for (const licence of [spdxPackage.licenseConcluded, spdxPackage.licenseDeclared]) {
    if (licence !== undefined && licence !== 'NOASSERTION' && licence !== '') licences.add(licence);
  }
  return withoutAbsentFields({
    ref: spdxPackage.SPDXID,
    refGenerated: false,
    type: spdxPackage.primaryPackagePurpose?.toLowerCase().replaceAll('_', '-'),
    name: spdxPackage.name,
    version: spdxPackage.versionInfo,
    purl,
    cpe,
    hashes: readChecksums(spdxPackage.checksums),
    supplier: readParty(spdxPackage.supplier),
    authors: originator === undefined ? [] : [originator],
    licences: [...licences],
  });
}

function readChecksums(checksums: SpdxPackage['checksums']): ComponentHash[] {
  const read: ComponentHash[] = [];
  for (const checksum of checksums ?? []) {
    // The schema allows only SPDX 2.3 §7.10 algorithm names, all of which are known.
    const algorithm = normaliseHashAlgorithm(checksum.algorithm);
    if (algorithm !== undefined) read.push({ algorithm, value: checksum.checksumValue.toLowerCase() });
  }
  return read;
}

/** SPDX 2.3 §7.5, §7.6, §6.8: `Person: name (email)` or `Organization: name (email)`; `NOASSERTION` is none. */
const partyPattern = /^(?:Person|Organization):\s*(.*?)\s*(?:\(([^()]*)\))?\s*$/;
/** SPDX 2.3 §6.8: `Tool: identifier-version`, the version being optional. */
const toolPattern = /^Tool:\s*(.*?)\s*$/;
const toolVersionPattern = /^(.+)-(v?\d[^-]*)$/;

function readParty(text: string | undefined): SbomParty | undefined {
  const match = text === undefined ? null : partyPattern.exec(text);
  if (match === null) return undefined;
  const party = withoutAbsentFields({ name: match[1] || undefined, email: match[2]?.trim() || undefined });
  return Object.keys(party).length === 0 ? undefined : party;
}

function readCreators(creators: readonly string[]): { authors: SbomParty[]; tools: SbomTool[] } {
  const authors: SbomParty[] = [];
  const tools: SbomTool[] = [];
  for (const creator of creators) {
    const tool = toolPattern.exec(creator)?.[1];
    if (tool !== undefined) {
      const versioned = toolVersionPattern.exec(tool);
      tools.push(versioned === null ? { name: tool } : { name: versioned[1], version: versioned[2] });
      continue;
    }
    const author = readParty(creator);
    if (author !== undefined) authors.push(author);
  }
  return { authors, tools };
}
