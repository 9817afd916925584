import type { Selectable } from 'kysely';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Identity } from '../identity/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type {
  DevicesTable,
  Queryable,
  RolloutDeviceState,
  RolloutDevicesTable,
  RolloutsTable,
  Store,
  Tx,
} from '../store/index.ts';
import type { DeviceFilter, Fleet } from './fleet.ts';
import type { Release, ReleaseService } from './releases.ts';
import { checkWaves, evaluateWave, planWaves, type WaveAction, type WaveSpec } from './waves.ts';

type RolloutRow = Selectable<RolloutsTable>;
type RolloutDeviceRow = Selectable<RolloutDevicesTable>;

/** Which devices a rollout is for; always within the release's product and hardware revisions. */
export type Selection =
  | { kind: 'product' }
  | { kind: 'hardware-revision'; hardwareRevisions: string[] }
  | { kind: 'devices'; deviceIds: string[] }
  | { kind: 'filter'; filterId: string }
  | { kind: 'site'; siteIds: string[] };

export interface RolloutInput {
  releaseId: string;
  name?: string | undefined;
  selection: Selection;
  waves: WaveSpec[];
  /** How long a device of a started wave has to validate the update (default 24 hours). */
  validationMinutes?: number | undefined;
}

export interface WaveProgress {
  index: number;
  spec: WaveSpec;
  devices: number;
  states: Partial<Record<RolloutDeviceState, number>>;
}

export interface Rollout {
  id: string;
  releaseId: string;
  productId: string;
  version: string;
  name: string;
  selection: Selection;
  status: RolloutsTable['status'];
  pauseReason: string | null;
  currentWave: number;
  waveStartedAt: string;
  validationMinutes: number;
  waves: WaveProgress[];
  createdAt: string;
  createdBy: string;
  finishedAt: string | null;
}

export interface RolloutDevice {
  deviceId: string;
  wave: number;
  state: RolloutDeviceState;
  stateAt: string;
  offeredAt: string | null;
  installedAt: string | null;
  deadline: string | null;
  reason: string | null;
  postponements: number;
  postponedUntil: string | null;
}

/** States of a device that still owes the rollout an outcome. */
export const pendingStates: readonly RolloutDeviceState[] = [
  'assigned',
  'offered',
  'downloading',
  'downloaded',
  'installing',
  'installed',
];

export const defaultValidationMinutes = 24 * 60;

/** The device facts a selection is decided on. */
export interface SelectableDevice {
  id: string;
  hardwareRevision: string;
  siteId: string | undefined;
  version: string | undefined;
}

/** Whether a selection (and a saved filter it names) takes a device; the release fit is checked apart. */
export function selects(selection: Selection, device: SelectableDevice, filter?: DeviceFilter): boolean {
  switch (selection.kind) {
    case 'product':
      return true;
    case 'hardware-revision':
      return selection.hardwareRevisions.includes(device.hardwareRevision);
    case 'devices':
      return selection.deviceIds.includes(device.id);
    case 'site':
      return device.siteId !== undefined && selection.siteIds.includes(device.siteId);
    case 'filter':
      return (
        filter !== undefined &&
        (filter.hardwareRevisions === undefined ||
          filter.hardwareRevisions.includes(device.hardwareRevision)) &&
        (filter.siteIds === undefined ||
          (device.siteId !== undefined && filter.siteIds.includes(device.siteId))) &&
        (filter.versions === undefined ||
          (device.version !== undefined && filter.versions.includes(device.version)))
      );
  }
}

/**
 * Rollouts: a published release sent to a selection of devices in waves, each wave judged by its
 * success and failure conditions (the pure engine in waves.ts), with pause, resume, approval and
 * abort. `advance` is the engine's step: it times out overdue devices, validates installed ones
 * against their fresh attestation and applies what the current wave's counts call for. Every
 * change of a rollout bumps its revision, so two processes stepping at once apply it once.
 */
