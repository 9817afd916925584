import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/index.ts';
import { verifyStoredLog } from '../../src/ledger/index.ts';
import type { AuthenticatedDevice } from '../../src/updates/device-updates.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { ledgerSize, validProduct } from '../api/helpers.ts';

const kinds = await storeKinds();
const minute = 60_000;

for (const kind of kinds) {
  describe(`rollouts (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;
    let counter = 0;

    before(async () => {
      t = await startTestPlatform(kind, new ManualClock('2026-11-26T10:00:00Z'));
      productId = (
        await t.call(
          'POST',
          '/api/v1/products',
          validProduct('Ventilator', { hardwareRevisions: ['rev-a', 'rev-b'] }),
        )
      ).json.id;
    });
    after(() => t.close());

    async function register(count: number, hardwareRevision = 'rev-a'): Promise<string[]> {
      const ids: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const created = await t.call('POST', '/api/v1/devices', {
          serial: `VENT-${++counter}`,
          productId,
          hardwareRevision,
          bootstrap: { method: 'secret' },
        });
        assert.equal(created.status, 201, created.text);
        ids.push(created.json.id);
      }
      return ids;
    }

    async function published(version: string, securityVersion = 1, extra: Record<string, unknown> = {}) {
      const release = await t.call('POST', '/api/v1/releases', {
        productId,
        version,
        securityVersion,
        hardwareRevisions: ['rev-a'],
        ...extra,
      });
      assert.equal(release.status, 201, release.text);
      const uploaded = await t.send('POST', `/api/v1/releases/${release.json.id}/artifacts?name=fw.bin`, {
        payload: Buffer.from(`firmware ${version}`),
        contentType: 'application/octet-stream',
      });
      assert.equal(uploaded.status, 201, uploaded.text);
      const done = await t.call('POST', `/api/v1/releases/${release.json.id}/publish`);
      assert.equal(done.status, 200, done.text);
      return done.json as { id: string; version: string };
    }

    async function deviceRow(id: string): Promise<AuthenticatedDevice> {
      return t.platform.store.db
        .selectFrom('devices')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
    }

    async function checkin(id: string, version = '0.9.0', securityVersion?: number) {
      return t.platform.updates.devices.checkin(await deviceRow(id), { version, securityVersion });
    }

    /** The attestation module's verdict on the device, as an appraisal would record it. */
    async function attested(
      id: string,
      measuredRelease: string,
      status: 'affirming' | 'contraindicated' = 'affirming',
    ) {
      await t.platform.store.transaction((tx) =>
        t.platform.identity.devices.recordTrust(tx, id, {
          status,
          appraisedAt: t.clock.now().toISOString(),
          secureBoot: 'enabled',
          measuredRelease,
          attestationId: `0197${String(++counter).padStart(4, '0')}-0000-7000-8000-000000000000`,
        }),
      );
    }

    const rolloutOf = async (id: string) => (await t.call('GET', `/api/v1/rollouts/${id}`)).json;

    test('a rollout needs a published release and a sound wave plan', async () => {
      const draft = await t.call('POST', '/api/v1/releases', {
        productId,
        version: '0.1.0-draft',
        securityVersion: 1,
        hardwareRevisions: ['rev-a'],
      });
      const refused = await t.call('POST', '/api/v1/rollouts', {
        releaseId: draft.json.id,
        selection: { kind: 'product' },
        waves: [{ share: 100 }],
      });
      assert.equal(refused.status, 409);
      assert.equal(refused.json.code, 'ROLLOUT_RELEASE_NOT_PUBLISHED');
      const release = await published('0.2.0');
      const before = await ledgerSize(t);
      for (const waves of [
        [{ share: 50 }, { share: 10 }],
        [{ name: 'nothing' }],
        [{ share: 100, success: { validatedShare: 0 } }],
      ]) {
        const bad = await t.call('POST', '/api/v1/rollouts', {
          releaseId: release.id,
          selection: { kind: 'product' },
          waves,
        });
        assert.equal(bad.status, 400, JSON.stringify(waves));
      }
      const unknown = await t.call('POST', '/api/v1/rollouts', {
        releaseId: release.id,
        selection: { kind: 'devices', deviceIds: ['0197aaaa-0000-7000-8000-000000000000'] },
        waves: [{ share: 100 }],
      });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.json.code, 'ROLLOUT_DEVICE_NOT_ELIGIBLE');
      assert.equal(await ledgerSize(t), before);
    });

    test('waves: bench devices first, then cumulative shares; a failing wave pauses and the next wave is offered nothing', async () => {
      const devices = await register(20);
      await register(2, 'rev-b'); // the release does not fit rev-b: never selected
      const release = await published('1.0.0');
      const created = await t.call('POST', '/api/v1/rollouts', {
        releaseId: release.id,
        selection: { kind: 'product' },
        validationMinutes: 60,
        waves: [
          { name: 'bench', devices: devices.slice(0, 2), failure: { count: 1 }, onSuccess: 'continue' },
          { name: '25 %', share: 25, failure: { count: 2 }, onFailure: 'pause' },
          { name: 'all', share: 100 },
        ],
      });
      assert.equal(created.status, 201, created.text);
      const rollout = created.json;
      assert.deepEqual(
        rollout.waves.map((wave: any) => wave.devices),
        [2, 5, 13],
      );
      assert.equal(rollout.currentWave, 0);
      const members = (await t.call('GET', `/api/v1/rollouts/${rollout.id}/devices?limit=1000`)).json
        .devices as any[];
      const waveOf = new Map(members.map((member) => [member.deviceId, member.wave]));
      const inWave = (wave: number) => devices.filter((device) => waveOf.get(device) === wave);

      // A device of a later wave hears nothing yet; a bench device is offered the update.
      assert.equal((await checkin(inWave(1)[0]!)).update, null);
      const offer = (await checkin(inWave(0)[0]!)).update!;
      assert.equal(offer.version, '1.0.0');
      assert.equal(offer.repository, `/tuf/${productId}/`);
      assert.equal(offer.targets[0]!.path, '1.0.0/fw.bin');
      assert.equal(offer.installWindow.open, true);

      // Both bench devices install and attest the new release: validated, and the next wave starts.
      for (const device of inWave(0)) {
        await checkin(device);
        for (const step of ['downloading', 'downloaded', 'installing'] as const) {
          await t.platform.updates.devices.report(await deviceRow(device), rollout.id, { step });
        }
        const installed = await t.platform.updates.devices.report(await deviceRow(device), rollout.id, {
          step: 'installed',
          version: '1.0.0',
        });
        assert.equal(installed.state, 'installed');
        t.clock.advance(minute);
        await attested(device, '1.0.0');
        const answer = await checkin(device, '1.0.0');
        assert.equal(answer.update, null, 'validated: nothing more to install');
        assert.deepEqual(answer.last, {
          rolloutId: rollout.id,
          releaseId: release.id,
          state: 'validated',
          reason: null,
          rolloutStatus: 'active',
        });
      }
      assert.equal((await rolloutOf(rollout.id)).currentWave, 1);

      // Wave 2: one installs something else, one reports a failure: the failure condition is met.
      const [first, second, ...rest] = inWave(1);
      await checkin(first!);
      const wrong = await t.platform.updates.devices.report(await deviceRow(first!), rollout.id, {
        step: 'installed',
        version: '0.9.9',
      });
      assert.equal(wrong.state, 'failed');
      await checkin(second!);
      await t.platform.updates.devices.report(await deviceRow(second!), rollout.id, {
        step: 'failed',
        reason: 'flash write error',
      });
      const paused = await rolloutOf(rollout.id);
      assert.equal(paused.status, 'paused');
      assert.match(paused.pauseReason, /failure condition/);
      // Paused: nobody is offered anything, not even the rest of the failing wave.
      assert.equal((await checkin(rest[0]!)).update, null);
      for (const device of inWave(2)) assert.equal((await checkin(device)).update, null);
      const untouched = (await t.call('GET', `/api/v1/rollouts/${rollout.id}/devices?wave=2&limit=100`)).json
        .devices as any[];
      assert.ok(untouched.every((device) => device.state === 'assigned' && device.offeredAt === null));

      // Resuming re-judges the wave: still failing, so it pauses again; approving moves on.
      assert.equal((await t.call('POST', `/api/v1/rollouts/${rollout.id}/resume`)).json.status, 'paused');
      const approved = await t.call('POST', `/api/v1/rollouts/${rollout.id}/approve`);
      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.json.currentWave, 2);
      assert.equal((await checkin(inWave(2)[0]!)).update?.version, '1.0.0');

      // Reports for a rollout that does not exist, or by a device it offered nothing, change nothing.
      const before = await ledgerSize(t);
      await assert.rejects(
        t.platform.updates.devices.report(await deviceRow(first!), '0197aaaa-0000-7000-8000-000000000000', {
          step: 'downloading',
        }),
        { code: 'UPDATE_ROLLOUT_UNKNOWN' },
      );
      await assert.rejects(
        t.platform.updates.devices.report(await deviceRow(first!), rollout.id, { step: 'downloading' }),
        {
          code: 'UPDATE_ALREADY_FINISHED',
        },
      );
      await assert.rejects(
        t.platform.updates.devices.report(await deviceRow(second!), rollout.id, { step: 'failed' }),
        {
          code: 'UPDATE_ALREADY_FINISHED',
        },
      );
      assert.equal(await ledgerSize(t), before);

      const aborted = await t.call('POST', `/api/v1/rollouts/${rollout.id}/abort`, { reason: 'field issue' });
      assert.equal(aborted.json.status, 'aborted');
      assert.equal((await checkin(inWave(2)[1]!)).update, null);
      const again = await t.call('POST', `/api/v1/rollouts/${rollout.id}/pause`, { reason: 'late' });
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 'ROLLOUT_STATE_CONFLICT');
    });

    test('devices that never validate time out at the deadline, and count as failures', async () => {
      const devices = await register(3);
      const release = await published('1.1.0');
      const rollout = (
        await t.call('POST', '/api/v1/rollouts', {
          releaseId: release.id,
          selection: { kind: 'devices', deviceIds: devices },
          validationMinutes: 30,
          waves: [{ share: 100, failure: { share: 50, minimumSample: 2 }, onFailure: 'abort' }],
        })
      ).json;
      await checkin(devices[0]!);
      await t.platform.updates.devices.report(await deviceRow(devices[0]!), rollout.id, {
        step: 'installed',
        version: '1.1.0',
      });
      // Attested, but as the old release: not validated.
      await attested(devices[0]!, '1.0.0');
      await checkin(devices[0]!, '1.1.0');
      t.clock.advance(31 * minute);
      await t.platform.updates.rollouts.step();
      const after = await rolloutOf(rollout.id);
      assert.equal(after.status, 'aborted');
      assert.equal(after.waves[0].states['timed-out'], 3);
    });

    test('a device may postpone up to the product limit; each postponement is recorded and moves its deadline', async () => {
      const [device] = await register(1);
      const release = await published('1.2.0');
      const policy = await t.call('PUT', `/api/v1/products/${productId}/update-policy`, { postponeLimit: 2 });
      assert.equal(policy.status, 200, policy.text);
      const rollout = (
        await t.call('POST', '/api/v1/rollouts', {
          releaseId: release.id,
          selection: { kind: 'devices', deviceIds: [device] },
          validationMinutes: 60,
          waves: [{ share: 100 }],
        })
      ).json;
      const offer = (await checkin(device!)).update!;
      assert.equal(offer.postponementsLeft, 2);
      const first = await t.platform.updates.devices.postpone(await deviceRow(device!), rollout.id, {
        hours: 4,
        reason: 'surgery in progress',
      });
      assert.equal(first.postponementsLeft, 1);
      await t.platform.updates.devices.postpone(await deviceRow(device!), rollout.id, { hours: 4 });
      const before = await ledgerSize(t);
      await assert.rejects(
        t.platform.updates.devices.postpone(await deviceRow(device!), rollout.id, { hours: 4 }),
        { code: 'UPDATE_POSTPONE_LIMIT' },
      );
      assert.equal(await ledgerSize(t), before);
      const member = (await t.call('GET', `/api/v1/rollouts/${rollout.id}/devices`)).json.devices[0];
      assert.equal(member.postponements, 2);
      assert.ok(Date.parse(member.deadline) >= Date.parse(member.postponedUntil) + 60 * minute);
      // Two hours on, the original deadline has passed but the device is not late.
      t.clock.advance(120 * minute);
      await t.platform.updates.rollouts.step();
      assert.equal(
        (await t.call('GET', `/api/v1/rollouts/${rollout.id}/devices`)).json.devices[0].state,
        'offered',
      );
    });

    test('never a downgrade below the security version a device reports', async () => {
      const [device, other] = await register(2);
      await checkin(device!, '3.0.0', 7);
      const release = await published('1.3.0', 2);
      const rollout = (
        await t.call('POST', '/api/v1/rollouts', {
          releaseId: release.id,
          selection: { kind: 'devices', deviceIds: [device!, other!] },
          waves: [{ share: 100 }],
        })
      ).json;
      assert.equal(rollout.waves[0].states.ineligible, 1);
      assert.equal((await checkin(device!, '3.0.0', 7)).update, null);
      // A device that only now says it is above the release is dropped at its check-in.
      assert.equal((await checkin(other!, '4.0.0', 9)).update, null);
      const members = (await t.call('GET', `/api/v1/rollouts/${rollout.id}/devices`)).json.devices as any[];
      assert.deepEqual(members.map((member) => member.state).sort(), ['ineligible', 'ineligible']);
    });

    test('a device registered after the rollout started joins its last wave; site windows gate installing, not downloading', async () => {
      const release = await published('1.4.0');
      const site = await t.call('POST', '/api/v1/sites', {
        name: 'St. Elsewhere ICU',
        maintenanceWindow: { cron: '0 2 * * *', durationMinutes: 120, timeZone: 'Europe/Berlin' },
      });
      assert.equal(site.status, 201, site.text);
      const badSite = await t.call('POST', '/api/v1/sites', {
        name: 'Nowhere',
        maintenanceWindow: { cron: '0 2 * * *', durationMinutes: 120, timeZone: 'Mars/Olympus_Mons' },
      });
      assert.equal(badSite.status, 400);
      assert.equal(badSite.json.code, 'UPDATE_WINDOW_INVALID');
      const [early] = await register(1);
      await t.call('PUT', `/api/v1/devices/${early}/site`, { siteId: site.json.id });
      const rollout = (
        await t.call('POST', '/api/v1/rollouts', {
          releaseId: release.id,
          selection: { kind: 'site', siteIds: [site.json.id] },
          waves: [{ share: 100 }],
        })
      ).json;
      const [late] = await register(1);
      assert.equal(
        (await t.call('PUT', `/api/v1/devices/${late}/site`, { siteId: site.json.id })).status,
        200,
      );
      assert.equal(rollout.waves[0].devices, 1);
      const offer = (await checkin(late!)).update!;
      assert.equal(offer.rolloutId, rollout.id);
      assert.equal((await rolloutOf(rollout.id)).waves[0].devices, 2);
      // 10:00 UTC is 11:00 in Berlin: outside the 02:00-04:00 window, which opens next at 01:00 UTC.
      assert.deepEqual(offer.installWindow, {
        open: false,
        closesAt: null,
        opensAt: '2026-11-27T01:00:00.000Z',
      });
      await assert.rejects(
        t.platform.updates.devices.report(await deviceRow(late!), rollout.id, { step: 'installing' }),
        {
          code: 'UPDATE_OUTSIDE_MAINTENANCE_WINDOW',
        },
      );
      // Downloading is allowed at any time.
      assert.equal(
        (await t.platform.updates.devices.report(await deviceRow(late!), rollout.id, { step: 'downloading' }))
          .state,
        'downloading',
      );
      const result = await verifyStoredLog(t.platform.store, t.platform.ledger.verifierKey);
      assert.equal(result.ok, true);
    });
  });
}
