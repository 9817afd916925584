import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import {
  asn1Times,
  basicResponseOffset,
  crlUrlOf,
  curl,
  curlWhoami,
  enrollWithCurl,
  fetchCaCerts,
  fetchTlsCertificate,
  must,
  ocspUrlOf,
  opensslKeyAndCsr,
  pemToDer,
  readEstResponse,
  requireCommands,
  run,
  serialHexOf,
  type EnrolledDevice,
  type PkiWorkspace,
} from '../support/pki-peers.ts';

/**
 * Vigil's EST, device API, OCSP and CRL driven by curl and OpenSSL only (PEERS.md recipe): the
 * device side is openssl keys and CSRs plus curl; every answer is read and verified by OpenSSL.
 */
describe('identity with curl and OpenSSL as the device and relying party', () => {
  let testbed: IdentityTestbed;
  let ws: PkiWorkspace;
  let device: EnrolledDevice;

  before(async () => {
    testbed = await startIdentityTestbed('sqlite');
  });
  after(async () => {
    await testbed?.close();
  });

  let ready: Promise<void> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      ws = await fetchCaCerts(testbed, testbed.dir);
      device = await enrollWithCurl(testbed, ws, 'SN-OSSL-0001');
    })());

  test('curl fetches /cacerts as base64 PKCS#7 that openssl reads as the root and issuing CA', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const response = await curl(ws.dir, `${ws.deviceUrl}/.well-known/est/cacerts`, [
      '--cacert',
      ws.bundleFile,
    ]);
    assert.equal(response.status, 200);
    assert.match(response.contentType, /^application\/pkcs7-mime/);
    const subjects = (await must('openssl', ['x509', '-noout', '-subject'], { input: ws.rootPem })).stdout;
    assert.match(subjects, /Root CA/);
    const verified = await must('openssl', ['verify', '-CAfile', ws.rootFile, ws.issuingFile]);
    assert.match(verified.stdout, /issuing\.pem: OK/);
  });

  test('curl enrolls with the one-time secret; openssl verifies the chain of the issued certificate', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const verified = await run('openssl', [
      'verify',
      '-CAfile',
      ws.rootFile,
      '-untrusted',
      ws.issuingFile,
      device.certFile,
    ]);
    assert.equal(verified.status, 0, verified.output);
    assert.match(verified.stdout, /: OK$/m);
    const text = (await must('openssl', ['x509', '-in', device.certFile, '-noout', '-text'])).stdout;
    assert.match(text, /Subject: CN ?= ?SN-OSSL-0001/);
    assert.match(text, /TLS Web Client Authentication/);
    const purpose = await run('openssl', [
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      ws.rootFile,
      '-untrusted',
      ws.issuingFile,
      device.certFile,
    ]);
    assert.equal(purpose.status, 0, purpose.output);
  });

  test('curl calls /device/v1/whoami with the issued certificate and gets 200 with its identity', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const response = await curlWhoami(ws, device.certFile, device.keyFile);
    assert.equal(response.status, 200, response.body.toString('utf8'));
    const body = JSON.parse(response.body.toString('utf8'));
    assert.equal(body.serial, 'SN-OSSL-0001');
    assert.equal(body.deviceId, device.id);
    assert.equal(body.certificate.serial, device.serialHex);
  });

  test('curl re-enrolls with the current certificate; the new certificate verifies and works', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const { keyFile, csrFile } = await opensslKeyAndCsr(ws.dir, 'SN-OSSL-0001-renewed', 'SN-OSSL-0001');
    const response = await curl(ws.dir, `${ws.deviceUrl}/.well-known/est/simplereenroll`, [
      '--cacert',
      ws.bundleFile,
      '--cert',
      device.certFile,
      '--key',
      device.keyFile,
      '-H',
      'Content-Type: application/pkcs10',
      '--data-binary',
      `@${csrFile}`,
    ]);
    assert.equal(response.status, 200, response.body.toString('utf8'));
    assert.match(response.contentType, /^application\/pkcs7-mime/);
    const renewedPem = await readEstResponse(ws.dir, 'reenroll', response.body);
    const renewedFile = join(ws.dir, 'SN-OSSL-0001-renewed.pem');
    writeFileSync(renewedFile, renewedPem);
    const verified = await run('openssl', [
      'verify',
      '-CAfile',
      ws.rootFile,
      '-untrusted',
      ws.issuingFile,
      renewedFile,
    ]);
    assert.equal(verified.status, 0, verified.output);
    const renewedSerial = await serialHexOf(renewedFile);
    assert.notEqual(renewedSerial, device.serialHex);
    const whoami = await curlWhoami(ws, renewedFile, keyFile);
    assert.equal(whoami.status, 200, whoami.body.toString('utf8'));
    assert.equal(JSON.parse(whoami.body.toString('utf8')).certificate.serial, renewedSerial);
  });

  test('after revocation curl is refused (401), openssl ocsp says revoked and the CRL lists it with its reason', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const victim = await enrollWithCurl(testbed, ws, 'SN-OSSL-0002');
    assert.equal((await curlWhoami(ws, victim.certFile, victim.keyFile)).status, 200);

    const ocspUrl = await ocspUrlOf(victim.certFile);
    assert.equal(
      ocspUrl,
      `${testbed.server.statusUrl}/ocsp`,
      'certificates point at the plain-HTTP status listener',
    );
    // openssl ocsp asks the responder about the victim and verifies the answer under our chain.
    const askOcsp = (responseFile: string) =>
      run('openssl', [
        'ocsp',
        '-issuer',
        ws.issuingFile,
        '-cert',
        victim.certFile,
        '-url',
        ocspUrl,
        '-CAfile',
        ws.bundleFile,
        '-respout',
        responseFile,
      ]);
    const good = await askOcsp(join(ws.dir, 'ocsp-good.der'));
    assert.equal(good.status, 0, good.output);
    assert.match(good.output, /Response verify OK/);
    assert.match(good.stdout, /: good\n/);
    assert.doesNotMatch(good.output, /WARNING/, 'thisUpdate/nextUpdate must pass the freshness check');

    const revoked = await testbed.admin('POST', `/api/v1/certificates/${victim.serialHex}/revoke`, {
      reason: 'keyCompromise',
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.json));

    const refused = await curlWhoami(ws, victim.certFile, victim.keyFile);
    assert.equal(refused.status, 401);
    assert.match(refused.contentType, /^application\/problem\+json/);
    assert.equal(JSON.parse(refused.body.toString('utf8')).code, 'DEVICE_CERTIFICATE_REVOKED');

    const revokedFile = join(ws.dir, 'ocsp-revoked.der');
    const ocsp = await askOcsp(revokedFile);
    assert.equal(ocsp.status, 0, ocsp.output);
    assert.match(ocsp.output, /Response verify OK/);
    assert.match(ocsp.stdout, /: revoked\n/);
    assert.match(ocsp.stdout, /Reason: keyCompromise/);
    assert.match(ocsp.stdout, /Revocation Time: /);
    assert.doesNotMatch(ocsp.output, /WARNING/);

    // The same over RFC 6960 GET (base64 in the path): openssl -url with a small request uses POST,
    // so build the request with openssl and send it with curl.
    const requestFile = join(ws.dir, 'ocsp-request.der');
    await must('openssl', [
      'ocsp',
      '-issuer',
      ws.issuingFile,
      '-cert',
      victim.certFile,
      '-no_nonce',
      '-reqout',
      requestFile,
    ]);
    const encoded = encodeURIComponent(readFileSync(requestFile).toString('base64'));
    const viaGet = await curl(ws.dir, `${ws.deviceUrl}/ocsp/${encoded}`, ['--cacert', ws.bundleFile]);
    assert.equal(viaGet.status, 200);
    const getFile = join(ws.dir, 'ocsp-get.der');
    writeFileSync(getFile, viaGet.body);
    const readGet = await run('openssl', [
      'ocsp',
      '-respin',
      getFile,
      '-issuer',
      ws.issuingFile,
      '-cert',
      victim.certFile,
      '-CAfile',
      ws.bundleFile,
    ]);
    assert.match(readGet.output, /Response verify OK/);
    assert.match(readGet.stdout, /: revoked\n/);

    const crlUrl = await crlUrlOf(victim.certFile);
    const crl = await curl(ws.dir, crlUrl, ['--cacert', ws.bundleFile]);
    assert.equal(crl.status, 200);
    assert.match(crl.contentType, /^application\/pkix-crl/);
    const crlFile = join(ws.dir, 'issuing.crl');
    writeFileSync(crlFile, crl.body);
    const crlText = await run('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      crlFile,
      '-CAfile',
      ws.bundleFile,
      '-noout',
      '-text',
    ]);
    assert.equal(crlText.status, 0, crlText.output);
    assert.match(crlText.output, /verify OK/);
    const entry = new RegExp(
      `Serial Number: ${victim.serialHex.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
    );
    assert.match(crlText.stdout, entry);

    // openssl verify with the CRL: the revoked certificate fails, the other one still verifies.
    const crlPem = (await must('openssl', ['crl', '-inform', 'DER', '-in', crlFile])).stdout;
    const crlPemFile = join(ws.dir, 'issuing.crl.pem');
    writeFileSync(crlPemFile, crlPem);
    const withCrl = (certFile: string) =>
      run('openssl', [
        'verify',
        '-crl_check',
        '-CRLfile',
        crlPemFile,
        '-CAfile',
        ws.rootFile,
        '-untrusted',
        ws.issuingFile,
        certFile,
      ]);
    const bad = await withCrl(victim.certFile);
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /certificate revoked/);
    const fine = await withCrl(device.certFile);
    assert.equal(fine.status, 0, fine.output);
  });

  test('a certificate from an unknown CA is refused with 401 problem+json', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const keyFile = join(ws.dir, 'rogue.key');
    const certFile = join(ws.dir, 'rogue.pem');
    await must('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=SN-OSSL-0001',
      '-days',
      '30',
    ]);
    const response = await curlWhoami(ws, certFile, keyFile);
    assert.equal(response.status, 401);
    assert.match(response.contentType, /^application\/problem\+json/);
    const problem = JSON.parse(response.body.toString('utf8'));
    assert.equal(problem.status, 401);
    assert.equal(problem.code, 'DEVICE_CERTIFICATE_UNKNOWN');
  });

  /** A CA that copies our issuing CA's name but has its own key, and a leaf it signed. */
  let lookalike: Promise<{ certFile: string; keyFile: string }> | undefined;
  const makeLookalike = () =>
    (lookalike ??= (async () => {
      const caKey = join(ws.dir, 'lookalike-ca.key');
      const caCert = join(ws.dir, 'lookalike-ca.pem');
      const issuerSubject = (
        await must('openssl', ['x509', '-in', ws.issuingFile, '-noout', '-subject', '-nameopt', 'compat'])
      ).stdout
        .trim()
        .replace(/^subject=/, '');
      await must('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        caKey,
        '-out',
        caCert,
        '-subj',
        issuerSubject,
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
      ]);
      const keyFile = join(ws.dir, 'lookalike.key');
      await must('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
      const csrFile = join(ws.dir, 'lookalike.csr.pem');
      await must('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=SN-OSSL-0001', '-out', csrFile]);
      const certFile = join(ws.dir, 'lookalike.pem');
      await must('openssl', [
        'x509',
        '-req',
        '-in',
        csrFile,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-days',
        '30',
        '-out',
        certFile,
      ]);
      return { certFile, keyFile };
    })());

  test('a certificate signed by a lookalike of our issuing CA (same name, other key) is never served', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const { certFile, keyFile } = await makeLookalike();
    const response = await curlWhoami(ws, certFile, keyFile, { allowFailure: true });
    assert.notEqual(response.status, 200, 'the lookalike certificate must not authenticate');
    if (response.status === 0) t.diagnostic(`curl: ${response.stderr}`);
  });

  test('a certificate signed by a lookalike of our issuing CA is refused with 401 problem+json', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const { certFile, keyFile } = await makeLookalike();
    const response = await curlWhoami(ws, certFile, keyFile, { allowFailure: true });
    assert.equal(response.status, 401, `curl exit ${String(response.exitCode)}: ${response.stderr}`);
    assert.match(response.contentType, /^application\/problem\+json/);
    assert.equal(JSON.parse(response.body.toString('utf8')).code, 'DEVICE_CERTIFICATE_UNKNOWN');
  });

  test("a decommissioned device's certificate is refused", async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const retired = await enrollWithCurl(testbed, ws, 'SN-OSSL-0003');
    assert.equal((await curlWhoami(ws, retired.certFile, retired.keyFile)).status, 200);
    const decommissioned = await testbed.admin('POST', `/api/v1/devices/${retired.id}/decommission`, {
      wipeConfirmation: { confirmedBy: 'operator', method: 'factory reset witnessed on site' },
    });
    assert.equal(decommissioned.status, 200, JSON.stringify(decommissioned.json));
    const refused = await curlWhoami(ws, retired.certFile, retired.keyFile);
    assert.ok(refused.status === 401 || refused.status === 403, `refused, got ${refused.status}`);
    assert.match(refused.contentType, /^application\/problem\+json/);
    assert.match(
      JSON.parse(refused.body.toString('utf8')).code,
      /^DEVICE_(CERTIFICATE_REVOKED|DECOMMISSIONED)$/,
    );
    const ocsp = await run('openssl', [
      'ocsp',
      '-issuer',
      ws.issuingFile,
      '-cert',
      retired.certFile,
      '-url',
      await ocspUrlOf(retired.certFile),
      '-CAfile',
      ws.bundleFile,
    ]);
    assert.match(ocsp.output, /Response verify OK/);
    assert.match(ocsp.stdout, /: revoked\n/);
    assert.match(ocsp.stdout, /Reason: cessationOfOperation/);
  });

  test('no time in any certificate, CRL or OCSP response carries fractional seconds (RFC 5280 §4.1.2.5)', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    await setup();
    const write = (name: string, der: Buffer) => {
      const file = join(ws.dir, name);
      writeFileSync(file, der);
      return file;
    };
    const tlsPem = await fetchTlsCertificate(ws);
    const certificates: [string, string][] = [
      ['root', write('root.der', pemToDer(ws.rootPem))],
      ['issuing', write('issuing.der', pemToDer(ws.issuingPem))],
      ['device', write('device.der', pemToDer(device.certPem))],
      ['device endpoint TLS', write('tls.der', pemToDer(tlsPem))],
    ];
    const whole = /^(UTCTIME \d{12}Z|GENERALIZEDTIME \d{14}Z)$/;
    for (const [name, file] of certificates) {
      const times = await asn1Times(file);
      assert.equal(times.length, 2, `${name}: notBefore and notAfter`);
      for (const time of times) assert.match(time, whole, `${name}: ${time}`);
    }

    // A revoked certificate, so that the CRL has an entry and OCSP a revocationTime.
    const revokedDevice = await enrollWithCurl(testbed, ws, 'SN-OSSL-0004');
    await testbed.admin('POST', `/api/v1/devices/${revokedDevice.id}/revoke`, { reason: 'superseded' });

    const crl = await curl(ws.dir, await crlUrlOf(revokedDevice.certFile), ['--cacert', ws.bundleFile]);
    const crlTimes = await asn1Times(write('times.crl', crl.body));
    assert.ok(crlTimes.length >= 3, `thisUpdate, nextUpdate and revocationDate: ${crlTimes.join(', ')}`);
    for (const time of crlTimes) assert.match(time, whole, `CRL: ${time}`);

    for (const nonce of [[], ['-no_nonce']]) {
      const responseFile = join(ws.dir, `times-ocsp${nonce.length}.der`);
      const ocsp = await run('openssl', [
        'ocsp',
        '-issuer',
        ws.issuingFile,
        '-cert',
        revokedDevice.certFile,
        '-url',
        `${ws.deviceUrl}/ocsp`,
        '-CAfile',
        ws.bundleFile,
        ...nonce,
        '-respout',
        responseFile,
      ]);
      assert.match(ocsp.output, /Response verify OK/);
      const ocspTimes = await asn1Times(responseFile, await basicResponseOffset(responseFile));
      // producedAt, revocationTime, thisUpdate, nextUpdate, and the signer certificate's validity.
      assert.equal(ocspTimes.length, 6, ocspTimes.join(', '));
      for (const time of ocspTimes) assert.match(time, whole, `OCSP: ${time}`);
      assert.ok(readFileSync(responseFile).length > 0);
    }
  });
});
