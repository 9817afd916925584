import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import { createTestDatabase, storeKinds } from '../support/stores.ts';
import {
  apiCall,
  initData,
  killAllServers,
  productBody,
  startServe,
  waitFor,
  type ServerProcess,
} from '../support/server-process.ts';
import { must, requireCommands, run, splitPem } from '../support/pki-peers.ts';

/**
 * Revocation across a scale-out fleet: two `vigil serve` processes on one PostgreSQL database.
 * A certificate revoked through process A is refused by process B's device endpoint, and B's OCSP
 * responder says revoked, within one second.
 */

// storeKinds() fails under VIGIL_REQUIRE_PEERS=1 and announces the missing peer otherwise.
const postgres = (await storeKinds()).includes('postgres');

after(killAllServers);

interface HttpsAnswer {
  status: number;
  text: string;
  body: Buffer;
  json: any;
}

/** One HTTPS request (fresh connection) to a device endpoint, trusting `ca`. */
function httpsCall(
  url: string,
  options: {
    ca: string;
    method?: string;
    body?: string | Buffer;
    contentType?: string;
    basic?: string;
    cert?: string;
    key?: string;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    if (options.basic !== undefined)
      headers.authorization = `Basic ${Buffer.from(options.basic).toString('base64')}`;
    const request = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        agent: false,
        timeout: 5000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, text, body, json });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
    if (options.body !== undefined) request.write(options.body);
    request.end();
  });
}

