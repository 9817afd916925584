import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { VigilError } from './errors.ts';

/** An Ed25519 signing key held in memory; only the public half is ever printed or returned. */
export interface Ed25519Signer {
  readonly publicKey: Buffer; // 32 raw bytes
  sign(message: Uint8Array): Buffer;
}

export function generateEd25519PrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function ed25519SignerFromPem(pem: string): Ed25519Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new VigilError(
      'CORE_KEY_INVALID',
      'internal',
      'the signing key file cannot be read as a private key',
      {
        cause: error,
      },
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new VigilError('CORE_KEY_INVALID', 'internal', 'the signing key is not an Ed25519 key');
  }
  const publicKey = rawEd25519PublicKey(createPublicKey(key));
  return { publicKey, sign: (message) => sign(null, message, key) };
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032), taken from its SPKI encoding. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const spki = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(spki.length - 32));
}

const ed25519SpkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({
    key: Buffer.concat([ed25519SpkiPrefix, publicKey]),
    format: 'der',
    type: 'spki',
  });
  return verify(null, message, key, signature);
}

/** A 256-bit master key for the software keystore (AES-256-GCM), base64 in its file. */
export function generateMasterKey(): string {
  return randomBytes(32).toString('base64') + '\n';
}
