import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { systemActor } from '../../src/ledger/index.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { storeKinds } from '../support/stores.ts';

const kinds = await storeKinds();

/** Manufacturer (IDevID) fixtures made by openssl: a root, good and bad leaves. */
interface IdevidFixtures {
  root: string;
  leaf: string;
  otherLeaf: string;
  expiredLeaf: string;
  futureLeaf: string;
  brokenSignatureLeaf: string;
  foreignLeaf: string;
}

function makeIdevidFixtures(dir: string): IdevidFixtures {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const selfSigned = (name: string, cn: string) => {
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    run(
      'req',
      '-new',
      '-x509',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.pem`,
    );
  };
  const csr = (name: string, cn: string) => {
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
  };
  const signed = (name: string, cn: string, ca: string) => {
    csr(name, cn);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '3650',
      '-out',
      `${name}.pem`,
    );
  };
  selfSigned('mfg', 'Manufacturer Root');
  selfSigned('foreign', 'Someone Else Root');
  signed('leaf', 'SN-IDEVID-GOOD', 'mfg');
  signed('other', 'SN-IDEVID-OTHER', 'mfg');
  signed('foreign-leaf', 'SN-IDEVID-FOREIGN', 'foreign');

  // OpenSSL 3.0 has no `x509 -not_before/-not_after`: `openssl ca` sets explicit validity dates.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = mfg_ca',
      '[ mfg_ca ]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, 'serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'email_in_dn = no',
      '[ any ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const dated = (name: string, cn: string, start: string, end: string) => {
    csr(name, cn);
    run(
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-cert',
      'mfg.pem',
      '-keyfile',
      'mfg.key',
      '-in',
      `${name}.csr`,
      '-startdate',
      start,
      '-enddate',
      end,
      '-out',
      `${name}.pem`,
    );
  };
  dated('expired', 'SN-IDEVID-EXPIRED', '20200101000000Z', '20210101000000Z');
  dated('future', 'SN-IDEVID-FUTURE', '20900101000000Z', '20910101000000Z');

  const leaf = read('leaf.pem');
  // Flip the last byte of the DER: the signature's last octet, so it parses but no longer verifies.
  const der = Buffer.from(new X509Certificate(leaf).raw);
  der[der.length - 1]! ^= 0x01;
  const brokenSignatureLeaf = `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  assert.doesNotThrow(() => new X509Certificate(brokenSignatureLeaf), 'the broken leaf still parses');

  const expiredLeaf = read('expired.pem');
  assert.ok(new Date(new X509Certificate(expiredLeaf).validTo).getTime() < Date.now(), 'fixture expired');
  return {
    root: read('mfg.pem'),
    leaf,
    otherLeaf: read('other.pem'),
    expiredLeaf,
    futureLeaf: read('future.pem'),
    brokenSignatureLeaf,
    foreignLeaf: read('foreign-leaf.pem'),
  };
}

function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Every cell of every table, for "this value appears nowhere" checks. */
async function allCells(t: IdentityTestbed): Promise<{ table: string; text: string }[]> {
  const db = t.platform.store.db;
  const tables =
    t.platform.store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)
      : await sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
          db,
        );
  const cells: { table: string; text: string }[] = [];
  for (const { name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    for (const row of rows.rows) {
      for (const value of Object.values(row)) {
        if (value === null || value === undefined) continue;
        if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
          const buffer = Buffer.from(value);
          cells.push({ table: name, text: buffer.toString('utf8') });
          cells.push({ table: name, text: buffer.toString('latin1') });
        } else cells.push({ table: name, text: String(value) });
      }
    }
  }
  assert.ok(
    tables.rows.some((row) => row.name === 'devices') &&
      tables.rows.some((row) => row.name === 'ledger_entries'),
  );
  return cells;
}

