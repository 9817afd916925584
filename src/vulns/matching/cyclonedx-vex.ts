import { VigilError, isVigilError } from '../../core/index.ts';
import {
  readJsonDocument,
  type JsonInput,
  type VexJustification,
  type VexStatus,
} from '../advisories/index.ts';
import type { ParsedSbom, SbomComponent } from '../sbom/index.ts';
import { readPackageUrl } from '../sbom/index.ts';
import {
  normalizeVers,
  parseVers,
  versContains,
  versionSchemeFor,
  type VersRange,
} from '../versions/index.ts';

/**
 * CycloneDX VEX (CycloneDX 1.4–1.6 `vulnerabilities[]` with `analysis` and `affects`) applied to an SBOM:
 * which statement holds for which component. A VEX document is attacker-controlled: it is bounded (64 MiB),
 * each field read is checked, and only VigilError escapes (`VexErrorCode`, or the VULNS_ADVISORY_* codes
 * for bytes that are not JSON).
 *
 * States map to the VEX statuses as CycloneDX 1.6 "vulnerability analysis" defines them: `exploitable` →
 * affected, `resolved` and `resolved_with_pedigree` → fixed, `in_triage` → under_investigation,
 * `not_affected` and `false_positive` → not_affected. A statement without `analysis` states nothing but the
 * vulnerability's presence: it reads as affected (fail closed), unless its version entries say otherwise.
 */

/** `VULNS_VEX_INVALID` (kind invalid): the document breaks CycloneDX's rules. `VULNS_VEX_APPLY_FAILED` (kind internal): a bug in Vigil. */
export type VexErrorCode = 'VULNS_VEX_INVALID' | 'VULNS_VEX_APPLY_FAILED';

export interface VexStatementApplication {
  /** `vulnerabilities[].id`. */
  vulnerability: string;
  /** `vulnerabilities[].references[].id`: the same vulnerability in other sources. */
  aliases: string[];
  componentRef: string;
  purl?: string;
  version?: string;
  /** How `affects[].ref` found the component: its bom-ref, a BOM-Link to this SBOM, or the purl it names. */
  resolvedBy: 'bom-ref' | 'bom-link' | 'purl';
  status: VexStatus;
  justification?: VexJustification;
  /** As written in the VEX. */
  cyclonedxState?: string;
  cyclonedxJustification?: string;
  responses: string[];
  detail?: string;
  /** The `affects[].versions[]` entry that covered the component's version, and its status. */
  matchedVersion?: string;
  versionStatus?: 'affected' | 'unaffected' | 'unknown';
}

export interface VexApplication {
  statements: VexStatementApplication[];
  /** References that name nothing in this SBOM, or that cannot be decided, with the reason. */
  unresolved: { vulnerability: string; ref: string; reason: string }[];
  /** Components a statement names whose version lies outside the statement's versions. */
  notApplicable: { vulnerability: string; componentRef: string; version?: string }[];
}

type CycloneDxState =
  'resolved' | 'resolved_with_pedigree' | 'exploitable' | 'in_triage' | 'false_positive' | 'not_affected';

const statusOfState: Readonly<Record<CycloneDxState, VexStatus>> = {
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
  false_positive: 'not_affected',
  not_affected: 'not_affected',
};

/**
 * CycloneDX 1.6 `analysis.justification` onto the CISA / CSAF 2.0 §3.2.3.5 justifications: the reason a
 * component is not affected, in the vocabulary CSAF and OpenVEX publish.
 */
const justificationOfCycloneDx: Readonly<Record<string, VexJustification>> = {
  code_not_present: 'vulnerable_code_not_present',
  code_not_reachable: 'vulnerable_code_not_in_execute_path',
  requires_configuration: 'vulnerable_code_cannot_be_controlled_by_adversary',
  requires_dependency: 'component_not_present',
  requires_environment: 'vulnerable_code_cannot_be_controlled_by_adversary',
  protected_by_compiler: 'inline_mitigations_already_exist',
  protected_at_runtime: 'inline_mitigations_already_exist',
  protected_at_perimeter: 'inline_mitigations_already_exist',
  protected_by_mitigating_control: 'inline_mitigations_already_exist',
};

