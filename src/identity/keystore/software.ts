import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  randomBytes,
  sign as signWithKey,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { newId, systemClock, toRfc3339, VigilError, type Clock } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import type { KeyAlgorithm, KeyRef, Keystore, SignatureHash } from './keystore.ts';
import { assertAlgorithm, assertHash, nodeKeyTypeOf } from './algorithms.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The master key is an AES-256 key: exactly 32 bytes. */
const masterKeyLength = 32;
/** AES-GCM with a 96-bit random nonce (NIST SP 800-38D §8.2.2) and the full 128-bit tag. */
const nonceLength = 12;
const tagLength = 16;

export interface SoftwareKeystoreOptions {
  store: Store;
  /** 32 bytes of AES-256 key that wraps every private key at rest (see `loadMasterKey`). */
  masterKey: Buffer;
  clock?: Clock;
}

/**
 * Reads the software keystore's master key: the environment variable `VIGIL_MASTER_KEY` (base64)
 * wins over the file at `path` (base64, as `vigil init` writes it with `generateMasterKey()`).
 * Anything that does not decode to exactly 32 bytes is refused, so a truncated or mistyped key can
 * never wrap a key under something weaker.
 */
export function loadMasterKey(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.VIGIL_MASTER_KEY;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return decodeMasterKey(fromEnv, 'VIGIL_MASTER_KEY');
  if (path === undefined) {
    throw new VigilError(
      'KEYSTORE_MASTER_KEY_MISSING',
      'internal',
      'no master key: set VIGIL_MASTER_KEY or create the master key file with `vigil init`',
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new VigilError(
      'KEYSTORE_MASTER_KEY_MISSING',
      'internal',
      `the master key file ${path} cannot be read (create it with \`vigil init\` or set VIGIL_MASTER_KEY)`,
      { cause: (error as NodeJS.ErrnoException).code },
    );
  }
  return decodeMasterKey(text, `the master key file ${path}`);
}

function decodeMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  // Buffer.from(..., 'base64') skips characters it does not know; check the alphabet first so a
  // damaged file is refused instead of silently decoding to other bytes.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new VigilError('KEYSTORE_MASTER_KEY_INVALID', 'internal', `${source} is not base64`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== masterKeyLength) {
    key.fill(0);
    throw new VigilError(
      'KEYSTORE_MASTER_KEY_INVALID',
      'internal',
      `${source} must hold exactly ${masterKeyLength} bytes of base64, not ${key.length}`,
    );
  }
  return key;
}

interface LoadedKey {
  algorithm: KeyAlgorithm;
  privateKey: KeyObject;
}

/**
 * The embedded keystore: keys are made with node:crypto and stored in `keystore_keys`, their
 * PKCS#8 DER wrapped with AES-256-GCM under the master key (`wrapped_key` = nonce || ciphertext ||
 * tag, the key id as additional authenticated data so a wrapped key moved to another row fails to
 * open). Unwrapped keys are cached in memory as non-exportable-by-accident KeyObjects, so a
 * signature costs one `crypto.sign`.
 */
export class SoftwareKeystore implements Keystore {
  readonly backend = 'software' as const;

  private readonly store: Store;
  private readonly masterKey: KeyObject;
  private readonly clock: Clock;
  private readonly loaded = new Map<string, LoadedKey>();
  private readonly loading = new Map<string, Promise<LoadedKey>>();

  constructor(options: SoftwareKeystoreOptions) {
    if (!Buffer.isBuffer(options.masterKey) || options.masterKey.length !== masterKeyLength) {
      throw new VigilError(
        'KEYSTORE_MASTER_KEY_INVALID',
        'internal',
        `the master key must be exactly ${masterKeyLength} bytes`,
      );
    }
    this.store = options.store;
    // A secret KeyObject holds its own copy; the caller may wipe its buffer afterwards.
    this.masterKey = createSecretKey(options.masterKey);
    this.clock = options.clock ?? systemClock;
  }