export class RolloutService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly identity: Identity;
  private readonly releases: ReleaseService;
  private readonly fleet: Fleet;
  private readonly changeListeners: (() => void)[] = [];

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    identity: Identity;
    releases: ReleaseService;
    fleet: Fleet;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.identity = options.identity;
    this.releases = options.releases;
    this.fleet = options.fleet;
  }

  /** Calls `listener` whenever this process starts, pauses, resumes or ends a rollout. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  async create(actor: Actor, input: RolloutInput): Promise<Rollout> {
    checkWaves(input.waves);
    const validationMinutes = input.validationMinutes ?? defaultValidationMinutes;
    if (!Number.isInteger(validationMinutes) || validationMinutes < 1 || validationMinutes > 525_600) {
      throw new VigilError(
        'ROLLOUT_VALIDATION_WINDOW_INVALID',
        'invalid',
        'validationMinutes is 1 to 525600 (a year)',
      );
    }
    const release = await this.releases.get(input.releaseId);
    if (release.status !== 'published') {
      throw new VigilError(
        'ROLLOUT_RELEASE_NOT_PUBLISHED',
        'conflict',
        `release ${release.version} is not published`,
      );
    }
    const filter =
      input.selection.kind === 'filter'
        ? (await this.fleet.filter(input.selection.filterId)).filter
        : undefined;
    const { eligible, belowFloor } = await this.selectDevices(release, input.selection, filter);
    const id = newId();
    const plan = planWaves(id, eligible, input.waves);
    const now = toRfc3339(this.clock.now());
    const deadline = this.deadlineFrom(now, validationMinutes);
    const rows: RolloutDeviceRow[] = [
      ...[...plan].map(([deviceId, wave]) => ({
        rollout_id: id,
        device_id: deviceId,
        wave,
        state: 'assigned' as const,
        state_at: now,
        offered_at: null,
        installed_at: null,
        deadline_at: wave === 0 ? deadline : null,
        reason: null,
        postponements: 0,
        postponed_until: null,
        attestation_id: null,
      })),
      ...belowFloor.map((deviceId) => ({
        rollout_id: id,
        device_id: deviceId,
        wave: 0,
        state: 'ineligible' as const,
        state_at: now,
        offered_at: null,
        installed_at: null,
        deadline_at: null,
        reason: `the device's security version is above ${release.securityVersion} (no downgrade)`,
        postponements: 0,
        postponed_until: null,
        attestation_id: null,
      })),
    ];
    await this.ledger.transact(actor, async (tx, record) => {
      await tx
        .insertInto('rollouts')
        .values({
          id,
          release_id: release.id,
          product_id: release.productId,
          name: input.name ?? `${release.version} rollout`,
          selection: JSON.stringify(input.selection),
          waves: JSON.stringify(input.waves),
          validation_minutes: validationMinutes,
          status: 'active',
          pause_reason: null,
          current_wave: 0,
          wave_started_at: now,
          revision: 1,
          created_at: now,
          created_by: actor.principal,
          finished_at: null,
        })
        .execute();
      for (let start = 0; start < rows.length; start += 200) {
        await tx
          .insertInto('rollout_devices')
          .values(rows.slice(start, start + 200))
          .execute();
      }
      record({
        type: 'rollout.created',
        subject: id,
        details: {
          releaseId: release.id,
          version: release.version,
          selection: input.selection,
          waves: input.waves.map((wave, index) => ({
            ...wave,
            devices: [...plan.values()].filter((assigned) => assigned === index).length,
          })),
          ineligible: belowFloor.length,
        },
      });
    });
    this.changed();
    await this.advance(id);
    return this.get(id);
  }

  async get(id: string): Promise<Rollout> {
    const row = await this.requireRow(this.store.db, id);
    return (await this.withProgress([row]))[0]!;
  }

  async list(options: {
    productId?: string | undefined;
    status?: RolloutsTable['status'] | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ rollouts: Rollout[]; nextCursor: string | null }> {
    let query = this.store.db
      .selectFrom('rollouts')
      .selectAll()
      .orderBy('id')
      .limit(options.limit + 1);
    if (options.productId !== undefined) query = query.where('product_id', '=', options.productId);
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    return {
      rollouts: await this.withProgress(page),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async devices(
    id: string,
    options: {
      wave?: number | undefined;
      state?: RolloutDeviceState | undefined;
      limit: number;
      cursor?: string | undefined;
    },
  ): Promise<{ devices: RolloutDevice[]; nextCursor: string | null }> {
    await this.requireRow(this.store.db, id);
    let query = this.store.db
      .selectFrom('rollout_devices')
      .selectAll()
      .where('rollout_id', '=', id)
      .orderBy('device_id')
      .limit(options.limit + 1);
    if (options.wave !== undefined) query = query.where('wave', '=', options.wave);
    if (options.state !== undefined) query = query.where('state', '=', options.state);
    if (options.cursor !== undefined) query = query.where('device_id', '>', options.cursor);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    return {
      devices: page.map(toRolloutDevice),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.device_id ?? null) : null,
    };
  }

  async pause(actor: Actor, id: string, reason: string): Promise<Rollout> {
    await this.change(actor, id, ['active'], () => ({
      set: { status: 'paused', pause_reason: `paused by an operator: ${reason}` },
      events: [{ type: 'rollout.paused', subject: id, details: { reason, by: 'operator' } }],
    }));
    return this.get(id);
  }

  /** Resumes the current wave; its conditions are judged again at once. */
  async resume(actor: Actor, id: string): Promise<Rollout> {
    await this.change(actor, id, ['paused'], () => ({
      set: { status: 'active', pause_reason: null },
      events: [{ type: 'rollout.resumed', subject: id, details: {} }],
    }));
    await this.advance(id);
    return this.get(id);
  }

  /** Approves the next wave of a paused rollout (after a wave that asks for approval, or over a failure). */
  async approve(actor: Actor, id: string): Promise<Rollout> {
    const now = toRfc3339(this.clock.now());
    await this.change(actor, id, ['paused'], (row, tx) =>
      this.nextWave(tx, row, now, { approvedBy: actor.principal }),
    );
    await this.advance(id);
    return this.get(id);
  }

  async abort(actor: Actor, id: string, reason: string): Promise<Rollout> {
    const now = toRfc3339(this.clock.now());
    await this.change(actor, id, ['active', 'paused'], () => ({
      set: { status: 'aborted', pause_reason: reason, finished_at: now },
      events: [{ type: 'rollout.aborted', subject: id, details: { reason, by: 'operator' } }],
    }));
    return this.get(id);
  }

  /** One engine step over every active rollout (the upkeep loop and tests call it). */
  async step(): Promise<void> {
    const active = await this.store.db
      .selectFrom('rollouts')
      .select('id')
      .where('status', '=', 'active')
      .execute();
    for (const { id } of active) await this.advance(id);
  }

  /**
   * Times out overdue devices of the current wave, validates installed ones, then applies what
   * the wave's counts call for, wave after wave while the answer is "continue".
   */
  async advance(id: string): Promise<void> {
    for (let rounds = 0; rounds < 25; rounds += 1) {
      const row = await this.requireRow(this.store.db, id);
      if (row.status !== 'active') return;
      const release = await this.releases.get(row.release_id);
      const now = toRfc3339(this.clock.now());
      const installed = await this.store.db
        .selectFrom('rollout_devices')
        .selectAll()
        .where('rollout_id', '=', id)
        .where('wave', '=', row.current_wave)
        .where('state', '=', 'installed')
        .execute();
      const validated: { row: RolloutDeviceRow; attestationId: string }[] = [];
      for (const device of installed) {
        const trust = await this.identity.devices.get(device.device_id).then((found) => found.trust);
        const attestationId = validationOf(device, release, trust);
        if (attestationId !== null) validated.push({ row: device, attestationId });
      }
      const outcome: { action: WaveAction } = { action: 'wait' };
      const applied = await this.ledger
        .transact({ principal: 'system' }, async (tx, record) => {
          for (const { row: device, attestationId } of validated) {
            await markValidated(tx, record, row, device, attestationId, now);
          }
          const overdue = await tx
            .updateTable('rollout_devices')
            .set({ state: 'timed-out', state_at: now, reason: 'no validated update before the deadline' })
            .where('rollout_id', '=', id)
            .where('wave', '=', row.current_wave)
            .where('state', 'in', pendingStates)
            .where('deadline_at', '<', now)
            .returning('device_id')
            .execute();
          if (overdue.length > 0) {
            record({
              type: 'rollout.devices-timed-out',
              subject: id,
              details: { wave: row.current_wave, devices: overdue.map((device) => device.device_id) },
            });
          }
          const counts = await this.waveCounts(tx, id, row.current_wave);
          const waves = JSON.parse(row.waves) as WaveSpec[];
          outcome.action = evaluateWave(waves[row.current_wave]!, counts);
          const change = this.transition(row, outcome.action, counts, now);
          if (change === null) {
            if (validated.length === 0 && overdue.length === 0) return false;
            await this.bump(tx, row, {});
            return true;
          }
          const next = change.nextWave ? await this.nextWave(tx, row, now, {}) : null;
          this.changed();
          await this.bump(tx, row, { ...change.set, ...next?.set });
          for (const event of [...change.events, ...(next?.events ?? [])]) record(event);
          return true;
        })
        .catch((error: unknown) => {
          if (error instanceof VigilError && error.code === 'ROLLOUT_CHANGED') return false;
          throw error;
        });
      if (!applied || outcome.action !== 'continue') return;
    }
  }

  private transition(
    row: RolloutRow,
    action: WaveAction,
    counts: { devices: number; validated: number; failed: number },
    now: string,
  ): { set: Partial<RolloutsTable>; events: LedgerEvent[]; nextWave: boolean } | null {
    const wave = row.current_wave;
    const summary = { wave, ...counts };
    switch (action) {
      case 'wait':
        return null;
      case 'continue':
        return { set: {}, events: [], nextWave: true };
      case 'pause-for-approval':
        return {
          set: { status: 'paused', pause_reason: `wave ${wave + 1} succeeded; the next wave needs approval` },
          events: [
            { type: 'rollout.paused', subject: row.id, details: { ...summary, reason: 'awaiting-approval' } },
          ],
          nextWave: false,
        };
      case 'pause-on-failure':
        return {
          set: {
            status: 'paused',
            pause_reason: `wave ${wave + 1} met its failure condition (${counts.failed} failed or timed out)`,
          },
          events: [
            { type: 'rollout.paused', subject: row.id, details: { ...summary, reason: 'failure-condition' } },
          ],
          nextWave: false,
        };
      case 'abort':
        return {
          set: {
            status: 'aborted',
            pause_reason: `wave ${wave + 1} met its failure condition`,
            finished_at: now,
          },
          events: [
            {
              type: 'rollout.aborted',
              subject: row.id,
              details: { ...summary, reason: 'failure-condition' },
            },
          ],
          nextWave: false,
        };
    }
  }

  /** Starts the wave after the current one (deadlines from now), or completes the rollout after the last. */
  private async nextWave(
    tx: Tx,
    row: RolloutRow,
    now: string,
    details: Record<string, unknown>,
  ): Promise<{ set: Partial<RolloutsTable>; events: LedgerEvent[] }> {
    const waves = JSON.parse(row.waves) as WaveSpec[];
    const next = row.current_wave + 1;
    if (next >= waves.length) {
      return {
        set: { status: 'completed', pause_reason: null, finished_at: now },
        events: [
          { type: 'rollout.completed', subject: row.id, details: { ...details, waves: waves.length } },
        ],
      };
    }
    await tx
      .updateTable('rollout_devices')
      .set({ deadline_at: this.deadlineFrom(now, row.validation_minutes) })
      .where('rollout_id', '=', row.id)
      .where('wave', '=', next)
      .where('state', 'in', pendingStates)
      .execute();
    return {
      set: { status: 'active', pause_reason: null, current_wave: next, wave_started_at: now },
      events: [
        {
          type: 'rollout.wave-started',
          subject: row.id,
          details: { ...details, wave: next, name: waves[next]?.name ?? null },
        },
      ],
    };
  }

  private async change(
    actor: Actor,
    id: string,
    from: RolloutsTable['status'][],
    work: (
      row: RolloutRow,
      tx: Tx,
    ) =>
      | Promise<{ set: Partial<RolloutsTable>; events: LedgerEvent[] }>
      | { set: Partial<RolloutsTable>; events: LedgerEvent[] },
  ): Promise<void> {
    await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (!from.includes(row.status)) {
        throw new VigilError(
          'ROLLOUT_STATE_CONFLICT',
          'conflict',
          `rollout ${id} is ${row.status}; this needs it ${from.join(' or ')}`,
        );
      }
      const change = await work(row, tx);
      await this.bump(tx, row, change.set);
      for (const event of change.events) record(event);
    });
    this.changed();
  }

  /** Writes a rollout change only if nobody changed the rollout since `row` was read. */
  private async bump(tx: Tx, row: RolloutRow, set: Partial<RolloutsTable>): Promise<void> {
    const result = await tx
      .updateTable('rollouts')
      .set({ ...set, revision: row.revision + 1 })
      .where('id', '=', row.id)
      .where('revision', '=', row.revision)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new VigilError('ROLLOUT_CHANGED', 'conflict', `rollout ${row.id} changed meanwhile; try again`);
    }
  }

  private async waveCounts(
    db: Queryable,
    id: string,
    wave: number,
  ): Promise<{ devices: number; validated: number; failed: number }> {
    const rows = await db
      .selectFrom('rollout_devices')
      .select(['state', (eb) => eb.fn.countAll<number>().as('count')])
      .where('rollout_id', '=', id)
      .where('wave', '=', wave)
      .groupBy('state')
      .execute();
    const count = (states: RolloutDeviceState[]) =>
      rows
        .filter((entry) => states.includes(entry.state))
        .reduce((sum, entry) => sum + Number(entry.count), 0);
    return {
      devices: count([...pendingStates, 'validated', 'failed', 'timed-out']),
      validated: count(['validated']),
      failed: count(['failed', 'timed-out']),
    };
  }

  private async selectDevices(
    release: Release,
    selection: Selection,
    filter: DeviceFilter | undefined,
  ): Promise<{ eligible: string[]; belowFloor: string[] }> {
    const candidates: Pick<DevicesTable, 'id' | 'hardware_revision'>[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.identity.devices.list({ productId: release.productId, limit: 1000, cursor });
      for (const device of page.devices) {
        if (device.status === 'revoked' || device.status === 'decommissioned') continue;
        if (!release.hardwareRevisions.includes(device.hardwareRevision)) continue;
        candidates.push({ id: device.id, hardware_revision: device.hardwareRevision });
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (selection.kind === 'devices') {
      const known = new Set(candidates.map((device) => device.id));
      const missing = selection.deviceIds.filter((device) => !known.has(device));
      if (missing.length > 0) {
        throw new VigilError(
          'ROLLOUT_DEVICE_NOT_ELIGIBLE',
          'invalid',
          `not an active device of this product with a hardware revision the release fits: ${missing.slice(0, 10).join(', ')}`,
        );
      }
    }
    const ids = candidates.map((device) => device.id);
    const sites = await this.fleet.sitesOf(ids);
    const versions = await this.fleet.versionsOf(ids);
    const eligible: string[] = [];
    const belowFloor: string[] = [];
    for (const device of candidates) {
      const selectable = {
        id: device.id,
        hardwareRevision: device.hardware_revision,
        siteId: sites.get(device.id),
        version: versions.get(device.id)?.version,
      };
      if (!selects(selection, selectable, filter)) continue;
      // Never downgrade below a device's security version (anti-rollback).
      if ((versions.get(device.id)?.securityFloor ?? 0) > release.securityVersion) belowFloor.push(device.id);
      else eligible.push(device.id);
    }
    return { eligible, belowFloor };
  }

  private deadlineFrom(now: string, minutes: number): string {
    return toRfc3339(new Date(Date.parse(now) + minutes * 60_000));
  }

  private async requireRow(db: Queryable, id: string): Promise<RolloutRow> {
    const row = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new VigilError('ROLLOUT_NOT_FOUND', 'not_found', `no rollout ${id}`);
    return row;
  }

  private async withProgress(rows: RolloutRow[]): Promise<Rollout[]> {
    if (rows.length === 0) return [];
    const counts = await this.store.db
      .selectFrom('rollout_devices')
      .select(['rollout_id', 'wave', 'state', (eb) => eb.fn.countAll<number>().as('count')])
      .where(
        'rollout_id',
        'in',
        rows.map((row) => row.id),
      )
      .groupBy(['rollout_id', 'wave', 'state'])
      .execute();
    const versions = new Map<string, string>();
    for (const row of rows) {
      if (!versions.has(row.release_id))
        versions.set(row.release_id, (await this.releases.get(row.release_id)).version);
    }
    return rows.map((row) => {
      const waves = (JSON.parse(row.waves) as WaveSpec[]).map((spec, index) => {
        const states: Partial<Record<RolloutDeviceState, number>> = {};
        let devices = 0;
        for (const entry of counts) {
          if (entry.rollout_id !== row.id || entry.wave !== index) continue;
          states[entry.state] = Number(entry.count);
          if (entry.state !== 'ineligible' && entry.state !== 'left') devices += Number(entry.count);
        }
        return { index, spec, devices, states };
      });
      return {
        id: row.id,
        releaseId: row.release_id,
        productId: row.product_id,
        version: versions.get(row.release_id)!,
        name: row.name,
        selection: JSON.parse(row.selection) as Selection,
        status: row.status,
        pauseReason: row.pause_reason,
        currentWave: row.current_wave,
        waveStartedAt: row.wave_started_at,
        validationMinutes: row.validation_minutes,
        waves,
        createdAt: row.created_at,
        createdBy: row.created_by,
        finishedAt: row.finished_at,
      };
    });
  }
}

/**
 * Post-update validation: an installed update counts once the device's latest appraisal, made
 * after the install report, measured the new release and was not contraindicated. Returns the
 * attestation that validates it, or null.
 */
export function validationOf(
  device: Pick<RolloutDeviceRow, 'state' | 'installed_at'>,
  release: Pick<Release, 'version'>,
  trust: {
    status: string;
    appraisedAt: string;
    measuredRelease: string | null;
    attestationId: string;
  } | null,
): string | null {
  if (device.state !== 'installed' || device.installed_at === null || trust === null) return null;
  if (Date.parse(trust.appraisedAt) < Date.parse(device.installed_at)) return null;
  if (trust.measuredRelease !== release.version) return null;
  if (trust.status !== 'affirming' && trust.status !== 'warning') return null;
  return trust.attestationId;
}

export async function markValidated(
  tx: Tx,
  record: (event: LedgerEvent) => void,
  rollout: Pick<RolloutRow, 'id' | 'release_id'>,
  device: Pick<RolloutDeviceRow, 'device_id'>,
  attestationId: string,
  now: string,
): Promise<boolean> {
  const result = await tx
    .updateTable('rollout_devices')
    .set({ state: 'validated', state_at: now, attestation_id: attestationId, reason: null })
    .where('rollout_id', '=', rollout.id)
    .where('device_id', '=', device.device_id)
    .where('state', '=', 'installed')
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  record({
    type: 'update.validated',
    subject: device.device_id,
    details: { rolloutId: rollout.id, releaseId: rollout.release_id, attestationId },
  });
  return true;
}

function toRolloutDevice(row: RolloutDeviceRow): RolloutDevice {
  return {
    deviceId: row.device_id,
    wave: row.wave,
    state: row.state,
    stateAt: row.state_at,
    offeredAt: row.offered_at,
    installedAt: row.installed_at,
    deadline: row.deadline_at,
    reason: row.reason,
    postponements: row.postponements,
    postponedUntil: row.postponed_until,
  };
}