async function ledgerSize(t: IdentityTestbed): Promise<number> {
  const row = await t.platform.store.db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventsOf(t: IdentityTestbed, subject: string): Promise<Record<string, any>[]> {
  const rows = await t.platform.store.db
    .selectFrom('ledger_entries')
    .select('leaf')
    .where('subject', '=', subject)
    .orderBy('idx')
    .execute();
  return rows.map((row) => JSON.parse(row.leaf.toString('utf8')));
}

async function certificatesOf(t: IdentityTestbed, deviceId: string) {
  return t.platform.store.db
    .selectFrom('certificates')
    .select(['serial', 'status', 'revocation_reason', 'revoked_at'])
    .where('device_id', '=', deviceId)
    .orderBy('serial')
    .execute();
}

for (const kind of kinds) {
  describe(`device registry on ${kind}`, () => {
    let t: IdentityTestbed;
    let fixtureDir: string;
    let idevid: IdevidFixtures;
    let otherProductId: string;

    before(async () => {
      fixtureDir = mkdtempSync(join(tmpdir(), 'vigil-idevid-'));
      idevid = makeIdevidFixtures(fixtureDir);
      t = await startIdentityTestbed(kind);
      const other = await t.platform.products.create(systemActor, {
        name: 'Patient monitor',
        model: 'PM-7',
        hardwareRevisions: ['A'],
        regimes: ['MDR'],
        supportStart: '2026-01-01',
        supportEnd: '2036-01-01',
      });
      otherProductId = other.id;
    });
    after(async () => {
      await t?.close();
      rmSync(fixtureDir, { recursive: true, force: true });
    });

    const devices = () => t.platform.identity.devices;
    const registration = (serial: string, overrides: Record<string, unknown> = {}) => ({
      serial,
      productId: t.productId,
      hardwareRevision: 'A',
      bootstrap: { method: 'secret' as const },
      ...overrides,
    });

    async function enroll(serial: string, secret: string) {
      const keys = t.makeKeys(serial);
      const response = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        basic: `${serial}:${secret}`,
      });
      assert.equal(response.status, 200, response.text);
      const pem = pkcs7CertificatesPem(response.text, t.dir);
      return { pem, keys, serial: new X509Certificate(pem).serialNumber.toLowerCase() };
    }

    /** Renews with the current certificate (EST simplereenroll); answers the new certificate's serial. */
    async function renew(
      serial: string,
      current: { pem: string; keys: { keyPem: string } },
    ): Promise<string> {
      const renewed = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: t.makeKeys(serial).csrBase64,
        contentType: 'application/pkcs10',
        cert: current.pem,
        key: current.keys.keyPem,
      });
      assert.equal(renewed.status, 200, renewed.text);
      return new X509Certificate(pkcs7CertificatesPem(renewed.text, t.dir)).serialNumber.toLowerCase();
    }

    test('registration answers the enrollment secret once and stores only its SHA-256, in no table or ledger leaf', async () => {
      const result = await devices().register(systemActor, registration('SN-SECRET-1'));
      assert.equal(result.outcome, 'created');
      const secret = result.enrollmentSecret;
      assert.ok(secret !== undefined && secret.length >= 32, 'a long random secret');
      const device = result.device!;
      assert.equal(device.status, 'registered');
      assert.equal(device.bootstrapMethod, 'secret');

      const row = await t.platform.store.db
        .selectFrom('devices')
        .select(['secret_hash', 'secret_expires_at'])
        .where('id', '=', device.id)
        .executeTakeFirstOrThrow();
      assert.ok(row.secret_hash !== null);
      assert.deepEqual(Buffer.from(row.secret_hash), sha256(secret));
      assert.ok(row.secret_expires_at !== null && row.secret_expires_at > device.registeredAt);

      // Over the API as well: the secret comes back in the 201 and nowhere afterwards.
      const created = await t.admin('POST', '/api/v1/devices', registration('SN-SECRET-2'));
      assert.equal(created.status, 201);
      const apiSecret: string = created.json.enrollmentSecret;
      assert.ok(typeof apiSecret === 'string' && apiSecret.length >= 32);
      const shown = await t.admin('GET', `/api/v1/devices/${created.json.id}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.json.enrollmentSecret, undefined);
      assert.ok(!JSON.stringify(shown.json).includes(apiSecret));

      const [registered] = await eventsOf(t, device.id);
      assert.equal(registered!.type, 'device.registered');
      assert.equal(registered!.details.serial, 'SN-SECRET-1');
      assert.equal(registered!.details.bootstrap, 'secret');

      const cells = await allCells(t);
      for (const value of [secret, apiSecret]) {
        const hex = sha256(value).toString('hex');
        const hits = cells.filter((cell) => cell.text.includes(value));
        assert.deepEqual(hits, [], 'the secret is stored nowhere in clear');
        assert.ok(
          !cells.some((cell) => cell.table === 'ledger_entries' && cell.text.includes(hex)),
          'the ledger does not even carry its hash',
        );
      }
    });

    test('re-registering a serial identically is "existing": no new secret, no new ledger event', async () => {
      const first = await devices().register(systemActor, registration('SN-IDEM-1'));
      const hashBefore = (
        await t.platform.store.db
          .selectFrom('devices')
          .select('secret_hash')
          .where('id', '=', first.device!.id)
          .executeTakeFirstOrThrow()
      ).secret_hash;
      const size = await ledgerSize(t);

      const again = await devices().register(systemActor, registration('SN-IDEM-1'));
      assert.equal(again.outcome, 'existing');
      assert.equal(again.enrollmentSecret, undefined);
      assert.equal(again.device!.id, first.device!.id);

      const overApi = await t.admin('POST', '/api/v1/devices', registration('SN-IDEM-1'));
      assert.equal(overApi.status, 200);
      assert.equal(overApi.json.id, first.device!.id);
      assert.equal(overApi.json.enrollmentSecret, undefined);

      const bulk = await t.admin('POST', '/api/v1/devices/bulk', {
        devices: [registration('SN-IDEM-1')],
      });
      assert.equal(bulk.status, 200);
      assert.deepEqual(bulk.json.results, [
        { serial: 'SN-IDEM-1', outcome: 'existing', id: first.device!.id },
      ]);

      assert.equal(await ledgerSize(t), size, 'no ledger event for an unchanged device');
      const hashAfter = (
        await t.platform.store.db
          .selectFrom('devices')
          .select('secret_hash')
          .where('id', '=', first.device!.id)
          .executeTakeFirstOrThrow()
      ).secret_hash;
      assert.deepEqual(hashAfter, hashBefore, 'the stored secret is not replaced');
    });

    test('the same serial with a different product, hardware revision or bootstrap is refused with IDENTITY_SERIAL_EXISTS (409)', async () => {
      const first = await devices().register(systemActor, registration('SN-CLASH-1'));
      const size = await ledgerSize(t);
      const variants = [
        registration('SN-CLASH-1', { hardwareRevision: 'B' }),
        registration('SN-CLASH-1', { productId: otherProductId }),
        registration('SN-CLASH-1', { bootstrap: { method: 'idevid', chain: [idevid.leaf, idevid.root] } }),
      ];
      for (const variant of variants) {
        await assert.rejects(devices().register(systemActor, variant), (error: any) => {
          assert.equal(error.code, 'IDENTITY_SERIAL_EXISTS');
          return true;
        });
        const response = await t.admin('POST', '/api/v1/devices', variant);
        assert.equal(response.status, 409, JSON.stringify(response.json));
        assert.equal(response.json.code, 'IDENTITY_SERIAL_EXISTS');
        assert.equal(response.json.status, 409);
      }
      const row = await devices().get(first.device!.id);
      assert.equal(row.productId, t.productId);
      assert.equal(row.hardwareRevision, 'A');
      assert.equal(row.bootstrapMethod, 'secret');
      assert.equal(await ledgerSize(t), size, 'a refused registration leaves no trace');
    });

    test('a bulk registration registers the good rows and reports each bad one with its reason', async () => {
      const size = await ledgerSize(t);
      const unknownProduct = randomUUID();
      const response = await t.admin('POST', '/api/v1/devices/bulk', {
        devices: [
          registration('SN-BULK-1'),
          registration('SN-BULK-2', { hardwareRevision: 'Z' }),
          registration('SN-BULK-3', { productId: unknownProduct }),
          registration('SN-BULK-4', { productId: otherProductId }),
          registration('SN-BULK-1'),
          registration('SN-BULK-5', {
            bootstrap: { method: 'idevid', chain: [idevid.expiredLeaf, idevid.root] },
          }),
        ],
      });
      assert.equal(response.status, 200, JSON.stringify(response.json));
      const results: any[] = response.json.results;
      assert.deepEqual(
        results.map((result) => [result.serial, result.outcome, result.error?.code]),
        [
          ['SN-BULK-1', 'created', undefined],
          ['SN-BULK-2', 'rejected', 'IDENTITY_HARDWARE_REVISION_UNKNOWN'],
          ['SN-BULK-3', 'rejected', 'IDENTITY_PRODUCT_UNKNOWN'],
          ['SN-BULK-4', 'created', undefined],
          ['SN-BULK-1', 'rejected', 'IDENTITY_SERIAL_DUPLICATE'],
          ['SN-BULK-5', 'rejected', 'IDENTITY_IDEVID_INVALID'],
        ],
      );
      for (const result of results) {
        if (result.outcome === 'created') {
          assert.match(result.id, /^[0-9a-f-]{36}$/);
          assert.ok(result.enrollmentSecret.length >= 32);
        } else {
          assert.equal(result.id, undefined);
          assert.equal(result.enrollmentSecret, undefined);
          assert.ok(result.error.detail.length > 0);
        }
      }
      assert.match(results[2].error.detail, new RegExp(unknownProduct));
      const stored = await t.platform.store.db
        .selectFrom('devices')
        .select(['serial', 'product_id'])
        .where('serial', 'like', 'SN-BULK-%')
        .orderBy('serial')
        .execute();
      assert.deepEqual(stored, [
        { serial: 'SN-BULK-1', product_id: t.productId },
        { serial: 'SN-BULK-4', product_id: otherProductId },
      ]);
      assert.equal(await ledgerSize(t), size + 2, 'one device.registered event per created device');

      // The service applies the same rules to a serial the API schema would already refuse.
      const [malformed] = await devices().registerMany(systemActor, [registration('bad:serial')]);
      assert.equal(malformed!.outcome, 'rejected');
      assert.equal(malformed!.error!.code, 'IDENTITY_SERIAL_INVALID');
    });

    test('an unknown product or hardware revision is refused singly (400), registering nothing', async () => {
      const size = await ledgerSize(t);
      const unknownProduct = await t.admin(
        'POST',
        '/api/v1/devices',
        registration('SN-UNKNOWN-1', { productId: randomUUID() }),
      );
      assert.equal(unknownProduct.status, 400);
      assert.equal(unknownProduct.json.code, 'IDENTITY_PRODUCT_UNKNOWN');
      const unknownRevision = await t.admin(
        'POST',
        '/api/v1/devices',
        registration('SN-UNKNOWN-2', { hardwareRevision: 'C' }),
      );
      assert.equal(unknownRevision.status, 400);
      assert.equal(unknownRevision.json.code, 'IDENTITY_HARDWARE_REVISION_UNKNOWN');
      await assert.rejects(
        devices().register(systemActor, registration('SN-UNKNOWN-3', { hardwareRevision: 'C' })),
        /hardware revision "C"/,
      );
      assert.equal(await ledgerSize(t), size);
      const found = await t.platform.store.db
        .selectFrom('devices')
        .select('serial')
        .where('serial', 'like', 'SN-UNKNOWN-%')
        .execute();
      assert.deepEqual(found, []);
    });

    test('an IDevID chain is accepted leaf first and refused (IDENTITY_IDEVID_INVALID) out of order, expired, not yet valid, foreign or with a broken signature', async () => {
      const good = await devices().register(
        systemActor,
        registration('SN-IDEVID-GOOD', {
          bootstrap: { method: 'idevid', chain: [idevid.leaf, idevid.root] },
        }),
      );
      assert.equal(good.outcome, 'created');
      assert.equal(good.enrollmentSecret, undefined, 'no secret for an IDevID device');
      assert.equal(good.device!.bootstrapMethod, 'idevid');
      const row = await t.platform.store.db
        .selectFrom('devices')
        .select(['secret_hash', 'idevid_fingerprint', 'idevid_chain'])
        .where('id', '=', good.device!.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, null);
      assert.equal(row.idevid_fingerprint, sha256(new X509Certificate(idevid.leaf).raw).toString('hex'));
      assert.equal(JSON.parse(row.idevid_chain!).length, 2);
      const [event] = await eventsOf(t, good.device!.id);
      assert.equal(event!.details.idevidFingerprint, row.idevid_fingerprint);

      // The same serial with the same chain is idempotent; with another leaf it is a clash.
      const again = await devices().register(
        systemActor,
        registration('SN-IDEVID-GOOD', {
          bootstrap: { method: 'idevid', chain: [idevid.leaf, idevid.root] },
        }),
      );
      assert.equal(again.outcome, 'existing');
      await assert.rejects(
        devices().register(
          systemActor,
          registration('SN-IDEVID-GOOD', {
            bootstrap: { method: 'idevid', chain: [idevid.otherLeaf, idevid.root] },
          }),
        ),
        { code: 'IDENTITY_SERIAL_EXISTS' },
      );

      const bad: [string, string[]][] = [
        ['wrong order', [idevid.root, idevid.leaf]],
        ['expired leaf', [idevid.expiredLeaf, idevid.root]],
        ['not yet valid leaf', [idevid.futureLeaf, idevid.root]],
        ['broken signature', [idevid.brokenSignatureLeaf, idevid.root]],
        ['signed by another root', [idevid.foreignLeaf, idevid.root]],
      ];
      const size = await ledgerSize(t);
      for (const [index, [what, chain]] of bad.entries()) {
        const serial = `SN-IDEVID-BAD-${index}`;
        await assert.rejects(
          devices().register(systemActor, registration(serial, { bootstrap: { method: 'idevid', chain } })),
          (error: any) => {
            assert.equal(error.code, 'IDENTITY_IDEVID_INVALID', what);
            return true;
          },
        );
        const response = await t.admin(
          'POST',
          '/api/v1/devices',
          registration(serial, { bootstrap: { method: 'idevid', chain } }),
        );
        assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.json)}`);
        assert.equal(response.json.code, 'IDENTITY_IDEVID_INVALID', what);
      }
      assert.equal(await ledgerSize(t), size);
    });

    test('revoking a device revokes every valid certificate with the reason, and none of them can renew afterwards', async () => {
      const { device, enrollmentSecret } = await devices().register(systemActor, registration('SN-REVOKE-1'));
      const issued = await enroll('SN-REVOKE-1', enrollmentSecret!);
      const renewedSerial = await renew('SN-REVOKE-1', issued);
      assert.equal((await devices().get(device!.id)).status, 'enrolled');

      const response = await t.admin('POST', `/api/v1/devices/${device!.id}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(response.status, 200, JSON.stringify(response.json));
      assert.equal(response.json.status, 'revoked');
      assert.equal(response.json.revocationReason, 'keyCompromise');
      assert.ok(response.json.revokedAt !== null);

      const certificates = await certificatesOf(t, device!.id);
      assert.deepEqual(
        certificates.map((c) => [c.serial, c.status, c.revocation_reason]),
        [issued.serial, renewedSerial].sort().map((serial) => [serial, 'revoked', 'keyCompromise']),
      );
      const revokedEvent = (await eventsOf(t, device!.id)).find((event) => event.type === 'device.revoked');
      assert.ok(revokedEvent);
      assert.equal(revokedEvent.details.reason, 'keyCompromise');
      assert.deepEqual([...revokedEvent.details.certificates].sort(), [issued.serial, renewedSerial].sort());

      const reenroll = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: t.makeKeys('SN-REVOKE-1').csrBase64,
        contentType: 'application/pkcs10',
        cert: issued.pem,
        key: issued.keys.keyPem,
      });
      assert.equal(reenroll.status, 401, 'a revoked certificate cannot renew');

      const badReason = await t.admin('POST', `/api/v1/devices/${device!.id}/revoke`, { reason: 'because' });
      assert.equal(badReason.status, 400);
      const unknown = await t.admin('POST', `/api/v1/devices/${randomUUID()}/revoke`, {
        reason: 'superseded',
      });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.json.code, 'IDENTITY_DEVICE_NOT_FOUND');

      const events = (await eventsOf(t, device!.id)).length;
      const again = await t.admin('POST', `/api/v1/devices/${device!.id}/revoke`, { reason: 'superseded' });
      assert.equal(again.status, 409, 'a revoked device is not revoked again');
      assert.equal(again.json.code, 'IDENTITY_DEVICE_REVOKED');
      assert.equal(
        (await t.admin('GET', `/api/v1/devices/${device!.id}`)).json.revocationReason,
        'keyCompromise',
        'the first reason stands',
      );
      assert.equal((await eventsOf(t, device!.id)).length, events, 'no second device.revoked event');
    });

    test('decommissioning revokes valid certificates as cessationOfOperation, stores the wipe confirmation, refuses a second revoke or decommission (409) and keeps the history', async () => {
      const { device, enrollmentSecret } = await devices().register(systemActor, registration('SN-RETIRE-1'));
      const first = await enroll('SN-RETIRE-1', enrollmentSecret!);
      const secondSerial = await renew('SN-RETIRE-1', first);
      // The first certificate is superseded before the device retires: it keeps that reason.
      const superseded = await t.admin('POST', `/api/v1/certificates/${first.serial}/revoke`, {
        reason: 'superseded',
      });
      assert.equal(superseded.status, 200, JSON.stringify(superseded.json));
      assert.equal(
        (await devices().get(device!.id)).status,
        'enrolled',
        'one certificate revoked, the device stays',
      );

      const wipe = { confirmedBy: 'operator', method: 'factory reset', evidence: 'ticket RMA-1234' };
      const response = await t.admin('POST', `/api/v1/devices/${device!.id}/decommission`, {
        wipeConfirmation: wipe,
      });
      assert.equal(response.status, 200, JSON.stringify(response.json));
      assert.equal(response.json.status, 'decommissioned');
      assert.ok(response.json.decommissionedAt !== null);
      assert.deepEqual({ ...response.json.wipeConfirmation, at: undefined }, { ...wipe, at: undefined });
      assert.equal(response.json.wipeConfirmation.at, response.json.decommissionedAt);

      const shown = await t.admin('GET', `/api/v1/devices/${device!.id}`);
      assert.deepEqual(shown.json.wipeConfirmation, response.json.wipeConfirmation, 'stored and returned');

      const reasons = Object.fromEntries(
        (await certificatesOf(t, device!.id)).map((c) => [c.serial, [c.status, c.revocation_reason]]),
      );
      assert.deepEqual(reasons, {
        [first.serial]: ['revoked', 'superseded'],
        [secondSerial]: ['revoked', 'cessationOfOperation'],
      });
      const decommissioned = (await eventsOf(t, device!.id)).find(
        (event) => event.type === 'device.decommissioned',
      );
      assert.ok(decommissioned);
      assert.deepEqual(decommissioned.details.certificates, [secondSerial]);
      assert.equal(decommissioned.details.wipe.method, 'factory reset');

      const size = await ledgerSize(t);
      const revokeAgain = await t.admin('POST', `/api/v1/devices/${device!.id}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(revokeAgain.status, 409);
      assert.equal(revokeAgain.json.code, 'IDENTITY_DEVICE_DECOMMISSIONED');
      const decommissionAgain = await t.admin('POST', `/api/v1/devices/${device!.id}/decommission`, {
        wipeConfirmation: { confirmedBy: 'device', method: 'secure erase' },
      });
      assert.equal(decommissionAgain.status, 409);
      assert.equal(decommissionAgain.json.code, 'IDENTITY_DEVICE_DECOMMISSIONED');
      await assert.rejects(devices().revoke(systemActor, device!.id, 'keyCompromise'), {
        code: 'IDENTITY_DEVICE_DECOMMISSIONED',
      });
      assert.equal(await ledgerSize(t), size, 'refusals change nothing');
      assert.deepEqual(
        Object.fromEntries((await certificatesOf(t, device!.id)).map((c) => [c.serial, c.revocation_reason])),
        { [first.serial]: 'superseded', [secondSerial]: 'cessationOfOperation' },
        'reasons are not overwritten',
      );

      const stillThere = await devices().get(device!.id);
      assert.equal(stillThere.status, 'decommissioned');
      assert.equal(stillThere.wipeConfirmation?.method, 'factory reset');
      const history = await t.admin('GET', `/api/v1/devices/${device!.id}/identity`);
      assert.equal(history.status, 200);
      assert.equal(history.json.certificates.length, 2);
      assert.deepEqual(
        history.json.events.map((event: { type: string }) => event.type),
        [
          'device.registered',
          'certificate.issued',
          'certificate.renewed',
          'certificate.revoked',
          'device.decommissioned',
        ],
      );
      assert.deepEqual(history.json.revocation.revoked, true);
      const listed = await t.admin('GET', `/api/v1/devices?status=decommissioned&productId=${t.productId}`);
      assert.ok(listed.json.devices.some((d: { id: string }) => d.id === device!.id));
    });
  });
}
