import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { algorithmIdName, hashAlgorithmOfId, type TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';

/** TPM_ALG_ID values of the signature schemes Vigil verifies (TCG Algorithm Registry; Part 2 §6.3). */
export const tpmAlgRsassa = 0x0014;
export const tpmAlgRsapss = 0x0016;
export const tpmAlgEcdsa = 0x0018;

export type QuoteSignature =
  | {
      readonly scheme: 'ecdsa';
      readonly hashAlgorithm: TpmHashAlgorithm;
      /** TPMS_SIGNATURE_ECDSA (Part 2 §11.2.3.1) re-encoded as an X9.62 DER ECDSA-Sig-Value. */
      readonly der: Buffer;
      readonly r: Buffer;
      readonly s: Buffer;
    }
  | {
      readonly scheme: 'rsassa' | 'rsapss';
      readonly hashAlgorithm: TpmHashAlgorithm;
      /** TPMS_SIGNATURE_RSA (Part 2 §11.2.2.1) sig: the raw RSA signature. */
      readonly signature: Buffer;
    };

/** Largest RSA modulus a TPM signs with (MAX_RSA_KEY_BYTES for 4096-bit keys). */
const maxRsaSignatureSize = 512;
/** MAX_ECC_KEY_BYTES for P-521, the largest curve a TPM offers. */
const maxEccParameterSize = 66;

/**
 * Parses a TPMT_SIGNATURE (Part 2 §11.3.4), the TSS-marshalled form `tpm2_quote -s` writes by default.
 * Attacker-controlled: only ever throws VigilError (ATTESTATION_TPM_SIGNATURE_*).
 */
export function parseSignature(bytes: Uint8Array): QuoteSignature {
  const reader = new ByteReader(bytes, {
    littleEndian: false,
    errorCode: 'ATTESTATION_TPM_SIGNATURE_MALFORMED',
    what: 'TPMT_SIGNATURE',
  });
  const sigAlg = reader.uint16('sigAlg');
  if (sigAlg !== tpmAlgEcdsa && sigAlg !== tpmAlgRsassa && sigAlg !== tpmAlgRsapss) {
    throw tpmError(
      'ATTESTATION_TPM_SIGNATURE_UNSUPPORTED',
      `signature scheme ${algorithmIdName(sigAlg)} is not supported`,
    );
  }
  const hashId = reader.uint16('hash');
  const hashAlgorithm = hashAlgorithmOfId(hashId);
  // SHA-1 quote signatures are collision-forgeable; Vigil appraises nothing signed with it.
  if (hashAlgorithm === undefined || hashAlgorithm === 'sha1') {
    throw tpmError(
      'ATTESTATION_TPM_SIGNATURE_UNSUPPORTED',
      `signature hash ${algorithmIdName(hashId)} is not accepted`,
    );
  }
  if (sigAlg === tpmAlgEcdsa) {
    const r = reader.sized('signatureR', maxEccParameterSize);
    const s = reader.sized('signatureS', maxEccParameterSize);
    reader.expectEnd();
    return { scheme: 'ecdsa', hashAlgorithm, der: ecdsaSignatureDer(r, s), r, s };
  }
  const signature = reader.sized('sig', maxRsaSignatureSize);
  reader.expectEnd();
  return { scheme: sigAlg === tpmAlgRsassa ? 'rsassa' : 'rsapss', hashAlgorithm, signature };
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (SEC 1 §C.8 / RFC 3279 §2.2.3), DER. */
function ecdsaSignatureDer(r: Buffer, s: Buffer): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derInteger(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  let content = unsigned.subarray(start);
  if (content.length === 0) content = Buffer.from([0]);
  if ((content[0] ?? 0) & 0x80) content = Buffer.concat([Buffer.from([0]), content]);
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

/**
 * Verifies that `signature` is the AK's signature over the exact TPMS_ATTEST bytes (Part 3 §18.4:
 * the TPM signs the marshalled attest structure with the signing scheme's hash). Fails closed: throws
 * ATTESTATION_TPM_SIGNATURE_INVALID on a bad signature and ATTESTATION_TPM_KEY_MISMATCH when the key
 * cannot have made this kind of signature; returns only when the quote is authentic.
 */
export function verifyQuoteSignature(
  attestBytes: Uint8Array,
  signature: QuoteSignature,
  akPublicKey: KeyObject | Buffer,
): void {
  const key = toPublicKey(akPublicKey);
  const keyType = key.asymmetricKeyType;
  if (signature.scheme === 'ecdsa' ? keyType !== 'ec' : keyType !== 'rsa') {
    throw tpmError(
      'ATTESTATION_TPM_KEY_MISMATCH',
      `a ${keyType ?? 'unknown'} key cannot verify a ${signature.scheme} signature`,
    );
  }
  let valid: boolean;
  try {
    if (signature.scheme === 'ecdsa') {
      valid = verify(signature.hashAlgorithm, attestBytes, { key, dsaEncoding: 'der' }, signature.der);
    } else if (signature.scheme === 'rsapss') {
      // Part 1 Annex B: a TPM may use the largest PSS salt the modulus allows, not the digest size.
      const options = {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_AUTO,
      };
      valid = verify(signature.hashAlgorithm, attestBytes, options, signature.signature);
    } else {
      valid = verify(signature.hashAlgorithm, attestBytes, key, signature.signature);
    }
  } catch {
    // node:crypto throws on some malformed signatures (e.g. wrong RSA length): that is a failed check.
    valid = false;
  }
  if (!valid)
    throw tpmError(
      'ATTESTATION_TPM_SIGNATURE_INVALID',
      'the quote signature does not verify with the attestation key',
    );
}

function toPublicKey(akPublicKey: KeyObject | Buffer): KeyObject {
  if (!Buffer.isBuffer(akPublicKey)) {
    if (akPublicKey.type !== 'public')
      throw tpmError('ATTESTATION_TPM_KEY_INVALID', 'the attestation key must be a public key');
    return akPublicKey;
  }
  try {
    return createPublicKey({ key: akPublicKey, format: 'der', type: 'spki' });
  } catch (cause) {
    throw tpmError(
      'ATTESTATION_TPM_KEY_INVALID',
      `the attestation key is not SPKI DER: ${(cause as Error).message}`,
    );
  }
}
