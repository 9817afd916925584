import { invalidSbomError, type SbomViolation } from './errors.ts';
import { normaliseHashAlgorithm } from './hash-algorithms.ts';
import { readPackageUrl } from './package-url.ts';
import {
  withoutAbsentFields,
  type ComponentHash,
  type ParsedSbom,
  type SbomComponent,
  type SbomParty,
  type SbomRelationship,
  type SbomSpecVersion,
  type SbomTool,
} from './parsed-sbom.ts';
import { WarningCollector } from './warnings.ts';

/*
 * The parts of CycloneDX 1.2–1.6 JSON read here. The document has passed its version's official schema
 * before it gets here, so these types hold for every field listed; anything else in it is ignored.
 */
interface CycloneDxDocument {
  specVersion: string;
  serialNumber?: string;
  metadata?: CycloneDxMetadata;
  components?: CycloneDxComponent[];
  services?: CycloneDxService[];
  dependencies?: CycloneDxDependency[];
}

interface CycloneDxMetadata {
  timestamp?: string;
  /** An array of tools (1.2–1.4, deprecated in 1.5), or components and services (1.5+). */
  tools?: CycloneDxTool[] | { components?: CycloneDxComponent[]; services?: CycloneDxService[] };
  authors?: CycloneDxContact[];
  component?: CycloneDxComponent;
  /** 1.2–1.5; deprecated in 1.6 for `manufacturer`. */
  manufacture?: CycloneDxEntity;
  manufacturer?: CycloneDxEntity;
  supplier?: CycloneDxEntity;
}

interface CycloneDxEntity {
  name?: string;
  url?: string[];
  contact?: CycloneDxContact[];
}

interface CycloneDxContact {
  name?: string;
  email?: string;
}

interface CycloneDxTool {
  vendor?: string;
  name?: string;
  version?: string;
}

interface CycloneDxService {
  'bom-ref'?: string;
  provider?: CycloneDxEntity;
  group?: string;
  name: string;
  version?: string;
  services?: CycloneDxService[];
}

interface CycloneDxComponent {
  type: string;
  'bom-ref'?: string;
  supplier?: CycloneDxEntity;
  manufacturer?: CycloneDxEntity;
  authors?: CycloneDxContact[];
  author?: string;
  publisher?: string;
  group?: string;
  name: string;
  version?: string;
  scope?: 'required' | 'optional' | 'excluded';
  hashes?: { alg: string; content: string }[];
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
  cpe?: string;
  purl?: string;
  components?: CycloneDxComponent[];
}

interface CycloneDxDependency {
  ref: string;
  dependsOn?: string[];
  /** 1.6: the specifications or standards this component implements. */
  provides?: string[];
}

/** A component where the document has it, before its reference is settled. */
interface LocatedComponent {
  raw: CycloneDxComponent;
  /** RFC 6901 JSON Pointer to it. */
  path: string;
  /** Index (in the located list) of the component it is nested in. */
  parentIndex: number | undefined;
}

/** BOM-Links (CycloneDX 1.5+) point into other BOMs; they cannot dangle inside this one. */
const bomLinkPrefix = 'urn:cdx:';

/**
 * Normalises a CycloneDX document that its version's schema accepted. Throws `SBOM_INVALID` for what the
 * schema cannot express: two components with one `bom-ref`, which CycloneDX 1.4+ forbids ("every
 * bom-ref MUST be unique within the BOM"); in 1.2 and 1.3, where uniqueness is only a "should", that is
 * a warning.
 */
