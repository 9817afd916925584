import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { storeKinds } from '../support/stores.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { crlUrlOf, must, ocspUrlOf, requireCommands, run, splitPem } from '../support/pki-peers.ts';

/**
 * Rotating a product's issuing CA: the old CA keeps validating (TLS, openssl, CRL, OCSP) what it
 * issued, while every new issuance (enrollment and renewal) comes from the new CA.
 */

const kinds = await storeKinds();

interface Enrolled {
  id: string;
  serial: string;
  certPem: string;
  certFile: string;
  keyPem: string;
  keyFile: string;
  serialHex: string;
}

/** How long after a rotation the device endpoint may take to trust the new CA (refresh every 2 s). */
const trustRefreshBudgetMs = 3500;

for (const kind of kinds) {
  describe(`issuing CA rotation on ${kind}`, () => {
    let t: IdentityTestbed;
    let oldCaId: string;
    let newCaId: string;
    let rotatedAt: number;
    let rotation: { status: number; json: any };
    let old: Enrolled;
    let victim: Enrolled;
    let counter = 0;

    before(async () => {
      t = await startIdentityTestbed(kind);
    });
    after(async () => t?.close());

    const file = (name: string, content: string) => {
      const path = join(t.dir, `${name}-${++counter}`);
      writeFileSync(path, content);
      return path;
    };

    const enroll = async (serial: string): Promise<Enrolled> => {
      const { id, enrollmentSecret } = await t.register(serial);
      const keys = t.makeKeys(serial);
      const response = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        basic: `${serial}:${enrollmentSecret!}`,
      });
      assert.equal(response.status, 200, response.text);
      const certPem = pkcs7CertificatesPem(response.text, t.dir);
      return {
        id,
        serial,
        certPem,
        certFile: file(`${serial}.pem`, certPem),
        keyPem: keys.keyPem,
        keyFile: keys.keyFile,
        serialHex: new X509Certificate(certPem).serialNumber.toLowerCase(),
      };
    };

    const whoami = (device: { certPem: string; keyPem: string }) =>
      t.device('GET', '/device/v1/whoami', { cert: device.certPem, key: device.keyPem });

    /** Polls whoami until it answers 200 (the trust list refreshes every 2 s); returns the answer. */
    const whoamiOnceTrusted = async (device: { certPem: string; keyPem: string }) => {
      for (;;) {
        const response = await whoami(device);
        if (response.status === 200 || Date.now() - rotatedAt > trustRefreshBudgetMs) return response;
        assert.equal(response.json?.code, 'DEVICE_CERTIFICATE_UNKNOWN', response.text);
        await new Promise((wake) => setTimeout(wake, 100));
      }
    };

    /** The /cacerts bundle as openssl reads it: the root (self-signed) and the issuing CAs. */
    const caCerts = async () => {
      const response = await t.device('GET', '/.well-known/est/cacerts');
      assert.equal(response.status, 200);
      const certificates = splitPem(pkcs7CertificatesPem(response.text, t.dir));
      const parsed = certificates.map((pem) => ({ pem, x509: new X509Certificate(pem) }));
      const roots = parsed.filter((one) => one.x509.subject === one.x509.issuer);
      const issuing = parsed.filter((one) => one.x509.subject !== one.x509.issuer);
      return { certificates, roots, issuing };
    };

    const issuerCn = (certPem: string) => /CN=([^\n]+)/.exec(new X509Certificate(certPem).issuer)?.[1];

    let ready: Promise<void> | undefined;
    const setup = () =>
      (ready ??= (async () => {
        old = await enroll('SN-ROT-OLD');
        victim = await enroll('SN-ROT-VICTIM');
        assert.equal(issuerCn(old.certPem), 'Infusion pump Issuing CA 1');
        const cas = await t.admin('GET', '/api/v1/cas');
        const issuing = cas.json.cas.filter((ca: any) => ca.kind === 'issuing');
        assert.equal(issuing.length, 1);
        oldCaId = issuing[0].id;
        rotation = await t.admin('POST', `/api/v1/products/${t.productId}/ca/rotate`, {});
        rotatedAt = Date.now();
        assert.equal(rotation.status, 201, JSON.stringify(rotation.json));
        newCaId = rotation.json.id;
      })());

    test('rotation answers 201 with "Issuing CA 2", keeps the old CA as retiring and records ca.rotated with previous', async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      assert.equal(rotation.json.name, 'Infusion pump Issuing CA 2');
      assert.equal(rotation.json.kind, 'issuing');
      assert.equal(rotation.json.status, 'active');
      assert.notEqual(newCaId, oldCaId);
      const cas = (await t.admin('GET', '/api/v1/cas')).json.cas as any[];
      assert.equal(cas.find((ca) => ca.id === oldCaId)?.status, 'retiring');
      assert.equal(cas.find((ca) => ca.id === newCaId)?.status, 'active');

      const rows = await t.platform.store.db
        .selectFrom('ledger_entries')
        .select('leaf')
        .where('type', '=', 'ca.rotated')
        .execute();
      const events = rows.map((row) => JSON.parse(row.leaf.toString('utf8')));
      assert.equal(events.length, 1);
      assert.equal(events[0].subject, newCaId);
      assert.equal(events[0].details.previous, oldCaId);
      assert.equal(events[0].details.kind, 'issuing');
      assert.equal(events[0].details.product, t.productId);
    });

    test('/cacerts returns the root and both issuing CAs, and openssl chains each issuing CA to the root', async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      const { certificates, roots, issuing } = await caCerts();
      assert.equal(certificates.length, 3);
      assert.equal(roots.length, 1);
      assert.deepEqual(issuing.map((one) => one.x509.subject).sort(), [
        'CN=Infusion pump Issuing CA 1',
        'CN=Infusion pump Issuing CA 2',
      ]);
      const rootFile = file('root.pem', roots[0]!.pem);
      for (const one of issuing) {
        const verified = await run('openssl', ['verify', '-CAfile', rootFile, file('ca.pem', one.pem)]);
        assert.equal(verified.status, 0, verified.output);
      }
    });

    test('the old certificate still authenticates on whoami and verifies with openssl against the new bundle', async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      const response = await whoami(old);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.json.deviceId, old.id);
      assert.equal(response.json.certificate.serial, old.serialHex);

      const { roots, issuing } = await caCerts();
      const rootFile = file('root.pem', roots[0]!.pem);
      const bothIssuing = file('issuing-both.pem', issuing.map((one) => one.pem).join(''));
      const verified = await run('openssl', [
        'verify',
        '-CAfile',
        rootFile,
        '-untrusted',
        bothIssuing,
        old.certFile,
      ]);
      assert.equal(verified.status, 0, verified.output);
      assert.match(verified.stdout, /: OK$/m);
      // Control: with the new issuing CA alone, the old certificate has no chain.
      const onlyNew = issuing.find((one) => one.x509.subject.endsWith('Issuing CA 2'))!;
      const without = await run('openssl', [
        'verify',
        '-CAfile',
        rootFile,
        '-untrusted',
        file('issuing-new.pem', onlyNew.pem),
        old.certFile,
      ]);
      assert.notEqual(without.status, 0, without.output);
    });

    test('a re-enrollment with the old certificate is issued by the new issuing CA', async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      const rekey = t.makeKeys(old.serial);
      const renewed = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: rekey.csrBase64,
        contentType: 'application/pkcs10',
        cert: old.certPem,
        key: old.keyPem,
      });
      assert.equal(renewed.status, 200, renewed.text);
      const certPem = pkcs7CertificatesPem(renewed.text, t.dir);
      assert.equal(issuerCn(certPem), 'Infusion pump Issuing CA 2');
      assert.equal(new X509Certificate(certPem).subject, `CN=${old.serial}`);
      const serialHex = new X509Certificate(certPem).serialNumber.toLowerCase();
      const row = await t.platform.store.db
        .selectFrom('certificates')
        .select(['ca_id', 'issued_via'])
        .where('serial', '=', serialHex)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { ca_id: newCaId, issued_via: 'reenroll' });
      const response = await whoamiOnceTrusted({ certPem, keyPem: rekey.keyPem });
      assert.equal(response.status, 200, `the new CA is trusted within ~2 s: ${response.text}`);
      assert.equal(response.json.certificate.serial, serialHex);
    });

    test('a fresh device enrolls under the new issuing CA and its chain verifies with openssl', async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      const fresh = await enroll('SN-ROT-FRESH');
      assert.equal(issuerCn(fresh.certPem), 'Infusion pump Issuing CA 2');
      const { roots, issuing } = await caCerts();
      const onlyNew = issuing.find((one) => one.x509.subject.endsWith('Issuing CA 2'))!;
      const verified = await run('openssl', [
        'verify',
        '-CAfile',
        file('root.pem', roots[0]!.pem),
        '-untrusted',
        file('issuing-new.pem', onlyNew.pem),
        fresh.certFile,
      ]);
      assert.equal(verified.status, 0, verified.output);
      const response = await whoamiOnceTrusted(fresh);
      assert.equal(response.status, 200, `the new CA is trusted within ~2 s: ${response.text}`);
      assert.equal(response.json.deviceId, fresh.id);
    });

    test("revoking an old-CA certificate puts it on the old CA's CRL and openssl ocsp says revoked", async (tc) => {
      if (!requireCommands(tc, 'openssl')) return;
      await setup();
      const { certificates, issuing } = await caCerts();
      const bundleFile = file('bundle.pem', certificates.join(''));
      const oldIssuingFile = file(
        'issuing-old.pem',
        issuing.find((one) => one.x509.subject.endsWith('Issuing CA 1'))!.pem,
      );
      // The device endpoint answers OCSP (as the brief of this suite asks), and so does the URL the
      // certificate names (wherever that listener is): both must agree.
      const ocspUrls = [...new Set([`${t.deviceUrl}/ocsp`, await ocspUrlOf(victim.certFile)])];
      assert.match(await crlUrlOf(victim.certFile), new RegExp(`/crl/${oldCaId}\\.crl$`));
      const ocsp = (certFile: string, url: string) =>
        run('openssl', [
          'ocsp',
          '-issuer',
          oldIssuingFile,
          '-cert',
          certFile,
          '-url',
          url,
          '-CAfile',
          bundleFile,
        ]);
      for (const url of ocspUrls) {
        const good = await ocsp(victim.certFile, url);
        assert.equal(good.status, 0, good.output);
        assert.match(good.output, /Response verify OK/);
        assert.match(good.stdout, /: good\n/, url);
      }

      const revoked = await t.admin('POST', `/api/v1/certificates/${victim.serialHex}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
      const refused = await whoami(victim);
      assert.equal(refused.status, 401);
      assert.equal(refused.json.code, 'DEVICE_CERTIFICATE_REVOKED');

      const crl = await t.device('GET', `/crl/${oldCaId}.crl`);
      assert.equal(crl.status, 200);
      assert.match(String(crl.headers['content-type']), /^application\/pkix-crl/);
      const crlFile = file('old.crl', '');
      writeFileSync(crlFile, crl.body);
      const crlText = await must('openssl', [
        'crl',
        '-inform',
        'DER',
        '-in',
        crlFile,
        '-CAfile',
        bundleFile,
        '-noout',
        '-text',
      ]);
      assert.match(crlText.output, /verify OK/);
      assert.match(crlText.stdout, /Issuer: CN ?= ?Infusion pump Issuing CA 1/);
      assert.match(
        crlText.stdout,
        new RegExp(
          `Serial Number: ${victim.serialHex.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
        ),
      );
      assert.doesNotMatch(crlText.stdout, new RegExp(old.serialHex.toUpperCase()));
      // The new CA did not issue it: its CRL does not name it.
      const newCrl = await t.device('GET', `/crl/${newCaId}.crl`);
      assert.equal(newCrl.status, 200);
      const newCrlFile = file('new.crl', '');
      writeFileSync(newCrlFile, newCrl.body);
      const newCrlText = await must('openssl', [
        'crl',
        '-inform',
        'DER',
        '-in',
        newCrlFile,
        '-noout',
        '-text',
      ]);
      assert.match(newCrlText.stdout, /Issuer: CN ?= ?Infusion pump Issuing CA 2/);
      assert.doesNotMatch(newCrlText.stdout, new RegExp(victim.serialHex.toUpperCase()));

      for (const url of ocspUrls) {
        const revokedNow = await ocsp(victim.certFile, url);
        assert.equal(revokedNow.status, 0, revokedNow.output);
        assert.match(revokedNow.output, /Response verify OK/);
        assert.match(revokedNow.stdout, /: revoked\n/, url);
        assert.match(revokedNow.stdout, /Reason: keyCompromise/);
        // The old CA's other certificate is still good.
        const other = await ocsp(old.certFile, url);
        assert.match(other.output, /Response verify OK/);
        assert.match(other.stdout, /: good\n/, url);
      }
    });
  });
}
