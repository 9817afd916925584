import assert from 'node:assert/strict';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { toPem } from '../../src/agent/der.ts';
import { SlotStore, initialSlotState } from '../../src/agent/slots.ts';
import { createDeviceId } from '../../src/agent/software-dice.ts';
import {
  checkTargetFit,
  needsReport,
  offerDisagreement,
  parseCheckin,
  slotFileName,
  updateDevice,
  type UpdateOptions,
} from '../../src/agent/update.ts';
import type { CheckinResponse, UpdateOffer } from '../../src/agent/wire.ts';
import { verifyDiceEvidence } from '../../src/attestation/dice/evidence.ts';
import { isVigilError } from '../../src/core/index.ts';
import { makeTlsFixture, tinyRepository, type TinyRepository, type TlsFixture } from './fixtures.ts';

const device = { version: '1.0.0', hardwareRevision: 'A', securityVersion: 3 };
const custom = { version: '1.0.0', securityVersion: 3, hardwareRevisions: ['A', 'B'] };

describe('update decisions (pure)', () => {
  it('a signed target fits when it is the offered release, for this hardware revision, without rollback', () => {
    assert.equal(checkTargetFit(custom, device), null);
    assert.equal(checkTargetFit({ ...custom, securityVersion: 4 }, device), null);
    assert.match(checkTargetFit({ ...custom, version: '1.0.1' }, device)!, /not the offered 1\.0\.0/);
    assert.match(
      checkTargetFit({ ...custom, hardwareRevisions: ['B'] }, device)!,
      /not built for hardware revision A \(it fits B\)/,
    );
    assert.match(checkTargetFit({ ...custom, hardwareRevisions: 'A' }, device)!, /hardware revision A/);
    assert.match(
      checkTargetFit({ ...custom, securityVersion: 2 }, device)!,
      /security version 2, below this device's 3 \(no rollback\)/,
    );
    assert.match(checkTargetFit({ ...custom, securityVersion: '3' }, device)!, /names no security version/);
    assert.match(checkTargetFit(null, device)!, /not the offered/);
  });

  it('reports each step once, in order, whatever the server recorded before', () => {
    assert.equal(needsReport('downloading', 'offered'), true);
    assert.equal(needsReport('downloading', 'assigned'), true);
    assert.equal(needsReport('downloading', 'downloaded'), false);
    assert.equal(needsReport('installing', 'downloaded'), true);
    assert.equal(needsReport('installed', 'installed'), false);
    assert.equal(needsReport('failed', 'installing'), true);
  });

  it("the offer's target must agree with the signed one", () => {
    const offered = { path: '1.0.0/f.bin', length: 10, hashes: { sha256: 'aa', sha512: 'bb' } };
    assert.equal(offerDisagreement(offered, { length: 10, hashes: { sha256: 'aa', sha512: 'bb' } }), null);
    assert.match(
      offerDisagreement(offered, { length: 11, hashes: { sha256: 'aa' } })!,
      /10 bytes, the signed metadata 11/,
    );
    assert.match(offerDisagreement(offered, { length: 10, hashes: { sha256: 'cc' } })!, /sha256/);
  });

  it('reads check-in answers as untrusted shapes', () => {
    assert.equal(parseCheckin({ update: null }), null);
    for (const bad of [null, {}, { update: 'x' }, { update: { rolloutId: 1 } }])
      assert.throws(
        () => parseCheckin(bad),
        (error: unknown) => isVigilError(error, 'AGENT_OFFER_MALFORMED'),
      );
    assert.throws(
      () => slotFileName('1.0.0/..'),
      (error: unknown) => isVigilError(error, 'AGENT_OFFER_MALFORMED'),
    );
    assert.equal(slotFileName('1.0.0/firmware.bin'), 'firmware.bin');
  });
});

/** A device endpoint that keeps one rollout's state for one device, serves a TUF repository and appraises DICE evidence. */
class FakeDeviceEndpoint {
  readonly tls: TlsFixture;
  readonly repository: TinyRepository;
  server!: Server;
  url!: string;
  offer: UpdateOffer | null = null;
  reports: { step: string; version?: string; reason?: string }[] = [];
  checkins: { version: string; securityVersion?: number }[] = [];
  requests: string[] = [];
  deviceIdCertificate: Buffer | null = null;
  refuseInstalling = false;
  postponements: { hours: number; reason?: string }[] = [];
  last: CheckinResponse['last'] = null;
  private nonce = Buffer.alloc(0);

  constructor(tls: TlsFixture, repository: TinyRepository) {
    this.tls = tls;
    this.repository = repository;
  }

