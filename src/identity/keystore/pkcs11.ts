import { createHash, createPublicKey, randomBytes, timingSafeEqual, type JsonWebKey } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Handle, PKCS11, Template } from 'pkcs11js';
import { newId, systemClock, toRfc3339, VigilError, type Clock } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import { assertAlgorithm, assertHash, nodeKeyTypeOf } from './algorithms.ts';
import { ecdsaRawToDer } from './ecdsa-signature.ts';
import type { KeyAlgorithm, KeyRef, Keystore, SignatureHash } from './keystore.ts';

export const defaultPkcs11Module = '/usr/lib/softhsm/libsofthsm2.so';

export interface Pkcs11KeystoreOptions {
  store: Store;
  /** The PKCS#11 library; SoftHSM2's Debian path by default. */
  modulePath?: string;
  /** CKA_LABEL of the token (CK_TOKEN_INFO.label, trailing blanks ignored). */
  tokenLabel: string;
  /** The user PIN; never logged, never in an error. */
  pin: string;
  clock?: Clock;
}

type Pkcs11Binding = typeof import('pkcs11js');

const require = createRequire(import.meta.url);
let binding: Pkcs11Binding | undefined;

/**
 * pkcs11js is a native addon: loaded on first use, so a software-only installation whose addon
 * did not build still imports this module.
 */
function loadBinding(): Pkcs11Binding {
  if (binding !== undefined) return binding;
  try {
    binding = require('pkcs11js') as Pkcs11Binding;
    return binding;
  } catch (error) {
    throw new VigilError(
      'KEYSTORE_PKCS11_UNAVAILABLE',
      'unavailable',
      'the pkcs11js native addon cannot be loaded; run npm ci (with install scripts allowed) on this Node',
      { cause: error },
    );
  }
}

/**
 * One loaded PKCS#11 library per path and process: C_Initialize may run once per process
 * (PKCS#11 v2.40 §5.4, CKR_CRYPTOKI_ALREADY_INITIALIZED), so keystores on the same library share
 * it and the last one to close finalizes it.
 */
interface SharedLibrary {
  module: PKCS11;
  users: number;
  /** SHA-256 of the PIN each token was logged in with, by token label (see `openSession`). */
  loginPins: Map<string, Buffer>;
}

const libraries = new Map<string, SharedLibrary>();

