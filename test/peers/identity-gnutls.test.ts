import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import {
  crlUrlOf,
  curl,
  enrollWithCurl,
  fetchCaCerts,
  must,
  requireCommands,
  run,
  splitPem,
  startOcspRelay,
  type EnrolledDevice,
  type PkiWorkspace,
} from '../support/pki-peers.ts';

/**
 * A second X.509/TLS/OCSP stack: GnuTLS (certtool, ocsptool, gnutls-cli) accepts every certificate,
 * CRL and OCSP response Vigil produces, and talks mutual TLS to the device endpoint. Devices are
 * enrolled with curl + openssl (PEERS.md recipe).
 */
describe('identity against GnuTLS', () => {
  let testbed: IdentityTestbed;
  let ws: PkiWorkspace;
  let good: EnrolledDevice;
  let revoked: EnrolledDevice;
  let tlsPem = '';
  let signerPem = '';
  let crlPemFile = '';

  before(async () => {
    testbed = await startIdentityTestbed('sqlite');
  });
  after(async () => {
    await testbed?.close();
  });

  const file = (name: string, content: string) => {
    const path = join(ws.dir, name);
    writeFileSync(path, content);
    return path;
  };

  let ready: Promise<void> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      ws = await fetchCaCerts(testbed, testbed.dir);
      good = await enrollWithCurl(testbed, ws, 'SN-GNUTLS-0001');
      revoked = await enrollWithCurl(testbed, ws, 'SN-GNUTLS-0002');
      const revocation = await testbed.admin('POST', `/api/v1/certificates/${revoked.serialHex}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(revocation.status, 200, JSON.stringify(revocation.json));

      // The device endpoint's TLS certificate, as GnuTLS sees it.
      const { port } = new URL(ws.deviceUrl);
      const shown = await must('gnutls-cli', [
        '--print-cert',
        `--x509cafile=${ws.bundleFile}`,
        '-p',
        port,
        '127.0.0.1',
      ]);
      tlsPem = splitPem(shown.stdout)[0] ?? '';
      assert.notEqual(tlsPem, '', shown.output);

      // The CRL from the distribution point, and the delegated OCSP signer from a response.
      const crl = await curl(ws.dir, await crlUrlOf(revoked.certFile), ['--cacert', ws.bundleFile]);
      assert.equal(crl.status, 200);
      const crlDer = join(ws.dir, 'gnutls.crl');
      writeFileSync(crlDer, crl.body);
      crlPemFile = file(
        'gnutls.crl.pem',
        (await must('openssl', ['crl', '-inform', 'DER', '-in', crlDer])).stdout,
      );
      const responseFile = await ocspResponseFor(revoked, 'signer-probe');
      const printed = await must('openssl', ['ocsp', '-respin', responseFile, '-resp_text', '-noverify']);
      signerPem = splitPem(printed.stdout)[0] ?? '';
      assert.notEqual(signerPem, '', 'the OCSP response carries its delegated signer');
    })());

  /** ocsptool builds the request, curl carries it to /ocsp; returns the response file. */
  async function ocspResponseFor(device: EnrolledDevice, name: string): Promise<string> {
    const requestFile = join(ws.dir, `${name}.ocsp-req.der`);
    await must('ocsptool', [
      '--generate-request',
      `--load-issuer=${ws.issuingFile}`,
      `--load-cert=${device.certFile}`,
      `--outfile=${requestFile}`,
    ]);
    const response = await curl(ws.dir, `${ws.deviceUrl}/ocsp`, [
      '--cacert',
      ws.bundleFile,
      '-H',
      'Content-Type: application/ocsp-request',
      '--data-binary',
      `@${requestFile}`,
    ]);
    assert.equal(response.status, 200);
    assert.match(response.contentType, /^application\/ocsp-response/);
    const responseFile = join(ws.dir, `${name}.ocsp-resp.der`);
    writeFileSync(responseFile, response.body);
    return responseFile;
  }

  const verified = /Chain verification output: Verified\. The certificate is trusted\./;

  async function certtoolVerify(chain: string, ...extra: string[]) {
    const result = await run('certtool', [
      '--verify',
      `--load-ca-certificate=${ws.rootFile}`,
      `--infile=${chain}`,
      ...extra,
    ]);
    return result;
  }

  test('gnutls-cli connects with the device certificate and whoami answers 200', async (t) => {
    if (!requireCommands(t, 'gnutls-cli', 'openssl', 'curl')) return;
    await setup();
    const { port } = new URL(ws.deviceUrl);
    const session = await run(
      'gnutls-cli',
      [
        `--x509cafile=${ws.bundleFile}`,
        `--x509certfile=${good.certFile}`,
        `--x509keyfile=${good.keyFile}`,
        '-p',
        port,
        '127.0.0.1',
      ],
      { input: 'GET /device/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' },
    );
    assert.match(session.output, /The certificate is trusted/, 'GnuTLS trusts the device endpoint');
    assert.match(session.stdout, /^HTTP\/1\.1 200 OK\r?$/m, session.output);
    assert.match(session.stdout, /"serial":"SN-GNUTLS-0001"/);
  });

  test('gnutls-cli with a revoked device certificate gets 401 problem+json', async (t) => {
    if (!requireCommands(t, 'gnutls-cli', 'openssl', 'curl')) return;
    await setup();
    const { port } = new URL(ws.deviceUrl);
    const session = await run(
      'gnutls-cli',
      [
        `--x509cafile=${ws.bundleFile}`,
        `--x509certfile=${revoked.certFile}`,
        `--x509keyfile=${revoked.keyFile}`,
        '-p',
        port,
        '127.0.0.1',
      ],
      { input: 'GET /device/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' },
    );
    assert.match(session.stdout, /^HTTP\/1\.1 401 Unauthorized\r?$/m, session.output);
    assert.match(session.stdout, /content-type: application\/problem\+json/i);
    assert.match(session.stdout, /"code":"DEVICE_CERTIFICATE_REVOKED"/);
  });

  test('certtool verifies root, issuing CA, device leaf, TLS certificate and OCSP signer for their purposes', async (t) => {
    if (!requireCommands(t, 'certtool', 'gnutls-cli', 'ocsptool', 'openssl', 'curl')) return;
    await setup();
    const cases: [string, string, string[]][] = [
      ['root', file('g-root.pem', ws.rootPem), []],
      ['issuing CA', file('g-issuing.pem', ws.issuingPem), []],
      [
        'device leaf (TLS client)',
        file('g-leaf-chain.pem', good.certPem + ws.issuingPem),
        ['--verify-purpose=1.3.6.1.5.5.7.3.2'],
      ],
      [
        'device endpoint TLS (server, 127.0.0.1)',
        file('g-tls.pem', tlsPem),
        ['--verify-purpose=1.3.6.1.5.5.7.3.1', '--verify-hostname=127.0.0.1'],
      ],
      [
        'device endpoint TLS (server, localhost)',
        file('g-tls2.pem', tlsPem),
        ['--verify-purpose=1.3.6.1.5.5.7.3.1', '--verify-hostname=localhost'],
      ],
      [
        'delegated OCSP signer',
        file('g-signer-chain.pem', signerPem + ws.issuingPem),
        ['--verify-purpose=1.3.6.1.5.5.7.3.9'],
      ],
    ];
    for (const [name, chain, extra] of cases) {
      const result = await certtoolVerify(chain, ...extra);
      assert.equal(result.status, 0, `${name}:\n${result.output}`);
      assert.match(result.output, verified, `${name}:\n${result.output}`);
    }
  });

  test('certtool reads and verifies the CRL, and rejects the revoked certificate with it', async (t) => {
    if (!requireCommands(t, 'certtool', 'gnutls-cli', 'ocsptool', 'openssl', 'curl')) return;
    await setup();
    const info = await must('certtool', ['--crl-info', `--infile=${crlPemFile}`]);
    assert.match(info.stdout, /Version: 2/);
    assert.match(info.stdout, new RegExp(`Serial Number \\(hex\\): ${revoked.serialHex}\\s+Revoked at: `));
    assert.doesNotMatch(info.stdout, new RegExp(good.serialHex));

    const crlVerified = await run('certtool', [
      '--verify-crl',
      `--load-ca-certificate=${ws.issuingFile}`,
      `--infile=${crlPemFile}`,
    ]);
    assert.equal(crlVerified.status, 0, crlVerified.output);
    assert.match(crlVerified.output, /Verification output: Verified\./);

    const withCrl = (device: EnrolledDevice, name: string) =>
      certtoolVerify(file(name, device.certPem + ws.issuingPem), `--load-crl=${crlPemFile}`);
    const rejected = await withCrl(revoked, 'g-revoked-chain.pem');
    assert.match(rejected.output, /The certificate chain is revoked\./, rejected.output);
    const accepted = await withCrl(good, 'g-good-chain.pem');
    assert.match(accepted.output, verified, accepted.output);
  });

  test('ocsptool verifies the OCSP responses against the issuing CA: revoked and good', async (t) => {
    if (!requireCommands(t, 'ocsptool', 'gnutls-cli', 'certtool', 'openssl', 'curl')) return;
    await setup();
    for (const [device, status] of [
      [revoked, 'revoked'],
      [good, 'good'],
    ] as const) {
      const responseFile = await ocspResponseFor(device, `g-${status}`);
      const info = await must('ocsptool', ['--response-info', `--infile=${responseFile}`]);
      assert.match(info.stdout, /Response Status: Successful/);
      assert.match(info.stdout, new RegExp(`Serial Number: ${device.serialHex}`));
      assert.match(info.stdout, new RegExp(`Certificate Status: ${status}`));
      const checked = await run('ocsptool', [
        '--verify-response',
        `--load-signer=${ws.issuingFile}`,
        `--infile=${responseFile}`,
      ]);
      assert.equal(checked.status, 0, checked.output);
      assert.match(checked.output, /Verifying OCSP Response: Success\./, checked.output);
    }
  });

  test('ocsptool --ask (plain HTTP only) gets a verified "revoked" through an HTTP relay', async (t) => {
    if (!requireCommands(t, 'ocsptool', 'gnutls-cli', 'certtool', 'openssl', 'curl')) return;
    await setup();
    const relay = await startOcspRelay(ws);
    try {
      const asked = await run('ocsptool', [
        `--ask=${relay.url}`,
        `--load-issuer=${ws.issuingFile}`,
        `--load-cert=${revoked.certFile}`,
        `--load-signer=${ws.issuingFile}`,
      ]);
      assert.match(asked.output, /Certificate Status: revoked/, asked.output);
      assert.match(asked.output, /Verifying OCSP Response: Success\./, asked.output);
      assert.ok(relay.requests >= 1);
    } finally {
      await relay.close();
    }
  });
});
