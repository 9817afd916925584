import type { Selectable } from 'kysely';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import { sql, type Kysely } from 'kysely';
import type {
  Database,
  DeviceUpdateStatesTable,
  DevicesTable,
  RolloutDevicesTable,
  Store,
} from '../store/index.ts';
import { defaultPostponeLimit, type Fleet } from './fleet.ts';
import type { Release, ReleaseService } from './releases.ts';
import {
  markValidated,
  pendingStates,
  selects,
  validationOf,
  type RolloutService,
  type Selection,
} from './rollouts.ts';
import { alwaysOpen, windowStateAt, type MaintenanceWindow, type WindowState } from './windows.ts';
import type { WaveSpec } from './waves.ts';

/** What a device says at check-in (`POST /device/v1/checkin`). */
export interface CheckinReport {
  version: string;
  securityVersion?: number | undefined;
  status?: 'idle' | 'downloading' | 'installing' | 'error' | undefined;
}

/** The update a device is told to install: its TUF target and when it may install it. */
export interface UpdateOffer {
  rolloutId: string;
  releaseId: string;
  version: string;
  securityVersion: number;
  securityUpdate: boolean;
  /** Where the product's TUF repository is, on the device endpoint. */
  repository: string;
  targets: { path: string; length: number; hashes: { sha256: string; sha512: string } }[];
  state: RolloutDevicesTable['state'];
  deadline: string | null;
  installWindow: WindowState;
  postponedUntil: string | null;
  postponementsLeft: number;
}

/** How the device's most recent update ended (or stands), so a device learns it was validated. */
export interface LastUpdate {
  rolloutId: string;
  releaseId: string;
  state: RolloutDevicesTable['state'];
  reason: string | null;
  rolloutStatus: string;
}

export interface CheckinAnswer {
  update: UpdateOffer | null;
  /** With no update to offer: the device's latest rollout and where it stands in it (null if none). */
  last?: LastUpdate | null;
}

export type ReportStep = 'downloading' | 'downloaded' | 'installing' | 'installed' | 'failed';

/** The device as the device endpoint authenticated it (its registry row). */
export type AuthenticatedDevice = Pick<
  DevicesTable,
  | 'id'
  | 'product_id'
  | 'hardware_revision'
  | 'trust_status'
  | 'trust_appraised_at'
  | 'trust_release'
  | 'trust_attestation_id'
>;

type AssignmentRow = Selectable<RolloutDevicesTable> & {
  release_id: string;
  maintenance_window: string | null;
  postpone_limit: number | null;
};

const stepOrder: Record<ReportStep, number> = {
  downloading: 1,
  downloaded: 2,
  installing: 3,
  installed: 4,
  failed: 5,
};
const finished: readonly RolloutDevicesTable['state'][] = [
  'validated',
  'failed',
  'timed-out',
  'ineligible',
  'left',
];

/**
 * The device's side of updates: check-in (what to install), step reports, postponement. Check-in
 * is the hot path of a large fleet: an idle device costs one read, an assigned one two; it writes
 * only when something changed.
 */