  reset(offer: Partial<UpdateOffer> | null): void {
    const { target } = this.repository;
    this.offer =
      offer === null
        ? null
        : {
            rolloutId: '0192f0e4-3333-7000-8000-000000000003',
            releaseId: '0192f0e4-2222-7000-8000-000000000002',
            version: '1.0.0',
            securityVersion: 3,
            securityUpdate: false,
            repository: `/tuf/${this.repository.productId}/`,
            targets: [
              {
                path: target.path,
                length: target.bytes.length,
                hashes: {
                  sha256: target.sha256,
                  sha512: createHash('sha512').update(target.bytes).digest('hex'),
                },
              },
            ],
            state: 'offered',
            deadline: null,
            installWindow: { open: true, closesAt: null, opensAt: null },
            postponedUntil: null,
            postponementsLeft: 3,
            ...offer,
          };
    this.reports = [];
    this.checkins = [];
    this.requests = [];
    this.refuseInstalling = false;
    this.postponements = [];
    this.last = null;
  }

  async start(): Promise<void> {
    this.server = createServer(
      {
        cert: this.tls.serverCertPem,
        key: this.tls.serverKeyPem,
        ca: this.tls.caPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const path = request.url ?? '';
          this.requests.push(`${request.method} ${path}`);
          const body = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString());
          const send = (status: number, value: unknown) => {
            const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
            response.writeHead(status, { 'content-length': bytes.length }).end(bytes);
          };
          const file = this.repository.files.get(path);
          if (request.method === 'GET' && file !== undefined) return send(200, file);
          if (path.startsWith('/tuf/')) return send(404, { code: 'TUF_METADATA_NOT_FOUND' });
          if (path === '/device/v1/whoami') return send(200, { hardwareRevision: 'A' });
          if (path === '/device/v1/checkin') {
            this.checkins.push(body);
            // Validated once the device attested the installed release and checked in with it;
            // the answer then says so (`last`), as the server's does.
            if (this.offer?.state === 'installed' && body.version === this.offer.version && this.attested) {
              this.last = {
                rolloutId: this.offer.rolloutId,
                releaseId: this.offer.releaseId,
                state: 'validated',
                reason: null,
                rolloutStatus: 'active',
              };
              this.offer = null;
            }
            return send(
              200,
              this.offer === null ? { update: null, last: this.last } : { update: this.offer },
            );
          }
          if (path.endsWith('/postpone')) {
            this.postponements.push(body);
            return send(200, {
              rolloutId: this.offer?.rolloutId,
              postponedUntil: new Date(Date.now() + body.hours * 3_600_000).toISOString(),
              postponementsLeft: 3 - this.postponements.length,
            });
          }
          if (path.endsWith('/report')) {
            if (body.step === 'installing' && this.refuseInstalling)
              return send(409, { code: 'UPDATE_OUTSIDE_MAINTENANCE_WINDOW', detail: 'closed' });
            this.reports.push(body);
            if (this.offer !== null) this.offer.state = body.step;
            return send(200, { rolloutId: this.offer?.rolloutId, state: body.step });
          }
          if (path === '/device/v1/attestation/nonce') {
            this.nonce = randomBytes(32);
            return send(201, { nonce: this.nonce.toString('base64'), expiresAt: new Date().toISOString() });
          }
          if (path === '/device/v1/attestation/evidence') {
            const claims = verifyDiceEvidence(
              {
                chain: body.evidence.chain.map((entry: string) => Buffer.from(entry, 'base64')),
                nonce: Buffer.from(body.evidence.nonce, 'base64'),
                signature: Buffer.from(body.evidence.signature, 'base64'),
              },
              [
                {
                  id: 'key',
                  kind: 'dice',
                  publicKey: new X509Certificate(this.deviceIdCertificate!).publicKey,
                  certificate: this.deviceIdCertificate,
                  endorsement: 'factory',
                  lastClock: null,
                },
              ],
              new Date(),
            );
            const measured =
              claims.components[0]?.digests.sha256 === this.repository.target.sha256 ? '1.0.0' : null;
            this.attested = measured !== null;
            return send(201, {
              id: 'attestation-1',
              status: measured === null ? 'contraindicated' : 'affirming',
              secureBoot: claims.secureBoot,
              measuredRelease: measured,
              findings: [],
              rebooted: null,
              tpmClock: null,
              ear: '',
            });
          }
          return send(404, { code: 'NOT_FOUND', detail: path });
        });
      },
    );
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  }

  attested = false;
}

