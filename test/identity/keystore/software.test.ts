import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { generateMasterKey, isVigilError, ManualClock } from '../../../src/core/index.ts';
import type { Store } from '../../../src/store/index.ts';
import {
  loadMasterKey,
  SoftwareKeystore,
  type KeyAlgorithm,
  type KeyRef,
  type SignatureHash,
} from '../../../src/identity/keystore/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/stores.ts';
import { requirePeer } from '../../support/peers.ts';
import {
  assertKeystoreRefusals,
  assertSignatureVerifies,
  opensslAvailable,
  rejectsWithCode,
} from './peers.ts';

let database: TestDatabase;
let store: Store;
const masterKey = randomBytes(32);

before(async () => {
  database = await createTestDatabase('sqlite');
  store = database.open();
  await store.migrate();
});

after(async () => {
  await store.close();
  await database.drop();
});

function keystore(key: Buffer = masterKey): SoftwareKeystore {
  return new SoftwareKeystore({ store, masterKey: key, clock: new ManualClock('2026-03-01T12:00:00Z') });
}

function throwsWithCode(work: () => unknown, code: string): Error {
  try {
    work();
  } catch (error) {
    assert.ok(isVigilError(error, code), `expected ${code}, got ${String(error)}`);
    return error as Error;
  }
  return assert.fail(`expected ${code}`);
}

const cases: { algorithm: KeyAlgorithm; hash: SignatureHash }[] = [
  { algorithm: 'ecdsa-p256', hash: 'sha256' },
  { algorithm: 'ecdsa-p384', hash: 'sha384' },
  { algorithm: 'rsa-3072', hash: 'sha256' },
];

