import type { ParsedSbom, SbomComponent, SbomParty } from './parsed-sbom.ts';

/*
 * How completely an SBOM carries the data two minimum-content standards ask for:
 * - NTIA, "The Minimum Elements For a Software Bill of Materials (SBOM)", 12 July 2021, §IV "Data Fields"
 *   (supplier name, component name, version, other unique identifiers, dependency relationship, author
 *   of SBOM data, timestamp) and "Depth" (at a minimum, all top-level dependencies listed);
 * - BSI TR-03183-2 "Cyber Resilience Requirements for Manufacturers and Products, Part 2: SBOM",
 *   version 2.0.0 (20 September 2024), §4 (formats), §5.2.1 (SBOM fields), §5.2.2 (component fields),
 *   §5.3 (additional fields, reported but not required).
 * It reads only what parseSbom normalised, so it judges presence, never truth.
 */

/** A data field every component should carry. */
export interface ComponentElementResult {
  element: string;
  /** What satisfies it, and where the standard asks for it. */
  description: string;
  /** Whether it counts towards `complete` (false: reported for information). */
  required: boolean;
  satisfied: number;
  /** How many components it applies to. */
  applicable: number;
  /** References of the first {@link listedMissingLimit} components that lack it. */
  missing: string[];
  /** How many more lack it than are listed. */
  missingOmitted: number;
}

/** A data field of the SBOM as a whole. */
export interface DocumentElementResult {
  element: string;
  description: string;
  required: boolean;
  satisfied: boolean;
  /** Why not, when not. */
  detail?: string;
}

export interface StandardCompleteness {
  standard: string;
  /** Every required document element satisfied, and every required component element by every component. */
  complete: boolean;
  document: DocumentElementResult[];
  components: ComponentElementResult[];
  /** Fields the standard asks for that no field of CycloneDX 1.2–1.6 or SPDX 2.3 portably carries. */
  notEvaluated: { element: string; reason: string }[];
}

export interface CompletenessReport {
  format: ParsedSbom['format'];
  specVersion: ParsedSbom['specVersion'];
  /**
   * The components judged: every component, and the component the SBOM describes (which CycloneDX
   * keeps apart, in `metadata.component`).
   */
  componentCount: number;
  ntia: StandardCompleteness;
  bsiTr03183: StandardCompleteness;
}

/** At most this many missing component references are listed per element. */
export const listedMissingLimit = 100;

/** What the judgements need to know about the graph, computed once. */
interface GraphFacts {
  /** Refs at either end of a dependency or containment edge. */
  related: Set<string>;
  /** Refs whose direct dependencies or contents the SBOM states (possibly as none). */
  withStatedDependencies: Set<string>;
}

/**
 * Judges a parsed SBOM against the NTIA minimum elements and BSI TR-03183-2 v2.0.0. The result is plain
 * JSON. Linear in the number of components and relationships.
 */
export function completenessReport(sbom: ParsedSbom): CompletenessReport {
  const components = componentsToJudge(sbom);
  const graph = graphFacts(sbom);
  return {
    format: sbom.format,
    specVersion: sbom.specVersion,
    componentCount: components.length,
    ntia: judgeNtia(sbom, components, graph),
    bsiTr03183: judgeBsiTr03183(sbom, components, graph),
  };
}

function componentsToJudge(sbom: ParsedSbom): SbomComponent[] {
  const primary = sbom.metadata.component;
  if (primary === undefined || sbom.components.some((component) => component.ref === primary.ref)) {
    return sbom.components;
  }
  return [primary, ...sbom.components];
}

function graphFacts(sbom: ParsedSbom): GraphFacts {
  const related = new Set<string>();
  const withStatedDependencies = new Set<string>(sbom.refsWithDeclaredDependencies);
  for (const relationship of sbom.relationships) {
    if (relationship.kind !== 'depends-on' && relationship.kind !== 'contains') continue;
    related.add(relationship.from);
    related.add(relationship.to);
    withStatedDependencies.add(relationship.from);
  }
  return { related, withStatedDependencies };
}

