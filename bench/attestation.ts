// Full TPM appraisals per second, end to end through the device endpoint (mutual TLS, as devices
// connect) and the store of a real `vigil serve --device-workers <cores>`, driven by the lean
// keep-alive TLS load generator that the check-in benchmark uses: a quote over a fresh nonce with a 99-event
// firmware log, which the server verifies (AK signature, nonce, PCR digest, log replay), appraises
// against the release's reference values, signs as an EAR and records with its ledger entry.
// - attestation.appraise_tpm: devices as the agent runs them in steady state: the nonce comes with
//   the previous result (nextNonce), and a log the server already holds is named by its digest.
// - attestation.appraise_tpm_full_log: every appraisal asks for a nonce and ships the whole log.
// Beside each, the same run's raw ECDSA P-256 verification rate and their ratio.
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventLog, referenceValuesFromEventLog } from '../src/attestation/tpm/index.ts';
import { SoftwareTpm, readEventLog } from '../test/attestation/software-tpm.ts';
import { initData, startServe } from '../test/support/server-process.ts';
import { createTestDatabase } from '../test/support/stores.ts';
import type { Benchmark } from './run.ts';
import { openLoadConnection, type LoadConnection } from './http-load.ts';
import { adminClient, benchProduct, enrollFleet } from './support.ts';

const devices = 64;
const seconds = 5;
const warmUpMs = 5000;
// One device-endpoint process per core, as `vigil serve --device-workers` is meant to be run.
const deviceWorkers = cpus().length;
const logName = 'keylime-binary_bios_measurements-secureboot';

interface BenchDevice {
  serial: string;
  connection: LoadConnection;
  tpm: SoftwareTpm;
}

/** Raw ECDSA P-256 / SHA-256 verifications per second over a quote-sized message (node:crypto). */
function verificationRate(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(145, 7);
  const signature = sign('sha256', data, privateKey);
  let count = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() - started < 1_000_000_000n) {
    verify('sha256', data, publicKey, signature);
    count++;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function appraisalRate(
  steady: boolean,
  store: 'sqlite' | 'postgres',
): Promise<{ rate: number; appraisals: number; events: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-attestation-'));
  const database = await createTestDatabase(store);
  const token = await initData(join(dir, 'data'), database.url);
  const server = await startServe(join(dir, 'data'), database.url, 60_000, [
    '--device-workers',
    String(deviceWorkers),
  ]);
  const fleet: BenchDevice[] = [];
  try {
    const admin = adminClient(server.url, token);
    const { productId, rootPem: ca } = await benchProduct(admin);
    const log = readEventLog(logName);
    await admin('POST', '/api/v1/attestation/reference-values', {
      productId: productId,
      hardwareRevision: 'A',
      release: '1.0.0',
      values: referenceValuesFromEventLog(log),
    });
    const deviceUrl = server.output().match(/device endpoint: +(https:\/\/\S+)/)?.[1] ?? '';
    const enrolled = await enrollFleet(admin, { deviceUrl, ca, productId, count: devices, prefix: 'ATTEST' });
    for (const device of enrolled) {
      const tpm = new SoftwareTpm();
      tpm.boot(log);
      await admin('POST', `/api/v1/devices/${device.id}/attestation-keys`, {
        kind: 'tpm2',
        akPublic: tpm.akPublic().toString('base64'),
      });
      device.agent.destroy();
      const connection = await openLoadConnection(deviceUrl, {
        ca,
        cert: device.certificate,
        key: device.key,
      });
      fleet.push({ serial: device.serial, tpm, connection });
    }

    const eventLog = log.toString('base64');
    const eventLogDigest = `sha256:${createHash('sha256').update(log).digest('hex')}`;
    const nextNonces = new Map<BenchDevice, Buffer>();
    let appraisals = 0;
    const round = async (device: BenchDevice): Promise<void> => {
      let nonce = steady ? nextNonces.get(device) : undefined;
      if (nonce === undefined) {
        const issued = await device.connection.post('/device/v1/attestation/nonce', '{}');
        if (issued.status !== 201) throw new Error(`nonce: ${issued.status} ${issued.body}`);
        nonce = Buffer.from(JSON.parse(issued.body).nonce as string, 'base64');
      }
      const { quote, signature, values } = device.tpm.quote(nonce);
      const body = JSON.stringify({
        format: 'tpm2-quote',
        evidence: {
          quote: quote.toString('base64'),
          signature: signature.toString('base64'),
          pcrs: { sha256: values },
          ...(steady && nextNonces.has(device) ? { eventLogDigest } : { eventLog }),
        },
      });
      const response = await device.connection.post('/device/v1/attestation/evidence', body);
      const result = JSON.parse(response.body);
      if (response.status !== 201 || result.status !== 'affirming')
        throw new Error(`appraisal: ${response.status} ${response.body.slice(0, 400)}`);
      nextNonces.set(device, Buffer.from(result.nextNonce.nonce as string, 'base64'));
      appraisals++;
    };
    const run = async (forMs: number) => {
      const deadline = Date.now() + forMs;
      await Promise.all(
        fleet.map(async (device) => {
          while (Date.now() < deadline) await round(device);
        }),
      );
    };
    // Warm up as a server that has been running would be: TLS sessions, statement caches, the
    // replayed log, and the hot paths compiled by the JIT (per-appraisal CPU settles after about
    // 5 s of this load; before that it is up to half as much again).
    await run(warmUpMs);
    appraisals = 0;
    const started = process.hrtime.bigint();
    await run(seconds * 1000);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    return { rate: appraisals / elapsed, appraisals, events: parseEventLog(log).events.length - 1 };
  } finally {
    for (const device of fleet) device.connection.close();
    await server.stop('SIGTERM');
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function appraisalBenchmark(name: string, steady: boolean, store: 'sqlite' | 'postgres'): Benchmark {
  return {
    name,
    async run() {
      const { rate, appraisals, events } = await appraisalRate(steady, store);
      const baseline = verificationRate();
      return {
        value: Math.round(rate),
        unit: 'appraisals/s',
        baseline: Math.round(baseline),
        ratio: Number((rate / baseline).toFixed(4)),
        appraisals,
        devices,
        deviceWorkers,
        logEvents: events,
        store,
      };
    },
  };
}

export const attestationBenchmarks: Benchmark[] = [
  appraisalBenchmark('attestation.appraise_tpm', true, 'sqlite'),
  appraisalBenchmark('attestation.appraise_tpm_full_log', false, 'sqlite'),
];
