// Software stand-ins for the TPM side of credential activation (TPM 2.0 Part 3 §12.5): EK public
// areas for node key pairs the test holds, and TPM2_ActivateCredential computed from those private
// keys. Shared by the makeCredential tests and the key-binding tests; swtpm proves the same path.
import assert from 'node:assert/strict';
import {
  constants,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  privateDecrypt,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import {
  parsePublicArea,
  type MadeCredential,
  type TpmPublicArea,
} from '../../../src/attestation/tpm/index.ts';
import { kdfa, kdfe } from '../../../src/attestation/tpm/credential.ts';

/** TPMA_OBJECT of the TCG EK templates (fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|decrypt). */
export const ekAttributes = 0x000300b2;

export function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

export function sized(bytes: Buffer): Buffer {
  return Buffer.concat([uint16(bytes.length), bytes]);
}

/** TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7): algorithm, keyBits, mode. */
export function symmetric(keyBits: number, mode = 0x0043): Buffer {
  return Buffer.concat([uint16(0x0006), uint16(keyBits), uint16(mode)]);
}

/** A TPM2B_PUBLIC for a node key pair, marshalled by hand, so that the test holds the private key. */
export function publicAreaOf(
  privateKey: KeyObject,
  options: { attributes?: number; nameAlg?: number; symmetric?: Buffer } = {},
): TpmPublicArea {
  const jwk = privateKey.export({ format: 'jwk' });
  const head = Buffer.concat([
    uint16(jwk.kty === 'RSA' ? 0x0001 : 0x0023),
    uint16(options.nameAlg ?? 0x000b), // TPM_ALG_SHA256
    Buffer.from((options.attributes ?? ekAttributes).toString(16).padStart(8, '0'), 'hex'),
    uint16(0),
    options.symmetric ?? symmetric(128),
    uint16(0x0010),
  ]);
  const body =
    jwk.kty === 'RSA'
      ? Buffer.concat([
          uint16(Buffer.from(jwk.n!, 'base64url').length * 8),
          Buffer.alloc(4),
          sized(Buffer.from(jwk.n!, 'base64url')),
        ])
      : Buffer.concat([
          uint16({ 'P-256': 0x0003, 'P-384': 0x0004 }[jwk.crv!]!),
          uint16(0x0010),
          sized(Buffer.from(jwk.x!, 'base64url')),
          sized(Buffer.from(jwk.y!, 'base64url')),
        ]);
  return parsePublicArea(sized(Buffer.concat([head, body])));
}

/**
 * TPM2_ActivateCredential (Part 3 §12.5) written independently of makeCredential's composition, for
 * EKs whose private key the test holds: recover the seed, check the outer HMAC over encIdentity ||
 * objectName, then decrypt. Throws a plain Error on an integrity failure, as a TPM answers
 * TPM_RC_INTEGRITY.
 */
export function activateInSoftware(
  ek: TpmPublicArea,
  ekPrivateKey: KeyObject,
  objectName: Buffer,
  made: MadeCredential,
): Buffer {
  const hash = ek.nameAlg;
  const digestBits = createHash(hash).digest().length * 8;
  const secret = made.encryptedSecret.subarray(2);
  assert.equal(made.encryptedSecret.readUInt16BE(0), secret.length);
  let seed: Buffer;
  if (ek.type === 'rsa') {
    const options = {
      key: ekPrivateKey,
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: hash,
      oaepLabel: Buffer.from('IDENTITY\0'),
    };
    seed = privateDecrypt(options, secret);
  } else {
    const xSize = secret.readUInt16BE(0);
    const x = secret.subarray(2, 2 + xSize);
    const y = secret.subarray(4 + xSize);
    assert.equal(secret.readUInt16BE(2 + xSize), y.length);
    const ecdh = createECDH(ek.parameters.curve === 'P-256' ? 'prime256v1' : 'secp384r1');
    ecdh.setPrivateKey(Buffer.from(ekPrivateKey.export({ format: 'jwk' }).d!, 'base64url'));
    const z = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), x, y]));
    seed = kdfe(hash, z, 'IDENTITY', x, ek.unique.x, digestBits);
  }
  const idObject = made.credentialBlob.subarray(2);
  assert.equal(made.credentialBlob.readUInt16BE(0), idObject.length);
  const hmacSize = idObject.readUInt16BE(0);
  const integrity = idObject.subarray(2, 2 + hmacSize);
  const encIdentity = idObject.subarray(2 + hmacSize);
  const hmacKey = kdfa(hash, seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), digestBits);
  const expected = createHmac(hash, hmacKey).update(encIdentity).update(objectName).digest();
  if (expected.length !== integrity.length || !timingSafeEqual(expected, integrity)) {
    throw new Error('integrity check failed');
  }
  const keyBits = ek.parameters.symmetric!.keyBits;
  const symmetricKey = kdfa(hash, seed, 'STORAGE', objectName, Buffer.alloc(0), keyBits);
  const decipher = createDecipheriv(`aes-${keyBits}-cfb`, symmetricKey, Buffer.alloc(16));
  const plain = Buffer.concat([decipher.update(encIdentity), decipher.final()]);
  assert.equal(plain.readUInt16BE(0), plain.length - 2);
  return plain.subarray(2);
}
