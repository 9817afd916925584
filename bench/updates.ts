// Device check-ins per second (`device.checkin`), end to end through the device endpoint of a real
// `vigil serve` (with one device worker process per core; `device.checkin_one_process` with one): mutual TLS with keep-alive (one connection per device, as devices hold
// them), each check-in finding the device's assignment in an active rollout. Beside it, the same
// run's bare Fastify route on the same TLS setup (bench/bare-server.ts) and their ratio.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCaCertificate,
  x509SignerFromKeyObject,
  certificateToPem,
} from '../src/identity/x509/index.ts';
import { initData, startServe } from '../test/support/server-process.ts';
import type { Benchmark } from './run.ts';
import { openLoadConnection, type LoadConnection } from './http-load.ts';
import { adminClient, benchProduct, enrollFleet, pool, type EnrolledDevice } from './support.ts';

const devices = 64;
const seconds = 5;
const body = JSON.stringify({ version: '1.0.0', securityVersion: 1, status: 'idle' });

/** Check-ins per second: every device loops over its own keep-alive connection for `seconds`. */
async function checkinRate(connections: LoadConnection[], expect: (json: any) => boolean): Promise<number> {
  const once = async (connection: LoadConnection) => {
    const response = await connection.post('/device/v1/checkin', body);
    if (response.status !== 200 || !expect(JSON.parse(response.body))) {
      throw new Error(`check-in: ${response.status} ${response.body.slice(0, 300)}`);
    }
  };
  await pool(connections, connections.length, once); // warm up: statement caches, JIT
  let count = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    connections.map(async (connection) => {
      while (Date.now() < deadline) {
        await once(connection);
        count++;
      }
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function vigilRate(workers: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-updates-'));
  const token = await initData(join(dir, 'data'), undefined);
  const server = await startServe(join(dir, 'data'), undefined, 60_000, [
    '--device-workers',
    String(workers),
  ]);
  let fleet: EnrolledDevice[] = [];
  try {
    const admin = adminClient(server.url, token);
    const { productId, rootPem: ca } = await benchProduct(admin);
    const deviceUrl = server.output().match(/device endpoint: +(https:\/\/\S+)/)?.[1] ?? '';
    fleet = await enrollFleet(admin, { deviceUrl, ca, productId, count: devices, prefix: 'CHECKIN' });
    const release = await admin('POST', '/api/v1/releases', {
      productId,
      version: '2.0.0',
      securityVersion: 2,
      hardwareRevisions: ['A'],
    });
    const uploaded = await fetch(`${server.url}/api/v1/releases/${release.id}/artifacts?name=firmware.bin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(64 * 1024, 1),
    });
    if (uploaded.status !== 201) throw new Error(`artifact upload: ${uploaded.status}`);
    await admin('POST', `/api/v1/releases/${release.id}/publish`);
    await admin('POST', '/api/v1/rollouts', {
      releaseId: release.id,
      selection: { kind: 'product' },
      waves: [{ share: 100 }],
      validationMinutes: 24 * 60,
    });
    const connections = await Promise.all(
      fleet.map((device) => openLoadConnection(deviceUrl, { ca, cert: device.certificate, key: device.key })),
    );
    try {
      return await checkinRate(connections, (json) => json.update?.version === '2.0.0');
    } finally {
      for (const connection of connections) connection.close();
    }
  } finally {
    for (const device of fleet) device.agent.destroy();
    await server.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare route, in its own process, reached by the same devices' kind of connections. */
async function bareRate(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-bare-'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const certificate = await createCaCertificate({
    kind: 'root',
    subject: { commonName: '127.0.0.1' },
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    serial: Buffer.from([1]),
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    signer: x509SignerFromKeyObject(privateKey),
  });
  const cert = certificateToPem(certificate);
  writeFileSync(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(join(dir, 'cert.pem'), cert);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'bare-server.ts'),
      join(dir, 'key.pem'),
      join(dir, 'cert.pem'),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) =>
        resolve((JSON.parse(chunk.toString('utf8')) as { port: number }).port),
      );
      child.once('exit', (code) => reject(new Error(`bare server exited ${code}`)));
    });
    // Devices present a client certificate, as on the device endpoint.
    const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const clientCert = certificateToPem(
      await createCaCertificate({
        kind: 'root',
        subject: { commonName: 'bench device' },
        publicKey: clientKey.publicKey.export({ format: 'der', type: 'spki' }),
        serial: Buffer.from([2]),
        notBefore: now,
        notAfter: new Date(now.getTime() + 86_400_000),
        signer: x509SignerFromKeyObject(clientKey.privateKey),
      }),
    );
    const connections = await Promise.all(
      Array.from({ length: devices }, () =>
        openLoadConnection(`https://127.0.0.1:${port}`, {
          cert: clientCert,
          key: clientKey.privateKey.export({ format: 'pem', type: 'pkcs8' }),
          // The baseline's self-made certificate is a CA certificate: verifying it is not what is measured.
          rejectUnauthorized: false,
        }),
      ),
    );
    try {
      return await checkinRate(connections, (json) => json.update === null);
    } finally {
      for (const connection of connections) connection.close();
    }
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkinBenchmark(name: string, workers: number): Benchmark {
  return {
    name,
    async run() {
      const rate = await vigilRate(workers);
      const baseline = await bareRate();
      return {
        value: Math.round(rate),
        unit: 'checkins/s',
        baseline: Math.round(baseline),
        ratio: Number((rate / baseline).toFixed(4)),
        devices,
        deviceWorkers: workers,
        store: 'sqlite',
      };
    },
  };
}

export const updatesBenchmarks: Benchmark[] = [
  // `vigil serve --device-workers 2`: one device-endpoint process per core of this machine.
  checkinBenchmark('device.checkin', cpus().length),
  checkinBenchmark('device.checkin_one_process', 1),
];
