/**
 * A fleet of simulated devices, for trying rollouts end to end (`vigil simulate`). The simulator
 * plays the factory through the admin API (registration, the DICE DeviceID registered as the
 * device's attestation key) and then each device over the device endpoint only: EST enrollment
 * with a P-256 key and request made here, then rounds of the same update cycle `vigil agent update`
 * runs (check-in, TUF download, A/B install, health check, software DICE attestation, check-in),
 * in this process. Everything a device holds is in `<work-dir>/devices/<serial>/`, the list of
 * devices in `<work-dir>/fleet.json`: a second run with the same work directory continues the same
 * fleet (so a rollout can be created between provisioning and updating).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { isVigilError, type ApiClient, type Progress } from '../core/index.ts';
import { buildCertificationRequest, generateP256Key } from './certificates.ts';
import { DeviceClient } from './device-client.ts';
import { toPem } from './der.ts';
import { enrollWithSecret } from './est-client.ts';
import { SlotStore, initialSlotState } from './slots.ts';
import { createDeviceId } from './software-dice.ts';
import { ensurePinnedRoot, tufMetadataDir } from './tuf-repository.ts';
import { updateDevice, type UpdateOutcome, type UpdateStatus } from './update.ts';
import { agentError } from './errors.ts';
import { defaultConcurrency, defaultMaxRounds } from './simulation-defaults.ts';
import type { FactoryAttestationKey, FactoryRegistrationResult } from './wire.ts';

export const initialVersion = '0.0.0';
const imageName = 'firmware.bin';

/** A device's result: its last update cycle's status, `error` when that threw, `provisioned` when no round ran. */
export type SimulatedStatus = UpdateStatus | 'error' | 'provisioned';

export interface SimulationOptions {
  /** The admin API, as the factory uses it (`devices:write`, `attestations:write`). */
  admin: ApiClient;
  /** The device endpoint. */
  server: URL;
  /** PEM of the CA certificates the device endpoint's TLS certificate chains to. */
  caFile: string;
  productId: string;
  /** The hardware revision of newly made devices. */
  hardwareRevision: string;
  /** How many devices the fleet has (made up to this number; a larger existing fleet is kept whole). */
  devices: number;
  /** Percent of the devices (chosen by the hash of their serial) whose health check fails. */
  failShare?: number | undefined;
  /** At most this many rounds (0: provision only); by default until the fleet settles, at most 10. */
  rounds?: number | undefined;
  concurrency?: number | undefined;
  workDir: string;
  /** The first TUF root to pin at provisioning; by default the simulated factory fetches `1.root.json`. */
  tufRoot?: string | undefined;
  progress?: ((label: string, total: number) => Progress) | undefined;
  note?: ((line: string) => void) | undefined;
}

export interface SimulatedDevice {
  serial: string;
  deviceId: string;
  hardwareRevision: string;
  /** The device's state directory, relative to the work directory. */
  dir: string;
}

interface FleetManifest {
  format: 1;
  productId: string;
  serialPrefix: string;
  devices: SimulatedDevice[];
}

export interface SimulatedResult {
  serial: string;
  deviceId: string;
  hardwareRevision: string;
  status: SimulatedStatus;
  version: string;
  failsHealthCheck: boolean;
  reason: string | null;
  error: { code: string; message: string } | null;
}

export interface SimulationSummary {
  workDir: string;
  productId: string;
  devices: number;
  /** Devices made in this run. */
  provisioned: number;
  rounds: number;
  counts: Record<SimulatedStatus, number>;
  results: SimulatedResult[];
}

