import type { KevCatalogue, KevEntry } from './advisory.ts';
import { invalidAdvisory } from './errors.ts';
import { readJsonDocument, type JsonInput } from './json-input.ts';
import {
  expectObject,
  mapArray,
  memberOf,
  optionalNumber,
  optionalString,
  optionalStringArray,
  pointer,
  requiredString,
} from './json-fields.ts';
import { guardParser } from './parser-guard.ts';
import { isCveId, readVulnerabilityId } from './vulnerability-ids.ts';

/**
 * The CISA Known Exploited Vulnerabilities catalogue (https://www.cisa.gov/known-exploited-vulnerabilities-catalog,
 * JSON schema in cisagov/kev-data). Fetched from the network or uploaded, so attacker-controlled: bounded
 * (64 MiB), checked field by field, refused with VULNS_ADVISORY_INVALID naming the JSON Pointer.
 */

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function requiredDate(object: Readonly<Record<string, unknown>>, key: string, path: string): string {
  const value = requiredString(object, key, path);
  if (!isoDate.test(value)) throw invalidAdvisory(pointer(path, key), 'must be a date YYYY-MM-DD');
  return value;
}

function readEntry(value: unknown, path: string): KevEntry {
  const entry = expectObject(value, path);
  const cveId = readVulnerabilityId(requiredString(entry, 'cveID', path), pointer(path, 'cveID'));
  if (!isCveId(cveId)) throw invalidAdvisory(pointer(path, 'cveID'), 'must be a CVE id');
  const ransomware = requiredString(entry, 'knownRansomwareCampaignUse', path);
  if (ransomware !== 'Known' && ransomware !== 'Unknown') {
    throw invalidAdvisory(pointer(path, 'knownRansomwareCampaignUse'), 'must be Known or Unknown');
  }
  return {
    cveId,
    vendorProject: requiredString(entry, 'vendorProject', path),
    product: requiredString(entry, 'product', path),
    vulnerabilityName: requiredString(entry, 'vulnerabilityName', path),
    dateAdded: requiredDate(entry, 'dateAdded', path),
    shortDescription: requiredString(entry, 'shortDescription', path),
    requiredAction: requiredString(entry, 'requiredAction', path),
    dueDate: requiredDate(entry, 'dueDate', path),
    knownRansomwareCampaignUse: ransomware,
    notes: optionalString(entry, 'notes', path) ?? '',
    cwes: optionalStringArray(entry, 'cwes', path, { maxLength: 32 }),
  };
}

/** Reads the KEV catalogue; `count`, when present, must agree with the entries. */
export function parseKevCatalogue(input: JsonInput): KevCatalogue {
  return guardParser(() => {
    const catalogue = expectObject(readJsonDocument(input), '');
    if (!Array.isArray(memberOf(catalogue, 'vulnerabilities'))) {
      throw invalidAdvisory('/vulnerabilities', 'must be an array');
    }
    const entries = mapArray(catalogue, 'vulnerabilities', '', readEntry);
    const count = optionalNumber(catalogue, 'count', '');
    if (count !== undefined && count !== entries.length) {
      throw invalidAdvisory('/count', `says ${count} but the catalogue lists ${entries.length}`);
    }
    return {
      title: optionalString(catalogue, 'title', '') ?? '',
      catalogVersion: requiredString(catalogue, 'catalogVersion', ''),
      dateReleased: requiredString(catalogue, 'dateReleased', ''),
      entries,
    };
  });
}