function acquireLibrary(pkcs11: Pkcs11Binding, modulePath: string): SharedLibrary {
  const shared = libraries.get(modulePath);
  if (shared !== undefined) {
    shared.users++;
    return shared;
  }
  const module = new pkcs11.PKCS11();
  try {
    module.load(modulePath);
  } catch (error) {
    throw new VigilError(
      'KEYSTORE_PKCS11_MODULE_LOAD_FAILED',
      'unavailable',
      `the PKCS#11 library ${modulePath} cannot be loaded`,
      { cause: error },
    );
  }
  try {
    // OS locking: pkcs11js may call into the library from libuv worker threads.
    module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  } catch (error) {
    if (returnValueName(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      throw pkcs11Failure(
        'KEYSTORE_PKCS11_MODULE_LOAD_FAILED',
        `C_Initialize of ${modulePath} failed`,
        error,
      );
    }
  }
  const library = { module, users: 1, loginPins: new Map<string, Buffer>() };
  libraries.set(modulePath, library);
  return library;
}

function releaseLibrary(modulePath: string): void {
  const shared = libraries.get(modulePath);
  if (shared === undefined) return;
  shared.users--;
  if (shared.users > 0) return;
  libraries.delete(modulePath);
  try {
    shared.module.C_Finalize();
  } catch {
    // Finalizing is best effort: the process is letting go of the library either way.
  }
}

/** DER OBJECT IDENTIFIERs of the named curves, as CKA_EC_PARAMS carries them (PKCS#11 v2.40 §2.3.3). */
const curveParameters = {
  'ecdsa-p256': Buffer.from('06082a8648ce3d030107', 'hex'), // prime256v1, RFC 5480 §2.1.1.1
  'ecdsa-p384': Buffer.from('06052b81040022', 'hex'), // secp384r1
} as const;

const jwkCurves = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384' } as const;

interface TokenKey {
  algorithm: KeyAlgorithm;
  privateKey: Handle;
}

/**
 * Keys on a PKCS#11 token (an HSM; SoftHSM2 in tests). Keys are generated on the token as
 * sensitive, non-extractable token objects, found again by their CKA_ID (random 16 bytes, kept in
 * `keystore_keys.token_key_id` with the public key); only signatures come out. One read-write
 * session, logged in as the user, serves every call; calls are synchronous on the event loop, so
 * they never overlap on that session (PKCS#11 v2.40 §5.6 forbids concurrent use of a session).
 */
export class Pkcs11Keystore implements Keystore {
  readonly backend = 'pkcs11' as const;
  readonly modulePath: string;
  readonly tokenLabel: string;

  private readonly store: Store;
  private readonly clock: Clock;
  private readonly pkcs11: Pkcs11Binding;
  private readonly library: SharedLibrary;
  private readonly module: PKCS11;
  private session: Handle | undefined;
  private readonly keys = new Map<string, TokenKey>();

  constructor(options: Pkcs11KeystoreOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.modulePath = options.modulePath ?? defaultPkcs11Module;
    this.tokenLabel = options.tokenLabel;
    this.pkcs11 = loadBinding();
    this.library = acquireLibrary(this.pkcs11, this.modulePath);
    this.module = this.library.module;
    try {
      this.session = this.openSession(options.pin);
    } catch (error) {
      releaseLibrary(this.modulePath);
      throw error;
    }
  }

  async generateKey(algorithm: KeyAlgorithm, label: string): Promise<{ ref: KeyRef; publicKey: Buffer }> {
    assertAlgorithm(algorithm);
    const session = this.requireSession();
    const p = this.pkcs11;
    const tokenKeyId = randomBytes(16);
    const common: Template = [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_ID, value: tokenKeyId },
      { type: p.CKA_LABEL, value: label },
    ];
    const publicTemplate: Template = [
      ...common,
      { type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY },
      { type: p.CKA_PRIVATE, value: false },
      { type: p.CKA_VERIFY, value: true },
    ];
    const privateTemplate: Template = [
      ...common,
      { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      { type: p.CKA_SIGN, value: true },
    ];
    let mechanism: number;
    if (algorithm === 'rsa-3072') {
      mechanism = p.CKM_RSA_PKCS_KEY_PAIR_GEN;
      publicTemplate.push(
        { type: p.CKA_KEY_TYPE, value: p.CKK_RSA },
        { type: p.CKA_MODULUS_BITS, value: 3072 },
        { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([0x01, 0x00, 0x01]) },
      );
      privateTemplate.push({ type: p.CKA_KEY_TYPE, value: p.CKK_RSA });
    } else {
      mechanism = p.CKM_EC_KEY_PAIR_GEN;
      publicTemplate.push(
        { type: p.CKA_KEY_TYPE, value: p.CKK_EC },
        { type: p.CKA_EC_PARAMS, value: curveParameters[algorithm] },
      );
      privateTemplate.push({ type: p.CKA_KEY_TYPE, value: p.CKK_EC });
    }

    let pair: { publicKey: Handle; privateKey: Handle };
    try {
      pair = this.module.C_GenerateKeyPair(session, { mechanism }, publicTemplate, privateTemplate);
    } catch (error) {
      throw pkcs11Failure(
        'KEYSTORE_PKCS11_KEYGEN_FAILED',
        `${algorithm} key generation on the token failed`,
        error,
      );
    }

    const id = newId();
    let publicKey: Buffer;
    try {
      this.assertKeyProtected(session, pair.privateKey);
      publicKey = this.publicKeyInfo(session, pair.publicKey, algorithm);
      await this.store.db
        .insertInto('keystore_keys')
        .values({
          id,
          backend: 'pkcs11',
          algorithm,
          label,
          public_key: publicKey,
          wrapped_key: null,
          token_key_id: tokenKeyId,
          created_at: toRfc3339(this.clock.now()),
        })
        .execute();
    } catch (error) {
      // A key pair nobody can find again is only clutter on the token: take it back off.
      for (const handle of [pair.privateKey, pair.publicKey]) {
        try {
          this.module.C_DestroyObject(session, handle);
        } catch {
          // Best effort; the original error is the one worth reporting.
        }
      }
      throw error;
    }
    this.keys.set(id, { algorithm, privateKey: pair.privateKey });
    return { ref: { id, backend: 'pkcs11', algorithm }, publicKey };
  }

  async publicKey(ref: KeyRef): Promise<Buffer> {
    this.assertRef(ref);
    const row = await this.readRow(ref);
    return Buffer.from(row.public_key);
  }

  async sign(ref: KeyRef, data: Uint8Array, hash: SignatureHash): Promise<Buffer> {
    const key = this.keys.get(ref.id) ?? (await this.findKey(ref));
    if (ref.backend !== 'pkcs11') this.assertRef(ref);
    if (key.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    assertHash(hash);
    const session = this.requireSession();
    const p = this.pkcs11;
    const keyType = nodeKeyTypeOf(key.algorithm);
    try {
      if (keyType.type === 'ec') {
        // CKM_ECDSA signs a digest computed outside the token (PKCS#11 v2.40 §2.3.6); the token
        // answers r || s, which X.509 wants as DER.
        const digest = createHash(hash).update(data).digest();
        this.module.C_SignInit(session, { mechanism: p.CKM_ECDSA }, key.privateKey);
        const raw = this.module.C_Sign(session, digest, Buffer.alloc(2 * keyType.coordinateLength));
        return ecdsaRawToDer(raw, keyType.coordinateLength);
      }
      const mechanism = hash === 'sha256' ? p.CKM_SHA256_RSA_PKCS : p.CKM_SHA384_RSA_PKCS;
      this.module.C_SignInit(session, { mechanism }, key.privateKey);
      return this.module.C_Sign(session, Buffer.from(data), Buffer.alloc(keyType.modulusLength / 8));
    } catch (error) {
      if (error instanceof VigilError) throw error;
      throw pkcs11Failure('KEYSTORE_PKCS11_SIGN_FAILED', `signing with key ${ref.id} failed`, error);
    }
  }

  /** Closes the session (which logs it out once it is the library's last) and lets go of the library. */
  async close(): Promise<void> {
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    this.keys.clear();
    try {
      this.module.C_CloseSession(session);
    } catch {
      // The session may already be gone with the token; nothing is left to release.
    }
    releaseLibrary(this.modulePath);
  }

  private openSession(pin: string): Handle {
    const p = this.pkcs11;
    let slots: Handle[];
    try {
      slots = this.module.C_GetSlotList(true);
    } catch (error) {
      throw pkcs11Failure('KEYSTORE_PKCS11_TOKEN_NOT_FOUND', 'the token slots cannot be listed', error);
    }
    const matching = slots.filter((slot) => {
      try {
        return this.module.C_GetTokenInfo(slot).label.trimEnd() === this.tokenLabel;
      } catch {
        return false;
      }
    });
    const slot = matching[0];
    if (slot === undefined || matching.length > 1) {
      throw new VigilError(
        'KEYSTORE_PKCS11_TOKEN_NOT_FOUND',
        'unavailable',
        matching.length > 1
          ? `${matching.length} tokens carry the label ${JSON.stringify(this.tokenLabel)}; labels must be unique`
          : `no token labelled ${JSON.stringify(this.tokenLabel)} in ${this.modulePath}`,
      );
    }
    let session: Handle;
    try {
      session = this.module.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    } catch (error) {
      throw pkcs11Failure('KEYSTORE_PKCS11_SESSION_FAILED', 'a session on the token cannot be opened', error);
    }
    const pinDigest = createHash('sha256').update(pin, 'utf8').digest();
    const refuse = (error?: unknown): never => {
      try {
        this.module.C_CloseSession(session);
      } catch {
        // Already failing; the login error is the one to report.
      }
      const what = `login to token ${JSON.stringify(this.tokenLabel)} failed`;
      if (error === undefined)
        throw new VigilError('KEYSTORE_PKCS11_LOGIN_FAILED', 'unavailable', `${what}: wrong PIN`);
      throw pkcs11Failure('KEYSTORE_PKCS11_LOGIN_FAILED', what, error);
    };
    try {
      this.module.C_Login(session, p.CKU_USER, pin);
    } catch (error) {
      if (returnValueName(error) !== 'CKR_USER_ALREADY_LOGGED_IN') refuse(error);
      // Login state belongs to the application, not the session (PKCS#11 v2.40 §5.6): a second
      // keystore on the token finds the user logged in and the token never checks its PIN. Hold it
      // to the PIN this process logged in with, so a wrong PIN fails here as it would alone.
      const loggedInWith = this.library.loginPins.get(this.tokenLabel);
      if (loggedInWith === undefined || !timingSafeEqual(loggedInWith, pinDigest)) refuse();
      return session;
    }
    this.library.loginPins.set(this.tokenLabel, pinDigest);
    return session;
  }

  private requireSession(): Handle {
    if (this.session === undefined) {
      throw new VigilError('KEYSTORE_PKCS11_CLOSED', 'internal', 'the PKCS#11 keystore is closed');
    }
    return this.session;
  }

  private async readRow(ref: KeyRef) {
    const row = await this.store.db
      .selectFrom('keystore_keys')
      .select(['backend', 'algorithm', 'public_key', 'token_key_id'])
      .where('id', '=', ref.id)
      .executeTakeFirst();
    if (row === undefined || row.backend !== 'pkcs11') {
      throw new VigilError(
        'KEYSTORE_KEY_NOT_FOUND',
        'not_found',
        `the PKCS#11 keystore has no key ${ref.id}`,
      );
    }
    if (row.algorithm !== ref.algorithm) throw algorithmMismatch(ref);
    return row;
  }

  /** Finds a stored key's private object on the token, once per keystore instance. */
  private async findKey(ref: KeyRef): Promise<TokenKey> {
    this.assertRef(ref);
    const row = await this.readRow(ref);
    const session = this.requireSession();
    if (row.token_key_id === null) throw keyMissingOnToken(ref);
    const tokenKeyId = Buffer.from(row.token_key_id);
    const privateKey = this.findObject(session, this.pkcs11.CKO_PRIVATE_KEY, tokenKeyId, ref);
    const publicObject = this.findObject(session, this.pkcs11.CKO_PUBLIC_KEY, tokenKeyId, ref);
    // The row's CKA_ID is not protected by the token: check that the key found is the one whose
    // public key we hand out, so a row pointed at another token key cannot sign in its name.
    if (!this.publicKeyInfo(session, publicObject, ref.algorithm).equals(Buffer.from(row.public_key))) {
      throw new VigilError(
        'KEYSTORE_PKCS11_KEY_MISMATCH',
        'internal',
        `the token key of ${ref.id} does not match its stored public key`,
      );
    }
    this.assertKeyProtected(session, privateKey);
    const key = { algorithm: ref.algorithm, privateKey };
    this.keys.set(ref.id, key);
    return key;
  }

  private findObject(session: Handle, objectClass: number, tokenKeyId: Buffer, ref: KeyRef): Handle {
    const p = this.pkcs11;
    let found: Handle[];
    try {
      this.module.C_FindObjectsInit(session, [
        { type: p.CKA_CLASS, value: objectClass },
        { type: p.CKA_ID, value: tokenKeyId },
      ]);
      try {
        found = this.module.C_FindObjects(session, 2);
      } finally {
        this.module.C_FindObjectsFinal(session);
      }
    } catch (error) {
      throw pkcs11Failure(
        'KEYSTORE_PKCS11_KEY_NOT_FOUND',
        `searching the token for key ${ref.id} failed`,
        error,
      );
    }
    const handle = found[0];
    if (handle === undefined) throw keyMissingOnToken(ref);
    if (found.length > 1) {
      throw new VigilError(
        'KEYSTORE_PKCS11_KEY_MISMATCH',
        'internal',
        `the token holds more than one object with the CKA_ID of key ${ref.id}`,
      );
    }
    return handle;
  }

  /** Fails closed on a token that ignored our template: a private key must stay on the token. */
  private assertKeyProtected(session: Handle, privateKey: Handle): void {
    const p = this.pkcs11;
    const attributes = this.module.C_GetAttributeValue(session, privateKey, [
      { type: p.CKA_SENSITIVE },
      { type: p.CKA_EXTRACTABLE },
    ]);
    const flag = (type: number) => attributes.find((attribute) => attribute.type === type)?.value?.[0] === 1;
    if (!flag(p.CKA_SENSITIVE) || flag(p.CKA_EXTRACTABLE)) {
      throw new VigilError(
        'KEYSTORE_PKCS11_KEY_EXTRACTABLE',
        'internal',
        'the token key is not sensitive and non-extractable; refusing to use it',
      );
    }
  }

  /** The SubjectPublicKeyInfo DER of a public key object on the token. */
  private publicKeyInfo(session: Handle, publicKey: Handle, algorithm: KeyAlgorithm): Buffer {
    const p = this.pkcs11;
    let jwk: JsonWebKey;
    try {
      if (algorithm === 'rsa-3072') {
        const [modulus, exponent] = this.module.C_GetAttributeValue(session, publicKey, [
          { type: p.CKA_MODULUS },
          { type: p.CKA_PUBLIC_EXPONENT },
        ]);
        jwk = { kty: 'RSA', n: base64url(modulus?.value), e: base64url(exponent?.value) };
      } else {
        const [point] = this.module.C_GetAttributeValue(session, publicKey, [{ type: p.CKA_EC_POINT }]);
        const coordinates = uncompressedPoint(point?.value, nodeKeyTypeOf(algorithm));
        jwk = {
          kty: 'EC',
          crv: jwkCurves[algorithm],
          x: base64url(coordinates.x),
          y: base64url(coordinates.y),
        };
      }
      return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' });
    } catch (error) {
      if (error instanceof VigilError) throw error;
      throw pkcs11Failure(
        'KEYSTORE_PKCS11_PUBLIC_KEY_INVALID',
        'the public key on the token cannot be read',
        error,
      );
    }
  }

  private assertRef(ref: KeyRef): void {
    if (ref.backend !== 'pkcs11') {
      throw new VigilError(
        'KEYSTORE_BACKEND_MISMATCH',
        'internal',
        `key ${ref.id} belongs to the ${ref.backend} keystore, not the PKCS#11 keystore`,
      );
    }
    assertAlgorithm(ref.algorithm);
  }
}

/**
 * CKA_EC_POINT is the DER OCTET STRING of the X9.62 uncompressed point (PKCS#11 v2.40 §2.3.3);
 * some tokens return the bare point, so both are accepted.
 */
function uncompressedPoint(value: Buffer | undefined, keyType: ReturnType<typeof nodeKeyTypeOf>) {
  if (value === undefined || keyType.type !== 'ec') throw publicKeyInvalid();
  const pointLength = 1 + 2 * keyType.coordinateLength;
  let point = value;
  if (value.length === pointLength + 2 && value[0] === 0x04 && value[1] === pointLength)
    point = value.subarray(2);
  if (point.length !== pointLength || point[0] !== 0x04) throw publicKeyInvalid();
  return {
    x: point.subarray(1, 1 + keyType.coordinateLength),
    y: point.subarray(1 + keyType.coordinateLength),
  };
}

function base64url(value: Buffer | undefined): string {
  if (value === undefined || value.length === 0) throw publicKeyInvalid();
  return value.toString('base64url');
}

function publicKeyInvalid(): VigilError {
  return new VigilError(
    'KEYSTORE_PKCS11_PUBLIC_KEY_INVALID',
    'internal',
    'the public key on the token is malformed',
  );
}

function keyMissingOnToken(ref: KeyRef): VigilError {
  return new VigilError(
    'KEYSTORE_PKCS11_KEY_NOT_FOUND',
    'internal',
    `the token has no private key for ${ref.id}`,
  );
}

function algorithmMismatch(ref: KeyRef): VigilError {
  return new VigilError(
    'KEYSTORE_KEY_ALGORITHM_MISMATCH',
    'internal',
    `key ${ref.id} is not a ${ref.algorithm} key`,
  );
}

/** The CKR_* name of a pkcs11js error (its message is `CKR_NAME`), or undefined. */
function returnValueName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  return /\b(CKR_[A-Z_]+)/.exec(error.message)?.[1];
}

function pkcs11Failure(code: string, what: string, error: unknown): VigilError {
  const name = returnValueName(error);
  return new VigilError(code, 'unavailable', name === undefined ? what : `${what}: ${name}`, {
    cause: error,
  });
}