export function normaliseCycloneDx(document: CycloneDxDocument, specVersion: SbomSpecVersion): ParsedSbom {
  const warnings = new WarningCollector();
  const metadata = document.metadata ?? {};

  // `metadata.component`, when there is one, is located first.
  const located = locateComponents(document);
  const refs = assignReferences(located, document.services ?? [], specVersion, warnings);

  const built = located.map((entry, index) => {
    const parentIndex = entry.parentIndex;
    return readComponent(
      entry.raw,
      refs.byIndex[index] as string,
      entry.raw['bom-ref'] === undefined,
      parentIndex === undefined ? undefined : refs.byIndex[parentIndex],
      entry.path,
      warnings,
    );
  });

  const relationships: SbomRelationship[] = [];
  for (const component of built) {
    if (component.parentRef !== undefined) {
      relationships.push({
        from: component.parentRef,
        to: component.ref,
        kind: 'contains',
        declaredAs: 'components',
      });
    }
  }
  const refsWithDeclaredDependencies = new Set<string>();
  (document.dependencies ?? []).forEach((dependency, index) => {
    const path = `/dependencies/${index}`;
    refsWithDeclaredDependencies.add(dependency.ref);
    noteDangling(dependency.ref, `${path}/ref`, refs.known, warnings);
    (dependency.dependsOn ?? []).forEach((target, targetIndex) => {
      noteDangling(target, `${path}/dependsOn/${targetIndex}`, refs.known, warnings);
      relationships.push({ from: dependency.ref, to: target, kind: 'depends-on', declaredAs: 'dependsOn' });
    });
    (dependency.provides ?? []).forEach((target, targetIndex) => {
      noteDangling(target, `${path}/provides/${targetIndex}`, refs.known, warnings);
      relationships.push({ from: dependency.ref, to: target, kind: 'provides', declaredAs: 'provides' });
    });
  });

  const primary = metadata.component === undefined ? undefined : built[0];
  const components = primary === undefined ? built : built.slice(1);
  return withoutAbsentFields({
    format: 'CycloneDX',
    specVersion,
    documentId: document.serialNumber,
    metadata: withoutAbsentFields({
      timestamp: metadata.timestamp,
      authors: (metadata.authors ?? []).flatMap((contact) => partyOfContact(contact) ?? []),
      supplier: partyOfEntity(metadata.supplier),
      manufacturer: partyOfEntity(metadata.manufacturer ?? metadata.manufacture),
      tools: readTools(metadata.tools),
      component: primary,
      describedRefs: primary === undefined ? [] : [primary.ref],
    }),
    components,
    relationships,
    refsWithDeclaredDependencies: [...refsWithDeclaredDependencies],
    warnings: warnings.kept,
    omittedWarnings: warnings.omitted,
  });
}

/**
 * Every component in document order, depth first: `metadata.component` (if any) first, then `components`,
 * each followed by those nested in it. Iterative, so nesting depth costs no stack.
 */
function locateComponents(document: CycloneDxDocument): LocatedComponent[] {
  const located: LocatedComponent[] = [];
  const pending: LocatedComponent[] = [];
  const pushChildren = (
    children: CycloneDxComponent[] | undefined,
    path: string,
    parentIndex?: number,
  ): void => {
    if (children === undefined) return;
    for (let index = children.length - 1; index >= 0; index--) {
      pending.push({ raw: children[index] as CycloneDxComponent, path: `${path}/${index}`, parentIndex });
    }
  };
  const drain = (): void => {
    for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
      const index = located.push(entry) - 1;
      pushChildren(entry.raw.components, `${entry.path}/components`, index);
    }
  };
  const primary = document.metadata?.component;
  if (primary !== undefined) {
    pending.push({ raw: primary, path: '/metadata/component', parentIndex: undefined });
    drain();
  }
  pushChildren(document.components, '/components');
  drain();
  return located;
}

/**
 * Each located component's reference: its `bom-ref`, or else `#` and its JSON Pointer (made unique
 * against the declared ones). Also the set of every reference a dependency may name (components and
 * services).
 */
function assignReferences(
  located: readonly LocatedComponent[],
  services: readonly CycloneDxService[],
  specVersion: SbomSpecVersion,
  warnings: WarningCollector,
): { byIndex: string[]; known: Set<string> } {
  const known = new Set<string>();
  const duplicates: SbomViolation[] = [];
  const declare = (ref: string, path: string): void => {
    if (!known.has(ref)) {
      known.add(ref);
      return;
    }
    const message = `bom-ref ${JSON.stringify(ref)} is used twice`;
    if (specVersion === '1.2' || specVersion === '1.3') warnings.add('REFERENCE_DUPLICATE', path, message);
    else duplicates.push({ instancePath: path, message: `${message}; it must be unique within the BOM` });
  };
  for (const entry of located) {
    const ref = entry.raw['bom-ref'];
    if (ref !== undefined) declare(ref, `${entry.path}/bom-ref`);
  }
  const pendingServices = services.map((service, index) => ({ service, path: `/services/${index}` }));
  for (let entry = pendingServices.pop(); entry !== undefined; entry = pendingServices.pop()) {
    const ref = entry.service['bom-ref'];
    if (ref !== undefined) declare(ref, `${entry.path}/bom-ref`);
    const nestedPath = `${entry.path}/services`;
    (entry.service.services ?? []).forEach((service, index) => {
      pendingServices.push({ service, path: `${nestedPath}/${index}` });
    });
  }
  if (duplicates.length > 0) {
    throw invalidSbomError(`CycloneDX ${specVersion} document reuses a bom-ref`, duplicates, {
      facts: { format: 'CycloneDX', specVersion },
    });
  }
  const byIndex = located.map((entry) => {
    const declared = entry.raw['bom-ref'];
    if (declared !== undefined) return declared;
    let generated = `#${entry.path}`;
    while (known.has(generated)) generated = `${generated}+`;
    known.add(generated);
    return generated;
  });
  return { byIndex, known };
}