function deviceUrlOf(server: ServerProcess): string {
  const url = /device endpoint:\s+(https:\/\/\S+)/.exec(server.output())?.[1];
  if (url === undefined) throw new Error(`no device endpoint in the banner\n${server.output()}`);
  return url;
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

describe('revocation across two vigil serve processes on one PostgreSQL database', () => {
  test(
    'a certificate revoked through process A is refused by B and revoked in B’s OCSP within one second',
    { timeout: 60_000, skip: postgres ? false : 'PEER MISSING: PostgreSQL is not reachable' },
    async (t) => {
      if (!requireCommands(t, 'openssl')) return;
      const database = await createTestDatabase('postgres');
      const dir = mkdtempSync(join(tmpdir(), 'vigil-revocation-mp-'));
      const dataDir = join(dir, 'data');
      const servers: ServerProcess[] = [];
      try {
        const token = await initData(dataDir, database.url);
        const started = await Promise.allSettled([
          startServe(dataDir, database.url),
          startServe(dataDir, database.url),
        ]);
        for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
        for (const result of started) if (result.status === 'rejected') throw result.reason;
        const [a, b] = servers as [ServerProcess, ServerProcess];
        const deviceA = deviceUrlOf(a);
        const deviceB = deviceUrlOf(b);
        assert.notEqual(deviceA, deviceB);

        // Product, issuing CA and device, all through A's admin API.
        const product = await apiCall(a.url, token, 'POST', '/api/v1/products', productBody('Pump-MP'));
        assert.equal(product.status, 201, JSON.stringify(product.json));
        const productId = product.json.id as string;
        const ca = await apiCall(a.url, token, 'POST', `/api/v1/products/${productId}/ca`, {});
        assert.equal(ca.status, 201, JSON.stringify(ca.json));
        const registered = await apiCall(a.url, token, 'POST', '/api/v1/devices', {
          serial: 'SN-MP-1',
          productId,
          hardwareRevision: 'A',
          bootstrap: { method: 'secret' },
        });
        assert.equal(registered.status, 201, JSON.stringify(registered.json));

        // The device trusts the root it reads from /api/v1/cas.
        const cas = (await apiCall(a.url, token, 'GET', '/api/v1/cas')).json.cas as {
          kind: string;
          id: string;
          certificate: string;
        }[];
        const rootPem = cas.find((one) => one.kind === 'root')!.certificate;
        const issuingPem = cas.find((one) => one.id === ca.json.id)!.certificate;
        const write = (name: string, content: string | Buffer) => {
          const path = join(dir, name);
          writeFileSync(path, content);
          return path;
        };
        const rootFile = write('root.pem', rootPem);
        const issuingFile = write('issuing.pem', issuingPem);
        const bundleFile = write('bundle.pem', `${rootPem.trimEnd()}\n${issuingPem.trimEnd()}\n`);

        // openssl makes the key and CSR; enrollment goes to A's device endpoint.
        const keyFile = join(dir, 'device.key');
        await must('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
        const keyPem = (await must('openssl', ['ec', '-in', keyFile])).stdout;
        const csr = await must('openssl', [
          'req',
          '-new',
          '-key',
          keyFile,
          '-subj',
          '/CN=SN-MP-1',
          '-outform',
          'DER',
        ]);
        const enrolled = await httpsCall(`${deviceA}/.well-known/est/simpleenroll`, {
          ca: rootPem,
          method: 'POST',
          body: csr.stdoutBytes.toString('base64'),
          contentType: 'application/pkcs10',
          basic: `SN-MP-1:${registered.json.enrollmentSecret as string}`,
        });
        assert.equal(enrolled.status, 200, enrolled.text);
        const p7File = write('enrolled.p7.der', Buffer.from(enrolled.text.replace(/\s+/g, ''), 'base64'));
        const printed = (await must('openssl', ['pkcs7', '-inform', 'DER', '-in', p7File, '-print_certs']))
          .stdout;
        const certPem = splitPem(printed)[0]!;
        const certFile = write('device.pem', certPem);
        const serialHex = (await must('openssl', ['x509', '-in', certFile, '-noout', '-serial'])).stdout
          .trim()
          .replace(/^serial=/, '')
          .toLowerCase();

        const whoami = (deviceUrl: string) =>
          httpsCall(`${deviceUrl}/device/v1/whoami`, { ca: rootPem, cert: certPem, key: keyPem });
        // B's trust list picks up the CA that A created (refreshed every 2 s).
        const accepted = await waitFor(
          "B's device endpoint accepting the certificate",
          async () => {
            const response = await whoami(deviceB);
            return response.status === 200 ? response : undefined;
          },
          10_000,
          100,
        );
        assert.equal(accepted.json.serial, 'SN-MP-1');
        assert.equal(accepted.json.certificate.serial, serialHex);

        // A cacheable (nonce-less) OCSP request, as OCSP stapling servers send; B answers good first,
        // so its pre-signed cache holds the answer.
        const ocspOnB = async (name: string) => {
          const responseFile = join(dir, `${name}.der`);
          const checked = await run('openssl', [
            'ocsp',
            '-no_nonce',
            '-url',
            `${deviceB}/ocsp`,
            '-issuer',
            issuingFile,
            '-cert',
            certFile,
            '-CAfile',
            bundleFile,
            '-respout',
            responseFile,
          ]);
          return { checked, responseFile };
        };
        const goodResponses: Buffer[] = [];
        for (let i = 0; i < 2; i++) {
          const { checked, responseFile } = await ocspOnB(`good-${i}`);
          assert.equal(checked.status, 0, checked.output);
          assert.match(checked.output, /Response verify OK/);
          assert.match(checked.stdout, /: good\n/);
          goodResponses.push(readFileSync(responseFile));
        }
        // ECDSA signatures are randomized: identical bytes mean B answered from its pre-signed cache,
        // which the revocation made by A must invalidate.
        assert.deepEqual(goodResponses[1], goodResponses[0], 'B serves the nonce-less answer from its cache');

        // Revoke through A; from the moment the request is sent, B has one second.
        const start = performance.now();
        const revoke = apiCall(a.url, token, 'POST', `/api/v1/certificates/${serialHex}/revoke`, {
          reason: 'keyCompromise',
        });
        const refusedByB = (async () => {
          let polls = 0;
          for (;;) {
            polls++;
            const response = await whoami(deviceB);
            const at = performance.now() - start;
            if (response.status !== 200) return { response, at, polls };
            if (at > 5000) return { response, at, polls };
            await sleep(50);
          }
        })();
        const revokedInOcsp = (async () => {
          let polls = 0;
          for (;;) {
            polls++;
            const answer = await ocspOnB(`poll-${polls}`);
            const at = performance.now() - start;
            if (/: revoked\n/.test(answer.checked.stdout) || at > 5000) return { ...answer, at, polls };
            assert.match(answer.checked.stdout, /: good\n/, answer.checked.output);
            await sleep(50);
          }
        })();
        const [revoked, refused, ocsp] = await Promise.all([revoke, refusedByB, revokedInOcsp]);
        assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
        t.diagnostic(
          `revoke call ${Math.round(performance.now() - start)} ms; B refused after ${Math.round(refused.at)} ms (${refused.polls} polls); B's OCSP revoked after ${Math.round(ocsp.at)} ms (${ocsp.polls} polls)`,
        );

        assert.equal(refused.response.status, 401, refused.response.text);
        assert.equal(refused.response.json?.code, 'DEVICE_CERTIFICATE_REVOKED');
        assert.ok(refused.at < 1000, `B refused the certificate after ${Math.round(refused.at)} ms`);

        assert.match(ocsp.checked.stdout, /: revoked\n/, ocsp.checked.output);
        assert.ok(ocsp.at < 1000, `B's OCSP said revoked after ${Math.round(ocsp.at)} ms`);
        assert.equal(ocsp.checked.status, 0, ocsp.checked.output);
        assert.match(ocsp.checked.output, /Response verify OK/);
        assert.match(ocsp.checked.stdout, /Reason: keyCompromise/);
        assert.doesNotMatch(ocsp.checked.output, /WARNING/);

        // A, the process that revoked, refuses too; and a fresh (nonce) OCSP query at B agrees.
        const onA = await whoami(deviceA);
        assert.equal(onA.status, 401);
        assert.equal(onA.json?.code, 'DEVICE_CERTIFICATE_REVOKED');
        const fresh = await run('openssl', [
          'ocsp',
          '-issuer',
          issuingFile,
          '-cert',
          certFile,
          '-url',
          `${deviceB}/ocsp`,
          '-CAfile',
          bundleFile,
        ]);
        assert.match(fresh.output, /Response verify OK/);
        assert.match(fresh.stdout, /: revoked\n/);
        const verified = await run('openssl', [
          'verify',
          '-CAfile',
          rootFile,
          '-untrusted',
          issuingFile,
          certFile,
        ]);
        assert.equal(verified.status, 0, `the chain itself is intact: ${verified.output}`);
      } finally {
        await Promise.all(servers.map((server) => server.stop('SIGKILL')));
        await database.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
