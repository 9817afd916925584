import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildCrl,
  certificateId,
  createCaCertificate,
  x509SignerFromKeyObject,
} from '../src/identity/x509/index.ts';
import { derNull, oid, sequence, tlv, unsignedInteger } from '../src/identity/x509/der.ts';
import { initData, startServe, type ServerProcess } from '../test/support/server-process.ts';
import type { Benchmark } from './run.ts';
import { adminClient, benchProduct, makeCsr, pool } from './support.ts';

const devices = 3000;
const enrollConcurrency = 32;
const ocspConcurrency = 64;
const ocspSeconds = 5;

function ocspRequest(issuer: Buffer, serial: Buffer): Buffer {
  const id = certificateId(issuer, serial, 'sha1');
  const certId = sequence(
    sequence(oid('1.3.14.3.2.26'), derNull),
    tlv(0x04, id.issuerNameHash),
    tlv(0x04, id.issuerKeyHash),
    unsignedInteger(id.serial),
  );
  return sequence(sequence(sequence(sequence(certId))));
}

interface Setup {
  server: ServerProcess;
  deviceUrl: string;
  /** The plain-HTTP status listener, where certificates send relying parties for OCSP. */
  statusUrl: string;
  ca: string;
  agent: Agent;
  httpAgent: HttpAgent;
  dir: string;
}

async function send(
  setup: Setup,
  method: string,
  path: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
    };
    // OCSP goes to the plain-HTTP status listener, as relying parties do; EST to the TLS device endpoint.
    const call = path.startsWith('/ocsp')
      ? httpRequest(`${setup.statusUrl}${path}`, { method, headers, agent: setup.httpAgent }, onResponse)
      : request(
          `${setup.deviceUrl}${path}`,
          { method, headers, ca: setup.ca, agent: setup.agent },
          onResponse,
        );
    call.on('error', reject);
    call.end(body);
  });
}

/** Raw P-256 signatures per second with node:crypto, the same-run baseline of issuance. */
function signingRate(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(600, 7);
  let count = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() - started < 1_000_000_000n) {
    sign('sha256', data, privateKey);
    count++;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

let shared: Promise<{ setup: Setup; enrollRate: number }> | undefined;

/** One server for both benchmarks: enrollments first (they also make the certificates OCSP answers for). */
function enrolledFleet() {
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-identity-'));
    const token = await initData(join(dir, 'data'), undefined);
    const server = await startServe(join(dir, 'data'), undefined);
    const admin = adminClient(server.url, token);
    const { productId, rootPem: root } = await benchProduct(admin);
    const secrets: { serial: string; secret: string }[] = [];
    for (let start = 0; start < devices; start += 1000) {
      const { results } = await admin('POST', '/api/v1/devices/bulk', {
        devices: Array.from({ length: Math.min(1000, devices - start) }, (_, i) => ({
          serial: `BENCH-${start + i}`,
          productId,
          hardwareRevision: 'A',
          bootstrap: { method: 'secret' },
        })),
      });
      for (const result of results) secrets.push({ serial: result.serial, secret: result.enrollmentSecret });
    }
    const csrs = secrets.map((device) => ({ ...device, csr: makeCsr(device.serial).der.toString('base64') }));
    const deviceUrl = server.output().match(/device endpoint: +(https:\/\/\S+)/)?.[1] ?? '';
    const statusUrl = server.output().match(/status \(CRL, OCSP\): +(http:\/\/\S+)/)?.[1] ?? '';
    const setup: Setup = {
      server,
      deviceUrl,
      statusUrl,
      ca: root,
      agent: new Agent({ keepAlive: true, maxSockets: ocspConcurrency }),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: ocspConcurrency }),
      dir,
    };
    const started = process.hrtime.bigint();
    await pool(csrs, enrollConcurrency, async (device) => {
      const response = await send(setup, 'POST', '/.well-known/est/simpleenroll', device.csr, {
        'content-type': 'application/pkcs10',
        authorization: `Basic ${Buffer.from(`${device.serial}:${device.secret}`).toString('base64')}`,
      });
      if (response.status !== 200)
        throw new Error(`enrollment failed: ${response.status} ${response.body.toString()}`);
    });
    const enrollRate = devices / (Number(process.hrtime.bigint() - started) / 1e9);
    return { setup, enrollRate };
  })();
  return shared;
}