  async generateKey(algorithm: KeyAlgorithm, label: string): Promise<{ ref: KeyRef; publicKey: Buffer }> {
    assertAlgorithm(algorithm);
    const pair = await generateNodeKeyPair(algorithm);
    const id = newId();
    const publicKey = pair.publicKey.export({ format: 'der', type: 'spki' });
    const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    let wrapped: Buffer;
    try {
      wrapped = this.wrap(id, pkcs8);
    } finally {
      pkcs8.fill(0);
    }
    await this.store.db
      .insertInto('keystore_keys')
      .values({
        id,
        backend: 'software',
        algorithm,
        label,
        public_key: publicKey,
        wrapped_key: wrapped,
        token_key_id: null,
        created_at: toRfc3339(this.clock.now()),
      })
      .execute();
    this.loaded.set(id, { algorithm, privateKey: pair.privateKey });
    return { ref: { id, backend: 'software', algorithm }, publicKey };
  }

  async publicKey(ref: KeyRef): Promise<Buffer> {
    this.assertRef(ref);
    const row = await this.store.db
      .selectFrom('keystore_keys')
      .select(['backend', 'algorithm', 'public_key'])
      .where('id', '=', ref.id)
      .executeTakeFirst();
    if (row === undefined || row.backend !== 'software') throw keyNotFound(ref);
    if (row.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    return Buffer.from(row.public_key);
  }

  async sign(ref: KeyRef, data: Uint8Array, hash: SignatureHash): Promise<Buffer> {
    const key = this.loaded.get(ref.id) ?? (await this.requireKey(ref));
    return this.signWith(key, ref, data, hash);
  }

  /**
   * Synchronous fast path for hot loops (OCSP responses, bulk issuance): signs with a key this
   * instance already holds in memory, i.e. one it generated or one loaded by `sign`, `loadKey` or
   * an earlier call. A key not yet loaded throws `KEYSTORE_KEY_NOT_LOADED`; call `loadKey` first.
   */
  signSync(ref: KeyRef, data: Uint8Array, hash: SignatureHash): Buffer {
    const key = this.loaded.get(ref.id);
    if (key === undefined) {
      throw new VigilError(
        'KEYSTORE_KEY_NOT_LOADED',
        'internal',
        `key ${ref.id} is not loaded yet; call loadKey() before signSync()`,
      );
    }
    return this.signWith(key, ref, data, hash);
  }

  /** Unwraps a stored key into memory (once), so `signSync` can use it. */
  async loadKey(ref: KeyRef): Promise<void> {
    this.assertRef(ref);
    if (!this.loaded.has(ref.id)) await this.loadKeyOnce(ref);
  }

  /**
   * The PEM (PKCS#8) of a key, for Node's TLS server context of the device endpoint only: the ONE
   * place a private key leaves this keystore. Pass the result straight to `tls.createSecureContext`
   * / the HTTPS server options; never log, store, return or send it anywhere else. PKCS#11 keys
   * cannot take this path (they never leave the token), which is why it is not on `Keystore`.
   */
  async tlsKeyPem(ref: KeyRef): Promise<string> {
    const key = this.loaded.get(ref.id) ?? (await this.requireKey(ref));
    if (key.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  /** Forgets every unwrapped key held in memory. */
  async close(): Promise<void> {
    this.loaded.clear();
    this.loading.clear();
  }

  private signWith(key: LoadedKey, ref: KeyRef, data: Uint8Array, hash: SignatureHash): Buffer {
    if (ref.backend !== 'software') this.assertRef(ref);
    if (key.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    assertHash(hash);
    // node:crypto signs ECDSA as DER ECDSA-Sig-Value (RFC 5480 §2.2 / RFC 3279 §2.2.3) and RSA
    // with PKCS#1 v1.5 (RFC 8017 §8.2) by default: the encodings X.509, CRLs and OCSP carry.
    return signWithKey(hash, data, key.privateKey);
  }

  private async requireKey(ref: KeyRef): Promise<LoadedKey> {
    this.assertRef(ref);
    return this.loadKeyOnce(ref);
  }

  private loadKeyOnce(ref: KeyRef): Promise<LoadedKey> {
    let pending = this.loading.get(ref.id);
    if (pending === undefined) {
      pending = this.readAndUnwrap(ref).finally(() => this.loading.delete(ref.id));
      this.loading.set(ref.id, pending);
    }
    return pending;
  }

  private async readAndUnwrap(ref: KeyRef): Promise<LoadedKey> {
    const row = await this.store.db
      .selectFrom('keystore_keys')
      .select(['id', 'backend', 'algorithm', 'public_key', 'wrapped_key'])
      .where('id', '=', ref.id)
      .executeTakeFirst();
    if (row === undefined || row.backend !== 'software') throw keyNotFound(ref);
    if (row.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    if (row.wrapped_key === null) throw unwrapFailed(ref.id);
    const privateKey = this.unwrap(row.id, Buffer.from(row.wrapped_key), ref.algorithm);
    // The public key column is not under the tag: check it still belongs to the private key, so
    // a row whose public key was replaced cannot make callers publish a key we do not hold.
    const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    if (!derived.equals(Buffer.from(row.public_key))) throw unwrapFailed(ref.id);
    const loaded = { algorithm: ref.algorithm, privateKey };
    this.loaded.set(ref.id, loaded);
    return loaded;
  }

  private wrap(id: string, plaintext: Buffer): Buffer {
    const nonce = randomBytes(nonceLength);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, nonce, { authTagLength: tagLength });
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
  }

  /** Fails closed with one code whatever went wrong: wrong master key, tampered bytes, moved row. */
  private unwrap(id: string, wrapped: Buffer, algorithm: KeyAlgorithm): KeyObject {
    if (wrapped.length <= nonceLength + tagLength) throw unwrapFailed(id);
    const nonce = wrapped.subarray(0, nonceLength);
    const ciphertext = wrapped.subarray(nonceLength, wrapped.length - tagLength);
    const tag = wrapped.subarray(wrapped.length - tagLength);
    let pkcs8: Buffer | undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, nonce, { authTagLength: tagLength });
      decipher.setAAD(Buffer.from(id, 'utf8'));
      decipher.setAuthTag(tag);
      pkcs8 = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      if (!matchesAlgorithm(key, algorithm)) throw new Error('algorithm mismatch');
      return key;
    } catch {
      // No cause: OpenSSL's messages are harmless, but nothing derived from key bytes may travel.
      throw unwrapFailed(id);
    } finally {
      pkcs8?.fill(0);
    }
  }

  private assertRef(ref: KeyRef): void {
    if (ref.backend !== 'software') {
      throw new VigilError(
        'KEYSTORE_BACKEND_MISMATCH',
        'internal',
        `key ${ref.id} belongs to the ${ref.backend} keystore, not the software keystore`,
      );
    }
    assertAlgorithm(ref.algorithm);
  }
}

async function generateNodeKeyPair(
  algorithm: KeyAlgorithm,
): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return generateKeyPairAsync('ec', { namedCurve: 'P-384' });
    case 'rsa-3072':
      return generateKeyPairAsync('rsa', { modulusLength: 3072, publicExponent: 0x10001 });
  }
}

function matchesAlgorithm(key: KeyObject, algorithm: KeyAlgorithm): boolean {
  const expected = nodeKeyTypeOf(algorithm);
  if (key.asymmetricKeyType !== expected.type) return false;
  const details = key.asymmetricKeyDetails;
  if (expected.type === 'ec') return details?.namedCurve === expected.namedCurve;
  return details?.modulusLength === expected.modulusLength;
}

function keyNotFound(ref: KeyRef): VigilError {
  return new VigilError('KEYSTORE_KEY_NOT_FOUND', 'not_found', `the software keystore has no key ${ref.id}`);
}

function algorithmMismatch(ref: KeyRef): VigilError {
  return new VigilError(
    'KEYSTORE_KEY_ALGORITHM_MISMATCH',
    'internal',
    `key ${ref.id} is not a ${ref.algorithm} key`,
  );
}

function unwrapFailed(id: string): VigilError {
  return new VigilError(
    'KEYSTORE_KEY_UNWRAP_FAILED',
    'internal',
    `key ${id} cannot be unwrapped: wrong master key, or its stored row was altered`,
  );
}
