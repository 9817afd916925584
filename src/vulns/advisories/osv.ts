import { readPackageUrl } from '../sbom/index.ts';
import type {
  Advisory,
  AdvisoryReference,
  AffectedPackage,
  AffectedRange,
  PackageCoordinates,
  RangeEvent,
  RangeEventKind,
  RangeType,
  SeverityScore,
} from './advisory.ts';
import { formatCpe, parseCpe } from './cpe.ts';
import { scoreCvssVector } from './cvss.ts';
import { invalidAdvisory } from './errors.ts';
import { readJsonDocument, maxRecordBytes, type JsonInput } from './json-input.ts';
import {
  distinct,
  expectObject,
  mapArray,
  memberOf,
  optionalDateTime,
  optionalObject,
  optionalString,
  optionalStringArray,
  pointer,
  requiredDateTime,
  requiredString,
  type JsonObject,
} from './json-fields.ts';
import { guardParser } from './parser-guard.ts';
import { isCveId, readVulnerabilityId } from './vulnerability-ids.ts';

/**
 * OSV records (OSV schema 1.x, https://ossf.github.io/osv-schema/). Records come from public feeds and
 * uploads: attacker-controlled. `parseOsvRecord` reads what the schema defines, refuses what breaks it
 * with VULNS_ADVISORY_INVALID (naming the JSON Pointer), and ignores the free-form `ecosystem_specific`
 * and `database_specific` objects except Bitnami's `database_specific.cpes`.
 */

/** Longest version string kept from an event or `versions`; the comparators refuse longer ones anyway. */
const maxVersionTextLength = 256;
const maxNameLength = 1024;
const maxUrlLength = 4096;

const rangeTypes: ReadonlySet<string> = new Set<RangeType>(['SEMVER', 'ECOSYSTEM', 'GIT']);
const eventKinds: readonly RangeEventKind[] = ['introduced', 'fixed', 'last_affected', 'limit'];

/** "Only a single type (either introduced, fixed, last_affected, limit) is allowed in each event object" (OSV schema, ranges[].events). */
function readEvent(value: unknown, path: string): RangeEvent {
  const event = expectObject(value, path);
  const kinds = eventKinds.filter((kind) => memberOf(event, kind) !== undefined);
  const [kind] = kinds;
  if (kind === undefined || kinds.length !== 1) {
    throw invalidAdvisory(path, 'an event holds exactly one of introduced, fixed, last_affected, limit');
  }
  const version = requiredString(event, kind, path, { nonEmpty: true, maxLength: maxVersionTextLength });
  return { kind, version };
}

function readRange(value: unknown, path: string): AffectedRange {
  const range = expectObject(value, path);
  const type = requiredString(range, 'type', path);
  if (!rangeTypes.has(type)) throw invalidAdvisory(pointer(path, 'type'), 'must be SEMVER, ECOSYSTEM or GIT');
  const events = mapArray(range, 'events', path, readEvent);
  // "There must be at least one introduced object in the events array" (OSV schema, ranges[].events).
  if (!events.some((event) => event.kind === 'introduced')) {
    throw invalidAdvisory(pointer(path, 'events'), 'must hold at least one introduced event');
  }
  const repo = optionalString(range, 'repo', path, { maxLength: maxUrlLength });
  // "This field is required if affected[].ranges[].type is GIT" (OSV schema, ranges[].repo).
  if (type === 'GIT' && repo === undefined)
    throw invalidAdvisory(pointer(path, 'repo'), 'is required for a GIT range');
  return { type: type as RangeType, ...(repo === undefined ? {} : { repo }), events };
}

/** OSV `severity[]` (record or package level): CVSS vectors scored, other types kept as text. */
export function readOsvSeverity(value: unknown, path: string): SeverityScore {
  const severity = expectObject(value, path);
  const type = requiredString(severity, 'type', path, { nonEmpty: true, maxLength: 64 });
  const score = requiredString(severity, 'score', path, { nonEmpty: true, maxLength: 1024 });
  if (type.startsWith('CVSS_')) return scoreCvssVector(type, score);
  return { type, text: score };
}

/** A package URL without its version, or undefined when the text is not a valid one (the ecosystem and name still identify the package). */
export function readPackageCoordinates(text: string): PackageCoordinates | undefined {
  if (text.length > maxUrlLength) return undefined;
  const reading = readPackageUrl(text);
  if (!reading.valid) return undefined;
  const { type, namespace, name } = reading.purl;
  return namespace === undefined ? { type, name } : { type, namespace, name };
}

