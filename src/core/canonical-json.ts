import canonicalizeModule from 'canonicalize';
import { VigilError } from './errors.ts';

// The package is CommonJS (`module.exports = serialize`) but its typings declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** RFC 8785 JSON Canonicalization Scheme: the byte form we hash and sign. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new VigilError('CORE_NOT_SERIALIZABLE', 'internal', 'value cannot be serialized as JSON');
  }
  return text;
}

export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
