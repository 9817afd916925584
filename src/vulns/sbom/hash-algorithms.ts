import type { HashAlgorithm } from './parsed-sbom.ts';

/**
 * Every algorithm name the two formats allow, mapped to one spelling: the CycloneDX `hash-alg` enum
 * (identical in 1.2–1.6) and the SPDX 2.3 §7.10 checksum algorithms (`SHA256`, `BLAKE2b-256`, ...).
 * Both JSON schemas restrict the names to these, so a miss is a bug, not bad input.
 */
const algorithmByDocumentName: ReadonlyMap<string, HashAlgorithm> = new Map<string, HashAlgorithm>([
  // CycloneDX 1.6 `hash-alg`
  ['MD5', 'MD5'],
  ['SHA-1', 'SHA-1'],
  ['SHA-256', 'SHA-256'],
  ['SHA-384', 'SHA-384'],
  ['SHA-512', 'SHA-512'],
  ['SHA3-256', 'SHA3-256'],
  ['SHA3-384', 'SHA3-384'],
  ['SHA3-512', 'SHA3-512'],
  ['BLAKE2b-256', 'BLAKE2b-256'],
  ['BLAKE2b-384', 'BLAKE2b-384'],
  ['BLAKE2b-512', 'BLAKE2b-512'],
  ['BLAKE3', 'BLAKE3'],
  // SPDX 2.3 §7.10 names that differ or that CycloneDX lacks
  ['SHA1', 'SHA-1'],
  ['SHA224', 'SHA-224'],
  ['SHA256', 'SHA-256'],
  ['SHA384', 'SHA-384'],
  ['SHA512', 'SHA-512'],
  ['MD2', 'MD2'],
  ['MD4', 'MD4'],
  ['MD6', 'MD6'],
  ['ADLER32', 'ADLER32'],
]);

/** The one spelling of a CycloneDX or SPDX algorithm name, or undefined for a name neither allows. */
export function normaliseHashAlgorithm(documentName: string): HashAlgorithm | undefined {
  return algorithmByDocumentName.get(documentName);
}
