import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import type { KeyAlgorithm } from '../../../src/identity/keystore/index.ts';
import { DerReader } from '../../../src/identity/x509/der.ts';
import { parseCertificate } from '../../../src/identity/x509/certificate.ts';
import { LeafCertificateTemplate, describeCertificate } from '../../../src/identity/x509/index.ts';
import {
  assertNoFractionalSeconds,
  createHierarchy,
  day,
  generateTestKey,
  needOpenssl,
  nextSerial,
  openssl,
  scratch,
  writePem,
} from './fixtures.ts';

const deviceUri = 'urn:vigil:device:01900000-0000-7000-8000-000000000001';

function deviceKey(kind: 'p256' | 'p384' | 'rsa2048'): Buffer {
  const pair =
    kind === 'rsa2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'prime256v1' : 'secp384r1' });
  return pair.publicKey.export({ format: 'der', type: 'spki' });
}

describe('LeafCertificateTemplate', () => {
  for (const issuingAlgorithm of ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072'] as KeyAlgorithm[]) {
    it(`issues device certificates that openssl verifies for client auth under a ${issuingAlgorithm} issuing CA`, async (t) => {
      if (!needOpenssl(t)) return;
      const s = scratch(t);
      const h = await createHierarchy({ issuingAlgorithm });
      writePem(s, 'root.pem', h.root);
      writePem(s, 'issuing.pem', h.issuing);
      const notBefore = new Date(Date.now() - 1234);
      const leaf = await h.template.issue({
        serial: Buffer.from('00ff000000000000000000000000000001', 'hex'),
        commonName: 'SN-000042',
        publicKey: deviceKey('p256'),
        sanUri: deviceUri,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * day + 999),
      });
      writePem(s, 'leaf.pem', leaf);
      const verified = openssl(
        ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'leaf.pem'],
        { cwd: s.dir },
      );
      assert.equal(verified.status, 0, verified.output);
      assert.match(verified.stdout, /leaf.pem: OK/);
      const text = openssl(['x509', '-inform', 'DER', '-noout', '-text'], { input: leaf }).stdout;
      assert.match(text, /Serial Number:\s+ff:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01/);
      assert.match(text, /Subject: CN = SN-000042/);
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
      assert.match(text, /Extended Key Usage:\s+TLS Web Client Authentication/);
      assert.match(text, /URI:http:\/\/127.0.0.1:8080\/crl\/test.crl/);
      assert.match(text, /OCSP - URI:http:\/\/127.0.0.1:8080\/ocsp/);
      assert.match(text, new RegExp(`URI:${deviceUri}`));
      assertNoFractionalSeconds(leaf);
      const summary = describeCertificate(leaf);
      assert.equal(summary.notBefore.getTime(), Math.floor(notBefore.getTime() / 1000) * 1000);
    });
  }

  it('copies the issuer Name byte-exact and sets AKI to the issuer SKI and SKI by RFC 5280 §4.2.1.2 method 1', async () => {
    const h = await createHierarchy();
    const publicKey = deviceKey('p384');
    const leaf = await h.template.issue({
      serial: nextSerial(),
      commonName: 'SN-1',
      publicKey,
      sanUri: deviceUri,
      notBefore: h.notBefore,
      notAfter: new Date(h.notBefore.getTime() + day),
    });
    const parsedLeaf = parseCertificate(leaf);
    const parsedIssuer = parseCertificate(h.issuing);
    assert.deepEqual(parsedLeaf.issuerName, parsedIssuer.subjectName);
    assert.deepEqual(parsedLeaf.publicKey.der, publicKey);
    assert.deepEqual(
      parsedLeaf.subjectKeyIdentifier,
      createHash('sha1').update(parsedLeaf.publicKey.keyBytes).digest(),
    );
    assert.ok(
      leaf.includes(
        Buffer.concat([
          Buffer.from('301680 14'.replace(' ', ''), 'hex'),
          parsedIssuer.subjectKeyIdentifier ?? Buffer.alloc(0),
        ]),
      ),
    );
  });

  it('adds keyEncipherment for RSA subject keys', async (t) => {
    if (!needOpenssl(t)) return;
    const h = await createHierarchy();
    const leaf = await h.template.issue({
      serial: nextSerial(),
      commonName: 'SN-RSA',
      publicKey: deviceKey('rsa2048'),
      sanUri: deviceUri,
      notBefore: h.notBefore,
      notAfter: new Date(h.notBefore.getTime() + day),
    });
    const text = openssl(['x509', '-inform', 'DER', '-noout', '-text'], { input: leaf }).stdout;
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  });

  it('writes GeneralizedTime for notAfter from 2050 on and UTCTime before (RFC 5280 §4.1.2.5)', async (t) => {
    if (!needOpenssl(t)) return;
    const h = await createHierarchy();
    const leaf = await h.template.issue({
      serial: nextSerial(),
      commonName: 'SN-2050',
      publicKey: deviceKey('p256'),
      sanUri: deviceUri,
      notBefore: new Date('2049-06-01T00:00:00.750Z'),
      notAfter: new Date('2050-06-01T12:30:45.250Z'),
    });
    const reader = new DerReader(leaf, 'TEST');
    assert.ok(leaf.includes(Buffer.from('\x17\x0d490601000000Z', 'latin1')));
    assert.ok(leaf.includes(Buffer.from('\x18\x0f20500601123045Z', 'latin1')));
    assert.ok(reader.root());
    const dates = openssl(['x509', '-inform', 'DER', '-noout', '-dates'], { input: leaf }).stdout;
    assert.match(dates, /notAfter=Jun {2}1 12:30:45 2050 GMT/);
    assertNoFractionalSeconds(leaf);
  });

  it('refuses bad serials, subjects, SAN URIs and validity', async () => {
    const h = await createHierarchy();
    const good = {
      serial: nextSerial(),
      commonName: 'SN-1',
      publicKey: deviceKey('p256'),
      sanUri: deviceUri,
      notBefore: h.notBefore,
      notAfter: new Date(h.notBefore.getTime() + day),
    };
    const cases: [Partial<typeof good>, string][] = [
      [{ serial: Buffer.alloc(0) }, 'X509_SERIAL_INVALID'],
      [{ serial: Buffer.alloc(21, 1) }, 'X509_SERIAL_INVALID'],
      [{ commonName: 'x'.repeat(65) }, 'X509_SUBJECT_INVALID'],
      [{ sanUri: 'not a uri' }, 'X509_URI_INVALID'],
      [{ publicKey: Buffer.from('garbage') }, 'X509_PUBLIC_KEY_MALFORMED'],
      [{ notAfter: new Date(h.notBefore.getTime() - 1000) }, 'X509_TIME_INVALID'],
    ];
    for (const [change, code] of cases) {
      await assert.rejects(
        h.template.issue({ ...good, ...change }),
        (error) => isVigilError(error, code),
        code,
      );
    }
  });

  it('refuses a template whose signer does not fit the issuing CA key, or whose issuer is not a CA', async () => {
    const h = await createHierarchy();
    assert.throws(
      () =>
        new LeafCertificateTemplate({
          issuerCertificate: h.issuing,
          signer: generateTestKey('ecdsa-p384').signer,
        }),
      (error) => isVigilError(error, 'X509_SIGNER_MISMATCH'),
    );
    assert.throws(
      () => new LeafCertificateTemplate({ issuerCertificate: h.ocsp, signer: h.ocspKey.signer }),
      (error) => isVigilError(error, 'X509_PROFILE_INVALID'),
    );
  });
});
