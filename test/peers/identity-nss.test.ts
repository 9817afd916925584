import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import {
  crlUrlOf,
  curl,
  enrollWithCurl,
  fetchCaCerts,
  fetchTlsCertificate,
  must,
  requireCommands,
  run,
  splitPem,
  startOcspRelay,
  type EnrolledDevice,
  type PkiWorkspace,
} from '../support/pki-peers.ts';

/**
 * A third stack: NSS (certutil, vfychain, crlutil, ocspclnt) with a temporary database that trusts
 * only our root accepts every certificate, the CRL and the OCSP responses Vigil produces.
 */
describe('identity against NSS', () => {
  let testbed: IdentityTestbed;
  let ws: PkiWorkspace;
  let good: EnrolledDevice;
  let revoked: EnrolledDevice;
  let db = '';
  let tlsFile = '';
  let signerFile = '';
  let crlFile = '';
  let responseFile = '';

  before(async () => {
    testbed = await startIdentityTestbed('sqlite');
  });
  after(async () => {
    await testbed?.close();
  });

  const tools = ['certutil', 'vfychain', 'crlutil', 'ocspclnt', 'openssl', 'curl'];

  let ready: Promise<void> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      ws = await fetchCaCerts(testbed, testbed.dir);
      good = await enrollWithCurl(testbed, ws, 'SN-NSS-0001');
      revoked = await enrollWithCurl(testbed, ws, 'SN-NSS-0002');
      const revocation = await testbed.admin('POST', `/api/v1/certificates/${revoked.serialHex}/revoke`, {
        reason: 'keyCompromise',
      });
      assert.equal(revocation.status, 200, JSON.stringify(revocation.json));

      tlsFile = join(ws.dir, 'nss-tls.pem');
      writeFileSync(tlsFile, await fetchTlsCertificate(ws));

      const crl = await curl(ws.dir, await crlUrlOf(revoked.certFile), ['--cacert', ws.bundleFile]);
      assert.equal(crl.status, 200);
      crlFile = join(ws.dir, 'nss.crl');
      writeFileSync(crlFile, crl.body);

      responseFile = join(ws.dir, 'nss-ocsp.der');
      const ocsp = await run('openssl', [
        'ocsp',
        '-issuer',
        ws.issuingFile,
        '-cert',
        revoked.certFile,
        '-url',
        `${ws.deviceUrl}/ocsp`,
        '-CAfile',
        ws.bundleFile,
        '-no_nonce',
        '-respout',
        responseFile,
      ]);
      assert.match(ocsp.output, /Response verify OK/);
      const printed = await must('openssl', ['ocsp', '-respin', responseFile, '-resp_text', '-noverify']);
      signerFile = join(ws.dir, 'nss-signer.pem');
      writeFileSync(signerFile, splitPem(printed.stdout)[0] ?? '');

      // A fresh NSS database trusting only our root (as a CA for TLS, e-mail and code).
      db = join(ws.dir, 'nssdb');
      mkdirSync(db);
      await must('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
      await must('certutil', [
        '-A',
        '-d',
        `sql:${db}`,
        '-n',
        'vigil-root',
        '-t',
        'CT,C,C',
        '-a',
        '-i',
        ws.rootFile,
      ]);
      // The issuing CA without trust of its own: NSS must chain it to the root.
      await must('certutil', [
        '-A',
        '-d',
        `sql:${db}`,
        '-n',
        'vigil-issuing',
        '-t',
        ',,',
        '-a',
        '-i',
        ws.issuingFile,
      ]);
      for (const [nickname, certFile] of [
        ['good-device', good.certFile],
        ['revoked-device', revoked.certFile],
      ] as const) {
        await must('certutil', ['-A', '-d', `sql:${db}`, '-n', nickname, '-t', ',,', '-a', '-i', certFile]);
      }
    })());

  test('vfychain accepts root, issuing CA, device leaf, TLS certificate and OCSP signer for their usages', async (t) => {
    if (!requireCommands(t, ...tools)) return;
    await setup();
    // vfychain -u: 0 SSL client, 1 SSL server, 10 OCSP responder, 11 any CA.
    const cases: [string, string, string][] = [
      ['root', ws.rootFile, '11'],
      ['issuing CA', ws.issuingFile, '11'],
      ['device leaf', good.certFile, '0'],
      ['device endpoint TLS', tlsFile, '1'],
      ['delegated OCSP signer', signerFile, '10'],
    ];
    for (const [name, certFile, usage] of cases) {
      for (const api of [['-p'], ['-pp']]) {
        const result = await run('vfychain', [
          '-d',
          `sql:${db}`,
          ...api,
          '-u',
          usage,
          '-a',
          certFile,
          '-a',
          ws.issuingFile,
        ]);
        assert.equal(result.status, 0, `${name} (${api.join('')}):\n${result.output}`);
        assert.match(result.output, /Chain is good!/, `${name}:\n${result.output}`);
      }
    }
  });

  test('crlutil imports the CRL (NSS checks its signature) and lists the serial with its reason', async (t) => {
    if (!requireCommands(t, ...tools)) return;
    await setup();
    // crlutil -S prints the CRL and exits 1 even when it read it fine (NSS 3.87): judge by its output.
    const shown = await run('crlutil', ['-S', '-i', crlFile]);
    assert.match(shown.stdout, /CRL file contents:\s+Version: 2 \(0x1\)/, shown.output);
    assert.match(shown.stdout, /Issuer: "CN=Infusion pump Issuing CA 1"/);
    // A copy with one bit of the signature flipped is refused: the import really checks the signature.
    const forged = Buffer.from(readFileSync(crlFile));
    forged[forged.length - 5] = forged[forged.length - 5]! ^ 1;
    const forgedFile = join(ws.dir, 'nss-forged.crl');
    writeFileSync(forgedFile, forged);
    const refused = await run('crlutil', ['-I', '-d', `sql:${db}`, '-i', forgedFile, '-t', '1']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.output, /SEC_ERROR_CRL_BAD_SIGNATURE/, refused.output);
    await must('crlutil', ['-I', '-d', `sql:${db}`, '-i', crlFile, '-t', '1']);
    const listed = await must('crlutil', ['-L', '-d', `sql:${db}`, '-n', 'vigil-issuing']);
    const serial = revoked.serialHex.match(/../g)!.join(':');
    assert.match(
      listed.stdout,
      new RegExp(
        `Serial Number:\\s+${serial}\\s+Revocation Date: [^\\n]+\\s+Entry Extensions:\\s+Name: CRL reason code\\s+Data: 1 \\(0x1\\)`,
      ),
      listed.stdout,
    );
  });

  test('vfychain with CRL checking rejects the revoked device certificate and accepts the good one', async (t) => {
    if (!requireCommands(t, ...tools)) return;
    await setup();
    await must('crlutil', ['-I', '-d', `sql:${db}`, '-i', crlFile, '-t', '1']);
    const check = (certFile: string) =>
      run('vfychain', [
        '-d',
        `sql:${db}`,
        '-pp',
        '-g',
        'leaf',
        '-m',
        'crl',
        '-s',
        'failIfNoInfo',
        '-u',
        '0',
        '-a',
        certFile,
      ]);
    const rejected = await check(revoked.certFile);
    assert.notEqual(rejected.status, 0);
    assert.match(rejected.output, /ERROR -8180: Peer's Certificate has been revoked\./, rejected.output);
    const accepted = await check(good.certFile);
    assert.equal(accepted.status, 0, accepted.output);
    assert.match(accepted.output, /Chain is good!/);
  });

  test('ocspclnt decodes the OCSP response: revoked with keyCompromise', async (t) => {
    if (!requireCommands(t, ...tools)) return;
    await setup();
    // ocspclnt -P reads stdin in one go and fails on a pipe (SEC_ERROR_INPUT_LEN): give it the file.
    const printed = await must('sh', [
      '-c',
      'exec ocspclnt -d "$1" -P < "$2"',
      'sh',
      `sql:${db}`,
      responseFile,
    ]);
    assert.match(printed.stdout, /Response Status: successful/);
    assert.match(printed.stdout, /Status: Cert has been revoked\./);
    assert.match(printed.stdout, /Revocation Reason:\s+01/);
  });

  test('ocspclnt verifies OCSP status (good, revoked) and rejects a tampered response', async (t) => {
    if (!requireCommands(t, ...tools)) return;
    await setup();
    // NSS fetches OCSP over plain HTTP only; the certificate's AIA is https, so go through a relay.
    const relay = await startOcspRelay(ws);
    const tampered = await startOcspRelay(ws, { tamper: true });
    try {
      const status = (nickname: string, url: string) =>
        run('ocspclnt', ['-d', `sql:${db}`, '-S', nickname, '-l', url, '-t', 'vigil-issuing']);
      const fine = await status('good-device', relay.url);
      assert.match(fine.output, /Check of certificate "good-device" succeeded\./, fine.output);
      const bad = await status('revoked-device', relay.url);
      assert.match(
        bad.output,
        /Check of certificate "revoked-device" failed\.\s+Reason:\s+Peer's Certificate has been revoked\./,
        bad.output,
      );
      const forged = await status('good-device', tampered.url);
      assert.match(forged.output, /OCSP response has an invalid signature\./, forged.output);
      assert.ok(relay.requests >= 2 && tampered.requests >= 1);
    } finally {
      await relay.close();
      await tampered.close();
    }
  });
});
