import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { createCaCertificate } from '../../../src/identity/x509/index.ts';
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

describe('createCaCertificate', () => {
  it('makes root and issuing CAs that openssl reads as critical CA:TRUE with keyCertSign and cRLSign', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy({ rootAlgorithm: 'rsa-3072', issuingAlgorithm: 'ecdsa-p384' });
    writePem(s, 'root.pem', h.root);
    writePem(s, 'issuing.pem', h.issuing);
    for (const [file, pathLength] of [
      ['root.pem', 1],
      ['issuing.pem', 0],
    ] as const) {
      const text = openssl(['x509', '-in', file, '-noout', '-text'], { cwd: s.dir });
      assert.equal(text.status, 0, text.output);
      assert.match(text.stdout, new RegExp(`Basic Constraints: critical\\s+CA:TRUE, pathlen:${pathLength}`));
      assert.match(text.stdout, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
      assert.match(text.stdout, /Subject Key Identifier/);
      assert.match(text.stdout, /Authority Key Identifier/);
    }
    assert.match(
      openssl(['x509', '-in', 'root.pem', '-noout', '-text'], { cwd: s.dir }).stdout,
      /sha256WithRSAEncryption/,
    );
    const verified = openssl(['verify', '-CAfile', 'root.pem', 'issuing.pem'], { cwd: s.dir });
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.stdout, /issuing.pem: OK/);
    assertNoFractionalSeconds(h.root);
  });

  it('makes a delegated OCSP signer with id-kp-OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2)', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy();
    writePem(s, 'ocsp.pem', h.ocsp);
    const text = openssl(['x509', '-in', 'ocsp.pem', '-noout', '-text'], { cwd: s.dir }).stdout;
    assert.match(text, /Extended Key Usage:\s+OCSP Signing/);
    assert.match(text, /OCSP No Check/);
    assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /CA:FALSE/);
  });

  it('makes a TLS server certificate with DNS and IP SANs that verifies for the sslserver purpose', async (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const h = await createHierarchy();
    const tlsKey = generateTestKey('rsa-3072');
    const tls = await createCaCertificate({
      kind: 'tls',
      subject: { commonName: 'device.vigil.test' },
      publicKey: tlsKey.publicKey,
      serial: nextSerial(),
      notBefore: h.notBefore,
      notAfter: new Date(h.notBefore.getTime() + 90 * day),
      issuer: { certificate: h.issuing },
      signer: h.issuingKey.signer,
      dnsNames: ['device.vigil.test', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    writePem(s, 'root.pem', h.root);
    writePem(s, 'issuing.pem', h.issuing);
    writePem(s, 'tls.pem', tls);
    const text = openssl(['x509', '-in', 'tls.pem', '-noout', '-text'], { cwd: s.dir }).stdout;
    assert.match(
      text,
      /DNS:device.vigil.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/,
    );
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /Digital Signature, Key Encipherment/);
    const verified = openssl(
      [
        'verify',
        '-purpose',
        'sslserver',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'issuing.pem',
        '-verify_ip',
        '127.0.0.1',
        'tls.pem',
      ],
      { cwd: s.dir },
    );
    assert.equal(verified.status, 0, verified.output);
  });

  it('refuses an issuer for a root, a missing issuer for other kinds, and a signer that does not fit', async () => {
    const key = generateTestKey('ecdsa-p256');
    const other = generateTestKey('ecdsa-p384');
    const base = {
      subject: { commonName: 'x' },
      publicKey: key.publicKey,
      serial: Buffer.from([1]),
      notBefore: new Date('2030-01-01Z'),
      notAfter: new Date('2031-01-01Z'),
    };
    const root = await createCaCertificate({ ...base, kind: 'root', signer: key.signer });
    const refusals: [Promise<Buffer>, string][] = [
      [
        createCaCertificate({ ...base, kind: 'root', signer: key.signer, issuer: { certificate: root } }),
        'X509_PROFILE_INVALID',
      ],
      [createCaCertificate({ ...base, kind: 'issuing', signer: key.signer }), 'X509_PROFILE_INVALID'],
      [createCaCertificate({ ...base, kind: 'root', signer: other.signer }), 'X509_SIGNER_MISMATCH'],
      [
        createCaCertificate({
          ...base,
          kind: 'issuing',
          signer: other.signer,
          issuer: { certificate: root },
        }),
        'X509_SIGNER_MISMATCH',
      ],
      [
        createCaCertificate({ ...base, kind: 'tls', signer: key.signer, issuer: { certificate: root } }),
        'X509_SAN_INVALID',
      ],
    ];
    for (const [promise, code] of refusals) {
      await assert.rejects(promise, (error) => isVigilError(error, code));
    }
  });
});