/** The devices whose health check fails: the first `share` percent in the order of SHA-256(serial). */
export function chooseFailing(serials: readonly string[], share: number): Set<string> {
  if (!(share >= 0 && share <= 100)) throw new RangeError('the failing share is a percentage');
  const rank = (serial: string) => createHash('sha256').update(serial).digest('hex');
  const ordered = [...serials].sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
  return new Set(ordered.slice(0, Math.round((ordered.length * share) / 100)));
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Statuses after which a device takes no further round in this run. */
const finalStatuses: readonly SimulatedStatus[] = ['validated', 'failed'];

function deviceFiles(workDir: string, device: Pick<SimulatedDevice, 'dir'>) {
  const dir = join(workDir, device.dir);
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    cert: join(dir, 'device.pem'),
    key: join(dir, 'device.key'),
    deviceIdChain: join(dir, 'dice', 'device-id.pem'),
    deviceIdKey: join(dir, 'dice', 'device-id.key'),
  };
}

class Fleet {
  readonly file: string;
  manifest: FleetManifest;

  constructor(workDir: string, productId: string) {
    this.file = join(workDir, 'fleet.json');
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      this.manifest = {
        format: 1,
        productId,
        serialPrefix: `SIM-${randomBytes(4).toString('hex').toUpperCase()}`,
        devices: [],
      };
      return;
    }
    let manifest: FleetManifest;
    try {
      manifest = JSON.parse(text) as FleetManifest;
    } catch {
      throw agentError('AGENT_SIMULATION_INVALID', 'invalid', `${this.file} is not JSON`);
    }
    if (
      manifest.format !== 1 ||
      !Array.isArray(manifest.devices) ||
      typeof manifest.serialPrefix !== 'string'
    )
      throw agentError('AGENT_SIMULATION_INVALID', 'invalid', `${this.file} is not a simulated fleet`);
    if (manifest.productId !== productId)
      throw agentError(
        'AGENT_SIMULATION_INVALID',
        'invalid',
        `the fleet in ${this.file} belongs to product ${manifest.productId}, not ${productId}`,
      );
    this.manifest = manifest;
  }

  save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.manifest, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}

/** GET of a public file on the device endpoint (the TUF root), trusting the CA; null on 404. */
function fetchPublic(server: URL, path: string, ca: Buffer): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(new URL(path, server), { ca, agent: false, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status === 200) resolve(Buffer.concat(chunks));
        else if (status === 404) resolve(null);
        else reject(new Error(`GET ${path}: HTTP ${status}`));
      });
    });
    request.on('timeout', () => request.destroy(new Error('no answer in time')));
    request.on('error', reject);
    request.end();
  });
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  const note = options.note ?? (() => undefined);
  const concurrency = options.concurrency ?? defaultConcurrency;
  const workDir = options.workDir;
  const fleet = new Fleet(workDir, options.productId);
  mkdirSync(join(workDir, 'devices'), { recursive: true });
  const ca = readFileSync(options.caFile);

  // The factory pins the product's first TUF root on every device it makes (TUF §5.2).
  let pinnedRoot: Buffer | undefined;
  const resolveRoot = async () => {
    if (options.tufRoot !== undefined) pinnedRoot ??= readFileSync(options.tufRoot);
    pinnedRoot ??=
      (await fetchPublic(options.server, `/tuf/${options.productId}/1.root.json`, ca)) ?? undefined;
  };
  await resolveRoot();
  if (pinnedRoot === undefined)
    note('the product has no TUF repository yet: devices get its root pinned once it has');

  const missing = Math.max(0, options.devices - fleet.manifest.devices.length);
  if (missing > 0) await provision(options, fleet, missing, ca, pinnedRoot, note);

  const devices = fleet.manifest.devices;
  const failing = chooseFailing(
    devices.map((device) => device.serial),
    options.failShare ?? 0,
  );
  const results = new Map<string, SimulatedResult>();
  const maxRounds = options.rounds ?? defaultMaxRounds;
  let rounds = 0;
  let changed = true;
  while (rounds < maxRounds) {
    const pending = devices.filter(
      (device) => !finalStatuses.includes(results.get(device.serial)?.status ?? 'error'),
    );
    const retrying = pending.filter((device) => {
      const status = results.get(device.serial)?.status;
      return status === 'installed' || status === 'error';
    });
    // Settled: a round changes nothing more (validated and failed devices are done; up-to-date and
    // waiting ones were asked once more), unless some device still owes a result.
    if (pending.length === 0 || (rounds > 0 && !changed && retrying.length === 0)) break;
    if (retrying.some((device) => results.get(device.serial)?.status === 'error'))
      await new Promise((resolve) => setTimeout(resolve, 1000));
    if (pinnedRoot === undefined) await resolveRoot();
    rounds += 1;
    changed = false;
    const progress = options.progress?.(`round ${rounds}`, pending.length);
    let done = 0;
    progress?.update(0, pending.length);
    await forEachConcurrently(pending, concurrency, async (device) => {
      const result = await simulateDevice(options, device, failing.has(device.serial), pinnedRoot);
      const before = results.get(device.serial);
      if (before === undefined || before.status !== result.status || before.version !== result.version)
        changed = true;
      results.set(device.serial, result);
      progress?.update(++done);
    });
    progress?.stop();
  }

  const counts: Record<SimulatedStatus, number> = {
    validated: 0,
    'up-to-date': 0,
    installed: 0,
    waiting: 0,
    failed: 0,
    error: 0,
    provisioned: 0,
  };
  const ordered = devices.map(
    (device) =>
      results.get(device.serial) ?? {
        serial: device.serial,
        deviceId: device.deviceId,
        hardwareRevision: device.hardwareRevision,
        status: 'provisioned' as const,
        version: new SlotStore(deviceFiles(workDir, device).dir).read()?.version ?? initialVersion,
        failsHealthCheck: failing.has(device.serial),
        reason: null,
        error: null,
      },
  );
  for (const result of ordered) counts[result.status] += 1;
  return {
    workDir,
    productId: options.productId,
    devices: devices.length,
    provisioned: missing,
    rounds,
    counts,
    results: ordered,
  };
}

