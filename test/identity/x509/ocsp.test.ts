import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  buildOcspResponse,
  certificateId,
  ocspErrorResponse,
  parseOcspRequest,
  type OcspSingleResponse,
} from '../../../src/identity/x509/index.ts';
import {
  assertNoFractionalSeconds,
  createHierarchy,
  day,
  hour,
  needOpenssl,
  openssl,
  scratch,
  writePem,
  type Hierarchy,
  type Scratch,
} from './fixtures.ts';

async function issueLeaf(h: Hierarchy, serialHex: string): Promise<Buffer> {
  return h.template.issue({
    serial: Buffer.from(serialHex, 'hex'),
    commonName: `SN-${serialHex}`,
    publicKey: h.ocspKey.publicKey,
    sanUri: `urn:vigil:device:${serialHex}`,
    notBefore: h.notBefore,
    notAfter: new Date(h.notBefore.getTime() + 30 * day),
  });
}

async function setUp(t: Parameters<typeof scratch>[0]): Promise<{ h: Hierarchy; s: Scratch }> {
  const s = scratch(t);
  const h = await createHierarchy();
  writePem(s, 'root.pem', h.root);
  writePem(s, 'issuing.pem', h.issuing);
  writePem(s, 'leaf.pem', await issueLeaf(h, '8a01'));
  return { h, s };
}

function makeRequest(s: Scratch, extra: string[]): Buffer {
  const made = openssl(
    ['ocsp', ...extra, '-issuer', 'issuing.pem', '-cert', 'leaf.pem', '-reqout', 'req.der'],
    { cwd: s.dir },
  );
  assert.equal(made.status, 0, made.output);
  return readFileSync(s.path('req.der'));
}

describe('parseOcspRequest', () => {
  it('reads an openssl request with a nonce and SHA-1 CertID matching certificateId', async (t) => {
    if (!needOpenssl(t)) return;
    const { h, s } = await setUp(t);
    const request = parseOcspRequest(makeRequest(s, ['-nonce']));
    assert.equal(request.requests.length, 1);
    assert.deepEqual(request.requests[0], certificateId(h.issuing, Buffer.from('8a01', 'hex'), 'sha1'));
    assert.equal(request.nonce?.length, 16);
  });

  it('reads an openssl request with a SHA-256 CertID and no nonce', async (t) => {
    if (!needOpenssl(t)) return;
    const { h, s } = await setUp(t);
    const request = parseOcspRequest(makeRequest(s, ['-no_nonce', '-sha256']));
    assert.deepEqual(request.requests[0], certificateId(h.issuing, Buffer.from('8a01', 'hex'), 'sha256'));
    assert.equal(request.nonce, undefined);
  });

  it('throws X509_OCSP_REQUEST_MALFORMED for truncated, garbage and trailing bytes', async (t) => {
    if (!needOpenssl(t)) return;
    const { s } = await setUp(t);
    const der = makeRequest(s, ['-nonce']);
    for (const bad of [
      der.subarray(0, der.length - 3),
      Buffer.concat([der, Buffer.from([0])]),
      Buffer.from('GET /'),
      Buffer.alloc(0),
    ]) {
      assert.throws(
        () => parseOcspRequest(bad),
        (error) => isVigilError(error, 'X509_OCSP_REQUEST_MALFORMED'),
      );
    }
    for (let at = 0; at < der.length; at++) {
      const mutated = Buffer.from(der);
      mutated[at] = (mutated[at] ?? 0) ^ 0xff;
      try {
        parseOcspRequest(mutated);
      } catch (error) {
        assert.ok(isVigilError(error, 'X509_OCSP_REQUEST_MALFORMED'), String(error));
      }
    }
  });
});

