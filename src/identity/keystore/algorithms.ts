import { VigilError } from '../../core/index.ts';
import type { KeyAlgorithm, SignatureHash } from './keystore.ts';

/**
 * What each key algorithm is, for the backends. Callers may be untyped (configuration, CLI input),
 * so every entry point checks the algorithm and hash names it is handed against these lists.
 */
export const keyAlgorithms: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072'];
export const signatureHashes: readonly SignatureHash[] = ['sha256', 'sha384'];

export type NodeKeyType =
  | { type: 'ec'; namedCurve: 'prime256v1' | 'secp384r1'; coordinateLength: number }
  | { type: 'rsa'; modulusLength: number };

export function nodeKeyTypeOf(algorithm: KeyAlgorithm): NodeKeyType {
  switch (algorithm) {
    case 'ecdsa-p256':
      return { type: 'ec', namedCurve: 'prime256v1', coordinateLength: 32 };
    case 'ecdsa-p384':
      return { type: 'ec', namedCurve: 'secp384r1', coordinateLength: 48 };
    case 'rsa-3072':
      return { type: 'rsa', modulusLength: 3072 };
  }
}

export function assertAlgorithm(algorithm: string): asserts algorithm is KeyAlgorithm {
  if (!(keyAlgorithms as readonly string[]).includes(algorithm)) {
    throw new VigilError(
      'KEYSTORE_ALGORITHM_UNSUPPORTED',
      'invalid',
      `key algorithm ${JSON.stringify(algorithm)} is not one of ${keyAlgorithms.join(', ')}`,
    );
  }
}

export function assertHash(hash: string): asserts hash is SignatureHash {
  if (!(signatureHashes as readonly string[]).includes(hash)) {
    throw new VigilError(
      'KEYSTORE_HASH_UNSUPPORTED',
      'invalid',
      `signature hash ${JSON.stringify(hash)} is not one of ${signatureHashes.join(', ')}`,
    );
  }
}
