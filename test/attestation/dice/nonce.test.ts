import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { verifyDiceChain, verifyNonceSignature } from '../../../src/attestation/dice/index.ts';
import { certificate, needOpenssl, opensslSign, standardChains } from './fixtures.ts';

function aliasKey() {
  const made = standardChains();
  const alias = certificate(made, 'alias');
  const { aliasPublicKey } = verifyDiceChain({
    chain: [alias.der],
    deviceIdCertificate: certificate(made, 'deviceId').der,
    at: new Date(),
  });
  return { aliasPublicKey, keyPem: alias.keyPem };
}

describe('verifyNonceSignature', () => {
  it('accepts a nonce signed by the Alias key with openssl dgst -sha256 -sign', (t) => {
    if (!needOpenssl(t)) return;
    const { aliasPublicKey, keyPem } = aliasKey();
    const nonce = randomBytes(32);
    assert.equal(verifyNonceSignature(aliasPublicKey, nonce, opensslSign(keyPem, nonce)), true);
  });

  it('rejects the signature over a different nonce', (t) => {
    if (!needOpenssl(t)) return;
    const { aliasPublicKey, keyPem } = aliasKey();
    const signature = opensslSign(keyPem, randomBytes(32));
    assert.equal(verifyNonceSignature(aliasPublicKey, randomBytes(32), signature), false);
  });

  it('rejects a nonce signed by another device key', (t) => {
    if (!needOpenssl(t)) return;
    const { aliasPublicKey } = aliasKey();
    const nonce = randomBytes(32);
    const other = certificate(standardChains(), 'aliasOfOther');
    assert.equal(verifyNonceSignature(aliasPublicKey, nonce, opensslSign(other.keyPem, nonce)), false);
  });

  it('rejects malformed signatures without throwing', (t) => {
    if (!needOpenssl(t)) return;
    const { aliasPublicKey, keyPem } = aliasKey();
    const nonce = randomBytes(32);
    const signature = opensslSign(keyPem, nonce);
    for (const bad of [
      Buffer.alloc(0),
      signature.subarray(0, 10),
      Buffer.concat([signature, Buffer.from([0])]),
      randomBytes(200),
    ]) {
      assert.equal(verifyNonceSignature(aliasPublicKey, nonce, bad), false);
    }
  });

  it('refuses an Alias key that is not ECDSA P-256', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    assert.throws(
      () => verifyNonceSignature(publicKey, Buffer.from('nonce'), Buffer.alloc(64)),
      (error: unknown) => isVigilError(error, 'ATTESTATION_DICE_ALIAS_KEY_UNSUPPORTED'),
    );
  });
});
