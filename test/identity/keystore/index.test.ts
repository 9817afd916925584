import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isVigilError } from '../../../src/core/index.ts';
import type { Store } from '../../../src/store/index.ts';
import {
  keystoreConfigFromEnvironment,
  openKeystore,
  Pkcs11Keystore,
  SoftwareKeystore,
  type KeystoreConfig,
} from '../../../src/identity/keystore/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/stores.ts';
import { requirePeer } from '../../support/peers.ts';
import {
  assertSignatureVerifies,
  createTestToken,
  softhsmAvailable,
  softhsmHint,
  type TestToken,
} from './peers.ts';

let database: TestDatabase;
let store: Store;

before(async () => {
  database = await createTestDatabase('sqlite');
  store = database.open();
  await store.migrate();
});

after(async () => {
  await store.close();
  await database.drop();
});

describe('openKeystore and keystoreConfigFromEnvironment', () => {
  test('the software backend is the default and reads VIGIL_MASTER_KEY', async () => {
    const masterKey = randomBytes(32);
    const config = keystoreConfigFromEnvironment({
      store,
      env: { VIGIL_MASTER_KEY: masterKey.toString('base64') },
    });
    assert.equal(config.backend, 'software');
    assert.deepEqual(config.backend === 'software' && config.masterKey, masterKey);
    const keystore = openKeystore(config);
    assert.ok(keystore instanceof SoftwareKeystore);
    const { ref, publicKey } = await keystore.generateKey('ecdsa-p256', 'factory');
    const data = Buffer.from('factory');
    assertSignatureVerifies(publicKey, data, await keystore.sign(ref, data, 'sha256'), 'sha256');
    await keystore.close();
  });

  test('VIGIL_KEYSTORE=pkcs11 takes module, token and PIN from the environment', () => {
    const config = keystoreConfigFromEnvironment({
      store,
      env: {
        VIGIL_KEYSTORE: 'pkcs11',
        VIGIL_PKCS11_MODULE: '/opt/hsm/lib.so',
        VIGIL_PKCS11_TOKEN: 'ca',
        VIGIL_PKCS11_PIN: '1234',
      },
    });
    assert.deepEqual(config, {
      backend: 'pkcs11',
      store,
      modulePath: '/opt/hsm/lib.so',
      tokenLabel: 'ca',
      pin: '1234',
    });
    const defaulted = keystoreConfigFromEnvironment({
      store,
      env: { VIGIL_KEYSTORE: 'pkcs11', VIGIL_PKCS11_TOKEN: 'ca', VIGIL_PKCS11_PIN: '1234' },
    });
    assert.equal(defaulted.backend === 'pkcs11' && defaulted.modulePath, '/usr/lib/softhsm/libsofthsm2.so');
  });

  test('refuses an unknown backend and a PKCS#11 configuration without token or PIN', () => {
    const invalid = (env: NodeJS.ProcessEnv) =>
      assert.throws(
        () => keystoreConfigFromEnvironment({ store, env }),
        (error: unknown) => isVigilError(error, 'KEYSTORE_CONFIG_INVALID'),
      );
    invalid({ VIGIL_KEYSTORE: 'tpm' });
    invalid({ VIGIL_KEYSTORE: 'pkcs11', VIGIL_PKCS11_TOKEN: 'ca' });
    invalid({ VIGIL_KEYSTORE: 'pkcs11', VIGIL_PKCS11_PIN: '1234' });
    assert.throws(
      () => openKeystore({ backend: 'hsm' } as unknown as KeystoreConfig),
      (error: unknown) => isVigilError(error, 'KEYSTORE_CONFIG_INVALID'),
    );
    assert.throws(
      () => keystoreConfigFromEnvironment({ store, env: {} }),
      (error: unknown) => isVigilError(error, 'KEYSTORE_MASTER_KEY_MISSING'),
    );
  });

  test('opens a PKCS#11 keystore on a SoftHSM2 token from the environment', async (t) => {
    if (!requirePeer(t, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint)) return;
    const token: TestToken = createTestToken();
    try {
      const keystore = openKeystore(
        keystoreConfigFromEnvironment({
          store,
          env: { VIGIL_KEYSTORE: 'pkcs11', VIGIL_PKCS11_TOKEN: token.label, VIGIL_PKCS11_PIN: token.pin },
        }),
      );
      assert.ok(keystore instanceof Pkcs11Keystore);
      const { ref, publicKey } = await keystore.generateKey('ecdsa-p384', 'factory');
      const data = Buffer.from('factory on the token');
      assertSignatureVerifies(publicKey, data, await keystore.sign(ref, data, 'sha384'), 'sha384');
      await keystore.close();
    } finally {
      token.remove();
    }
  });
});
