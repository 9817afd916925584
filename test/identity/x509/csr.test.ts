import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseCsr } from '../../../src/identity/x509/index.ts';
import { needOpenssl, openssl, scratch } from './fixtures.ts';

const deviceUri = 'urn:vigil:device:01900000-0000-7000-8000-000000000007';

const keyOptions: Record<string, string[]> = {
  'P-256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'P-384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'RSA-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'RSA-3072': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
};

/** An openssl-made CSR (DER) and the SPKI DER of its key. */
function opensslCsr(t: TestContext, key: string, extra: string[] = []): { csr: Buffer; spki: Buffer } {
  const s = scratch(t);
  const generated = openssl(['genpkey', ...(keyOptions[key] ?? []), '-out', 'key.pem'], { cwd: s.dir });
  assert.equal(generated.status, 0, generated.output);
  const made = openssl(
    [
      'req',
      '-new',
      '-key',
      'key.pem',
      '-subj',
      '/O=Vigil Devices/CN=SN-000007',
      '-outform',
      'DER',
      '-out',
      'csr.der',
      ...extra,
    ],
    { cwd: s.dir },
  );
  assert.equal(made.status, 0, made.output);
  const spki = createPublicKey(readFileSync(s.path('key.pem'))).export({ format: 'der', type: 'spki' });
  return { csr: readFileSync(s.path('csr.der')), spki };
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isVigilError(error, code));
}

describe('parseCsr', () => {
  for (const [key, expected] of [
    ['P-256', { type: 'ec', curve: 'P-256' }],
    ['P-384', { type: 'ec', curve: 'P-384' }],
    ['RSA-2048', { type: 'rsa', bits: 2048 }],
    ['RSA-3072', { type: 'rsa', bits: 3072 }],
  ] as const) {
    it(`reads an openssl ${key} CSR with a SAN URI and verifies its signature`, (t) => {
      if (!needOpenssl(t)) return;
      const { csr, spki } = opensslCsr(t, key, ['-addext', `subjectAltName=URI:${deviceUri}`]);
      const parsed = parseCsr(csr);
      assert.equal(parsed.signatureValid, true);
      assert.equal(parsed.subject.commonName, 'SN-000007');
      assert.deepEqual(parsed.key, expected);
      assert.deepEqual(parsed.publicKey, spki);
      assert.deepEqual(parsed.sanUris, [deviceUri]);
      assert.ok(csr.includes(parsed.subject.raw));
    });
  }

  it('reads a CSR without attributes or SAN', (t) => {
    if (!needOpenssl(t)) return;
    const { csr } = opensslCsr(t, 'P-256');
    const parsed = parseCsr(csr);
    assert.equal(parsed.signatureValid, true);
    assert.deepEqual(parsed.sanUris, []);
  });

  it('reports signatureValid false when one signature byte is flipped', (t) => {
    if (!needOpenssl(t)) return;
    for (const key of ['P-256', 'RSA-2048']) {
      const { csr } = opensslCsr(t, key);
      const tampered = Buffer.from(csr);
      // The last octet belongs to the signature BIT STRING (ECDSA: the s INTEGER's last octet).
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01;
      assert.equal(parseCsr(tampered).signatureValid, false, key);
    }
  });

  it('reports signatureValid false when the certificationRequestInfo was altered', (t) => {
    if (!needOpenssl(t)) return;
    const { csr } = opensslCsr(t, 'P-256');
    const tampered = Buffer.from(csr);
    const at = tampered.indexOf(Buffer.from('SN-000007'));
    tampered[at + 8] = '8'.charCodeAt(0);
    const parsed = parseCsr(tampered);
    assert.equal(parsed.subject.commonName, 'SN-000008');
    assert.equal(parsed.signatureValid, false);
  });

  it('throws X509_CSR_MALFORMED for truncated, garbage, trailing-byte and oversized input', (t) => {
    if (!needOpenssl(t)) return;
    const { csr } = opensslCsr(t, 'P-256');
    throwsCode(() => parseCsr(csr.subarray(0, csr.length - 1)), 'X509_CSR_MALFORMED');
    throwsCode(() => parseCsr(csr.subarray(0, 40)), 'X509_CSR_MALFORMED');
    throwsCode(() => parseCsr(Buffer.concat([csr, Buffer.from([0])])), 'X509_CSR_MALFORMED');
    throwsCode(() => parseCsr(Buffer.from('-----BEGIN CERTIFICATE REQUEST-----')), 'X509_CSR_MALFORMED');
    throwsCode(() => parseCsr(Buffer.alloc(0)), 'X509_CSR_MALFORMED');
    throwsCode(() => parseCsr(Buffer.alloc(17 * 1024, 0x30)), 'X509_CSR_MALFORMED');
  });

  it('throws X509_CSR_UNSUPPORTED_ALGORITHM for a SHA-1 signed CSR', (t) => {
    if (!needOpenssl(t)) return;
    const { csr } = opensslCsr(t, 'RSA-2048', ['-sha1']);
    throwsCode(() => parseCsr(csr), 'X509_CSR_UNSUPPORTED_ALGORITHM');
  });

  it('only ever throws VigilError on mutated CSRs', (t) => {
    if (!needOpenssl(t)) return;
    const { csr } = opensslCsr(t, 'P-256', ['-addext', `subjectAltName=URI:${deviceUri}`]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: csr.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(64),
        (at, value, cut) => {
          const mutated = Buffer.from(csr);
          mutated[at] = value;
          for (const input of [mutated, mutated.subarray(0, mutated.length - cut)]) {
            try {
              parseCsr(input);
            } catch (error) {
              if (!isVigilError(error)) throw error;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