function noteDangling(
  ref: string,
  path: string,
  known: ReadonlySet<string>,
  warnings: WarningCollector,
): void {
  if (!known.has(ref) && !ref.startsWith(bomLinkPrefix)) {
    warnings.add(
      'REFERENCE_DANGLING',
      path,
      `${JSON.stringify(ref)} names no component or service in this BOM`,
    );
  }
}

function readComponent(
  raw: CycloneDxComponent,
  ref: string,
  refGenerated: boolean,
  parentRef: string | undefined,
  path: string,
  warnings: WarningCollector,
): SbomComponent {
  let purl: SbomComponent['purl'];
  if (raw.purl !== undefined) {
    const reading = readPackageUrl(raw.purl);
    if (reading.valid) purl = reading.purl;
    else warnings.add('PURL_INVALID', `${path}/purl`, reading.problem);
  }
  const authors: SbomParty[] = [];
  const manufacturer = partyOfEntity(raw.manufacturer);
  if (manufacturer !== undefined) authors.push(manufacturer);
  for (const contact of raw.authors ?? []) {
    const author = partyOfContact(contact);
    if (author !== undefined) authors.push(author);
  }
  if (raw.author !== undefined && raw.author !== '') authors.push({ name: raw.author });
  return withoutAbsentFields({
    ref,
    refGenerated,
    parentRef,
    type: raw.type,
    scope: raw.scope,
    group: raw.group,
    name: raw.name,
    version: raw.version,
    purl,
    cpe: raw.cpe,
    hashes: readHashes(raw.hashes),
    supplier: partyOfEntity(raw.supplier),
    authors,
    publisher: raw.publisher,
    licences: readLicences(raw.licenses),
  });
}

function readHashes(hashes: CycloneDxComponent['hashes']): ComponentHash[] {
  const read: ComponentHash[] = [];
  for (const hash of hashes ?? []) {
    // The schema allows only `hash-alg` names, all of which are known.
    const algorithm = normaliseHashAlgorithm(hash.alg);
    if (algorithm !== undefined) read.push({ algorithm, value: hash.content.toLowerCase() });
  }
  return read;
}

/** CycloneDX `licenses`: SPDX ids, licence names, or one SPDX expression (1.5+ `licenseChoice`). */
function readLicences(licenses: CycloneDxComponent['licenses']): string[] {
  const read = new Set<string>();
  for (const choice of licenses ?? []) {
    const licence = choice.license?.id ?? choice.license?.name ?? choice.expression;
    if (licence !== undefined && licence !== '') read.add(licence);
  }
  return [...read];
}

function readTools(tools: CycloneDxMetadata['tools']): SbomTool[] {
  if (tools === undefined) return [];
  if (Array.isArray(tools)) {
    return tools.map((tool) =>
      withoutAbsentFields({ vendor: tool.vendor, name: tool.name, version: tool.version }),
    );
  }
  return [
    ...(tools.components ?? []).map((component) =>
      withoutAbsentFields({
        vendor: component.supplier?.name ?? component.publisher ?? component.group,
        name: component.name,
        version: component.version,
      }),
    ),
    ...(tools.services ?? []).map((service) =>
      withoutAbsentFields({
        vendor: service.provider?.name ?? service.group,
        name: service.name,
        version: service.version,
      }),
    ),
  ];
}

/** An `organizationalEntity`: its name, first URL and first contact e-mail address. */
function partyOfEntity(entity: CycloneDxEntity | undefined): SbomParty | undefined {
  if (entity === undefined) return undefined;
  return nonEmptyParty({
    name: entity.name,
    url: entity.url?.find((url) => url !== ''),
    email: entity.contact?.find((contact) => contact.email !== undefined && contact.email !== '')?.email,
  });
}

/** An `organizationalContact`: name and e-mail address (the phone number is not kept). */
function partyOfContact(contact: CycloneDxContact): SbomParty | undefined {
  return nonEmptyParty({ name: contact.name, email: contact.email });
}

function nonEmptyParty(party: SbomParty): SbomParty | undefined {
  if (party.name === '') party.name = undefined;
  if (party.email === '') party.email = undefined;
  const kept = withoutAbsentFields(party);
  return Object.keys(kept).length === 0 ? undefined : kept;
}