describe('buildOcspResponse', () => {
  for (const status of ['good', 'revoked', 'unknown'] as const) {
    it(`answers ${status} in a response openssl verifies against the root ("Response verify OK")`, async (t) => {
      if (!needOpenssl(t)) return;
      const { h, s } = await setUp(t);
      const request = parseOcspRequest(makeRequest(s, ['-no_nonce']));
      const now = new Date(Date.now() - 1500);
      const single: OcspSingleResponse = {
        certId: request.requests[0] ?? assert.fail('no request'),
        status,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + hour),
      };
      if (status === 'revoked') {
        single.revokedAt = new Date(now.getTime() - day + 123);
        single.reason = 'keyCompromise';
      }
      const response = await buildOcspResponse({
        responderCertificate: h.ocsp,
        signer: h.ocspKey.signer,
        producedAt: now,
        responses: [single],
      });
      s.write('resp.der', response);
      const checked = openssl(
        [
          'ocsp',
          '-respin',
          'resp.der',
          '-issuer',
          'issuing.pem',
          '-CAfile',
          'root.pem',
          '-resp_text',
          '-cert',
          'leaf.pem',
          '-no_nonce',
        ],
        { cwd: s.dir },
      );
      assert.equal(checked.status, 0, checked.output);
      assert.match(checked.output, /Response verify OK/);
      assert.match(checked.stdout, new RegExp(`leaf.pem: ${status}`));
      assert.match(checked.stdout, /Responder Id: [0-9A-F]{40}/);
      assert.match(checked.stdout, /OCSP Response Status: successful/);
      assert.doesNotMatch(checked.output, /WARNING/);
      if (status === 'revoked') assert.match(checked.stdout, /Reason: keyCompromise/);
      assertNoFractionalSeconds(response);
      assert.ok(!/\.\d+Z/.test(checked.stdout));
    });
  }

  it('echoes the request nonce so openssl checks it (RFC 8954)', async (t) => {
    if (!needOpenssl(t)) return;
    const { h, s } = await setUp(t);
    const request = parseOcspRequest(makeRequest(s, ['-nonce']));
    const now = new Date();
    const response = await buildOcspResponse({
      responderCertificate: h.ocsp,
      signer: h.ocspKey.signer,
      producedAt: now,
      responses: request.requests.map((certId) => ({ certId, status: 'good', thisUpdate: now })),
      nonce: request.nonce,
    });
    s.write('resp.der', response);
    const checked = openssl(
      [
        'ocsp',
        '-reqin',
        'req.der',
        '-respin',
        'resp.der',
        '-CAfile',
        'root.pem',
        '-verify_other',
        'issuing.pem',
      ],
      { cwd: s.dir },
    );
    assert.match(checked.output, /Response verify OK/);
    assert.doesNotMatch(checked.output, /nonce/i);
    const wrong = await buildOcspResponse({
      responderCertificate: h.ocsp,
      signer: h.ocspKey.signer,
      producedAt: now,
      responses: request.requests.map((certId) => ({ certId, status: 'good', thisUpdate: now })),
      nonce: Buffer.alloc(16, 1),
    });
    s.write('wrong.der', wrong);
    const mismatch = openssl(
      [
        'ocsp',
        '-reqin',
        'req.der',
        '-respin',
        'wrong.der',
        '-CAfile',
        'root.pem',
        '-verify_other',
        'issuing.pem',
      ],
      { cwd: s.dir },
    );
    assert.match(mismatch.output, /nonce verify error/i);
  });

  it('lets the issuing CA answer directly without a delegated certificate', async (t) => {
    if (!needOpenssl(t)) return;
    const { h, s } = await setUp(t);
    const now = new Date();
    const response = await buildOcspResponse({
      responderCertificate: h.issuing,
      signer: h.issuingKey.signer,
      producedAt: now,
      responses: [
        { certId: certificateId(h.issuing, Buffer.from('8a01', 'hex')), status: 'good', thisUpdate: now },
      ],
      includeCertificates: [],
    });
    s.write('resp.der', response);
    const checked = openssl(
      [
        'ocsp',
        '-respin',
        'resp.der',
        '-issuer',
        'issuing.pem',
        '-CAfile',
        'root.pem',
        '-cert',
        'leaf.pem',
        '-no_nonce',
      ],
      { cwd: s.dir },
    );
    assert.match(checked.output, /Response verify OK/);
    assert.match(checked.stdout, /leaf.pem: good/);
  });

  it('refuses a signer that does not fit the responder, an empty response list and a revoked status without a time', async () => {
    const h = await createHierarchy();
    const certId = certificateId(h.issuing, Buffer.from([1]));
    const now = new Date();
    const base = { responderCertificate: h.ocsp, signer: h.ocspKey.signer, producedAt: now };
    await assert.rejects(
      buildOcspResponse({
        ...base,
        signer: h.rootKey.signer,
        responses: [{ certId, status: 'good', thisUpdate: now }],
      }),
      (error) => isVigilError(error, 'X509_SIGNER_MISMATCH'),
    );
    await assert.rejects(buildOcspResponse({ ...base, responses: [] }), (error) =>
      isVigilError(error, 'X509_OCSP_INVALID'),
    );
    await assert.rejects(
      buildOcspResponse({ ...base, responses: [{ certId, status: 'revoked', thisUpdate: now }] }),
      (error) => isVigilError(error, 'X509_OCSP_INVALID'),
    );
  });
});

describe('ocspErrorResponse', () => {
  for (const [status, text] of [
    ['malformedRequest', 'malformedrequest'],
    ['internalError', 'internalerror'],
    ['tryLater', 'trylater'],
    ['unauthorized', 'unauthorized'],
  ] as const) {
    it(`encodes ${status} as an OCSPResponse without responseBytes that openssl reads`, (t) => {
      if (!needOpenssl(t)) return;
      const s = scratch(t);
      s.write('error.der', ocspErrorResponse(status));
      const checked = openssl(['ocsp', '-respin', 'error.der', '-resp_text', '-noverify'], { cwd: s.dir });
      assert.match(checked.output.toLowerCase(), new RegExp(`responder error: ${text}`));
    });
  }
});