function judgeNtia(
  sbom: ParsedSbom,
  components: readonly SbomComponent[],
  graph: GraphFacts,
): StandardCompleteness {
  const { metadata } = sbom;
  const primary = metadata.component;
  const document: DocumentElementResult[] = [
    documentElement(
      'author',
      'Author of SBOM Data: CycloneDX metadata authors, supplier, manufacturer or tools; SPDX creators (§6.8)',
      metadata.authors.some(isNamed) ||
        isNamed(metadata.supplier) ||
        isNamed(metadata.manufacturer) ||
        metadata.tools.some((tool) => nonEmpty(tool.name)),
      'the SBOM names no author, supplier, manufacturer or tool',
    ),
    documentElement(
      'timestamp',
      'Timestamp: CycloneDX metadata.timestamp; SPDX creationInfo.created (§6.9)',
      nonEmpty(metadata.timestamp),
      'the SBOM carries no timestamp',
    ),
    documentElement(
      'top-level-dependencies',
      'Depth: at a minimum, the direct dependencies of the described component are listed',
      primary !== undefined && graph.withStatedDependencies.has(primary.ref),
      primary === undefined
        ? 'the SBOM names no described component (CycloneDX metadata.component, SPDX DESCRIBES)'
        : `the dependencies of ${primary.ref} are not stated`,
    ),
  ];
  const all = (): boolean => true;
  const componentResults = [
    componentElement(
      'supplier-name',
      'Supplier Name: CycloneDX supplier, manufacturer, author(s) or publisher; SPDX supplier (§7.5) or originator (§7.6)',
      components,
      all,
      (component) =>
        isNamed(component.supplier) || component.authors.some(isNamed) || nonEmpty(component.publisher),
    ),
    componentElement('component-name', 'Component Name', components, all, (component) =>
      nonEmpty(component.name),
    ),
    componentElement('version', 'Version of the Component', components, all, (component) =>
      nonEmpty(component.version),
    ),
    componentElement(
      'unique-identifier',
      'Other Unique Identifiers: a valid purl or a CPE',
      components,
      all,
      hasUniqueIdentifier,
    ),
    componentElement(
      'dependency-relationship',
      'Dependency Relationship: the component is related to another by a dependency or containment',
      components,
      all,
      (component) => graph.related.has(component.ref) || graph.withStatedDependencies.has(component.ref),
    ),
  ];
  return standardCompleteness('NTIA Minimum Elements (2021)', document, componentResults, []);
}

/**
 * BSI TR-03183-2 §5.2.2 asks for the hash of each component "in its deployed/executable form": a component
 * CycloneDX scopes `excluded` (used for tests or builds only, CycloneDX 1.6 `scope`) is not deployed,
 * and a hardware `device` has no file to hash.
 */
function isDeployable(component: SbomComponent): boolean {
  return component.scope !== 'excluded' && component.type !== 'device';
}

