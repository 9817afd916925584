import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  certificateToPem,
  describeCertificate,
  pemToDer,
  pemToDerAll,
} from '../../../src/identity/x509/index.ts';
import { needOpenssl, openssl, scratch } from './fixtures.ts';

describe('describeCertificate', () => {
  it('summarizes a certificate openssl generated', (t) => {
    if (!needOpenssl(t)) return;
    const s = scratch(t);
    const made = openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '30',
        '-subj',
        '/O=Peer/CN=peer-device-1',
        '-set_serial',
        '0x00ab12',
        '-addext',
        'subjectAltName=URI:urn:vigil:device:abc,DNS:peer.example',
      ],
      { cwd: s.dir },
    );
    assert.equal(made.status, 0, made.output);
    const pem = readFileSync(s.path('cert.pem'), 'latin1');
    const der = pemToDer(pem);
    const summary = describeCertificate(der);
    assert.equal(summary.serialHex, 'ab12');
    assert.equal(summary.subjectCommonName, 'peer-device-1');
    assert.equal(summary.issuerCommonName, 'peer-device-1');
    assert.deepEqual(summary.sanUris, ['urn:vigil:device:abc']);
    assert.equal(summary.fingerprintSha256, createHash('sha256').update(der).digest('hex'));
    const fingerprint = openssl(['x509', '-in', 'cert.pem', '-noout', '-fingerprint', '-sha256'], {
      cwd: s.dir,
    });
    assert.equal(
      fingerprint.stdout.split('=')[1]?.trim().replace(/:/g, '').toLowerCase(),
      summary.fingerprintSha256,
    );
    const enddate = openssl(['x509', '-in', 'cert.pem', '-noout', '-enddate'], { cwd: s.dir }).stdout.split(
      '=',
    )[1];
    assert.equal(summary.notAfter.getTime(), new Date(enddate ?? '').getTime());
    assert.equal(summary.notAfter.getUTCMilliseconds(), 0);
    assert.deepEqual(
      summary.publicKey,
      createPublicKey(readFileSync(s.path('key.pem'))).export({ format: 'der', type: 'spki' }),
    );
  });

  it('throws X509_CERTIFICATE_MALFORMED for garbage, truncation and trailing bytes', () => {
    for (const der of [Buffer.from('not a certificate'), Buffer.from('3082ffff30', 'hex'), Buffer.alloc(0)]) {
      assert.throws(
        () => describeCertificate(der),
        (error) => isVigilError(error, 'X509_CERTIFICATE_MALFORMED'),
      );
    }
  });
});

describe('PEM helpers', () => {
  it('round-trips DER through 64-column PEM and reads every block of a chain', () => {
    const der = Buffer.alloc(90, 7);
    const pem = certificateToPem(der);
    assert.match(
      pem,
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/]{64}\n[A-Za-z0-9+/=]+\n-----END CERTIFICATE-----\n$/,
    );
    assert.deepEqual(pemToDer(pem), der);
    assert.deepEqual(pemToDerAll(pem + certificateToPem(Buffer.from([1, 2, 3]))).length, 2);
  });

  it('throws X509_PEM_MALFORMED when there is no block or the base64 is broken', () => {
    for (const pem of ['', '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n']) {
      assert.throws(
        () => pemToDer(pem),
        (error) => isVigilError(error, 'X509_PEM_MALFORMED'),
      );
    }
  });
});
