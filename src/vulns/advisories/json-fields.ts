import { invalidAdvisory } from './errors.ts';

/**
 * Typed reads of attacker-controlled JSON: each either returns what the format says is there or throws
 * VULNS_ADVISORY_INVALID naming the JSON Pointer (RFC 6901) of the offending value.
 */

export type JsonObject = Readonly<Record<string, unknown>>;

/** RFC 6901 §3: "~" and "/" in a key are escaped as "~0" and "~1". */
export function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw invalidAdvisory(path, 'must be an object');
  return value;
}

function ownValue(object: JsonObject, key: string): unknown {
  // A key such as "__proto__" or "constructor" must read the document, never the prototype chain.
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

export interface StringRules {
  /** Longest accepted value in UTF-16 code units. */
  maxLength?: number;
  /** Refuse "" (most identifiers and versions). */
  nonEmpty?: boolean;
}

function checkString(value: unknown, path: string, rules: StringRules): string {
  if (typeof value !== 'string') throw invalidAdvisory(path, 'must be a string');
  if (rules.nonEmpty === true && value.length === 0) throw invalidAdvisory(path, 'must not be empty');
  if (rules.maxLength !== undefined && value.length > rules.maxLength) {
    throw invalidAdvisory(path, `must be at most ${rules.maxLength} characters long`);
  }
  return value;
}

export function optionalString(
  object: JsonObject,
  key: string,
  path: string,
  rules: StringRules = {},
): string | undefined {
  const value = ownValue(object, key);
  if (value === undefined || value === null) return undefined;
  return checkString(value, pointer(path, key), rules);
}

export function requiredString(
  object: JsonObject,
  key: string,
  path: string,
  rules: StringRules = {},
): string {
  const value = ownValue(object, key);
  if (value === undefined || value === null) throw invalidAdvisory(pointer(path, key), 'is required');
  return checkString(value, pointer(path, key), rules);
}

export function optionalObject(object: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = ownValue(object, key);
  if (value === undefined || value === null) return undefined;
  return expectObject(value, pointer(path, key));
}

/** An array member; absent or null reads as empty. */
export function optionalArray(object: JsonObject, key: string, path: string): readonly unknown[] {
  const value = ownValue(object, key);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidAdvisory(pointer(path, key), 'must be an array');
  return value;
}

export function optionalStringArray(
  object: JsonObject,
  key: string,
  path: string,
  rules: StringRules = {},
): string[] {
  const arrayPath = pointer(path, key);
  return optionalArray(object, key, path).map((item, index) =>
    checkString(item, pointer(arrayPath, index), rules),
  );
}

/** Each element of an array member read by `read`, with its own path. */
export function mapArray<T>(
  object: JsonObject,
  key: string,
  path: string,
  read: (item: unknown, itemPath: string, index: number) => T,
): T[] {
  const arrayPath = pointer(path, key);
  return optionalArray(object, key, path).map((item, index) => read(item, pointer(arrayPath, index), index));
}

export function optionalNumber(object: JsonObject, key: string, path: string): number | undefined {
  const value = ownValue(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalidAdvisory(pointer(path, key), 'must be a number');
  return value;
}

export function memberOf(object: JsonObject, key: string): unknown {
  return ownValue(object, key);
}

/** RFC 3339 §5.6 date-time (the `date-time` format of the OSV and CSAF schemas); "t" and "z" may be lower case. */
const rfc3339DateTime = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function optionalDateTime(object: JsonObject, key: string, path: string): string | undefined {
  const value = optionalString(object, key, path, { maxLength: 40 });
  if (value !== undefined && !rfc3339DateTime.test(value)) {
    throw invalidAdvisory(pointer(path, key), 'must be an RFC 3339 date-time');
  }
  return value;
}

export function requiredDateTime(object: JsonObject, key: string, path: string): string {
  const value = optionalDateTime(object, key, path);
  if (value === undefined) throw invalidAdvisory(pointer(path, key), 'is required');
  return value;
}

/** Distinct values in first-seen order. */
export function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}