function judgeBsiTr03183(
  sbom: ParsedSbom,
  components: readonly SbomComponent[],
  graph: GraphFacts,
): StandardCompleteness {
  const { metadata } = sbom;
  const formatAccepted =
    sbom.format === 'SPDX' ||
    (sbom.format === 'CycloneDX' && (sbom.specVersion === '1.5' || sbom.specVersion === '1.6'));
  const document: DocumentElementResult[] = [
    documentElement(
      'format',
      '§4: CycloneDX 1.5 or later, or SPDX 2.2.1 or later',
      formatAccepted,
      `${sbom.format} ${sbom.specVersion} is older than the guideline accepts`,
    ),
    documentElement(
      'creator',
      '§5.2.1 Creator of the SBOM: an e-mail address or URL of CycloneDX metadata authors, supplier or manufacturer; of SPDX Person/Organization creators (§6.8)',
      [...metadata.authors, metadata.supplier, metadata.manufacturer].some(isReachable),
      'no author, supplier or manufacturer of the SBOM has an e-mail address or URL',
    ),
    documentElement(
      'timestamp',
      '§5.2.1 Timestamp: CycloneDX metadata.timestamp; SPDX creationInfo.created (§6.9)',
      nonEmpty(metadata.timestamp),
      'the SBOM carries no timestamp',
    ),
    documentElement(
      'sbom-uri',
      '§5.3.1 SBOM-URI (additional): CycloneDX serialNumber; SPDX documentNamespace (§6.5)',
      nonEmpty(sbom.documentId),
      'the SBOM has no serial number or namespace',
      false,
    ),
  ];
  const all = (): boolean => true;
  const hasHash = (algorithm: string) => (component: SbomComponent) =>
    component.hashes.some((hash) => hash.algorithm === algorithm);
  const componentResults = [
    componentElement(
      'component-creator',
      '§5.2.2 Component creator: an e-mail address or URL of the supplier, manufacturer or author(s); SPDX supplier (§7.5) or originator (§7.6)',
      components,
      all,
      (component) => isReachable(component.supplier) || component.authors.some(isReachable),
    ),
    componentElement('component-name', '§5.2.2 Component name', components, all, (component) =>
      nonEmpty(component.name),
    ),
    componentElement('component-version', '§5.2.2 Component version', components, all, (component) =>
      nonEmpty(component.version),
    ),
    componentElement(
      'dependencies',
      '§5.2.2 Dependencies on other components: the direct dependencies or contents are stated, as none if there are none (CycloneDX dependencies[].ref; SPDX DEPENDS_ON, CONTAINS, DEPENDS_ON NONE)',
      components,
      all,
      (component) => graph.withStatedDependencies.has(component.ref),
    ),
    componentElement(
      'licences',
      '§5.2.2 Associated licences: an SPDX identifier, name or expression',
      components,
      all,
      (component) => component.licences.length > 0,
    ),
    componentElement(
      'hash-sha-512',
      '§5.2.2 Hash value of the executable component: SHA-512, for deployed components',
      components,
      isDeployable,
      hasHash('SHA-512'),
    ),
    componentElement(
      'hash-sha-256',
      'SHA-256 hash of deployed components (not the guideline’s algorithm; reported for information)',
      components,
      isDeployable,
      hasHash('SHA-256'),
      false,
    ),
    componentElement(
      'unique-identifier',
      '§5.3.2 Other unique identifiers (additional): a valid purl or a CPE',
      components,
      all,
      hasUniqueIdentifier,
      false,
    ),
  ];
  return standardCompleteness('BSI TR-03183-2 v2.0.0', document, componentResults, [
    {
      element: 'filename',
      reason: '§5.2.2 Filename of the component: CycloneDX 1.2–1.6 has no field for it',
    },
    {
      element: 'executable-archive-structured',
      reason: '§5.2.2 Executable, archive and structured properties: neither format has fields for them',
    },
  ]);
}

function standardCompleteness(
  standard: string,
  document: DocumentElementResult[],
  components: ComponentElementResult[],
  notEvaluated: StandardCompleteness['notEvaluated'],
): StandardCompleteness {
  const complete =
    document.every((result) => !result.required || result.satisfied) &&
    components.every((result) => !result.required || result.satisfied === result.applicable);
  return { standard, complete, document, components, notEvaluated };
}

function documentElement(
  element: string,
  description: string,
  satisfied: boolean,
  detailWhenMissing: string,
  required = true,
): DocumentElementResult {
  return satisfied
    ? { element, description, required, satisfied }
    : { element, description, required, satisfied, detail: detailWhenMissing };
}

function componentElement(
  element: string,
  description: string,
  components: readonly SbomComponent[],
  applies: (component: SbomComponent) => boolean,
  satisfies: (component: SbomComponent) => boolean,
  required = true,
): ComponentElementResult {
  let applicable = 0;
  let satisfied = 0;
  let missingOmitted = 0;
  const missing: string[] = [];
  for (const component of components) {
    if (!applies(component)) continue;
    applicable++;
    if (satisfies(component)) satisfied++;
    else if (missing.length < listedMissingLimit) missing.push(component.ref);
    else missingOmitted++;
  }
  return { element, description, required, satisfied, applicable, missing, missingOmitted };
}

function hasUniqueIdentifier(component: SbomComponent): boolean {
  return component.purl !== undefined || nonEmpty(component.cpe);
}

function nonEmpty(text: string | undefined): boolean {
  return text !== undefined && text.trim() !== '';
}

function isNamed(party: SbomParty | undefined): boolean {
  return nonEmpty(party?.name);
}

/** BSI TR-03183-2 §5.2.1/§5.2.2 want a way to reach the party: an e-mail address, or else a URL. */
function isReachable(party: SbomParty | undefined): boolean {
  return nonEmpty(party?.email) || nonEmpty(party?.url);
}
