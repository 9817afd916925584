import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseSignature, verifyQuoteSignature } from '../../../src/attestation/tpm/index.ts';
import {
  buildQuoteAttest,
  ecKeyPair,
  ecdsaTpmtSignature,
  rsaKeyPair,
  rsassaTpmtSignature,
} from './quote-fixtures.ts';

const quote = buildQuoteAttest({ nonce: Buffer.from('nonce'), pcrs: [0, 7], pcrDigest: Buffer.alloc(32, 1) });
const ec = ecKeyPair();
const rsa = rsaKeyPair();
const ecSignature = ecdsaTpmtSignature(quote, ec.privateKey);

function refusedWith(code: string) {
  return (error: unknown) => isVigilError(error, code) && error.kind === 'invalid';
}

describe('parseSignature', () => {
  it('reads an ECDSA TPMT_SIGNATURE into r, s and a DER ECDSA-Sig-Value', () => {
    const signature = parseSignature(ecSignature);
    assert.equal(signature.scheme, 'ecdsa');
    assert.equal(signature.hashAlgorithm, 'sha256');
    if (signature.scheme !== 'ecdsa') return;
    assert.equal(signature.r.length, 32);
    assert.equal(signature.der[0], 0x30);
  });

  it('reads an RSASSA TPMT_SIGNATURE', () => {
    const signature = parseSignature(rsassaTpmtSignature(quote, rsa.privateKey));
    assert.equal(signature.scheme, 'rsassa');
    if (signature.scheme === 'rsassa') assert.equal(signature.signature.length, 256);
  });

  it('refuses an unknown signature scheme (TPM_ALG_HMAC)', () => {
    const hmac = Buffer.from(ecSignature);
    hmac.writeUInt16BE(0x0005, 0);
    assert.throws(() => parseSignature(hmac), refusedWith('ATTESTATION_TPM_SIGNATURE_UNSUPPORTED'));
  });

  it('refuses a SHA-1 signature', () => {
    const sha1 = Buffer.from(ecSignature);
    sha1.writeUInt16BE(0x0004, 2);
    assert.throws(() => parseSignature(sha1), refusedWith('ATTESTATION_TPM_SIGNATURE_UNSUPPORTED'));
  });

  it('refuses truncation and trailing bytes', () => {
    assert.throws(
      () => parseSignature(ecSignature.subarray(0, -1)),
      refusedWith('ATTESTATION_TPM_SIGNATURE_MALFORMED'),
    );
    assert.throws(
      () => parseSignature(Buffer.concat([ecSignature, Buffer.alloc(1)])),
      refusedWith('ATTESTATION_TPM_SIGNATURE_MALFORMED'),
    );
  });

  it('only ever throws VigilError on random flips and truncations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
        fc.option(fc.nat()),
        (flips, cut) => {
          const bytes = Buffer.from(ecSignature);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          try {
            const signature = parseSignature(cut === null ? bytes : bytes.subarray(0, cut % bytes.length));
            verifyQuoteSignature(quote, signature, ec.publicKey);
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('verifyQuoteSignature', () => {
  it('accepts an ECDSA quote signature with the key as KeyObject and as SPKI DER', () => {
    verifyQuoteSignature(quote, parseSignature(ecSignature), ec.publicKey);
    verifyQuoteSignature(
      quote,
      parseSignature(ecSignature),
      ec.publicKey.export({ format: 'der', type: 'spki' }),
    );
  });

  it('accepts an RSASSA quote signature', () => {
    verifyQuoteSignature(quote, parseSignature(rsassaTpmtSignature(quote, rsa.privateKey)), rsa.publicKey);
  });

  it('refuses a quote with one flipped byte', () => {
    const flipped = Buffer.from(quote);
    flipped[flipped.length - 1]! ^= 1;
    assert.throws(
      () => verifyQuoteSignature(flipped, parseSignature(ecSignature), ec.publicKey),
      refusedWith('ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
  });

  it('refuses a signature made by a different key', () => {
    assert.throws(
      () => verifyQuoteSignature(quote, parseSignature(ecSignature), ecKeyPair().publicKey),
      refusedWith('ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
  });

  it('refuses an ECDSA signature checked against an RSA key', () => {
    assert.throws(
      () => verifyQuoteSignature(quote, parseSignature(ecSignature), rsa.publicKey),
      refusedWith('ATTESTATION_TPM_KEY_MISMATCH'),
    );
  });

  it('refuses a key that is not SPKI DER, and a private key', () => {
    assert.throws(
      () => verifyQuoteSignature(quote, parseSignature(ecSignature), Buffer.from('not a key')),
      refusedWith('ATTESTATION_TPM_KEY_INVALID'),
    );
    assert.throws(
      () => verifyQuoteSignature(quote, parseSignature(ecSignature), ec.privateKey),
      refusedWith('ATTESTATION_TPM_KEY_INVALID'),
    );
  });
});
