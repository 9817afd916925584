import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { canonicalJson } from '../../core/index.ts';
import type { SbomViolation } from './errors.ts';

const require = createRequire(import.meta.url);
// Both packages are CommonJS; ajv-formats' typings declare an ES default export, ajv-formats-draft2019 has none.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const addDraft2019Formats = require('ajv-formats-draft2019') as (
  ajv: Ajv,
  options: { formats: string[] },
) => Ajv;

/** The schemas documents are checked against, one per format and specification version. */
export type SbomSchemaName =
  'CycloneDX 1.2' | 'CycloneDX 1.3' | 'CycloneDX 1.4' | 'CycloneDX 1.5' | 'CycloneDX 1.6' | 'SPDX 2.3';

/**
 * The official CycloneDX JSON schemas as @cyclonedx/cyclonedx-library ships them (its `res/schema/`,
 * with the SPDX licence-id and JSF schemas they `$ref`). For 1.2 and 1.3 the normative schema, not the
 * library's optional `-strict` variant, so extension properties those versions allow pass. SPDX 2.3:
 * no installed package ships its schema, so ours (spdx-2.3.schema.json, next to this file) covers what
 * SPDX 2.3 §§6–11 require of the fields we read.
 */
const cycloneDxSchemaDirectory = join(
  dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')),
  'res',
  'schema',
);
const schemaFiles: Readonly<Record<SbomSchemaName, URL | string>> = {
  'CycloneDX 1.2': join(cycloneDxSchemaDirectory, 'bom-1.2.SNAPSHOT.schema.json'),
  'CycloneDX 1.3': join(cycloneDxSchemaDirectory, 'bom-1.3.SNAPSHOT.schema.json'),
  'CycloneDX 1.4': join(cycloneDxSchemaDirectory, 'bom-1.4.SNAPSHOT.schema.json'),
  'CycloneDX 1.5': join(cycloneDxSchemaDirectory, 'bom-1.5.SNAPSHOT.schema.json'),
  'CycloneDX 1.6': join(cycloneDxSchemaDirectory, 'bom-1.6.SNAPSHOT.schema.json'),
  'SPDX 2.3': new URL('./spdx-2.3.schema.json', import.meta.url),
};
/** The schemas the CycloneDX ones `$ref`, under the ids the library's copies refer to them by. */
const referencedCycloneDxSchemas: Readonly<Record<string, string>> = {
  'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': 'spdx.SNAPSHOT.schema.json',
  'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': 'jsf-0.82.SNAPSHOT.schema.json',
  'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json':
    'cryptography-defs.SNAPSHOT.schema.json',
};

/**
 * Above this many characters of JSON, an invalid document is reported by its first violation only:
 * listing every violation would let a large hostile document make an error object for every few bytes.
 */
export const exhaustiveSearchLengthLimit = 4 * 1024 * 1024;

function readJson(file: URL | string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * `uniqueItems` in linear time. Ajv's own compares every pair of object items (O(n²)): 10,000 components
 * took seconds. Items are grouped by a shallow hash that equal items share, and only items whose hash
 * repeats are compared, by their RFC 8785 canonical form, so crafted collisions cost one serialisation
 * per item, never a comparison per pair. Equality is JSON Schema's (draft-07 §6.4.3): key order does
 * not matter, and 0 equals -0.
 */
const validateUniqueItems: SchemaValidateFunction = (required: unknown, items: unknown) => {
  if (required !== true || !Array.isArray(items)) return true;
  const firstIndexByHash = new Map<number, number>();
  const hashesCanonicalised = new Set<number>();
  const indexByCanonicalForm = new Map<string, number>();
  for (let index = 0; index < items.length; index++) {
    const hash = shallowHash(items[index]);
    const firstIndex = firstIndexByHash.get(hash);
    if (firstIndex === undefined) {
      firstIndexByHash.set(hash, index);
      continue;
    }
    if (!hashesCanonicalised.has(hash)) {
      hashesCanonicalised.add(hash);
      indexByCanonicalForm.set(canonicalJson(items[firstIndex]), firstIndex);
    }
    const canonicalForm = canonicalJson(items[index]);
    const earlierIndex = indexByCanonicalForm.get(canonicalForm);
    if (earlierIndex !== undefined) {
      validateUniqueItems.errors = [
        {
          keyword: 'uniqueItems',
          message: `must NOT have duplicate items (items ## ${earlierIndex} and ${index} are identical)`,
          params: { i: index, j: earlierIndex },
        },
      ];
      return false;
    }
    indexByCanonicalForm.set(canonicalForm, index);
  }
  return true;
};

/**
 * A 32-bit hash of a JSON value's top level: the scalars, and the length of each array, of an object
 * are hashed with their keys, and summed so that key order does not matter.
 */
function shallowHash(value: unknown): number {
  if (value === null || typeof value !== 'object') return scalarHash(value);
  if (Array.isArray(value)) return Math.imul(value.length, 0x9e3779b1) ^ 0x5bd1e995;
  const record = value as Record<string, unknown>;
  let sum = 0;
  for (const key in record) {
    const member = record[key];
    const memberHash =
      member !== null && typeof member === 'object'
        ? Array.isArray(member)
          ? member.length
          : 0x27d4eb2f
        : scalarHash(member);
    sum = (sum + (Math.imul(stringHash(key), 0x01000193) ^ memberHash)) | 0;
  }
  return sum;
}

function scalarHash(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringHash(value);
    case 'number':
      // Integers hash to themselves (0 and -0 alike); other numbers by their text.
      return Number.isSafeInteger(value) ? value | 0 : stringHash(String(value));
    case 'boolean':
      return value ? 0x165667b1 : 0x3c6ef372;
    default:
      return 0x61c88647;
  }
}

