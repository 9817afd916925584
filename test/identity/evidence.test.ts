import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJsonBytes } from '../../src/core/index.ts';
import { leafHash, openCheckpoint, verifyInclusionProof } from '../../src/ledger/verify/index.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { storeKinds } from '../support/stores.ts';

const kinds = await storeKinds();
const day = 86_400_000;

interface Issued {
  pem: string;
  keyPem: string;
  serial: string;
  certificate: X509Certificate;
}

for (const kind of kinds) {
  describe(`identity evidence on ${kind}`, () => {
    let t: IdentityTestbed;
    let deviceId: string;
    let enrolled: Issued;
    let renewed: Issued;
    let report: any;

    async function enroll(serial: string, secret: string): Promise<Issued> {
      const keys = t.makeKeys(serial);
      const response = await t.device('POST', '/.well-known/est/simpleenroll', {
        body: keys.csrBase64,
        contentType: 'application/pkcs10',
        basic: `${serial}:${secret}`,
      });
      assert.equal(response.status, 200, response.text);
      const pem = pkcs7CertificatesPem(response.text, t.dir);
      const certificate = new X509Certificate(pem);
      return { pem, keyPem: keys.keyPem, serial: certificate.serialNumber.toLowerCase(), certificate };
    }

    /** `openssl verify` of a leaf against the root of its chain, with the issuing CA as untrusted. */
    function opensslVerify(name: string, pem: string, chain: string[]): string {
      const leafFile = join(t.dir, `${name}.pem`);
      const issuingFile = join(t.dir, `${name}-issuing.pem`);
      const rootFile = join(t.dir, `${name}-root.pem`);
      writeFileSync(leafFile, pem);
      writeFileSync(issuingFile, chain[0]!);
      writeFileSync(rootFile, chain[1]!);
      return execFileSync('openssl', ['verify', '-CAfile', rootFile, '-untrusted', issuingFile, leafFile], {
        stdio: 'pipe',
      }).toString();
    }

    before(async () => {
      t = await startIdentityTestbed(kind);
      const registered = await t.register('SN-EVIDENCE-1');
      deviceId = registered.id;
      enrolled = await enroll('SN-EVIDENCE-1', registered.enrollmentSecret!);
      // Certificates are ordered by issue time in whole seconds: let the renewal land in a later second.
      await sleep(1100);
      const rekey = t.makeKeys('SN-EVIDENCE-1');
      const response = await t.device('POST', '/.well-known/est/simplereenroll', {
        body: rekey.csrBase64,
        contentType: 'application/pkcs10',
        cert: enrolled.pem,
        key: enrolled.keyPem,
      });
      assert.equal(response.status, 200, response.text);
      const pem = pkcs7CertificatesPem(response.text, t.dir);
      const certificate = new X509Certificate(pem);
      renewed = { pem, keyPem: rekey.keyPem, serial: certificate.serialNumber.toLowerCase(), certificate };
      // The enrollment certificate is superseded by its renewal.
      const revoked = await t.admin('POST', `/api/v1/certificates/${enrolled.serial}/revoke`, {
        reason: 'superseded',
      });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
      await t.platform.ledger.integrate();
      const identity = await t.admin('GET', `/api/v1/devices/${deviceId}/identity`);
      assert.equal(identity.status, 200, JSON.stringify(identity.json));
      report = identity.json;
    });
    after(async () => t?.close());

    test('the identity report lists the current and the past certificate, newest first, with PEM and a chain openssl verifies', async () => {
      assert.equal(report.device.id, deviceId);
      assert.deepEqual(
        report.certificates.map((c: any) => [c.serial, c.issuedVia, c.status, c.revocationReason]),
        [
          [renewed.serial, 'reenroll', 'valid', null],
          [enrolled.serial, 'enroll', 'revoked', 'superseded'],
        ],
      );
      const roots = (await t.caPem()).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
      for (const [position, certificate] of report.certificates.entries()) {
        const issued = position === 0 ? renewed : enrolled;
        const parsed = new X509Certificate(certificate.pem);
        assert.ok(parsed.raw.equals(issued.certificate.raw), 'the PEM is the issued certificate');
        assert.equal(certificate.subject, 'CN=SN-EVIDENCE-1');
        assert.equal(certificate.notBefore, new Date(parsed.validFrom).toISOString().replace('.000', ''));
        assert.equal(certificate.notAfter, new Date(parsed.validTo).toISOString().replace('.000', ''));
        assert.equal(certificate.chain.length, 2, 'issuing CA and root');
        const root = new X509Certificate(certificate.chain[1]);
        assert.ok(root.checkIssued(root), 'the chain ends at a self-signed root');
        assert.ok(
          roots.some((pem) => new X509Certificate(pem).raw.equals(root.raw)),
          'the chain ends at the installation root',
        );
        assert.match(opensslVerify(`evidence-${position}`, certificate.pem, certificate.chain), /: OK\n$/);
      }
      // openssl is not merely agreeing with anything: the leaf against the wrong anchor fails.
      assert.throws(() =>
        opensslVerify('evidence-wrong', report.certificates[0].pem, [
          report.certificates[0].chain[1],
          report.certificates[0].chain[1],
        ]),
      );
    });

    test('the identity report states the bootstrap method, enrollment time and revocation state', async () => {
      assert.equal(report.bootstrapMethod, 'secret');
      assert.equal(report.certificates[1].bootstrapMethod, 'secret');
      assert.equal(report.certificates[0].bootstrapMethod, 'certificate');
      assert.equal(report.enrolledAt, report.certificates[1].notBefore, 'enrolled when first issued');
      assert.deepEqual(report.revocation, { revoked: false, at: null, reason: null });
      assert.equal(report.device.status, 'enrolled');

      const revoked = await t.admin('POST', `/api/v1/devices/${deviceId}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(revoked.status, 200);
      const after = (await t.admin('GET', `/api/v1/devices/${deviceId}/identity`)).json;
      assert.equal(after.revocation.revoked, true);
      assert.equal(after.revocation.reason, 'keyCompromise');
      assert.equal(after.revocation.at, revoked.json.revokedAt);
      assert.deepEqual(
        after.certificates.map((c: any) => [c.serial, c.status, c.revocationReason]),
        [
          [renewed.serial, 'revoked', 'keyCompromise'],
          [enrolled.serial, 'revoked', 'superseded'],
        ],
      );
      assert.equal(after.enrolledAt, report.enrolledAt, 'revocation keeps the enrollment time');
      // Not yet checkpointed: the new event is listed without a proof rather than with a wrong one.
      const last = after.events.at(-1);
      assert.equal(last.type, 'device.revoked');
      if (after.checkpoint === null || last.index >= after.checkpoint.size)
        assert.equal(last.inclusionProof, null);
    });

    test('every event of the device carries an inclusion proof that verifies against the signed checkpoint', async () => {
      assert.deepEqual(
        report.events.map((event: any) => event.type),
        ['device.registered', 'certificate.issued', 'certificate.renewed', 'certificate.revoked'],
      );
      assert.ok(report.checkpoint !== null);
      const checkpoint = openCheckpoint(report.checkpoint.note, t.platform.ledger.verifierKey);
      assert.equal(checkpoint.size, report.checkpoint.size);
      const stored = await t.platform.store.db
        .selectFrom('ledger_entries')
        .select(['idx', 'leaf_hash'])
        .where('subject', '=', deviceId)
        .orderBy('idx')
        .execute();
      for (const [position, event] of report.events.entries()) {
        assert.equal(event.entry.subject, deviceId);
        assert.equal(event.entry.index, event.index);
        assert.equal(event.entry.type, event.type);
        assert.equal(event.entry.at, event.at);
        const hash = leafHash(canonicalJsonBytes(event.entry));
        assert.equal(Number(stored[position]!.idx), event.index);
        assert.ok(Buffer.from(stored[position]!.leaf_hash).equals(hash), 'leaf hash of the canonical JSON');
        assert.ok(event.inclusionProof !== null, `${event.type} is checkpointed`);
        assert.equal(event.inclusionProof.treeSize, checkpoint.size);
        const proof = event.inclusionProof.hashes.map((h: string) => Buffer.from(h, 'base64'));
        verifyInclusionProof({
          leafHash: hash,
          index: event.index,
          size: checkpoint.size,
          proof,
          root: checkpoint.rootHash,
        });
        // A doctored entry does not verify against the same proof.
        const forged = leafHash(canonicalJsonBytes({ ...event.entry, type: `${event.type}x` }));
        assert.throws(
          () =>
            verifyInclusionProof({
              leafHash: forged,
              index: event.index,
              size: checkpoint.size,
              proof,
              root: checkpoint.rootHash,
            }),
          { code: 'LEDGER_PROOF_INVALID' },
        );
      }
      const issued = report.events[1].entry.details;
      assert.equal(issued.serial, enrolled.serial);
      assert.equal(report.events[2].entry.details.renews, enrolled.serial);
      assert.equal(report.events[3].entry.details.reason, 'superseded');
      // The checkpoint is signed by the ledger key: another key refuses it.
      assert.throws(() =>
        openCheckpoint(
          report.checkpoint.note,
          t.platform.ledger.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'),
        ),
      );
    });
  });
}

describe('identity expiry watch and certificate profiles', () => {
  let t: IdentityTestbed;
  before(async () => {
    t = await startIdentityTestbed('sqlite');
  });
  after(async () => t?.close());

  async function enroll(serial: string): Promise<X509Certificate> {
    const { enrollmentSecret } = await t.register(serial);
    const keys = t.makeKeys(serial);
    const response = await t.device('POST', '/.well-known/est/simpleenroll', {
      body: keys.csrBase64,
      contentType: 'application/pkcs10',
      basic: `${serial}:${enrollmentSecret}`,
    });
    assert.equal(response.status, 200, response.text);
    return new X509Certificate(pkcs7CertificatesPem(response.text, t.dir));
  }

  test('expiring lists valid certificates within the period with renewFrom = notAfter - renewal window, and none within 1d', async () => {
    const certificate = await enroll('SN-EXPIRY-1');
    const serial = certificate.serialNumber.toLowerCase();
    const notAfter = new Date(certificate.validTo);
    assert.ok(Math.abs(notAfter.getTime() - new Date(certificate.validFrom).getTime() - 365 * day) < 2000);

    const wide = await t.admin('GET', '/api/v1/identity/expiring?within=400d');
    assert.equal(wide.status, 200, JSON.stringify(wide.json));
    const entry = wide.json.certificates.find((c: any) => c.serial === serial);
    assert.ok(entry, 'the device certificate is listed');
    assert.equal(entry.deviceSerial, 'SN-EXPIRY-1');
    assert.equal(entry.productId, t.productId);
    assert.equal(new Date(entry.notAfter).getTime(), notAfter.getTime());
    assert.equal(
      new Date(entry.renewFrom).getTime(),
      notAfter.getTime() - 30 * day,
      'default window 30 days',
    );

    for (const within of ['1d', '364d']) {
      const narrow = await t.admin('GET', `/api/v1/identity/expiring?within=${within}`);
      assert.equal(narrow.status, 200);
      assert.deepEqual(narrow.json.certificates, [], `nothing expires within ${within}`);
    }
    const bad = await t.admin('GET', '/api/v1/identity/expiring?within=soon');
    assert.equal(bad.status, 400);
  });

  test('a changed profile (30-day validity, 7-day window) applies to the next enrollment and its renewFrom', async () => {
    const changed = await t.admin('PATCH', `/api/v1/products/${t.productId}/certificate-profile`, {
      validityDays: 30,
      renewalWindowDays: 7,
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    assert.equal(changed.json.validityDays, 30);
    assert.equal(changed.json.renewalWindowDays, 7);
    assert.equal(changed.json.version, 1, 'the first change makes version 1');
    const shown = await t.admin('GET', `/api/v1/products/${t.productId}/certificate-profile`);
    assert.deepEqual(shown.json, changed.json);

    const certificate = await enroll('SN-EXPIRY-30');
    const notBefore = new Date(certificate.validFrom).getTime();
    const notAfter = new Date(certificate.validTo).getTime();
    assert.equal(notAfter - notBefore, 30 * day, 'a 30-day certificate');

    const soon = await t.admin('GET', '/api/v1/identity/expiring?within=31d');
    assert.deepEqual(
      soon.json.certificates.map((c: any) => [c.serial, c.deviceSerial, c.renewFrom]),
      [
        [
          certificate.serialNumber.toLowerCase(),
          'SN-EXPIRY-30',
          new Date(notAfter - 7 * day).toISOString().replace('.000', ''),
        ],
      ],
    );

    const invalid = await t.admin('PATCH', `/api/v1/products/${t.productId}/certificate-profile`, {
      renewalWindowDays: 30,
    });
    assert.equal(invalid.status, 400, 'a window as long as the validity is refused');
    assert.equal(invalid.json.code, 'IDENTITY_PROFILE_INVALID');
  });
});
