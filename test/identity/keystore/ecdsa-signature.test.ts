import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { isVigilError } from '../../../src/core/index.ts';
import { ecdsaRawToDer } from '../../../src/identity/keystore/ecdsa-signature.ts';

describe('ecdsaRawToDer', () => {
  for (const [curve, coordinateLength] of [
    ['P-256', 32],
    ['P-384', 48],
  ] as const) {
    test(`turns ${curve} r || s into the DER node:crypto produces, for many signatures`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      for (let i = 0; i < 300; i++) {
        const data = Buffer.from(`message ${i}`);
        const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        const der = ecdsaRawToDer(raw, coordinateLength);
        assert.equal(verify('sha256', data, publicKey, der), true);
      }
    });
  }

  test('encodes leading zeros minimally and pads a set top bit (X.690 §8.3)', () => {
    const r = Buffer.alloc(32);
    r[31] = 0x01; // r = 1
    const s = Buffer.alloc(32, 0xff); // top bit set
    const der = ecdsaRawToDer(Buffer.concat([r, s]), 32);
    assert.equal(der.toString('hex'), '3026' + '020101' + '022100' + 'ff'.repeat(32));
  });

  test('uses the long length form past 127 bytes', () => {
    const der = ecdsaRawToDer(Buffer.alloc(2 * 66, 0xff), 66);
    assert.equal(der.subarray(0, 3).toString('hex'), '30818a');
  });

  test('refuses a signature of the wrong length', () => {
    assert.throws(
      () => ecdsaRawToDer(Buffer.alloc(63), 32),
      (error: unknown) => isVigilError(error, 'KEYSTORE_SIGNATURE_INVALID'),
    );
  });
});