async function closeFleet(): Promise<void> {
  if (shared === undefined) return;
  const { setup } = await shared;
  setup.agent.destroy();
  setup.httpAgent.destroy();
  await setup.server.stop('SIGTERM');
  rmSync(setup.dir, { recursive: true, force: true });
  shared = undefined;
}

/** Builds and signs one CRL of an issuing CA with `entries` revoked certificates. */
async function crlBuildMilliseconds(entries: number): Promise<number> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = x509SignerFromKeyObject(privateKey);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const issuer = await createCaCertificate({
    kind: 'root',
    subject: { commonName: 'Bench CA' },
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    serial: Buffer.from([1]),
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    signer,
  });
  const revoked = Array.from({ length: entries }, (_, i) => ({
    serial: Buffer.from((0x1000000 + i).toString(16).padStart(8, '0'), 'hex'),
    revokedAt: now,
    reason: 'keyCompromise' as const,
  }));
  const started = process.hrtime.bigint();
  await buildCrl({
    issuerCertificate: issuer,
    signer,
    crlNumber: 1,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 86_400_000),
    entries: revoked,
  });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export const identityBenchmarks: Benchmark[] = [
  {
    name: 'crl.build',
    async run() {
      const entries = 100_000;
      return { value: Math.round(await crlBuildMilliseconds(entries)), unit: 'ms', entries };
    },
  },
  {
    name: 'est.enroll',
    async run() {
      const { enrollRate } = await enrolledFleet();
      const baseline = signingRate();
      return {
        value: Math.round(enrollRate),
        unit: 'certificates/s',
        baseline: Math.round(baseline),
        ratio: Number((enrollRate / baseline).toFixed(4)),
        devices,
      };
    },
  },
  {
    name: 'ocsp.respond',
    async run() {
      const { setup } = await enrolledFleet();
      const dbPath = join(setup.dir, 'data', 'vigil.db');
      const { loadSqlite } = await import('../src/store/index.ts');
      const Sqlite = loadSqlite();
      const db = new Sqlite(dbPath, { readonly: true });
      const rows = db.prepare('select serial, ca_id from certificates').all() as {
        serial: string;
        ca_id: string;
      }[];
      const issuer = (
        db.prepare('select certificate from certificate_authorities where id = ?').get(rows[0]!.ca_id) as {
          certificate: Buffer;
        }
      ).certificate;
      db.close();
      const requests = rows.map((row) => ocspRequest(issuer, Buffer.from(row.serial, 'hex')));
      // Warm the pre-signed cache once, as a fleet's first sweep would.
      await pool(requests, ocspConcurrency, async (body) => {
        await send(setup, 'POST', '/ocsp', body, { 'content-type': 'application/ocsp-request' });
      });
      let answered = 0;
      const deadline = Date.now() + ocspSeconds * 1000;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: ocspConcurrency }, async (_, worker) => {
          let index = worker;
          while (Date.now() < deadline) {
            const response = await send(setup, 'POST', '/ocsp', requests[index % requests.length]!, {
              'content-type': 'application/ocsp-request',
            });
            // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (0 = successful), ... }
            const at = 2 + (response.body[1]! & 0x80 ? response.body[1]! & 0x7f : 0);
            if (response.status !== 200 || response.body[at] !== 0x0a || response.body[at + 2] !== 0) {
              throw new Error(`OCSP failed: ${response.status}`);
            }
            answered++;
            index += ocspConcurrency;
          }
        }),
      );
      const rate = answered / (Number(process.hrtime.bigint() - started) / 1e9);
      await closeFleet();
      return { value: Math.round(rate), unit: 'responses/s', concurrency: ocspConcurrency };
    },
  },
];