const responses: ReadonlySet<string> = new Set([
  'can_not_fix',
  'will_not_fix',
  'update',
  'rollback',
  'workaround_available',
]);

const statusOfVersionStatus: Readonly<Record<string, VexStatus>> = {
  affected: 'affected',
  unaffected: 'not_affected',
  unknown: 'under_investigation',
};

function vexInvalid(path: string, message: string): VigilError {
  return new VigilError('VULNS_VEX_INVALID', 'invalid', `${path}: ${message}`, { facts: { path } });
}

type JsonObject = Readonly<Record<string, unknown>>;

function objectAt(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw vexInvalid(path, 'must be an object');
  return value as JsonObject;
}

function field(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function stringAt(object: JsonObject, key: string, path: string): string | undefined {
  const value = field(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw vexInvalid(`${path}/${key}`, 'must be a string');
  return value;
}

function arrayAt(object: JsonObject, key: string, path: string): readonly unknown[] {
  const value = field(object, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw vexInvalid(`${path}/${key}`, 'must be an array');
  return value;
}

/** CycloneDX BOM-Link (CycloneDX 1.5 "BOM-Link"): urn:cdx:<serialNumber UUID>/<version>[#<bom-ref>]. */
function readBomLink(ref: string): { serial: string; version: string; bomRef?: string } | undefined {
  const match = /^urn:cdx:([0-9a-fA-F-]{36})\/([1-9][0-9]*)(?:#(.+))?$/.exec(ref);
  if (match === null) return undefined;
  const [, serial = '', version = '', fragment] = match;
  if (fragment === undefined) return { serial: serial.toLowerCase(), version };
  let bomRef = fragment;
  try {
    bomRef = decodeURIComponent(fragment);
  } catch {
    // Not percent-encoded after all: the fragment is the bom-ref as written.
  }
  return { serial: serial.toLowerCase(), version, bomRef };
}

/** The SBOM's components by bom-ref and by purl, the described component (metadata.component) included. */
class SbomLookup {
  private readonly byRef = new Map<string, SbomComponent>();
  private readonly byPurl = new Map<string, SbomComponent>();
  private readonly byPurlWithoutQualifiers = new Map<string, SbomComponent>();
  readonly serial: string | undefined;
  readonly described: SbomComponent | undefined;

  constructor(sbom: ParsedSbom) {
    this.described = sbom.metadata.component;
    const serial = /^urn:uuid:([0-9a-fA-F-]{36})$/.exec(sbom.documentId ?? '');
    this.serial = serial?.[1]?.toLowerCase();
    for (const component of [
      ...(sbom.metadata.component === undefined ? [] : [sbom.metadata.component]),
      ...sbom.components,
    ]) {
      if (!this.byRef.has(component.ref)) this.byRef.set(component.ref, component);
      if (component.purl === undefined) continue;
      if (!this.byPurl.has(component.purl.canonical)) this.byPurl.set(component.purl.canonical, component);
      const bare = purlWithoutQualifiers(component.purl);
      if (!this.byPurlWithoutQualifiers.has(bare)) this.byPurlWithoutQualifiers.set(bare, component);
    }
  }

  ref(ref: string): SbomComponent | undefined {
    return this.byRef.get(ref);
  }

  /** A component named by purl: the same canonical purl, else the same type, namespace, name and version. */
  purl(text: string): SbomComponent | undefined {
    if (!text.startsWith('pkg:')) return undefined;
    const reading = readPackageUrl(text);
    if (!reading.valid) return undefined;
    return (
      this.byPurl.get(reading.purl.canonical) ??
      this.byPurlWithoutQualifiers.get(purlWithoutQualifiers(reading.purl))
    );
  }
}

function purlWithoutQualifiers(purl: {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
}): string {
  return JSON.stringify([purl.type, purl.namespace ?? '', purl.name, purl.version ?? '']);
}

type Resolution =
  { component: SbomComponent; resolvedBy: VexStatementApplication['resolvedBy'] } | { reason: string };

function resolveRef(ref: string, lookup: SbomLookup): Resolution {
  const link = readBomLink(ref);
  if (link !== undefined) {
    if (link.serial === lookup.serial) {
      if (link.bomRef === undefined) {
        return lookup.described === undefined
          ? { reason: 'the SBOM describes no component' }
          : { component: lookup.described, resolvedBy: 'bom-link' };
      }
      const component = lookup.ref(link.bomRef);
      if (component !== undefined) return { component, resolvedBy: 'bom-link' };
    }
    // A purl names a package whichever BOM it appears in.
    const byPurl = link.bomRef === undefined ? undefined : lookup.purl(link.bomRef);
    if (byPurl !== undefined) return { component: byPurl, resolvedBy: 'purl' };
    return {
      reason:
        link.serial === lookup.serial
          ? 'no component of the SBOM has this bom-ref'
          : 'the BOM-Link names another BOM',
    };
  }
  const component = lookup.ref(ref);
  if (component !== undefined) return { component, resolvedBy: 'bom-ref' };
  const byPurl = lookup.purl(ref);
  if (byPurl !== undefined) return { component: byPurl, resolvedBy: 'purl' };
  return { reason: 'no component of the SBOM has this bom-ref' };
}

interface VersionEntry {
  version?: string;
  range?: VersRange;
  rangeText?: string;
  status: 'affected' | 'unaffected' | 'unknown';
}

function readVersionEntries(affect: JsonObject, path: string): VersionEntry[] {
  return arrayAt(affect, 'versions', path).map((value, index) => {
    const entryPath = `${path}/versions/${index}`;
    const entry = objectAt(value, entryPath);
    const status = stringAt(entry, 'status', entryPath) ?? 'affected'; // CycloneDX 1.6 `affectedStatus` default
    if (status !== 'affected' && status !== 'unaffected' && status !== 'unknown') {
      throw vexInvalid(`${entryPath}/status`, 'must be affected, unaffected or unknown');
    }
    const version = stringAt(entry, 'version', entryPath);
    const rangeText = stringAt(entry, 'range', entryPath);
    if ((version === undefined) === (rangeText === undefined))
      throw vexInvalid(entryPath, 'holds exactly one of version and range');
    if (version !== undefined) return { version, status };
    return { rangeText, range: readRange(rangeText as string, `${entryPath}/range`), status };
  });
}

/** A vers as written; ranges written out of canonical order (as in CycloneDX's own examples) are sorted. */
function readRange(text: string, path: string): VersRange {
  try {
    return parseVers(text);
  } catch {
    try {
      return normalizeVers(text);
    } catch (error) {
      throw vexInvalid(path, isVigilError(error) ? error.message : 'is not a vers range');
    }
  }
}

function sameVersion(component: SbomComponent, version: string, other: string): boolean {
  if (version === other) return true;
  const scheme = versionSchemeFor(component.purl?.type ?? 'generic');
  return scheme.isValid(version) && scheme.isValid(other) && scheme.compare(version, other) === 0;
}

/** The version entry covering the component's version; undefined when none does; throws on a version the range's order cannot read. */
function coveringEntry(
  component: SbomComponent,
  version: string,
  entries: readonly VersionEntry[],
): VersionEntry | undefined {
  for (const entry of entries) {
    if (entry.version !== undefined && sameVersion(component, version, entry.version)) return entry;
    if (entry.range !== undefined && versContains(entry.range, version)) return entry;
  }
  return undefined;
}

/**
 * Applies a CycloneDX VEX to an SBOM: the statements that hold for its components (references resolved by
 * bom-ref, BOM-Link or purl; `affects[].versions` evaluated, ranges with `versContains`).
 */
export function applyCycloneDxVex(vexInput: JsonInput, sbom: ParsedSbom): VexApplication {
  try {
    return applyParsedVex(readJsonDocument(vexInput), sbom);
  } catch (error) {
    if (isVigilError(error)) throw error;
    throw new VigilError('VULNS_VEX_APPLY_FAILED', 'internal', 'applying the VEX failed inside Vigil', {
      cause: error,
    });
  }
}

function applyParsedVex(document: unknown, sbom: ParsedSbom): VexApplication {
  const vex = objectAt(document, '');
  if (field(vex, 'bomFormat') !== 'CycloneDX') throw vexInvalid('/bomFormat', 'must be CycloneDX');
  const lookup = new SbomLookup(sbom);
  const application: VexApplication = { statements: [], unresolved: [], notApplicable: [] };
  arrayAt(vex, 'vulnerabilities', '').forEach((value, index) => {
    const path = `/vulnerabilities/${index}`;
    const vulnerability = objectAt(value, path);
    const id = stringAt(vulnerability, 'id', path);
    if (id === undefined || id.length === 0)
      throw vexInvalid(`${path}/id`, 'is required to apply a statement');
    const aliases = arrayAt(vulnerability, 'references', path)
      .map((reference, referenceIndex) =>
        stringAt(
          objectAt(reference, `${path}/references/${referenceIndex}`),
          'id',
          `${path}/references/${referenceIndex}`,
        ),
      )
      .filter((alias): alias is string => alias !== undefined && alias !== id);
    const analysisValue = field(vulnerability, 'analysis');
    const analysis = analysisValue === undefined ? undefined : objectAt(analysisValue, `${path}/analysis`);
    const state = analysis === undefined ? undefined : stringAt(analysis, 'state', `${path}/analysis`);
    if (state !== undefined && !Object.hasOwn(statusOfState, state))
      throw vexInvalid(`${path}/analysis/state`, 'is not a CycloneDX analysis state');
    const cyclonedxJustification =
      analysis === undefined ? undefined : stringAt(analysis, 'justification', `${path}/analysis`);
    if (
      cyclonedxJustification !== undefined &&
      !Object.hasOwn(justificationOfCycloneDx, cyclonedxJustification)
    ) {
      throw vexInvalid(`${path}/analysis/justification`, 'is not a CycloneDX justification');
    }
    const stated = analysis === undefined ? [] : arrayAt(analysis, 'response', `${path}/analysis`);
    for (const response of stated) {
      if (typeof response !== 'string' || !responses.has(response))
        throw vexInvalid(`${path}/analysis/response`, 'holds a value that is not a CycloneDX response');
    }
    const detail = analysis === undefined ? undefined : stringAt(analysis, 'detail', `${path}/analysis`);

    arrayAt(vulnerability, 'affects', path).forEach((affectValue, affectIndex) => {
      const affectPath = `${path}/affects/${affectIndex}`;
      const affect = objectAt(affectValue, affectPath);
      const ref = stringAt(affect, 'ref', affectPath);
      if (ref === undefined) throw vexInvalid(`${affectPath}/ref`, 'is required');
      const entries = readVersionEntries(affect, affectPath);
      const resolution = resolveRef(ref, lookup);
      if ('reason' in resolution) {
        application.unresolved.push({ vulnerability: id, ref, reason: resolution.reason });
        return;
      }
      const { component, resolvedBy } = resolution;
      const version = component.version ?? component.purl?.version;
      let covering: VersionEntry | undefined;
      if (entries.length > 0) {
        if (version === undefined) {
          application.unresolved.push({
            vulnerability: id,
            ref,
            reason: 'the component has no version to hold against the statement’s versions',
          });
          return;
        }
        try {
          covering = coveringEntry(component, version, entries);
        } catch (error) {
          if (!isVigilError(error)) throw error;
          application.unresolved.push({ vulnerability: id, ref, reason: error.message });
          return;
        }
        if (covering === undefined) {
          application.notApplicable.push({ vulnerability: id, componentRef: component.ref, version });
          return;
        }
      }
      const status: VexStatus =
        state !== undefined
          ? statusOfState[state as CycloneDxState]
          : covering !== undefined
            ? (statusOfVersionStatus[covering.status] as VexStatus)
            : 'affected';
      const statement: VexStatementApplication = {
        vulnerability: id,
        aliases,
        componentRef: component.ref,
        resolvedBy,
        status,
        responses: stated as string[],
      };
      if (component.purl !== undefined) statement.purl = component.purl.canonical;
      if (version !== undefined) statement.version = version;
      if (state !== undefined) statement.cyclonedxState = state;
      if (cyclonedxJustification !== undefined) {
        statement.cyclonedxJustification = cyclonedxJustification;
        if (status === 'not_affected')
          statement.justification = justificationOfCycloneDx[cyclonedxJustification];
      }
      if (detail !== undefined) statement.detail = detail;
      if (covering !== undefined) {
        statement.matchedVersion = covering.version ?? covering.rangeText;
        statement.versionStatus = covering.status;
      }
      application.statements.push(statement);
    });
  });
  return application;
}