/** One update cycle of one simulated device; a thrown error is its result, not the simulation's. */
async function simulateDevice(
  options: SimulationOptions,
  device: SimulatedDevice,
  failsHealthCheck: boolean,
  pinnedRoot: Buffer | undefined,
): Promise<SimulatedResult> {
  const files = deviceFiles(options.workDir, device);
  const base = {
    serial: device.serial,
    deviceId: device.deviceId,
    hardwareRevision: device.hardwareRevision,
    failsHealthCheck,
  };
  let outcome: UpdateOutcome;
  try {
    outcome = await updateDevice({
      tls: { server: options.server, ca: files.ca, cert: files.cert, key: files.key },
      stateDir: files.dir,
      tufRoot: pinnedRoot,
      hardwareRevision: device.hardwareRevision,
      healthCheck: failsHealthCheck
        ? {
            probe: async () => ({
              healthy: false,
              reason: 'simulated failure: the device did not come up healthy (--fail-share)',
            }),
          }
        : undefined,
      attester: {
        kind: 'software-dice',
        deviceIdChainFile: files.deviceIdChain,
        deviceIdKeyFile: files.deviceIdKey,
      },
    });
  } catch (error) {
    if (!isVigilError(error)) throw error;
    return {
      ...base,
      status: 'error',
      version: new SlotStore(files.dir).read()?.version ?? initialVersion,
      reason: null,
      error: { code: error.code, message: error.message },
    };
  }
  return {
    ...base,
    status: outcome.status,
    version: outcome.version,
    reason: outcome.reason,
    error: outcome.attestationError,
  };
}

