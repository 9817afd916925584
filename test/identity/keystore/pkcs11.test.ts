import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isVigilError } from '../../../src/core/index.ts';
import type { Store } from '../../../src/store/index.ts';
import {
  Pkcs11Keystore,
  type KeyAlgorithm,
  type KeyRef,
  type SignatureHash,
} from '../../../src/identity/keystore/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/stores.ts';
import { requirePeer } from '../../support/peers.ts';
import {
  assertKeystoreRefusals,
  assertSignatureVerifies,
  createTestToken,
  opensslAvailable,
  rejectsWithCode,
  softhsmAvailable,
  softhsmHint,
  softhsmModule,
  type TestToken,
} from './peers.ts';

let database: TestDatabase;
let store: Store;
let token: TestToken | undefined;
const open: Pkcs11Keystore[] = [];

before(async () => {
  database = await createTestDatabase('sqlite');
  store = database.open();
  await store.migrate();
  if (softhsmAvailable) token = createTestToken();
});

after(async () => {
  for (const keystore of open) await keystore.close();
  await store.close();
  await database.drop();
  token?.remove();
});

function keystore(overrides: { pin?: string; tokenLabel?: string } = {}): Pkcs11Keystore {
  const current = token as TestToken;
  const opened = new Pkcs11Keystore({
    store,
    modulePath: softhsmModule,
    tokenLabel: overrides.tokenLabel ?? current.label,
    pin: overrides.pin ?? current.pin,
  });
  open.push(opened);
  return opened;
}

/** pkcs11-tool (OpenSC) as an outside client of the same token. */
function pkcs11Tool(args: string[]) {
  const current = token as TestToken;
  return spawnSync(
    'pkcs11-tool',
    ['--module', softhsmModule, '--token-label', current.label, '--login', '--pin', current.pin, ...args],
    { env: current.env, encoding: 'utf8' },
  );
}

async function tokenKeyIdOf(ref: KeyRef): Promise<Buffer> {
  const row = await store.db
    .selectFrom('keystore_keys')
    .select('token_key_id')
    .where('id', '=', ref.id)
    .executeTakeFirstOrThrow();
  return Buffer.from(row.token_key_id as Buffer);
}

/** Run in a child process: a PKCS#11 client of its own tries to get the private key out. */
const extractionAttempt = `
const p = require('pkcs11js');
const m = new p.PKCS11();
m.load(${JSON.stringify(softhsmModule)});
m.C_Initialize();
const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trimEnd() === process.env.TOKEN_LABEL);
const session = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
m.C_Login(session, p.CKU_USER, process.env.TOKEN_PIN);
m.C_FindObjectsInit(session, [{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, { type: p.CKA_ID, value: Buffer.from(process.env.KEY_ID, 'hex') }]);
const found = m.C_FindObjects(session, 10);
m.C_FindObjectsFinal(session);
const key = found[0];
const flag = (type) => m.C_GetAttributeValue(session, key, [{ type }])[0].value[0] === 1;
const failure = (work) => { try { work(); return 'succeeded'; } catch (error) { return /CKR_[A-Z_]+/.exec(error.message)?.[0] ?? String(error); } };
const wrappingKey = m.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
  { type: p.CKA_TOKEN, value: false }, { type: p.CKA_VALUE_LEN, value: 32 }, { type: p.CKA_WRAP, value: true },
]);
const result = {
  found: found.length,
  sensitive: flag(p.CKA_SENSITIVE),
  extractable: flag(p.CKA_EXTRACTABLE),
  neverExtractable: flag(p.CKA_NEVER_EXTRACTABLE),
  readValue: failure(() => m.C_GetAttributeValue(session, key, [{ type: p.CKA_VALUE }])),
  wrapKey: failure(() => m.C_WrapKey(session, { mechanism: p.CKM_AES_KEY_WRAP_PAD }, wrappingKey, key, Buffer.alloc(4096))),
};
m.C_CloseSession(session);
m.C_Finalize();
process.stdout.write(JSON.stringify(result));
`;

