import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { storeKinds } from '../support/stores.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';

const kinds = await storeKinds();

async function issuedCount(t: IdentityTestbed): Promise<number> {
  const row = await t.platform.store.db
    .selectFrom('certificates')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventsOf(t: IdentityTestbed, type: string): Promise<Record<string, any>[]> {
  const rows = await t.platform.store.db
    .selectFrom('ledger_entries')
    .select('leaf')
    .where('type', '=', type)
    .orderBy('idx')
    .execute();
  return rows.map((row) => JSON.parse(row.leaf.toString('utf8')));
}

for (const kind of kinds) {
  describe(`EST enrollment on ${kind}`, () => {
    let t: IdentityTestbed;
    before(async () => {
      t = await startIdentityTestbed(kind);
    });
    after(async () => t?.close());

    const enroll = (serial: string, secret: string, csrBase64: string) =>
      t.device('POST', '/.well-known/est/simpleenroll', {
        body: csrBase64,
        contentType: 'application/pkcs10',
        basic: `${serial}:${secret}`,
      });

    test('cacerts returns the root and the issuing CA as base64 certs-only PKCS#7 (RFC 7030 §4.1.3)', async () => {
      const response = await t.device('GET', '/.well-known/est/cacerts');
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^application\/pkcs7-mime/);
      const pem = pkcs7CertificatesPem(response.text, t.dir);
      assert.match(pem, /subject=.*Vigil Root CA/);
      assert.match(pem, /subject=CN ?= ?Infusion pump Issuing CA 1/);
    });

    test('csrattrs names the key and signature types to use, as base64 DER CsrAttrs (RFC 7030 §4.5.2)', async () => {
      const response = await t.device('GET', '/.well-known/est/csrattrs');
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^application\/csrattrs/);
      const der = join(t.dir, 'csrattrs.der');
      writeFileSync(der, Buffer.from(response.text.replace(/\s+/g, ''), 'base64'));
      const parsed = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-in', der]).toString();
      assert.match(parsed, /OBJECT +:ecdsa-with-SHA256/);
      assert.match(parsed, /OBJECT +:id-ecPublicKey/);
      assert.match(parsed, /OBJECT +:prime256v1/);
    });

    test('enrolls with a one-time secret, exactly once, and records the issuance', async () => {
      const { id, enrollmentSecret } = await t.register('SN-EST-1');
      const keys = t.makeKeys('SN-EST-1');
      const first = await enroll('SN-EST-1', enrollmentSecret!, keys.csrBase64);
      assert.equal(first.status, 200, first.text);
      assert.match(String(first.headers['content-type']), /application\/pkcs7-mime; smime-type=certs-only/);
      const certificate = new X509Certificate(pkcs7CertificatesPem(first.text, t.dir));
      assert.equal(certificate.subject, 'CN=SN-EST-1');
      assert.equal(certificate.subjectAltName, `URI:urn:vigil:device:${id}`);
      assert.equal(new Date(certificate.validFrom).getUTCMilliseconds(), 0);

      const before = await issuedCount(t);
      const again = await enroll('SN-EST-1', enrollmentSecret!, t.makeKeys('SN-EST-1').csrBase64);
      assert.equal(again.status, 401);
      assert.equal(again.json.code, 'EST_SECRET_USED');
      assert.equal(await issuedCount(t), before);

      const issued = (await eventsOf(t, 'certificate.issued')).find((event) => event.subject === id);
      assert.ok(issued);
      assert.equal(issued.details.serial, certificate.serialNumber.toLowerCase());
      assert.equal(issued.details.bootstrap, 'secret');
      assert.equal(issued.details.chain.length, 2);
    });

    test('a one-time secret works once even when two enrollments race', async () => {
      const { enrollmentSecret } = await t.register('SN-RACE');
      const results = await Promise.all(
        [1, 2, 3].map(() => enroll('SN-RACE', enrollmentSecret!, t.makeKeys('SN-RACE').csrBase64)),
      );
      assert.deepEqual(results.map((result) => result.status).sort(), [200, 401, 401]);
    });

    test('refuses bad requests with the RFC status and a problem code, issuing nothing', async () => {
      const { enrollmentSecret } = await t.register('SN-BAD');
      const good = t.makeKeys('SN-BAD');
      const before = await issuedCount(t);
      const refusedBefore = (await eventsOf(t, 'enrollment.refused')).length;
      const cases: [string, () => Promise<{ status: number; json: any }>, number, string][] = [
        [
          'malformed base64',
          () => enroll('SN-BAD', enrollmentSecret!, '%%%not base64%%%'),
          400,
          'EST_BASE64_INVALID',
        ],
        [
          'a CSR that is not DER',
          () => enroll('SN-BAD', enrollmentSecret!, Buffer.from('definitely not DER').toString('base64')),
          400,
          'X509_CSR_MALFORMED',
        ],
        [
          'a CSR with a bad signature',
          () => {
            const der = Buffer.from(good.csrBase64, 'base64');
            der[der.length - 5]! ^= 0x55;
            return enroll('SN-BAD', enrollmentSecret!, der.toString('base64'));
          },
          400,
          'EST_CSR_SIGNATURE_INVALID',
        ],
        [
          'a 1024-bit RSA key',
          () => enroll('SN-BAD', enrollmentSecret!, t.makeKeys('SN-BAD', ['genrsa', '1024']).csrBase64),
          400,
          'EST_KEY_NOT_ALLOWED',
        ],
        [
          'a CSR for another serial',
          () => enroll('SN-BAD', enrollmentSecret!, t.makeKeys('SN-OTHER').csrBase64),
          400,
          'EST_CSR_SUBJECT_MISMATCH',
        ],
        ['a wrong secret', () => enroll('SN-BAD', 'wrong-secret', good.csrBase64), 401, 'EST_AUTH_FAILED'],
        [
          'an unknown serial',
          () => enroll('SN-NOBODY', enrollmentSecret!, good.csrBase64),
          401,
          'EST_AUTH_FAILED',
        ],
        [
          'no credential at all',
          () =>
            t.device('POST', '/.well-known/est/simpleenroll', {
              body: good.csrBase64,
              contentType: 'application/pkcs10',
            }),
          401,
          'EST_AUTH_REQUIRED',
        ],
        [
          'the wrong media type',
          () =>
            t.device('POST', '/.well-known/est/simpleenroll', {
              body: good.csrBase64,
              contentType: 'text/plain',
              basic: `SN-BAD:${enrollmentSecret!}`,
            }),
          415,
          'EST_CONTENT_TYPE_INVALID',
        ],
        [
          'an oversized body',
          () => enroll('SN-BAD', enrollmentSecret!, 'A'.repeat(70 * 1024)),
          413,
          'REQUEST_TOO_LARGE',
        ],
      ];
      for (const [name, send, status, code] of cases) {
        const response = await send();
        assert.equal(response.status, status, `${name}: ${JSON.stringify(response.json)}`);
        assert.equal(response.json?.code, code, name);
      }
      assert.equal(await issuedCount(t), before, 'nothing was issued');
      assert.ok(
        (await eventsOf(t, 'enrollment.refused')).length >= refusedBefore + 7,
        'refusals are ledger events',
      );
      // The device can still enroll afterwards: nothing above consumed its secret.
      assert.equal((await enroll('SN-BAD', enrollmentSecret!, good.csrBase64)).status, 200);
    });

    test('refuses an expired secret and a revoked or decommissioned device', async () => {
      const expiring = await t.register('SN-EXPIRE', { method: 'secret', expiresInDays: 1 });
      t.clock.advance(2 * 86_400_000);
      try {
        const response = await enroll(
          'SN-EXPIRE',
          expiring.enrollmentSecret!,
          t.makeKeys('SN-EXPIRE').csrBase64,
        );
        assert.equal(response.status, 401);
        assert.equal(response.json.code, 'EST_SECRET_EXPIRED');
      } finally {
        t.clock.reset();
      }
      const revoked = await t.register('SN-REVOKED');
      assert.equal(
        (await t.admin('POST', `/api/v1/devices/${revoked.id}/revoke`, { reason: 'keyCompromise' })).status,
        200,
      );
      const refused = await enroll(
        'SN-REVOKED',
        revoked.enrollmentSecret!,
        t.makeKeys('SN-REVOKED').csrBase64,
      );
      assert.equal(refused.status, 403);
      assert.equal(refused.json.code, 'EST_DEVICE_REVOKED');
      const retired = await t.register('SN-RETIRED');
      assert.equal(
        (
          await t.admin('POST', `/api/v1/devices/${retired.id}/decommission`, {
            wipeConfirmation: { confirmedBy: 'operator', method: 'factory reset' },
          })
        ).status,
        200,
      );
      const gone = await enroll('SN-RETIRED', retired.enrollmentSecret!, t.makeKeys('SN-RETIRED').csrBase64);
      assert.equal(gone.status, 403);
      assert.equal(gone.json.code, 'EST_DEVICE_DECOMMISSIONED');
    });

    test('decommissions without a wipe confirmation (pending) and records it later, once', async () => {
      const { id } = await t.register('SN-PENDING-WIPE');
      const retired = await t.admin('POST', `/api/v1/devices/${id}/decommission`);
      assert.equal(retired.status, 200, JSON.stringify(retired.json));
      assert.equal(retired.json.status, 'decommissioned');
      assert.equal(retired.json.wipeConfirmation, null);
      const confirmed = await t.admin('POST', `/api/v1/devices/${id}/wipe-confirmation`, {
        confirmedBy: 'device',
        method: 'secure erase',
      });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
      assert.equal(confirmed.json.wipeConfirmation.method, 'secure erase');
      const again = await t.admin('POST', `/api/v1/devices/${id}/wipe-confirmation`, {
        confirmedBy: 'operator',
        method: 'other',
      });
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'IDENTITY_WIPE_ALREADY_CONFIRMED');
      const types = (await eventsOf(t, 'device.wipe-confirmed')).filter((event) => event.subject === id);
      assert.equal(types.length, 1);
      const decommissioned = (await eventsOf(t, 'device.decommissioned')).find(
        (event) => event.subject === id,
      );
      assert.equal(decommissioned?.details.wipe, 'pending');
    });

    test('re-enrolls with the current certificate, keeps the subject, and refuses once revoked', async () => {
      const { id, enrollmentSecret } = await t.register('SN-RENEW');
      const keys = t.makeKeys('SN-RENEW');
      const certPem = pkcs7CertificatesPem(
        (await enroll('SN-RENEW', enrollmentSecret!, keys.csrBase64)).text,
        t.dir,
      );
      const whoami = await t.device('GET', '/device/v1/whoami', { cert: certPem, key: keys.keyPem });
      assert.equal(whoami.status, 200, whoami.text);
      assert.equal(whoami.json.deviceId, id);
      assert.ok(whoami.json.certificate.renewFrom < whoami.json.certificate.notAfter);

      const rekey = t.makeKeys('SN-RENEW');
      const renewed = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: rekey.csrBase64,
        contentType: 'application/pkcs10',
        cert: certPem,
        key: keys.keyPem,
      });
      assert.equal(renewed.status, 200, renewed.text);
      const renewedPem = pkcs7CertificatesPem(renewed.text, t.dir);
      assert.equal(new X509Certificate(renewedPem).subject, 'CN=SN-RENEW');
      const wrongSubject = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: t.makeKeys('SN-SOMEONE-ELSE').csrBase64,
        contentType: 'application/pkcs10',
        cert: renewedPem,
        key: rekey.keyPem,
      });
      assert.equal(wrongSubject.status, 400);
      assert.equal(wrongSubject.json.code, 'EST_CSR_SUBJECT_MISMATCH');

      const serial = new X509Certificate(renewedPem).serialNumber.toLowerCase();
      assert.equal(
        (await t.admin('POST', `/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' })).status,
        200,
      );
      const refused = await t.device('GET', '/device/v1/whoami', { cert: renewedPem, key: rekey.keyPem });
      assert.equal(refused.status, 401);
      assert.equal(refused.json.code, 'DEVICE_CERTIFICATE_REVOKED');
      // The older certificate was not revoked, and still works.
      assert.equal(
        (await t.device('GET', '/device/v1/whoami', { cert: certPem, key: keys.keyPem })).status,
        200,
      );
    });

    test('device routes refuse no certificate and a certificate from an unknown CA', async () => {
      const none = await t.device('GET', '/device/v1/whoami');
      assert.equal(none.status, 401);
      assert.equal(none.json.code, 'DEVICE_CERTIFICATE_MISSING');
      const key = join(t.dir, 'stranger.key');
      execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
      const cert = execFileSync('openssl', [
        'req',
        '-new',
        '-x509',
        '-key',
        key,
        '-subj',
        '/CN=SN-EST-1',
        '-days',
        '2',
      ]).toString();
      const stranger = await t.device('GET', '/device/v1/whoami', {
        cert,
        key: execFileSync('cat', [key]).toString(),
      });
      assert.equal(stranger.status, 401);
      assert.equal(stranger.json.code, 'DEVICE_CERTIFICATE_UNKNOWN');
      const reenroll = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: t.makeKeys('SN-EST-1').csrBase64,
        contentType: 'application/pkcs10',
        cert,
        key: execFileSync('cat', [key]).toString(),
      });
      assert.equal(reenroll.status, 401);
    });

    test('enrolls with a registered IDevID certificate presented in TLS', async () => {
      const dir = t.dir;
      const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir });
      run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'mfg.key');
      run(
        'req',
        '-new',
        '-x509',
        '-key',
        'mfg.key',
        '-subj',
        '/CN=Manufacturer Root',
        '-days',
        '3650',
        '-out',
        'mfg.pem',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
      );
      run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'idevid.key');
      run('req', '-new', '-key', 'idevid.key', '-subj', '/CN=SN-IDEVID', '-out', 'idevid.csr');
      run(
        'x509',
        '-req',
        '-in',
        'idevid.csr',
        '-CA',
        'mfg.pem',
        '-CAkey',
        'mfg.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-out',
        'idevid.pem',
      );
      const chain = [
        execFileSync('cat', [join(dir, 'idevid.pem')]).toString(),
        execFileSync('cat', [join(dir, 'mfg.pem')]).toString(),
      ];
      const registered = await t.register('SN-IDEVID', { method: 'idevid', chain });
      assert.equal(registered.enrollmentSecret, undefined);
      const keys = t.makeKeys('SN-IDEVID');
      const response = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        cert: chain[0],
        key: execFileSync('cat', [join(dir, 'idevid.key')]).toString(),
      });
      assert.equal(response.status, 200, response.text);
      assert.equal(new X509Certificate(pkcs7CertificatesPem(response.text, dir)).subject, 'CN=SN-IDEVID');
      const issued = (await eventsOf(t, 'certificate.issued')).find(
        (event) => event.subject === registered.id,
      );
      assert.equal(issued?.details.bootstrap, 'idevid');
      writeFileSync(join(dir, 'unused'), '');
    });
  });
}