/** The factory line: registration, then each device enrolls and gets its DICE identity and firmware. */
async function provision(
  options: SimulationOptions,
  fleet: Fleet,
  count: number,
  ca: Buffer,
  pinnedRoot: Buffer | undefined,
  note: (line: string) => void,
): Promise<void> {
  const first = fleet.manifest.devices.length;
  const serials = Array.from(
    { length: count },
    (_unused, index) => `${fleet.manifest.serialPrefix}-${String(first + index + 1).padStart(4, '0')}`,
  );
  const progress = options.progress?.('provisioning devices', count);
  progress?.update(0, count);
  // Factory registration, a thousand at a time (POST /api/v1/devices/bulk).
  const registered: { serial: string; id: string; secret: string }[] = [];
  for (let start = 0; start < serials.length; start += 1000) {
    const batch = serials.slice(start, start + 1000);
    const answer = await options.admin.request<{ results: FactoryRegistrationResult[] }>(
      'POST',
      '/api/v1/devices/bulk',
      {
        devices: batch.map((serial) => ({
          serial,
          productId: options.productId,
          hardwareRevision: options.hardwareRevision,
          bootstrap: { method: 'secret' },
        })),
      },
    );
    for (const result of answer.results) {
      if (result.outcome !== 'created' || result.id === undefined || result.enrollmentSecret === undefined) {
        throw agentError(
          'AGENT_SIMULATION_INVALID',
          'conflict',
          `device ${result.serial} could not be registered afresh (${result.outcome}${result.error === undefined ? '' : `: ${result.error.code} ${result.error.detail}`})`,
        );
      }
      registered.push({ serial: result.serial, id: result.id, secret: result.enrollmentSecret });
    }
  }
  let done = 0;
  await forEachConcurrently(registered, options.concurrency ?? defaultConcurrency, async (registration) => {
    const device: SimulatedDevice = {
      serial: registration.serial,
      deviceId: registration.id,
      hardwareRevision: options.hardwareRevision,
      dir: join('devices', registration.serial),
    };
    const files = deviceFiles(options.workDir, device);
    mkdirSync(join(files.dir, 'dice'), { recursive: true, mode: 0o700 });
    writeFileSync(files.ca, ca);

    // EST enrollment (RFC 7030 §4.2.1) with a key made on the device.
    const tlsKey = generateP256Key();
    const certificates = await enrollWithSecret({
      server: options.server,
      ca,
      serial: registration.serial,
      secret: registration.secret,
      csr: buildCertificationRequest(registration.serial, tlsKey.privateKey, tlsKey.publicKey),
    });
    writeFileSync(files.key, tlsKey.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, {
      mode: 0o600,
    });
    writeFileSync(files.cert, certificates.map((der) => toPem(der, 'CERTIFICATE')).join(''));

    // The DICE DeviceID, registered at the factory as the device's attestation key.
    const deviceId = createDeviceId(`DeviceID ${registration.serial}`);
    const deviceIdPem = toPem(deviceId.certificate, 'CERTIFICATE');
    writeFileSync(files.deviceIdChain, deviceIdPem);
    writeFileSync(files.deviceIdKey, deviceId.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, {
      mode: 0o600,
    });
    await options.admin.request<FactoryAttestationKey>(
      'POST',
      `/api/v1/devices/${encodeURIComponent(registration.id)}/attestation-keys`,
      { kind: 'dice', deviceIdCertificate: deviceIdPem },
    );

    // Its first firmware in slot a, and the pinned root of its product's repository.
    const slots = new SlotStore(files.dir);
    const image = Buffer.from(`Vigil simulated firmware ${initialVersion} for ${registration.serial}\n`);
    slots.fill('a', []);
    writeFileSync(join(slots.slotDir('a'), imageName), image);
    slots.write(
      initialSlotState(initialVersion, 0, {
        version: initialVersion,
        securityVersion: 0,
        image: imageName,
        files: [
          { name: imageName, sha256: createHash('sha256').update(image).digest('hex'), length: image.length },
        ],
        rolloutId: null,
        installedAt: new Date().toISOString(),
      }),
    );
    if (pinnedRoot !== undefined) ensurePinnedRoot(tufMetadataDir(files.dir, options.productId), pinnedRoot);

    // Online: the first check-in tells the server what it runs.
    const client = new DeviceClient({
      server: options.server,
      ca,
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
    });
    await client.post('/device/v1/checkin', { version: initialVersion, securityVersion: 0, status: 'idle' });

    fleet.manifest.devices.push(device);
    fleet.save();
    progress?.update(++done);
  });
  progress?.stop();
  // The manifest keeps the factory order, whatever order the devices finished in.
  fleet.manifest.devices.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  fleet.save();
  note(`provisioned ${count} devices (${serials[0]} to ${serials.at(-1)})`);
}