export class DeviceUpdates {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly releases: ReleaseService;
  private readonly rollouts: RolloutService;
  private readonly fleet: Fleet;
  /** Published releases never change: kept once read. */
  private readonly releaseCache = new Map<string, Release>();
  /** Active rollouts per product, re-read at most every second, for devices that join late. */
  private activeRollouts = {
    at: 0,
    byProduct: new Map<
      string,
      { id: string; selection: Selection; waves: number; filterId: string | null }[]
    >(),
  };

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    releases: ReleaseService;
    rollouts: RolloutService;
    fleet: Fleet;
  }) {
    this.store = options.store;
    this.openAssignment = this.store.prepare<[string], AssignmentRow>(1, (db, deviceId) =>
      this.assignmentQuery(db, deviceId)
        // Constants as SQL literals: SQLite plans a literal IN list once, a bound one at every run.
        .where('rollouts.status', '=', sql.lit('active'))
        .where(
          sql<boolean>`${sql.ref('rollout_devices.state')} in (${sql.join(pendingStates.map((state) => sql.lit(state)))})`,
        )
        .whereRef('rollout_devices.wave', '<=', 'rollouts.current_wave')
        // Ids are time-ordered: the newest rollout first, read in index order.
        .orderBy('rollout_devices.rollout_id', 'desc')
        .limit(sql.lit(1)),
    );
    this.assignmentIn = this.store.prepare<[string, string], AssignmentRow>(2, (db, deviceId, rolloutId) =>
      this.assignmentQuery(db, deviceId).where('rollout_devices.rollout_id', '=', rolloutId as string),
    );
    this.updateState = this.store.prepare<[string], Selectable<DeviceUpdateStatesTable>>(1, (db, deviceId) =>
      db
        .selectFrom('device_update_states')
        .selectAll()
        .where('device_id', '=', deviceId as string),
    );
    this.latestAssignment = this.store.prepare<[string], LastUpdate>(1, (db, deviceId) =>
      db
        .selectFrom('rollout_devices')
        .innerJoin('rollouts', 'rollouts.id', 'rollout_devices.rollout_id')
        .select([
          'rollout_devices.rollout_id as rolloutId',
          'rollouts.release_id as releaseId',
          'rollout_devices.state',
          'rollout_devices.reason',
          'rollouts.status as rolloutStatus',
        ])
        .where('rollout_devices.device_id', '=', deviceId as string)
        .orderBy('rollout_devices.rollout_id', 'desc')
        .limit(sql.lit(1)),
    );
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.releases = options.releases;
    this.rollouts = options.rollouts;
    this.fleet = options.fleet;
  }

  async checkin(device: AuthenticatedDevice, report: CheckinReport): Promise<CheckinAnswer> {
    const now = this.clock.now();
    const nowText = toRfc3339(now);
    const [state] = await this.updateState(device.id);
    const floor = Math.max(Number(state?.security_floor ?? 0), report.securityVersion ?? 0);
    const status = report.status ?? 'idle';
    if (
      state === undefined ||
      state.version !== report.version ||
      Number(state.security_floor) !== floor ||
      state.status !== status
    ) {
      await this.store.db
        .insertInto('device_update_states')
        .values({
          device_id: device.id,
          version: report.version,
          security_floor: floor,
          status,
          reported_at: nowText,
        })
        .onConflict((conflict) =>
          conflict
            .column('device_id')
            .doUpdateSet({ version: report.version, security_floor: floor, status, reported_at: nowText }),
        )
        .execute();
    }
    let assignment = await this.assignment(device.id);
    if (assignment === undefined && (await this.joinLate(device, report.version, nowText))) {
      assignment = await this.assignment(device.id);
    }
    if (assignment === undefined) return { update: null, last: await this.lastUpdate(device.id) };
    const release = await this.release(assignment.release_id);
    if (assignment.state === 'installed') {
      const attestationId = validationOf(assignment, release, trustOf(device));
      if (attestationId !== null) {
        await this.ledger.transact({ principal: `device:${device.id}` }, (tx, record) =>
          markValidated(
            tx,
            record,
            { id: assignment.rollout_id, release_id: release.id },
            assignment,
            attestationId,
            nowText,
          ),
        );
        await this.rollouts.advance(assignment.rollout_id);
        return { update: null, last: await this.lastUpdate(device.id) };
      }
    }
    // Never downgrade below a device's security version.
    if (release.securityVersion < floor) {
      await this.finish(
        assignment,
        'ineligible',
        `the device reports security version ${floor}, above the release's ${release.securityVersion}`,
        nowText,
      );
      return { update: null, last: await this.lastUpdate(device.id) };
    }
    if (assignment.state === 'assigned') {
      await this.store.db
        .updateTable('rollout_devices')
        .set({ state: 'offered', state_at: nowText, offered_at: nowText })
        .where('rollout_id', '=', assignment.rollout_id)
        .where('device_id', '=', device.id)
        .where('state', '=', 'assigned')
        .execute();
      assignment.state = 'offered';
    }
    const limit = assignment.postpone_limit ?? defaultPostponeLimit;
    return {
      update: {
        rolloutId: assignment.rollout_id,
        releaseId: release.id,
        version: release.version,
        securityVersion: release.securityVersion,
        securityUpdate: release.securityUpdate,
        repository: `/tuf/${release.productId}/`,
        targets: release.artifacts.map((artifact) => ({
          path: artifact.targetPath,
          length: artifact.length,
          hashes: { sha256: artifact.sha256, sha512: artifact.sha512 },
        })),
        state: assignment.state,
        deadline: assignment.deadline_at,
        installWindow: windowOf(assignment.maintenance_window, now),
        postponedUntil: assignment.postponed_until,
        postponementsLeft: Math.max(0, limit - assignment.postponements),
      },
    };
  }

  private async lastUpdate(deviceId: string): Promise<LastUpdate | null> {
    return (await this.latestAssignment(deviceId))[0] ?? null;
  }

  /** Records one step of an update on the device; a failure or an install is a ledger event. */
  async report(
    device: AuthenticatedDevice,
    rolloutId: string,
    input: { step: ReportStep; version?: string | undefined; reason?: string | undefined },
  ): Promise<{ rolloutId: string; state: RolloutDevicesTable['state'] }> {
    const { assignment, release } = await this.requireAssignment(device, rolloutId);
    const now = this.clock.now();
    const nowText = toRfc3339(now);
    if (input.step === 'installing') {
      const window = windowOf(assignment.maintenance_window, now);
      if (!window.open) {
        throw new VigilError(
          'UPDATE_OUTSIDE_MAINTENANCE_WINDOW',
          'conflict',
          `the device's site installs only in its maintenance window, next from ${window.opensAt}`,
          {
            facts: { opensAt: window.opensAt },
          },
        );
      }
    }
    if (input.step === 'failed' && (input.reason === undefined || input.reason.trim() === '')) {
      throw new VigilError('UPDATE_REASON_MISSING', 'invalid', 'a failure report says why');
    }
    if (input.step !== 'failed' && stepOrder[input.step] < stepRank(assignment.state)) {
      throw new VigilError(
        'UPDATE_STEP_OUT_OF_ORDER',
        'conflict',
        `the update is already ${assignment.state}; ${input.step} comes before that`,
      );
    }
    let state: RolloutDevicesTable['state'] = input.step;
    let reason = input.reason ?? null;
    if (input.step === 'installed' && input.version !== release.version) {
      // The device installed something else: that is the update failing, not a new state.
      state = 'failed';
      reason = `the device reports version ${input.version ?? '(none)'} installed, not ${release.version}`;
    }
    await this.ledger.transact({ principal: `device:${device.id}` }, async (tx, record) => {
      const result = await tx
        .updateTable('rollout_devices')
        .set({
          state,
          state_at: nowText,
          reason,
          ...(state === 'installed' ? { installed_at: nowText } : {}),
        })
        .where('rollout_id', '=', rolloutId)
        .where('device_id', '=', device.id)
        .where('state', '=', assignment.state)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        throw new VigilError(
          'UPDATE_STATE_CHANGED',
          'conflict',
          'the update changed state meanwhile; check in again',
        );
      }
      await tx
        .insertInto('update_reports')
        .values({
          id: newId(),
          rollout_id: rolloutId,
          device_id: device.id,
          step: input.step,
          version: input.version ?? null,
          reason: input.reason ?? null,
          at: nowText,
        })
        .execute();
      if (state === 'installed' || state === 'failed') {
        record({
          type: state === 'installed' ? 'update.installed' : 'update.failed',
          subject: device.id,
          details: { rolloutId, releaseId: release.id, version: input.version ?? null, reason },
        });
      }
    });
    if (state === 'failed') await this.rollouts.advance(rolloutId);
    return { rolloutId, state };
  }

  /** CRA Annex I Part I (2)(c): the user may postpone an update, up to the product's limit; recorded. */
  async postpone(
    device: AuthenticatedDevice,
    rolloutId: string,
    input: { hours: number; reason?: string | undefined },
  ): Promise<{ rolloutId: string; postponedUntil: string; postponementsLeft: number }> {
    const { assignment, release } = await this.requireAssignment(device, rolloutId);
    if (stepRank(assignment.state) >= stepOrder.installing) {
      throw new VigilError(
        'UPDATE_ALREADY_INSTALLING',
        'conflict',
        'an update being installed cannot be postponed',
      );
    }
    const limit = await this.fleet.postponeLimit(release.productId);
    if (assignment.postponements >= limit) {
      throw new VigilError(
        'UPDATE_POSTPONE_LIMIT',
        'conflict',
        `this product allows ${limit} postponements of an update; all are used`,
        {
          facts: { limit },
        },
      );
    }
    const now = this.clock.now();
    const until = toRfc3339(new Date(now.getTime() + input.hours * 3_600_000));
    const rollout = await this.rollouts.get(rolloutId);
    // A postponed device is not late: its deadline moves past the postponement.
    const extended = toRfc3339(new Date(Date.parse(until) + rollout.validationMinutes * 60_000));
    const deadline =
      assignment.deadline_at !== null && Date.parse(assignment.deadline_at) > Date.parse(extended)
        ? assignment.deadline_at
        : assignment.deadline_at === null
          ? null
          : extended;
    await this.ledger.transact({ principal: `device:${device.id}` }, async (tx, record) => {
      const result = await tx
        .updateTable('rollout_devices')
        .set({ postponements: assignment.postponements + 1, postponed_until: until, deadline_at: deadline })
        .where('rollout_id', '=', rolloutId)
        .where('device_id', '=', device.id)
        .where('postponements', '=', assignment.postponements)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        throw new VigilError(
          'UPDATE_STATE_CHANGED',
          'conflict',
          'the update changed meanwhile; check in again',
        );
      }
      record({
        type: 'update.postponed',
        subject: device.id,
        details: {
          rolloutId,
          releaseId: release.id,
          until,
          reason: input.reason ?? null,
          postponement: assignment.postponements + 1,
          limit,
        },
      });
    });
    return { rolloutId, postponedUntil: until, postponementsLeft: limit - assignment.postponements - 1 };
  }

  private async requireAssignment(device: AuthenticatedDevice, rolloutId: string) {
    const rollout = await this.store.db
      .selectFrom('rollouts')
      .select(['id', 'status', 'current_wave'])
      .where('id', '=', rolloutId)
      .executeTakeFirst();
    if (rollout === undefined)
      throw new VigilError('UPDATE_ROLLOUT_UNKNOWN', 'not_found', `no rollout ${rolloutId}`);
    const assignment = await this.assignment(device.id, rolloutId);
    if (assignment === undefined || assignment.wave > rollout.current_wave) {
      throw new VigilError('UPDATE_NOT_OFFERED', 'not_found', 'this rollout has offered this device nothing');
    }
    if (finished.includes(assignment.state)) {
      throw new VigilError(
        'UPDATE_ALREADY_FINISHED',
        'conflict',
        `this update is already ${assignment.state}`,
      );
    }
    if (rollout.status === 'aborted' || rollout.status === 'completed') {
      throw new VigilError('UPDATE_ROLLOUT_CLOSED', 'conflict', `the rollout is ${rollout.status}`);
    }
    return { assignment, release: await this.release(assignment.release_id) };
  }

  /** The device's open assignment in a running rollout (or in `rolloutId`), with its site's window and postponement limit. */
  private assignment(deviceId: string, rolloutId?: string) {
    return (
      rolloutId === undefined ? this.openAssignment(deviceId) : this.assignmentIn(deviceId, rolloutId)
    ).then((rows: AssignmentRow[]) => rows[0]);
  }

  private assignmentQuery(db: Kysely<Database>, deviceId: unknown) {
    return db
      .selectFrom('rollout_devices')
      .innerJoin('rollouts', 'rollouts.id', 'rollout_devices.rollout_id')
      .leftJoin('device_sites', 'device_sites.device_id', 'rollout_devices.device_id')
      .leftJoin('sites', 'sites.id', 'device_sites.site_id')
      .leftJoin('update_policies', 'update_policies.product_id', 'rollouts.product_id')
      .selectAll('rollout_devices')
      .select(['rollouts.release_id', 'sites.maintenance_window', 'update_policies.postpone_limit'])
      .where('rollout_devices.device_id', '=', deviceId as string);
  }

  // The check-in hot path runs compiled-once queries (Store.prepare), made in the constructor.
  private readonly openAssignment: (deviceId: string) => Promise<AssignmentRow[]>;
  private readonly assignmentIn: (deviceId: string, rolloutId: string) => Promise<AssignmentRow[]>;
  private readonly updateState: (deviceId: string) => Promise<Selectable<DeviceUpdateStatesTable>[]>;
  private readonly latestAssignment: (deviceId: string) => Promise<LastUpdate[]>;

  /** A device that registered after a rollout started joins it, in its last wave, if the selection takes it. */
  private async joinLate(device: AuthenticatedDevice, version: string, now: string): Promise<boolean> {
    const active = await this.activeRolloutsOf(device.product_id);
    if (active.length === 0) return false;
    const members = await this.store.db
      .selectFrom('rollout_devices')
      .select('rollout_id')
      .where('device_id', '=', device.id)
      .where(
        'rollout_id',
        'in',
        active.map((rollout) => rollout.id),
      )
      .execute();
    const site = (await this.fleet.sitesOf([device.id])).get(device.id);
    for (const rollout of active) {
      if (members.some((member) => member.rollout_id === rollout.id)) continue;
      const release = await this.release((await this.rollouts.get(rollout.id)).releaseId);
      if (!release.hardwareRevisions.includes(device.hardware_revision)) continue;
      const filter =
        rollout.filterId === null ? undefined : (await this.fleet.filter(rollout.filterId)).filter;
      if (
        !selects(
          rollout.selection,
          { id: device.id, hardwareRevision: device.hardware_revision, siteId: site, version },
          filter,
        )
      )
        continue;
      const wave = rollout.waves - 1;
      const current = await this.rollouts.get(rollout.id);
      await this.ledger.transact({ principal: 'system' }, async (tx, record) => {
        await tx
          .insertInto('rollout_devices')
          .values({
            rollout_id: rollout.id,
            device_id: device.id,
            wave,
            state: 'assigned',
            state_at: now,
            offered_at: null,
            installed_at: null,
            deadline_at:
              current.currentWave >= wave
                ? toRfc3339(new Date(Date.parse(now) + current.validationMinutes * 60_000))
                : null,
            reason: null,
            postponements: 0,
            postponed_until: null,
            attestation_id: null,
          })
          .onConflict((conflict) => conflict.columns(['rollout_id', 'device_id']).doNothing())
          .execute();
        record({
          type: 'rollout.device-joined',
          subject: rollout.id,
          details: { deviceId: device.id, wave },
        });
      });
      return true;
    }
    return false;
  }

  /** Forgets the active rollouts read (this process changed one; other processes notice within a second). */
  forgetActiveRollouts(): void {
    this.activeRollouts = { at: 0, byProduct: new Map() };
  }

  private async activeRolloutsOf(productId: string) {
    const now = Date.now();
    if (now - this.activeRollouts.at > 1000) {
      const rows = await this.store.db
        .selectFrom('rollouts')
        .select(['id', 'product_id', 'selection', 'waves'])
        .where('status', '=', 'active')
        .execute();
      const byProduct = new Map<
        string,
        { id: string; selection: Selection; waves: number; filterId: string | null }[]
      >();
      for (const row of rows) {
        const selection = JSON.parse(row.selection) as Selection;
        const list = byProduct.get(row.product_id) ?? [];
        list.push({
          id: row.id,
          selection,
          waves: (JSON.parse(row.waves) as WaveSpec[]).length,
          filterId: selection.kind === 'filter' ? selection.filterId : null,
        });
        byProduct.set(row.product_id, list);
      }
      this.activeRollouts = { at: now, byProduct };
    }
    return this.activeRollouts.byProduct.get(productId) ?? [];
  }

  private async finish(
    assignment: Selectable<RolloutDevicesTable>,
    state: RolloutDevicesTable['state'],
    reason: string,
    now: string,
  ): Promise<void> {
    await this.ledger.transact({ principal: 'system' }, async (tx, record) => {
      await tx
        .updateTable('rollout_devices')
        .set({ state, state_at: now, reason })
        .where('rollout_id', '=', assignment.rollout_id)
        .where('device_id', '=', assignment.device_id)
        .execute();
      record({
        type: `update.${state}`,
        subject: assignment.device_id,
        details: { rolloutId: assignment.rollout_id, reason },
      });
    });
  }

  private async release(id: string): Promise<Release> {
    const cached = this.releaseCache.get(id);
    if (cached !== undefined) return cached;
    const release = await this.releases.get(id);
    if (release.status === 'published') this.releaseCache.set(id, release);
    return release;
  }
}

function stepRank(state: RolloutDevicesTable['state']): number {
  return (stepOrder as Record<string, number>)[state] ?? 0;
}

function windowOf(stored: string | null, now: Date): WindowState {
  return stored === null ? alwaysOpen : windowStateAt(JSON.parse(stored) as MaintenanceWindow, now);
}

function trustOf(device: AuthenticatedDevice) {
  if (
    device.trust_status === null ||
    device.trust_appraised_at === null ||
    device.trust_attestation_id === null
  )
    return null;
  return {
    status: device.trust_status,
    appraisedAt: device.trust_appraised_at,
    measuredRelease: device.trust_release,
    attestationId: device.trust_attestation_id,
  };
}
