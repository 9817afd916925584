import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { isVigilError } from '../../../src/core/index.ts';
import {
  assertAlgorithm,
  assertHash,
  keyAlgorithms,
  nodeKeyTypeOf,
} from '../../../src/identity/keystore/algorithms.ts';

describe('keystore algorithms', () => {
  test('describe each algorithm as node:crypto names its keys', () => {
    for (const algorithm of keyAlgorithms) {
      const type = nodeKeyTypeOf(algorithm);
      const { privateKey } =
        type.type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: type.namedCurve })
          : generateKeyPairSync('rsa', { modulusLength: type.modulusLength });
      assert.equal(privateKey.asymmetricKeyType, type.type);
      if (type.type === 'ec') {
        assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, type.namedCurve);
        const jwk = privateKey.export({ format: 'jwk' });
        assert.equal(Buffer.from(jwk.x as string, 'base64url').length, type.coordinateLength);
      } else {
        assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, type.modulusLength);
      }
    }
  });

  test('refuse names outside the lists with typed errors', () => {
    for (const name of ['ed25519', 'ecdsa-p521', 'rsa-2048', '', 'ECDSA-P256']) {
      assert.throws(
        () => assertAlgorithm(name),
        (error: unknown) => isVigilError(error, 'KEYSTORE_ALGORITHM_UNSUPPORTED'),
      );
    }
    for (const name of ['sha1', 'md5', 'SHA256', 'sha512']) {
      assert.throws(
        () => assertHash(name),
        (error: unknown) => isVigilError(error, 'KEYSTORE_HASH_UNSUPPORTED'),
      );
    }
    assert.doesNotThrow(() => assertAlgorithm('rsa-3072'));
    assert.doesNotThrow(() => assertHash('sha384'));
  });
});