describe('SoftwareKeystore', () => {
  for (const { algorithm, hash } of cases) {
    test(`generates a ${algorithm} key whose ${hash} signatures node:crypto and openssl verify`, async (t) => {
      requirePeer(t, 'openssl', opensslAvailable, 'apt-get install openssl');
      const keys = keystore();
      const { ref, publicKey } = await keys.generateKey(algorithm, `test ${algorithm}`);
      assert.deepEqual(ref, { id: ref.id, backend: 'software', algorithm });
      assert.deepEqual(await keys.publicKey(ref), publicKey);
      const details = createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
      assert.equal(details.asymmetricKeyType, algorithm === 'rsa-3072' ? 'rsa' : 'ec');
      const data = Buffer.from(`to be signed by ${algorithm}`);
      const signature = await keys.sign(ref, data, hash);
      if (algorithm !== 'rsa-3072') assert.equal(signature[0], 0x30, 'ECDSA signatures are DER SEQUENCEs');
      else assert.equal(signature.length, 384);
      assertSignatureVerifies(publicKey, data, signature, hash);
    });
  }

  test('signs with SHA-384 under a P-256 key and SHA-256 under a P-384 key too', async () => {
    const keys = keystore();
    for (const [algorithm, hash] of [
      ['ecdsa-p256', 'sha384'],
      ['ecdsa-p384', 'sha256'],
      ['rsa-3072', 'sha384'],
    ] as const) {
      const { ref, publicKey } = await keys.generateKey(algorithm, 'cross');
      const data = randomBytes(100);
      assertSignatureVerifies(publicKey, data, await keys.sign(ref, data, hash), hash);
    }
  });

  test('records the key row with the clock, label and no token id', async () => {
    const { ref, publicKey } = await keystore().generateKey('ecdsa-p256', 'issuing: Acme');
    const row = await store.db
      .selectFrom('keystore_keys')
      .selectAll()
      .where('id', '=', ref.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.backend, 'software');
    assert.equal(row.algorithm, 'ecdsa-p256');
    assert.equal(row.label, 'issuing: Acme');
    assert.equal(row.created_at, '2026-03-01T12:00:00Z');
    assert.equal(row.token_key_id, null);
    assert.deepEqual(Buffer.from(row.public_key), publicKey);
    assert.ok(row.wrapped_key !== null && row.wrapped_key.length > 12 + 16);
  });

  test('keys persist across keystore instances under the same master key', async () => {
    const refs: { ref: KeyRef; publicKey: Buffer; hash: SignatureHash }[] = [];
    const first = keystore();
    for (const { algorithm, hash } of cases)
      refs.push({ ...(await first.generateKey(algorithm, 'persist')), hash });
    await first.close();
    const second = keystore(Buffer.from(masterKey));
    for (const { ref, publicKey, hash } of refs) {
      const data = Buffer.from(`after restart ${ref.id}`);
      assertSignatureVerifies(publicKey, data, await second.sign(ref, data, hash), hash);
    }
  });

  test('a wrong master key fails closed with KEYSTORE_KEY_UNWRAP_FAILED and leaks nothing', async () => {
    const { ref } = await keystore().generateKey('ecdsa-p256', 'wrong master');
    const other = keystore(randomBytes(32));
    const error = await rejectsWithCode(
      other.sign(ref, Buffer.from('x'), 'sha256'),
      'KEYSTORE_KEY_UNWRAP_FAILED',
    );
    assert.equal((error as { kind?: string }).kind, 'internal');
    assert.equal(error.cause, undefined, 'no cause carries OpenSSL state out');
    await rejectsWithCode(other.tlsKeyPem(ref), 'KEYSTORE_KEY_UNWRAP_FAILED');
    // The public half stays readable: it was never secret.
    assert.ok((await other.publicKey(ref)).length > 0);
  });

  test('a tampered wrapped key (ciphertext, tag, nonce or length) fails with KEYSTORE_KEY_UNWRAP_FAILED', async () => {
    const mutations: [string, (wrapped: Buffer) => Buffer][] = [
      ['nonce', (w) => flip(w, 0)],
      ['ciphertext', (w) => flip(w, 40)],
      ['tag', (w) => flip(w, w.length - 1)],
      ['truncated', (w) => w.subarray(0, w.length - 1)],
      ['short', (w) => w.subarray(0, 20)],
      ['empty', () => Buffer.alloc(0)],
    ];
    for (const [name, mutate] of mutations) {
      const { ref } = await keystore().generateKey('ecdsa-p256', `tamper ${name}`);
      const row = await store.db
        .selectFrom('keystore_keys')
        .select('wrapped_key')
        .where('id', '=', ref.id)
        .executeTakeFirstOrThrow();
      await store.db
        .updateTable('keystore_keys')
        .set({ wrapped_key: mutate(Buffer.from(row.wrapped_key as Buffer)) })
        .where('id', '=', ref.id)
        .execute();
      await rejectsWithCode(keystore().sign(ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_UNWRAP_FAILED');
    }
  });

  test('a wrapped key moved to another row does not open there (the key id is the AAD)', async () => {
    const a = await keystore().generateKey('ecdsa-p256', 'swap a');
    const b = await keystore().generateKey('ecdsa-p256', 'swap b');
    const rows = await store.db
      .selectFrom('keystore_keys')
      .select(['id', 'wrapped_key', 'public_key'])
      .where('id', 'in', [a.ref.id, b.ref.id])
      .execute();
    const wrappedOf = (id: string) => Buffer.from(rows.find((row) => row.id === id)?.wrapped_key as Buffer);
    const publicOf = (id: string) => Buffer.from(rows.find((row) => row.id === id)?.public_key as Buffer);
    // Move both the wrapped key and its public key: only the AAD can catch this.
    await store.db
      .updateTable('keystore_keys')
      .set({ wrapped_key: wrappedOf(b.ref.id), public_key: publicOf(b.ref.id) })
      .where('id', '=', a.ref.id)
      .execute();
    await store.db
      .updateTable('keystore_keys')
      .set({ wrapped_key: wrappedOf(a.ref.id), public_key: publicOf(a.ref.id) })
      .where('id', '=', b.ref.id)
      .execute();
    await rejectsWithCode(keystore().sign(a.ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_UNWRAP_FAILED');
    await rejectsWithCode(keystore().sign(b.ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_UNWRAP_FAILED');
  });

  test('a row whose public key was replaced fails closed', async () => {
    const a = await keystore().generateKey('ecdsa-p256', 'public a');
    const b = await keystore().generateKey('ecdsa-p256', 'public b');
    await store.db
      .updateTable('keystore_keys')
      .set({ public_key: b.publicKey })
      .where('id', '=', a.ref.id)
      .execute();
    await rejectsWithCode(keystore().sign(a.ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_UNWRAP_FAILED');
  });

  test('a row relabelled with another algorithm is refused', async () => {
    const { ref } = await keystore().generateKey('ecdsa-p256', 'relabel');
    await store.db
      .updateTable('keystore_keys')
      .set({ algorithm: 'ecdsa-p384' })
      .where('id', '=', ref.id)
      .execute();
    await rejectsWithCode(
      keystore().sign({ ...ref, algorithm: 'ecdsa-p384' }, Buffer.from('x'), 'sha384'),
      'KEYSTORE_KEY_UNWRAP_FAILED',
    );
    await rejectsWithCode(
      keystore().sign(ref, Buffer.from('x'), 'sha256'),
      'KEYSTORE_KEY_ALGORITHM_MISMATCH',
    );
  });

  test('keeps no private key material in clear in the database or in error messages', async () => {
    const keys = keystore();
    const secrets: Buffer[] = [masterKey];
    const generated: KeyRef[] = [];
    for (const { algorithm } of cases) {
      const { ref } = await keys.generateKey(algorithm, 'clear check');
      generated.push(ref);
      const privateKey = createPrivateKey(await keys.tlsKeyPem(ref));
      secrets.push(privateKey.export({ format: 'der', type: 'pkcs8' }));
      const jwk = privateKey.export({ format: 'jwk' });
      for (const part of [jwk.d, jwk.p, jwk.q])
        if (part !== undefined) secrets.push(Buffer.from(part, 'base64url'));
    }
    const files = [database.sqlitePath as string, `${database.sqlitePath}-wal`].filter((file) =>
      existsSync(file),
    );
    const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
    for (const secret of secrets) {
      assert.equal(bytes.indexOf(secret), -1, 'a secret appears in clear in the database files');
      assert.equal(bytes.indexOf(Buffer.from(secret.toString('base64'))), -1);
      assert.equal(bytes.indexOf(Buffer.from(secret.toString('hex'))), -1);
    }

    const errors: Error[] = [];
    const wrong = keystore(randomBytes(32));
    for (const ref of generated) {
      errors.push(
        await rejectsWithCode(wrong.sign(ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_UNWRAP_FAILED'),
      );
    }
    errors.push(throwsWithCode(() => keystore(randomBytes(31)), 'KEYSTORE_MASTER_KEY_INVALID'));
    for (const error of errors) {
      const text = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)} ${String(error.cause)}`;
      for (const secret of secrets) {
        for (const encoding of ['hex', 'base64', 'base64url'] as const) {
          assert.ok(!text.includes(secret.toString(encoding).slice(0, 24)), 'an error carries key material');
        }
      }
    }
  });

  test('refuses a master key that is not exactly 32 bytes', () => {
    for (const length of [0, 16, 31, 33, 64]) {
      throwsWithCode(() => keystore(randomBytes(length)), 'KEYSTORE_MASTER_KEY_INVALID');
    }
  });

  test('signSync signs with loaded keys and refuses keys not loaded yet', async () => {
    const { ref, publicKey } = await keystore().generateKey('ecdsa-p256', 'sync');
    const fresh = keystore();
    throwsWithCode(() => fresh.signSync(ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_NOT_LOADED');
    await fresh.loadKey(ref);
    const data = Buffer.from('sync data');
    assertSignatureVerifies(publicKey, data, fresh.signSync(ref, data, 'sha256'), 'sha256');
  });

  test('concurrent first signatures unwrap the key once and all verify', async () => {
    const { ref, publicKey } = await keystore().generateKey('ecdsa-p384', 'concurrent');
    const fresh = keystore();
    const data = Buffer.from('concurrent');
    const signatures = await Promise.all(Array.from({ length: 20 }, () => fresh.sign(ref, data, 'sha384')));
    for (const signature of signatures) assertSignatureVerifies(publicKey, data, signature, 'sha384');
  });

  test('refuses unknown keys, other backends, algorithms and hashes with typed errors', async () => {
    const keys = keystore();
    const { ref } = await keys.generateKey('ecdsa-p256', 'refusals');
    await assertKeystoreRefusals(keys, ref, {
      backend: 'pkcs11',
      algorithm: 'rsa-3072',
      hash: 'md5',
      unknownAlgorithm: 'ed25519',
    });
    await rejectsWithCode(
      keys.publicKey({ ...ref, id: '01900000-0000-7000-8000-000000000000' }),
      'KEYSTORE_KEY_NOT_FOUND',
    );
  });

  test('tlsKeyPem gives a PKCS#8 PEM that a TLS context accepts and that matches the public key', async () => {
    const keys = keystore();
    const { ref, publicKey } = await keys.generateKey('ecdsa-p256', 'tls');
    const pem = await keystore().tlsKeyPem(ref);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    const derived = createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' });
    assert.deepEqual(derived, publicKey);
    assert.doesNotThrow(() => createSecureContext({ key: pem }));
  });

  test('signs from the in-memory key once loaded, synchronously and asynchronously, with valid signatures', async () => {
    const keys = keystore();
    const { ref, publicKey } = await keys.generateKey('ecdsa-p256', 'hot path');
    const key = createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
    const data = randomBytes(200);
    for (let i = 0; i < 50; i++) {
      assert.ok(verify('sha256', data, key, await keys.sign(ref, data, 'sha256')));
      assert.ok(verify('sha256', data, key, keys.signSync(ref, data, 'sha256')));
    }
  });
});

describe('loadMasterKey', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-master-key-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads the base64 file that vigil init writes', () => {
    const path = join(dir, 'master.key');
    const text = generateMasterKey();
    writeFileSync(path, text, { mode: 0o600 });
    assert.deepEqual(loadMasterKey(path, {}), Buffer.from(text.trim(), 'base64'));
  });

  test('VIGIL_MASTER_KEY wins over the file', () => {
    const path = join(dir, 'master.key');
    writeFileSync(path, generateMasterKey(), { mode: 0o600 });
    const fromEnv = randomBytes(32);
    assert.deepEqual(loadMasterKey(path, { VIGIL_MASTER_KEY: fromEnv.toString('base64') }), fromEnv);
    assert.deepEqual(loadMasterKey(undefined, { VIGIL_MASTER_KEY: fromEnv.toString('base64') }), fromEnv);
  });

  test('refuses keys that are not exactly 32 bytes of base64, naming no key bytes', () => {
    const path = join(dir, 'bad.key');
    for (const text of [
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(32).toString('hex'),
      'not base64 at all!',
      '',
    ]) {
      writeFileSync(path, text);
      const fileError = throwsWithCode(() => loadMasterKey(path, {}), 'KEYSTORE_MASTER_KEY_INVALID');
      if (text !== '') assert.ok(!fileError.message.includes(text));
      if (text !== '') {
        const envError = throwsWithCode(
          () => loadMasterKey(path, { VIGIL_MASTER_KEY: text }),
          'KEYSTORE_MASTER_KEY_INVALID',
        );
        assert.ok(!envError.message.includes(text));
      }
    }
  });

  test('a missing file without VIGIL_MASTER_KEY is KEYSTORE_MASTER_KEY_MISSING', () => {
    throwsWithCode(() => loadMasterKey(join(dir, 'absent.key'), {}), 'KEYSTORE_MASTER_KEY_MISSING');
    throwsWithCode(() => loadMasterKey(undefined, {}), 'KEYSTORE_MASTER_KEY_MISSING');
  });
});

function flip(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}
