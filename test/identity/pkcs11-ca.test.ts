import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { requirePeer } from '../support/peers.ts';
import { must, requireCommands, run, splitPem } from '../support/pki-peers.ts';
import {
  createTestToken,
  softhsmAvailable,
  softhsmHint,
  softhsmModule,
  type TestToken,
} from './keystore/peers.ts';

/**
 * An installation whose CA keys live on a PKCS#11 token (SoftHSM2): the root and issuing CA sign
 * with token keys that never leave it, devices enroll and verify as usual, and the operational
 * keys (device endpoint TLS, delegated OCSP) stay software keys.
 */

const environmentKeys = [
  'VIGIL_KEYSTORE',
  'VIGIL_PKCS11_TOKEN',
  'VIGIL_PKCS11_PIN',
  'SOFTHSM2_CONF',
] as const;

describe('CA keys on a PKCS#11 token (SoftHSM2)', () => {
  let token: TestToken | undefined;
  let t: IdentityTestbed | undefined;
  const saved = new Map<string, string | undefined>();
  let enrolled: { certFile: string; rootFile: string; issuingFile: string; bundleFile: string } | undefined;

  let ready: Promise<IdentityTestbed> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      for (const key of environmentKeys) saved.set(key, process.env[key]);
      token = createTestToken(`vigil-ca-${process.pid}`); // sets SOFTHSM2_CONF for this process
      process.env.VIGIL_KEYSTORE = 'pkcs11';
      process.env.VIGIL_PKCS11_TOKEN = token.label;
      process.env.VIGIL_PKCS11_PIN = token.pin;
      t = await startIdentityTestbed('sqlite');
      return t;
    })());

  after(async () => {
    try {
      await t?.close();
    } finally {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      token?.remove();
    }
  });

  const peers = (tc: Parameters<typeof requirePeer>[0]) =>
    requirePeer(tc, 'SoftHSM2 + pkcs11-tool', softhsmAvailable, softhsmHint) &&
    requireCommands(tc, 'openssl', 'softhsm2-util', 'pkcs11-tool');

  /** Key rows of the CA records of the given kinds, with the CA's name. */
  const keysOf = async (testbed: IdentityTestbed, kinds: ('root' | 'issuing' | 'ocsp' | 'tls')[]) =>
    testbed.platform.store.db
      .selectFrom('certificate_authorities')
      .innerJoin('keystore_keys', 'keystore_keys.id', 'certificate_authorities.key_id')
      .select([
        'certificate_authorities.kind',
        'certificate_authorities.name',
        'keystore_keys.backend',
        'keystore_keys.label',
        'keystore_keys.wrapped_key',
        'keystore_keys.token_key_id',
      ])
      .where('certificate_authorities.kind', 'in', kinds)
      .execute();

  const pkcs11Tool = (args: string[]) => {
    const current = token!;
    return run('pkcs11-tool', [
      '--module',
      softhsmModule,
      '--token-label',
      current.label,
      '--login',
      '--pin',
      current.pin,
      ...args,
    ]);
  };

  test('the root and issuing CA keys are PKCS#11 token keys, with no wrapped copy in the database', async (tc) => {
    if (!peers(tc)) return;
    const testbed = await setup();
    const rows = await keysOf(testbed, ['root', 'issuing']);
    assert.deepEqual(rows.map((row) => row.kind).sort(), ['issuing', 'root']);
    for (const row of rows) {
      assert.equal(row.backend, 'pkcs11', `${row.kind} key backend`);
      assert.equal(row.wrapped_key, null, `${row.kind} key has no wrapped copy`);
      assert.equal(row.token_key_id?.length, 16, `${row.kind} key is found by its CKA_ID`);
    }
    const created = await testbed.platform.store.db
      .selectFrom('ledger_entries')
      .select('leaf')
      .where('type', '=', 'ca.created')
      .execute();
    const events = created.map((row) => JSON.parse(row.leaf.toString('utf8')));
    assert.equal(events.length, 2);
    for (const event of events) assert.equal(event.details.keystore, 'pkcs11');
  });

  test('a device enrolls and openssl verifies its chain up to the token-signed root', async (tc) => {
    if (!peers(tc)) return;
    const testbed = await setup();
    const { enrollmentSecret } = await testbed.register('SN-HSM-1');
    const keys = testbed.makeKeys('SN-HSM-1');
    const response = await testbed.device('POST', '/.well-known/est/simpleenroll', {
      body: keys.csrBase64,
      contentType: 'application/pkcs10',
      basic: `SN-HSM-1:${enrollmentSecret!}`,
    });
    assert.equal(response.status, 200, response.text);
    const certPem = pkcs7CertificatesPem(response.text, testbed.dir);
    assert.equal(new X509Certificate(certPem).issuer, 'CN=Infusion pump Issuing CA 1');

    const cacerts = await testbed.device('GET', '/.well-known/est/cacerts');
    const certificates = splitPem(pkcs7CertificatesPem(cacerts.text, testbed.dir));
    assert.equal(certificates.length, 2);
    const isRoot = (pem: string) => new X509Certificate(pem).subject === new X509Certificate(pem).issuer;
    const write = (name: string, content: string) => {
      const path = join(testbed.dir, name);
      writeFileSync(path, content);
      return path;
    };
    enrolled = {
      certFile: write('hsm-device.pem', certPem),
      rootFile: write('hsm-root.pem', certificates.find(isRoot)!),
      issuingFile: write(
        'hsm-issuing.pem',
        certificates.find((pem) => !isRoot(pem))!,
      ),
      bundleFile: write('hsm-bundle.pem', certificates.join('')),
    };
    const verified = await run('openssl', [
      'verify',
      '-CAfile',
      enrolled.rootFile,
      '-untrusted',
      enrolled.issuingFile,
      enrolled.certFile,
    ]);
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.stdout, /hsm-device\.pem: OK$/m);
    // Control: the chain really is checked (the device certificate is no CA for itself).
    const bogus = await run('openssl', ['verify', '-CAfile', enrolled.rootFile, enrolled.certFile]);
    assert.notEqual(bogus.status, 0, bogus.output);

    const whoami = await testbed.device('GET', '/device/v1/whoami', { cert: certPem, key: keys.keyPem });
    assert.equal(whoami.status, 200, whoami.text);
    assert.equal(whoami.json.serial, 'SN-HSM-1');
  });

  test('pkcs11-tool lists exactly the two CA private keys, as sensitive and never extractable', async (tc) => {
    if (!peers(tc)) return;
    const testbed = await setup();
    const rows = await keysOf(testbed, ['root', 'issuing']);
    for (const row of rows) {
      const id = Buffer.from(row.token_key_id!).toString('hex');
      const listed = await pkcs11Tool(['--list-objects', '--type', 'privkey', '--id', id]);
      assert.equal(listed.status, 0, listed.output);
      assert.match(listed.stdout, /Private Key Object; EC/, `${row.kind}: ${listed.stdout}`);
      assert.match(listed.stdout, new RegExp(`ID:\\s+${id}`));
      assert.ok(listed.stdout.includes(row.label), `${row.kind} key labelled ${row.label}`);
      const access = /Access:\s+(.*)/.exec(listed.stdout)?.[1] ?? '';
      assert.match(access, /\bsensitive\b/, `${row.kind}: ${access}`);
      assert.match(access, /never extractable/, `${row.kind}: ${access}`);
      assert.doesNotMatch(access, /(^|, )extractable/, `${row.kind}: ${access}`);
    }
    const all = await pkcs11Tool(['--list-objects', '--type', 'privkey']);
    assert.equal(all.status, 0, all.output);
    assert.equal(
      all.stdout.match(/Private Key Object/g)?.length,
      2,
      `only the root and issuing CA keys are on the token:\n${all.stdout}`,
    );
  });

  test('the TLS and OCSP signing keys stay software keys; OCSP answers verify under the token-signed chain', async (tc) => {
    if (!peers(tc)) return;
    const testbed = await setup();
    if (enrolled === undefined) return assert.fail('the enrollment test did not run');
    // Asking OCSP makes the delegated responder (and its key) if it does not exist yet.
    const ocsp = await run('openssl', [
      'ocsp',
      '-issuer',
      enrolled.issuingFile,
      '-cert',
      enrolled.certFile,
      '-url',
      `${testbed.deviceUrl}/ocsp`,
      '-CAfile',
      enrolled.bundleFile,
    ]);
    assert.equal(ocsp.status, 0, ocsp.output);
    assert.match(ocsp.output, /Response verify OK/);
    assert.match(ocsp.stdout, /: good\n/);

    const rows = await keysOf(testbed, ['tls', 'ocsp']);
    assert.deepEqual([...new Set(rows.map((row) => row.kind))].sort(), ['ocsp', 'tls']);
    for (const row of rows) {
      assert.equal(row.backend, 'software', `${row.kind} key backend`);
      assert.ok(row.wrapped_key !== null && row.wrapped_key.length > 0, `${row.kind} key is wrapped at rest`);
      assert.equal(row.token_key_id, null);
    }
    // The TLS certificate the device endpoint presents chains to the token-signed root.
    const { port } = new URL(testbed.deviceUrl);
    const shown = await must('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      enrolled.rootFile,
      '-verify_return_error',
    ]);
    assert.match(shown.output, /Verify return code: 0 \(ok\)/);
  });
});