/** FNV-1a over UTF-16 code units. */
function stringHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return hash;
}

function makeAjv(allErrors: boolean): Ajv {
  // The options @cyclonedx/cyclonedx-library's own validator uses; remote `$ref`s are never fetched.
  // Without Ajv's code optimisation the CycloneDX 1.6 schema compiles in about two thirds of the time
  // (measured), and documents validate no slower.
  const ajv = new Ajv({
    allErrors,
    code: { optimize: false },
    strict: false,
    useDefaults: false,
    addUsedSchema: false,
    loadSchema: (uri: string) => {
      throw new Error(`remote schema not loaded: ${uri}`);
    },
    schemas: Object.fromEntries(
      Object.entries(referencedCycloneDxSchemas).map(([id, file]) => [
        id,
        readJson(join(cycloneDxSchemaDirectory, file)) as object,
      ]),
    ),
  });
  addFormats(ajv);
  addDraft2019Formats(ajv, { formats: ['idn-email'] });
  // As in the library: IRI references are not checked (the CycloneDX schemas use them for URLs).
  ajv.addFormat('iri-reference', true);
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    errors: true,
    validate: validateUniqueItems,
  });
  return ajv;
}

/**
 * Two validators per schema, each compiled on first use and kept: one stopping at the first violation,
 * which decides, and one collecting all of them, compiled only once a document fails.
 */
class SchemaValidators {
  private ajv: Ajv | undefined;
  private readonly compiled = new Map<SbomSchemaName, ValidateFunction>();

  constructor(private readonly allErrors: boolean) {}

  get(name: SbomSchemaName): ValidateFunction {
    let validate = this.compiled.get(name);
    if (validate === undefined) {
      this.ajv ??= makeAjv(this.allErrors);
      validate = this.ajv.compile(readJson(schemaFiles[name]) as object);
      this.compiled.set(name, validate);
    }
    return validate;
  }
}

const firstViolationValidators = new SchemaValidators(false);
const allViolationValidators = new SchemaValidators(true);

export type SchemaCheck =
  { valid: true } | { valid: false; violations: SbomViolation[]; searchedAll: boolean };

/**
 * Checks a parsed document against the named schema. `documentLength` (of its JSON text, in characters)
 * decides whether an invalid document's violations are all listed or only its first.
 */
export function checkAgainstSchema(
  name: SbomSchemaName,
  document: unknown,
  documentLength: number,
): SchemaCheck {
  const validateFirst = firstViolationValidators.get(name);
  if (validateFirst(document)) return { valid: true };
  if (documentLength > exhaustiveSearchLengthLimit) {
    return { valid: false, violations: describeViolations(validateFirst.errors), searchedAll: false };
  }
  const validateAll = allViolationValidators.get(name);
  validateAll(document);
  return { valid: false, violations: describeViolations(validateAll.errors), searchedAll: true };
}

function describeViolations(errors: readonly ErrorObject[] | null | undefined): SbomViolation[] {
  return (errors ?? []).map((error) => ({ instancePath: error.instancePath, message: describeError(error) }));
}

function describeError(error: ErrorObject): string {
  const message = error.message ?? error.keyword;
  const params = error.params as Record<string, unknown>;
  // Ajv's messages leave out which property; an SBOM author needs it to find the mistake.
  if (error.keyword === 'additionalProperties') return `${message}: ${String(params.additionalProperty)}`;
  if (error.keyword === 'propertyNames') return `${message}: ${String(params.propertyName)}`;
  if (error.keyword === 'const') return `${message}: ${JSON.stringify(params.allowedValue)}`;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues) && params.allowedValues.length <= 20) {
    return `${message}: ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return message;
}
