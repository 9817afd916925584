import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSimulation, type SimulationSummary } from '../../src/agent/index.ts';
import { createApiClient } from '../../src/cli/client.ts';
import type { ApiClient } from '../../src/core/index.ts';
import { startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';
import { runVigil } from '../support/server-process.ts';

/**
 * Rollouts end to end against a real server in this process: simulated devices (`vigil simulate`'s
 * code) register at the factory, enroll over EST, install through tuf-js into A/B slots and attest
 * with a software DICE layer whose Alias certificate measures the installed firmware; the server
 * validates each update from that attestation. One device is updated by the real `vigil agent
 * update` binary, spawned asynchronously.
 */
describe('rollouts with simulated devices (EST, tuf-js, A/B slots, software DICE)', () => {
  let bed: IdentityTestbed;
  let work: string;
  let caFile: string;
  let admin: ApiClient;

  before(async () => {
    bed = await startIdentityTestbed();
    work = mkdtempSync(join(tmpdir(), 'vigil-rollout-peer-'));
    caFile = join(work, 'ca.pem');
    writeFileSync(caFile, await bed.caPem());
    const tokenFile = join(work, 'admin.token');
    writeFileSync(tokenFile, bed.adminToken, { mode: 0o600 });
    admin = createApiClient({ url: bed.adminUrl, tokenFile });
  });
  after(async () => {
    await bed?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  /** A published release with one firmware artifact and DICE reference values: the artifact's SHA-256 as the layer's FWID. */
  async function publishRelease(version: string, securityVersion: number, hardwareRevisions: string[]) {
    const firmware = Buffer.from(`firmware ${version} `.repeat(2048));
    const sha256 = createHash('sha256').update(firmware).digest('hex');
    const created = await bed.admin('POST', '/api/v1/releases', {
      productId: bed.productId,
      version,
      securityVersion,
      hardwareRevisions,
      referenceValues: hardwareRevisions.map((hardwareRevision) => ({
        hardwareRevision,
        values: {
          components: [{ kind: 'dice-layer', digests: { sha256 }, label: `firmware ${version}` }],
          securityVersion,
          secureBootRequired: true,
        },
      })),
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const uploaded = await fetch(
      `${bed.adminUrl}/api/v1/releases/${created.json.id}/artifacts?name=firmware.bin`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${bed.adminToken}`, 'content-type': 'application/octet-stream' },
        body: firmware,
      },
    );
    assert.equal(uploaded.status, 201, await uploaded.text());
    const published = await bed.admin('POST', `/api/v1/releases/${created.json.id}/publish`);
    assert.equal(published.status, 200, JSON.stringify(published.json));
    return { id: created.json.id as string, sha256 };
  }

  function simulate(
    workDir: string,
    devices: number,
    hardwareRevision: string,
    extra: { rounds?: number; failShare?: number } = {},
  ) {
    return runSimulation({
      admin,
      server: new URL(bed.deviceUrl),
      caFile,
      productId: bed.productId,
      hardwareRevision,
      devices,
      workDir,
      concurrency: 8,
      ...extra,
    });
  }

  async function rolloutDevices(rolloutId: string): Promise<any[]> {
    const devices: any[] = [];
    let cursor: string | null = null;
    do {
      const page = await bed.admin(
        'GET',
        `/api/v1/rollouts/${rolloutId}/devices?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      assert.equal(page.status, 200, JSON.stringify(page.json));
      devices.push(...page.json.devices);
      cursor = page.json.nextCursor;
    } while (cursor !== null);
    return devices;
  }

  function summaryLine(summary: SimulationSummary): string {
    return JSON.stringify({
      counts: summary.counts,
      problems: summary.results
        .filter((result) => result.error !== null || result.reason !== null)
        .slice(0, 3),
    });
  }

  test('ten devices and one 100% wave: one updated by `vigil agent update`, the rest by the simulator, every one validated', async () => {
    const release = await publishRelease('1.0.0', 1, ['A', 'B']);
    const fleetDir = join(work, 'fleet-a');
    const provisioned = await simulate(fleetDir, 10, 'A', { rounds: 0 });
    assert.equal(provisioned.provisioned, 10);
    assert.equal(provisioned.counts.provisioned, 10, summaryLine(provisioned));

    const rollout = await bed.admin('POST', '/api/v1/rollouts', {
      releaseId: release.id,
      selection: { kind: 'hardware-revision', hardwareRevisions: ['A'] },
      waves: [{ share: 100 }],
      validationMinutes: 60,
    });
    assert.equal(rollout.status, 201, JSON.stringify(rollout.json));
    assert.equal(rollout.json.waves[0].devices, 10);

    // The real binary, on the first device's state directory (the simulated factory pinned its root).
    const fleet = JSON.parse(readFileSync(join(fleetDir, 'fleet.json'), 'utf8'));
    const first = join(fleetDir, fleet.devices[0].dir);
    const run = await runVigil(
      [
        'agent',
        'update',
        '--server',
        bed.deviceUrl,
        '--ca',
        join(first, 'ca.pem'),
        '--cert',
        join(first, 'device.pem'),
        '--key',
        join(first, 'device.key'),
        '--state-dir',
        first,
        '--dice-chain',
        join(first, 'dice', 'device-id.pem'),
        '--dice-key',
        join(first, 'dice', 'device-id.key'),
        '--health-check',
        'test -s "$VIGIL_IMAGE" && test "$VIGIL_VERSION" = 1.0.0',
        '--json',
      ],
      60_000,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const outcome = JSON.parse(run.stdout);
    assert.equal(outcome.status, 'validated', run.stdout);
    assert.equal(outcome.version, '1.0.0');
    assert.equal(outcome.activeSlot, 'b');
    assert.deepEqual(outcome.reported, ['downloading', 'downloaded', 'installing', 'installed']);
    assert.equal(outcome.attestation.status, 'affirming');
    assert.equal(outcome.attestation.measuredRelease, '1.0.0');
    // The slot the device now runs holds exactly the signed target; the old slot is untouched.
    assert.equal(
      createHash('sha256')
        .update(readFileSync(join(first, 'slots', 'b', 'firmware.bin')))
        .digest('hex'),
      release.sha256,
    );
    assert.match(
      readFileSync(join(first, 'slots', 'a', 'firmware.bin'), 'utf8'),
      /simulated firmware 0\.0\.0/,
    );

    const rest = await simulate(fleetDir, 10, 'A');
    assert.equal(rest.provisioned, 0);
    assert.deepEqual(
      { validated: rest.counts.validated, upToDate: rest.counts['up-to-date'] },
      { validated: 9, upToDate: 1 },
      summaryLine(rest),
    );
    // Round 1 validates nine; the up-to-date one is asked once more, then the fleet has settled.
    assert.ok(rest.rounds <= 2, `rounds: ${rest.rounds}`);

    const states = await rolloutDevices(rollout.json.id);
    assert.equal(states.length, 10);
    for (const device of states) assert.equal(device.state, 'validated', JSON.stringify(device));
    const finished = await bed.admin('GET', `/api/v1/rollouts/${rollout.json.id}`);
    assert.equal(finished.json.status, 'completed', JSON.stringify(finished.json));
  });

  test('100 devices, waves of 10% (pause at 3 failures) and 100%, every health check failing: the rollout pauses and wave 2 is never offered', async () => {
    const release = await publishRelease('2.0.0', 2, ['B']);
    const fleetDir = join(work, 'fleet-b');
    const provisioned = await simulate(fleetDir, 100, 'B', { rounds: 0 });
    assert.equal(provisioned.counts.provisioned, 100, summaryLine(provisioned));

    const rollout = await bed.admin('POST', '/api/v1/rollouts', {
      releaseId: release.id,
      selection: { kind: 'hardware-revision', hardwareRevisions: ['B'] },
      waves: [{ share: 10, failure: { count: 3 }, onFailure: 'pause' }, { share: 100 }],
      validationMinutes: 60,
    });
    assert.equal(rollout.status, 201, JSON.stringify(rollout.json));
    assert.deepEqual(
      rollout.json.waves.map((wave: any) => wave.devices),
      [10, 90],
    );

    const summary = await simulate(fleetDir, 100, 'B', { failShare: 100 });
    assert.equal(summary.counts.error, 0, summaryLine(summary));
    assert.equal(summary.counts.validated + summary.counts.installed, 0, summaryLine(summary));
    assert.ok(summary.counts.failed >= 3, summaryLine(summary));
    assert.equal(summary.counts.failed + summary.counts['up-to-date'], 100, summaryLine(summary));
    for (const result of summary.results.filter((entry) => entry.status === 'failed'))
      assert.match(result.reason ?? '', /health check of slot b failed: simulated failure/);

    const paused = await bed.admin('GET', `/api/v1/rollouts/${rollout.json.id}`);
    assert.equal(paused.json.status, 'paused', JSON.stringify(paused.json));
    assert.match(paused.json.pauseReason, /wave 1 met its failure condition/);
    assert.equal(paused.json.currentWave, 0);

    const states = await rolloutDevices(rollout.json.id);
    const firstWave = states.filter((device) => device.wave === 0);
    const secondWave = states.filter((device) => device.wave === 1);
    assert.equal(firstWave.length, 10);
    assert.equal(secondWave.length, 90);
    for (const device of secondWave) {
      assert.equal(device.state, 'assigned', JSON.stringify(device));
      assert.equal(device.offeredAt, null);
    }
    const failedIds = new Set(
      firstWave.filter((device) => device.state === 'failed').map((device) => device.deviceId),
    );
    assert.ok(failedIds.size >= 3);
    // The devices that failed are exactly the ones the server counts as failed, and they kept their slot.
    const failedResults = summary.results.filter((result) => result.status === 'failed');
    assert.deepEqual(new Set(failedResults.map((result) => result.deviceId)), failedIds);
    for (const result of failedResults) assert.equal(result.version, '0.0.0');
    const fleet = JSON.parse(readFileSync(join(fleetDir, 'fleet.json'), 'utf8'));
    const failedDir = join(fleetDir, fleet.devices.find((device: any) => failedIds.has(device.deviceId)).dir);
    const slots = JSON.parse(readFileSync(join(failedDir, 'slot-state.json'), 'utf8'));
    assert.equal(slots.active, 'a');
    assert.equal(slots.version, '0.0.0');
    assert.equal(slots.staged, null);
  });

  test('`vigil simulate` through the binary: factory over the admin API (--admin, --token-file), a round, a JSON summary', async () => {
    // Both rollouts above are finished or paused: new devices are offered nothing and stay up to date.
    const run = await runVigil(
      [
        'simulate',
        '--devices',
        '2',
        '--admin',
        bed.adminUrl,
        '--token-file',
        join(work, 'admin.token'),
        '--server',
        bed.deviceUrl,
        '--ca',
        caFile,
        '--product',
        bed.productId,
        '--hardware-revision',
        'A',
        '--rounds',
        '1',
        '--work-dir',
        join(work, 'fleet-cli'),
        '--json',
      ],
      60_000,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.provisioned, 2);
    assert.equal(summary.rounds, 1);
    assert.equal(summary.counts['up-to-date'], 2, run.stdout);
    const registered = await bed.admin('GET', `/api/v1/devices/${summary.results[0].deviceId}`);
    assert.equal(registered.status, 200);
    assert.equal(registered.json.status, 'enrolled');
    const keys = await bed.admin('GET', `/api/v1/devices/${summary.results[0].deviceId}/attestation-keys`);
    assert.equal(keys.json.keys[0].kind, 'dice');
    assert.equal(keys.json.keys[0].endorsement, 'factory');
  });
});