function readAffected(value: unknown, path: string): AffectedPackage {
  const affected = expectObject(value, path);
  const entry: AffectedPackage = {
    ranges: mapArray(affected, 'ranges', path, readRange),
    versions: optionalStringArray(affected, 'versions', path, {
      nonEmpty: true,
      maxLength: maxVersionTextLength,
    }),
    versRanges: [],
    severity: mapArray(affected, 'severity', path, readOsvSeverity),
  };
  const packagePath = pointer(path, 'package');
  const packageObject = optionalObject(affected, 'package', path);
  if (packageObject !== undefined) {
    entry.ecosystem = requiredString(packageObject, 'ecosystem', packagePath, {
      nonEmpty: true,
      maxLength: 256,
    });
    entry.name = requiredString(packageObject, 'name', packagePath, {
      nonEmpty: true,
      maxLength: maxNameLength,
    });
    const purlText = optionalString(packageObject, 'purl', packagePath);
    const purl = purlText === undefined ? undefined : readPackageCoordinates(purlText);
    if (purl !== undefined) entry.purl = purl;
  }
  return entry;
}

function readReference(value: unknown, path: string): AdvisoryReference {
  const reference = expectObject(value, path);
  return {
    type: requiredString(reference, 'type', path, { nonEmpty: true, maxLength: 64 }),
    url: requiredString(reference, 'url', path, { nonEmpty: true, maxLength: maxUrlLength }),
  };
}

function readIds(record: JsonObject, key: string, path: string): string[] {
  const ids = optionalStringArray(record, key, path);
  return distinct(ids.map((id, index) => readVulnerabilityId(id, pointer(pointer(path, key), index))));
}

/** Bitnami's `database_specific.cpes`: CPE 2.3 names of the product; unreadable names are left out. */
function readDatabaseCpes(record: JsonObject): string[] {
  const databaseSpecific = memberOf(record, 'database_specific');
  if (typeof databaseSpecific !== 'object' || databaseSpecific === null) return [];
  const cpes = memberOf(databaseSpecific as JsonObject, 'cpes');
  if (!Array.isArray(cpes)) return [];
  const read: string[] = [];
  for (const text of cpes) {
    const cpe = typeof text === 'string' ? parseCpe(text) : undefined;
    if (cpe !== undefined) read.push(formatCpe(cpe));
  }
  return distinct(read);
}

/** Reads one OSV record that is already JSON. */
export function advisoryFromOsvJson(value: unknown, path = ''): Advisory {
  const record = expectObject(value, path);
  const schemaVersion = optionalString(record, 'schema_version', path, { maxLength: 32 });
  if (schemaVersion !== undefined && !/^1(\.|$)/.test(schemaVersion)) {
    throw invalidAdvisory(pointer(path, 'schema_version'), 'only OSV schema 1.x is read');
  }
  const id = readVulnerabilityId(requiredString(record, 'id', path), pointer(path, 'id'));
  const aliases = readIds(record, 'aliases', path).filter((alias) => alias !== id);
  const advisory: Advisory = {
    source: 'osv',
    id,
    aliases,
    related: readIds(record, 'related', path),
    upstream: readIds(record, 'upstream', path),
    modified: requiredDateTime(record, 'modified', path),
    severity: mapArray(record, 'severity', path, readOsvSeverity),
    references: mapArray(record, 'references', path, readReference),
    affected: mapArray(record, 'affected', path, readAffected),
    cpes: readDatabaseCpes(record),
    statements: [],
    cves: [id, ...aliases].filter(isCveId),
  };
  const published = optionalDateTime(record, 'published', path);
  if (published !== undefined) advisory.published = published;
  const withdrawn = optionalDateTime(record, 'withdrawn', path);
  if (withdrawn !== undefined) advisory.withdrawn = withdrawn;
  const summary = optionalString(record, 'summary', path);
  if (summary !== undefined) advisory.summary = summary;
  const details = optionalString(record, 'details', path);
  if (details !== undefined) advisory.details = details;
  return advisory;
}

/**
 * Reads one OSV record: bytes (gzip or not, at most 4 MiB once decompressed), JSON text, or parsed JSON.
 * Throws only VigilError: VULNS_ADVISORY_MALFORMED, _TOO_LARGE or _INVALID.
 */
export function parseOsvRecord(input: JsonInput): Advisory {
  return guardParser(() => advisoryFromOsvJson(readJsonDocument(input, maxRecordBytes)));
}
