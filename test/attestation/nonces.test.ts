import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AttestationNonces } from '../../src/attestation/index.ts';
import { systemActor } from '../../src/ledger/index.ts';
import { storeKinds } from '../support/stores.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`attestation nonces on ${kind}`, () => {
    let t: IdentityTestbed;
    let nonces: AttestationNonces;
    let deviceA: string;
    let deviceB: string;

    before(async () => {
      t = await startIdentityTestbed(kind);
      nonces = t.platform.attestation.nonces;
      const registered = await t.platform.identity.devices.registerMany(systemActor, [
        {
          serial: 'SN-NONCE-A',
          productId: t.productId,
          hardwareRevision: 'A',
          bootstrap: { method: 'secret' },
        },
        {
          serial: 'SN-NONCE-B',
          productId: t.productId,
          hardwareRevision: 'A',
          bootstrap: { method: 'secret' },
        },
      ]);
      deviceA = registered[0]!.device!.id;
      deviceB = registered[1]!.device!.id;
    });
    after(async () => t?.close());

    const refusals = async () =>
      (
        await t.platform.store.db
          .selectFrom('ledger_entries')
          .select('leaf')
          .where('type', '=', 'attestation.refused')
          .execute()
      ).map((row) => JSON.parse(row.leaf.toString('utf8')));

    test('a nonce is spent exactly once by the device it was issued to', async () => {
      const { nonce, expiresAt } = await nonces.issue(deviceA);
      assert.equal(nonce.length, 44);
      assert.ok(expiresAt > new Date().toISOString().slice(0, 19));
      const outcomes = await Promise.allSettled([
        nonces.consume(deviceA, nonce),
        nonces.consume(deviceA, nonce),
      ]);
      assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
      await assert.rejects(nonces.consume(deviceA, nonce), { code: 'ATTESTATION_NONCE_REUSED' });
    });

    test('refuses unknown, foreign and expired nonces, and records each refusal', async () => {
      const before = (await refusals()).length;
      await assert.rejects(nonces.consume(deviceA, Buffer.alloc(32, 9)), {
        code: 'ATTESTATION_NONCE_UNKNOWN',
      });
      const foreign = await nonces.issue(deviceA);
      await assert.rejects(nonces.consume(deviceB, foreign.nonce), { code: 'ATTESTATION_NONCE_FOREIGN' });
      const expiring = await nonces.issue(deviceA);
      t.clock.advance(301_000);
      try {
        await assert.rejects(nonces.consume(deviceA, expiring.nonce), { code: 'ATTESTATION_NONCE_EXPIRED' });
      } finally {
        t.clock.reset();
      }
      const recorded = (await refusals()).slice(before);
      assert.deepEqual(
        recorded.map((event) => [event.subject, event.details.code]),
        [
          [deviceA, 'ATTESTATION_NONCE_UNKNOWN'],
          [deviceB, 'ATTESTATION_NONCE_FOREIGN'],
          [deviceA, 'ATTESTATION_NONCE_EXPIRED'],
        ],
      );
      // The foreign device's refusal did not spend the nonce for its rightful owner.
      await nonces.consume(deviceA, foreign.nonce);
    });

    test('refuses a lifetime that is not a whole number of seconds', () => {
      for (const lifetimeSeconds of [0, -1, 1.5, Number.NaN, 100_000]) {
        assert.throws(
          () =>
            new AttestationNonces({
              store: t.platform.store,
              ledger: t.platform.ledger,
              clock: t.clock,
              key: Buffer.alloc(32, 1),
              lifetimeSeconds,
            }),
          { code: 'CONFIG_INVALID' },
        );
      }
    });

    test('the device endpoint hands a nonce only to an enrolled device presenting its certificate', async () => {
      const anonymous = await t.device('POST', '/device/v1/attestation/nonce');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.json.code, 'DEVICE_CERTIFICATE_MISSING');
      const { id, enrollmentSecret } = await t.register('SN-NONCE-C');
      const keys = t.makeKeys('SN-NONCE-C');
      const enrolled = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        basic: `SN-NONCE-C:${enrollmentSecret!}`,
      });
      assert.equal(enrolled.status, 200, enrolled.text);
      const cert = pkcs7CertificatesPem(enrolled.text, t.dir);
      const response = await t.device('POST', '/device/v1/attestation/nonce', { cert, key: keys.keyPem });
      assert.equal(response.status, 201, response.text);
      const nonce = Buffer.from(response.json.nonce, 'base64');
      assert.equal(nonce.length, 44);
      await nonces.consume(id, nonce);
      await assert.rejects(nonces.consume(id, nonce), { code: 'ATTESTATION_NONCE_REUSED' });

      // Quarantine: the device keeps its attestation routes and loses every other one.
      const quarantined = await t.admin('POST', `/api/v1/devices/${id}/quarantine`, {
        reason: 'suspect boot',
      });
      assert.equal(quarantined.status, 200, JSON.stringify(quarantined.json));
      const whoami = await t.device('GET', '/device/v1/whoami', { cert, key: keys.keyPem });
      assert.equal(whoami.status, 403);
      assert.equal(whoami.json.code, 'DEVICE_QUARANTINED');
      const reenroll = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        cert,
        key: keys.keyPem,
      });
      assert.equal(reenroll.status, 403, 'no renewal in quarantine');
      const stillAttests = await t.device('POST', '/device/v1/attestation/nonce', { cert, key: keys.keyPem });
      assert.equal(stillAttests.status, 201);
      const twice = await t.admin('POST', `/api/v1/devices/${id}/quarantine`, { reason: 'again' });
      assert.equal(twice.status, 409);
      assert.equal(twice.json.code, 'IDENTITY_DEVICE_QUARANTINED');
      const released = await t.admin('POST', `/api/v1/devices/${id}/quarantine/release`, {
        reason: 'cleared',
      });
      assert.equal(released.status, 200);
      assert.equal((await t.device('GET', '/device/v1/whoami', { cert, key: keys.keyPem })).status, 200);
    });

    test('a nonce made with another key, or with its expiry or device changed, is unknown', async () => {
      const other = new AttestationNonces({
        store: t.platform.store,
        ledger: t.platform.ledger,
        clock: t.clock,
        key: Buffer.alloc(32, 2),
      });
      const foreignInstallation = other.issue(deviceA);
      await assert.rejects(nonces.consume(deviceA, foreignInstallation.nonce), {
        code: 'ATTESTATION_NONCE_UNKNOWN',
      });
      const { nonce } = nonces.issue(deviceA);
      for (const offset of [0, 16, 20, 43]) {
        const tampered = Buffer.from(nonce);
        tampered[offset]! ^= 1;
        await assert.rejects(nonces.consume(deviceA, tampered), { code: 'ATTESTATION_NONCE_UNKNOWN' });
      }
      await assert.rejects(nonces.consume(deviceA, nonce.subarray(0, 32)), {
        code: 'ATTESTATION_NONCE_UNKNOWN',
      });
      await nonces.consume(deviceA, nonce);
    });

    test('the device attestation routes refuse malformed bodies with problem+json, binding and recording nothing', async () => {
      const { enrollmentSecret } = await t.register('SN-NONCE-D');
      const keys = t.makeKeys('SN-NONCE-D');
      const enrolled = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        basic: `SN-NONCE-D:${enrollmentSecret!}`,
      });
      assert.equal(enrolled.status, 200, enrolled.text);
      const tls = { cert: pkcs7CertificatesPem(enrolled.text, t.dir), key: keys.keyPem };
      const post = (path: string, body: string) =>
        t.device('POST', path, { ...tls, body, contentType: 'application/json' });
      const attestations = async () =>
        (await t.platform.store.db.selectFrom('attestations').select('id').execute()).length;
      const boundKeys = async () =>
        (await t.platform.store.db.selectFrom('attestation_keys').select('id').execute()).length;
      const before = { attestations: await attestations(), keys: await boundKeys() };
      const cases: [string, string, number, string][] = [
        ['/device/v1/attestation/evidence', '{"format":"tpm2-quote"}', 400, 'REQUEST_INVALID'],
        [
          '/device/v1/attestation/evidence',
          '{"format":"tpm2-quote","evidence":{},"extra":1}',
          400,
          'REQUEST_INVALID',
        ],
        [
          '/device/v1/attestation/evidence',
          '{"format":"psa-token","evidence":{}}',
          400,
          'ATTESTATION_FORMAT_UNSUPPORTED',
        ],
        [
          '/device/v1/attestation/evidence',
          '{"format":"tpm2-quote","evidence":{"quote":"!"}}',
          400,
          'ATTESTATION_EVIDENCE_MALFORMED',
        ],
        ['/device/v1/attestation/evidence', '{"format":', 400, 'REQUEST_JSON_INVALID'],
        [
          '/device/v1/attestation/keys',
          '{"format":"tpm2","ekPublic":"!!!!","akPublic":"AAAA"}',
          400,
          'REQUEST_INVALID',
        ],
        ['/device/v1/attestation/keys', '{"format":"tpm2","ekPublic":"AAAA"}', 400, 'REQUEST_INVALID'],
        [
          '/device/v1/attestation/keys',
          '{"format":"tpm2","ekPublic":"AAAA","akPublic":"AAAA"}',
          400,
          'ATTESTATION_TPM_PUBLIC_MALFORMED',
        ],
        ['/device/v1/attestation/keys/not-a-uuid/activate', '{"secret":"AAAA"}', 400, 'REQUEST_INVALID'],
        [
          `/device/v1/attestation/keys/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}/activate`,
          '{"secret":"AAAA"}',
          404,
          'ATTESTATION_CHALLENGE_UNKNOWN',
        ],
      ];
      for (const [path, body, status, code] of cases) {
        const response = await post(path, body);
        assert.equal(response.status, status, `${path} ${body}: ${response.text}`);
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
        assert.equal(response.json.code, code, `${path} ${body}`);
      }
      const tooLarge = await post(
        '/device/v1/attestation/evidence',
        JSON.stringify({ format: 'tpm2-quote', evidence: { eventLog: 'A'.repeat(3 * 1024 * 1024 + 4) } }),
      );
      assert.equal(tooLarge.status, 413);
      assert.deepEqual({ attestations: await attestations(), keys: await boundKeys() }, before);
    });
  });
}