const cases: { algorithm: KeyAlgorithm; hash: SignatureHash }[] = [
  { algorithm: 'ecdsa-p256', hash: 'sha256' },
  { algorithm: 'ecdsa-p384', hash: 'sha384' },
  { algorithm: 'rsa-3072', hash: 'sha256' },
];

describe('Pkcs11Keystore on SoftHSM2', () => {
  test('a wrong PIN is KEYSTORE_PKCS11_LOGIN_FAILED without the PIN in the error', (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const wrongPin = '99887766';
    const attempt = () =>
      new Pkcs11Keystore({
        store,
        modulePath: softhsmModule,
        tokenLabel: (token as TestToken).label,
        pin: wrongPin,
      });
    const check = (error: unknown) => {
      assert.ok(isVigilError(error, 'KEYSTORE_PKCS11_LOGIN_FAILED'), String(error));
      const text = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)} ${String(error.cause)}`;
      assert.ok(!text.includes(wrongPin), 'the PIN appears in the error');
      return true;
    };
    // Alone, the token checks the PIN; with this process already logged in (the token answers
    // CKR_USER_ALREADY_LOGGED_IN without checking), the keystore compares it with the PIN it used.
    assert.throws(attempt, check);
    keystore();
    assert.throws(attempt, check);
  });

  for (const { algorithm, hash } of cases) {
    test(`generates a ${algorithm} key on the token whose ${hash} signatures node:crypto and openssl verify`, async (t) => {
      if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
      requirePeer(t, 'openssl', opensslAvailable, 'apt-get install openssl');
      const keys = keystore();
      const { ref, publicKey } = await keys.generateKey(algorithm, `test ${algorithm}`);
      assert.deepEqual(ref, { id: ref.id, backend: 'pkcs11', algorithm });
      assert.deepEqual(await keys.publicKey(ref), publicKey);
      for (const signHash of [hash, hash === 'sha256' ? 'sha384' : 'sha256'] as const) {
        const data = randomBytes(300);
        const signature = await keys.sign(ref, data, signHash);
        if (algorithm !== 'rsa-3072') assert.equal(signature[0], 0x30, 'ECDSA signatures come as DER');
        assertSignatureVerifies(publicKey, data, signature, signHash);
      }
    });
  }

  test('stores the public key and a random 16-byte CKA_ID, and no private key bytes', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const { ref, publicKey } = await keystore().generateKey('ecdsa-p256', 'row check');
    const row = await store.db
      .selectFrom('keystore_keys')
      .selectAll()
      .where('id', '=', ref.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.backend, 'pkcs11');
    assert.equal(row.wrapped_key, null);
    assert.equal(row.token_key_id?.length, 16);
    assert.deepEqual(Buffer.from(row.public_key), publicKey);
  });

  test('pkcs11-tool lists the key as a sensitive, never-extractable private key and cannot read its value', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const { ref } = await keystore().generateKey('ecdsa-p256', 'visible to pkcs11-tool');
    const id = (await tokenKeyIdOf(ref)).toString('hex');
    const listed = pkcs11Tool(['--list-objects', '--type', 'privkey', '--id', id]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /Private Key Object; EC/);
    assert.match(listed.stdout, /label:\s+visible to pkcs11-tool/);
    assert.match(listed.stdout, new RegExp(`ID:\\s+${id}`));
    const access = /Access:\s+(.*)/.exec(listed.stdout)?.[1] ?? '';
    assert.match(access, /\bsensitive\b/);
    assert.match(access, /never extractable/);
    assert.doesNotMatch(access, /(^|, )extractable/);

    // pkcs11-tool refuses to read private keys itself; it must write nothing.
    const output = join((token as TestToken).dir, 'private.der');
    pkcs11Tool(['--read-object', '--type', 'privkey', '--id', id, '--output-file', output]);
    assert.equal(existsSync(output), false, 'pkcs11-tool wrote out a private key');

    // A raw PKCS#11 client in another process asks for the value and to wrap the key out.
    const attempt = spawnSync(process.execPath, ['--input-type=commonjs', '-e', extractionAttempt], {
      env: {
        ...(token as TestToken).env,
        TOKEN_LABEL: (token as TestToken).label,
        TOKEN_PIN: (token as TestToken).pin,
        KEY_ID: id,
      },
      encoding: 'utf8',
      cwd: process.cwd(),
    });
    assert.equal(attempt.status, 0, attempt.stderr);
    assert.deepEqual(JSON.parse(attempt.stdout), {
      found: 1,
      sensitive: true,
      extractable: false,
      neverExtractable: true,
      readValue: 'CKR_ATTRIBUTE_SENSITIVE',
      wrapKey: 'CKR_KEY_UNEXTRACTABLE',
    });
  });

  test('keys persist across keystore instances, and closing one leaves the other signing', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const first = keystore();
    const generated = [];
    for (const { algorithm, hash } of cases)
      generated.push({ ...(await first.generateKey(algorithm, 'persist')), hash });
    const second = keystore();
    await first.close();
    for (const { ref, publicKey, hash } of generated) {
      const data = Buffer.from(`second instance ${ref.id}`);
      assertSignatureVerifies(publicKey, data, await second.sign(ref, data, hash), hash);
    }
    await rejectsWithCode(
      first.sign(generated[0]!.ref, Buffer.from('x'), 'sha256'),
      'KEYSTORE_PKCS11_CLOSED',
    );
  });

  test('a row pointed at another token key fails closed with KEYSTORE_PKCS11_KEY_MISMATCH', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const a = await keystore().generateKey('ecdsa-p256', 'swap a');
    const b = await keystore().generateKey('ecdsa-p256', 'swap b');
    await store.db
      .updateTable('keystore_keys')
      .set({ token_key_id: await tokenKeyIdOf(b.ref) })
      .where('id', '=', a.ref.id)
      .execute();
    await rejectsWithCode(keystore().sign(a.ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_PKCS11_KEY_MISMATCH');
  });

  test('a key deleted from the token is KEYSTORE_PKCS11_KEY_NOT_FOUND', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const { ref } = await keystore().generateKey('ecdsa-p256', 'deleted');
    const deleted = pkcs11Tool([
      '--delete-object',
      '--type',
      'privkey',
      '--id',
      (await tokenKeyIdOf(ref)).toString('hex'),
    ]);
    assert.equal(deleted.status, 0, deleted.stderr);
    await rejectsWithCode(keystore().sign(ref, Buffer.from('x'), 'sha256'), 'KEYSTORE_PKCS11_KEY_NOT_FOUND');
  });

  test('an unknown token label is KEYSTORE_PKCS11_TOKEN_NOT_FOUND, an unknown module KEYSTORE_PKCS11_MODULE_LOAD_FAILED', (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    assert.throws(
      () => new Pkcs11Keystore({ store, modulePath: softhsmModule, tokenLabel: 'no such token', pin: '1' }),
      (error: unknown) => isVigilError(error, 'KEYSTORE_PKCS11_TOKEN_NOT_FOUND'),
    );
    assert.throws(
      () => new Pkcs11Keystore({ store, modulePath: '/nonexistent/libpkcs11.so', tokenLabel: 'x', pin: '1' }),
      (error: unknown) => isVigilError(error, 'KEYSTORE_PKCS11_MODULE_LOAD_FAILED'),
    );
  });

  test('refuses unknown keys, software refs, wrong algorithms and hashes with typed errors', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const keys = keystore();
    const { ref } = await keys.generateKey('ecdsa-p384', 'refusals');
    await assertKeystoreRefusals(keys, ref, {
      backend: 'software',
      algorithm: 'ecdsa-p256',
      hash: 'sha1',
      unknownAlgorithm: 'ecdsa-p521',
    });
  });

  test('signs repeatedly in one session, every signature valid', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const keys = keystore();
    const { ref, publicKey } = await keys.generateKey('ecdsa-p256', 'repeat');
    for (let i = 0; i < 200; i++) {
      const data = randomBytes(64);
      assertSignatureVerifies(publicKey, data, await keys.sign(ref, data, 'sha256'), 'sha256');
    }
  });
});