describe('updateDevice (one update cycle against a fake device endpoint)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-agent-update-'));
  const tls = makeTlsFixture();
  const endpoint = new FakeDeviceEndpoint(tls, tinyRepository());
  const deviceId = createDeviceId('DeviceID SN-UPDATE');
  let stateDir: string;
  let devices = 0;
  const files = {
    ca: join(scratch, 'ca.pem'),
    cert: join(scratch, 'device.pem'),
    key: join(scratch, 'device.key'),
    deviceId: join(scratch, 'device-id.pem'),
    deviceIdKey: join(scratch, 'device-id.key'),
  };

  before(async () => {
    writeFileSync(files.ca, tls.caPem);
    writeFileSync(files.cert, tls.clientCertPem);
    writeFileSync(files.key, tls.clientKeyPem);
    writeFileSync(files.deviceId, toPem(deviceId.certificate, 'CERTIFICATE'));
    writeFileSync(files.deviceIdKey, deviceId.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    endpoint.deviceIdCertificate = deviceId.certificate;
    await endpoint.start();
  });
  after(async () => {
    await new Promise<void>((resolve) => endpoint.server.close(() => resolve()));
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => {
    stateDir = join(scratch, `device-${++devices}`);
    endpoint.reset({});
    endpoint.attested = false;
  });

  const options = (extra: Partial<UpdateOptions> = {}): UpdateOptions => ({
    tls: { server: new URL(endpoint.url), ca: files.ca, cert: files.cert, key: files.key },
    stateDir,
    tufRoot: endpoint.repository.root,
    hardwareRevision: 'A',
    initialVersion: { version: '0.9.0', securityVersion: 2 },
    attester: {
      kind: 'software-dice',
      deviceIdChainFile: files.deviceId,
      deviceIdKeyFile: files.deviceIdKey,
    },
    ...extra,
  });
  const slotState = () => new SlotStore(stateDir).read()!;

  it('nothing offered: up-to-date, having told the server its version and security version', async () => {
    endpoint.reset(null);
    const outcome = await updateDevice(options());
    assert.equal(outcome.status, 'up-to-date');
    assert.deepEqual(endpoint.checkins, [{ version: '0.9.0', securityVersion: 2, status: 'idle' }]);
    assert.deepEqual(outcome.reported, []);
  });

  it('installs into slot b, reports every step, attests the new firmware (its FWID) and is validated', async () => {
    const outcome = await updateDevice(options({ hardwareRevision: undefined }));
    assert.equal(outcome.status, 'validated', JSON.stringify(outcome));
    assert.deepEqual(endpoint.reports, [
      { step: 'downloading' },
      { step: 'downloaded' },
      { step: 'installing' },
      { step: 'installed', version: '1.0.0' },
    ]);
    assert.ok(
      endpoint.requests.includes('GET /device/v1/whoami'),
      'the hardware revision came from the server',
    );
    assert.deepEqual(outcome.attestation, {
      id: 'attestation-1',
      status: 'affirming',
      measuredRelease: '1.0.0',
    });
    assert.deepEqual(endpoint.checkins.at(-1), { version: '1.0.0', securityVersion: 3, status: 'idle' });
    const state = slotState();
    assert.equal(state.active, 'b');
    assert.equal(state.securityVersion, 3);
    assert.deepEqual(
      readFileSync(join(stateDir, 'slots', 'b', 'firmware.bin')),
      endpoint.repository.target.bytes,
    );
    // The Alias the device attested with names the installed firmware.
    const alias = new X509Certificate(readFileSync(join(stateDir, 'dice', 'alias-chain.pem')));
    assert.ok(alias.raw.includes(Buffer.from(endpoint.repository.target.sha256, 'hex')));
  });

  it('outside the maintenance window it downloads, then waits; the next run installs without reporting or downloading again', async () => {
    endpoint.reset({ installWindow: { open: false, closesAt: null, opensAt: '2030-01-01T02:00:00Z' } });
    const waiting = await updateDevice(options());
    assert.equal(waiting.status, 'waiting');
    assert.match(waiting.reason!, /maintenance window is closed; it opens at 2030-01-01T02:00:00Z/);
    assert.deepEqual(waiting.installWindow, { open: false, closesAt: null, opensAt: '2030-01-01T02:00:00Z' });
    assert.deepEqual(waiting.reported, ['downloading', 'downloaded']);
    assert.equal(slotState().active, 'a');

    endpoint.offer!.installWindow = { open: true, closesAt: null, opensAt: null };
    endpoint.requests = [];
    const installed = await updateDevice(options());
    assert.equal(installed.status, 'validated');
    assert.deepEqual(installed.reported, ['installing', 'installed']);
    assert.equal(
      endpoint.requests.some((request) => request.includes('/targets/')),
      false,
      'the verified download was reused',
    );
  });

  it('the user may postpone an offered update: recorded by the server, nothing downloaded or installed', async () => {
    const outcome = await updateDevice(
      options({ postpone: { hours: 8, reason: 'night shift on the ward' } }),
    );
    assert.equal(outcome.status, 'waiting');
    assert.match(outcome.reason!, /postponed until .* \(2 postponements left\)/);
    assert.deepEqual(endpoint.postponements, [{ hours: 8, reason: 'night shift on the ward' }]);
    assert.deepEqual(outcome.reported, []);
    assert.equal(
      endpoint.requests.some((request) => request.includes('/targets/')),
      false,
    );
    assert.equal(slotState().active, 'a');
  });

  it('a window that closed since the check-in (409 on installing) is waiting too', async () => {
    endpoint.refuseInstalling = true;
    const outcome = await updateDevice(options());
    assert.equal(outcome.status, 'waiting');
    assert.equal(slotState().active, 'a');
  });

  it('a release for another hardware revision, or below the security version, is reported failed and not installed', async () => {
    const failed = await updateDevice(options({ hardwareRevision: 'C' }));
    assert.equal(failed.status, 'failed');
    assert.equal(endpoint.reports.at(-1)?.step, 'failed');
    assert.match(endpoint.reports.at(-1)!.reason!, /not built for hardware revision C/);
    assert.equal(slotState().active, 'a');

    stateDir = join(scratch, `device-${++devices}`);
    endpoint.reset({});
    const rollback = await updateDevice(
      options({ initialVersion: { version: '2.0.0', securityVersion: 5 } }),
    );
    assert.equal(rollback.status, 'failed');
    assert.match(rollback.reason!, /security version 3, below this device's 5/);
    assert.equal(slotState().version, '2.0.0');
  });

  it('a target that fails TUF verification is reported failed', async () => {
    const path = [...endpoint.repository.files.keys()].find((key) => key.includes('/targets/'))!;
    const genuine = endpoint.repository.files.get(path)!;
    endpoint.repository.files.set(path, Buffer.from(genuine).fill(0x41, 0, 8));
    try {
      const outcome = await updateDevice(options());
      assert.equal(outcome.status, 'failed');
      assert.match(
        endpoint.reports.at(-1)!.reason!,
        /^TUF verification failed: downloading 1\.0\.0\/firmware\.bin/,
      );
      assert.deepEqual(outcome.reported, ['downloading', 'failed']);
    } finally {
      endpoint.repository.files.set(path, genuine);
    }
  });

  it('a failed health check keeps the running slot and reports why', async () => {
    const outcome = await updateDevice(options({ healthCheck: { command: 'echo no heartbeat; exit 1' } }));
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.reason!,
      /health check of slot b failed: the health-check command exited 1: no heartbeat; slot a stays active/,
    );
    const state = slotState();
    assert.equal(state.active, 'a');
    assert.equal(state.staged, null);
    assert.equal(existsSync(join(stateDir, 'slots', 'b')), false);
    assert.deepEqual(outcome.reported, ['downloading', 'downloaded', 'installing', 'failed']);
  });

  it('already running the offered release (installed before a reboot): attests and checks in only', async () => {
    const store = new SlotStore(stateDir);
    store.write({
      ...initialSlotState('1.0.0', 3),
      slots: {
        a: {
          version: '1.0.0',
          securityVersion: 3,
          image: 'firmware.bin',
          files: [
            {
              name: 'firmware.bin',
              sha256: endpoint.repository.target.sha256,
              length: endpoint.repository.target.bytes.length,
            },
          ],
          rolloutId: null,
          installedAt: '',
        },
        b: null,
      },
    });
    store.fill('a', []);
    writeFileSync(join(store.slotDir('a'), 'firmware.bin'), endpoint.repository.target.bytes);
    endpoint.reset({ state: 'installed' });
    const outcome = await updateDevice(options());
    assert.equal(outcome.status, 'validated');
    assert.deepEqual(outcome.reported, []);
    assert.equal(
      endpoint.requests.some((request) => request.startsWith('GET /tuf/')),
      false,
    );
  });

  it('refuses to start without slot state or a pinned root, before reporting anything', async () => {
    await assert.rejects(updateDevice(options({ initialVersion: undefined })), (error: unknown) =>
      isVigilError(error, 'AGENT_SLOT_STATE_MISSING'),
    );
    await assert.rejects(updateDevice(options({ tufRoot: undefined })), (error: unknown) =>
      isVigilError(error, 'AGENT_TUF_ROOT_MISSING'),
    );
    assert.deepEqual(endpoint.reports, []);
    assert.deepEqual(readdirSync(stateDir).sort(), ['slot-state.json']);
  });
});
