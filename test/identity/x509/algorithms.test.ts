import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  parseSubjectPublicKeyInfo,
  signatureAlgorithmOf,
  signerMatchesKey,
  x509SignerFromKeyObject,
} from '../../../src/identity/x509/algorithms.ts';
import { generateTestKey } from './fixtures.ts';

describe('X.509 signers and key descriptions', () => {
  it('signs with SHA-256 for P-256 and RSA-3072 and SHA-384 for P-384', async () => {
    for (const [algorithm, hash] of [
      ['ecdsa-p256', 'sha256'],
      ['ecdsa-p384', 'sha384'],
      ['rsa-3072', 'sha256'],
    ] as const) {
      const key = generateTestKey(algorithm);
      assert.equal(key.signer.algorithm, algorithm);
      const data = Buffer.from('to be signed');
      const signature = await key.signer.sign(data);
      assert.ok(
        verify(hash, data, { key: key.publicKey, format: 'der', type: 'spki' }, signature),
        algorithm,
      );
    }
  });

  it('refuses keys outside the three CA algorithms', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.throws(
      () => x509SignerFromKeyObject(privateKey),
      (error) => isVigilError(error, 'X509_SIGNER_UNSUPPORTED'),
    );
  });

  it('writes ECDSA AlgorithmIdentifiers without parameters and RSA with NULL (RFC 5758, RFC 4055)', () => {
    assert.equal(signatureAlgorithmOf('ecdsa-p256').toString('hex'), '300a06082a8648ce3d040302');
    assert.equal(signatureAlgorithmOf('rsa-3072').toString('hex'), '300d06092a864886f70d01010b0500');
  });

  it('describes EC curves and RSA modulus sizes and matches them to signers', () => {
    const p384 = parseSubjectPublicKeyInfo(generateTestKey('ecdsa-p384').publicKey);
    assert.deepEqual(p384.key, { type: 'ec', curve: 'P-384', algorithmOid: '1.2.840.10045.2.1' });
    const rsa = parseSubjectPublicKeyInfo(generateTestKey('rsa-3072').publicKey);
    assert.equal(rsa.key.bits, 3072);
    assert.ok(signerMatchesKey('rsa-3072', rsa.key));
    assert.ok(!signerMatchesKey('ecdsa-p256', p384.key));
  });

  it('rejects public keys that are not SubjectPublicKeyInfo DER', () => {
    assert.throws(
      () => parseSubjectPublicKeyInfo(Buffer.from('3003020101', 'hex')),
      (error) => isVigilError(error, 'X509_PUBLIC_KEY_MALFORMED'),
    );
  });
});
