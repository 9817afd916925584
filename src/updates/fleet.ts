import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Identity } from '../identity/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import { isForeignKeyViolation, isUniqueViolation, type Queryable, type Store } from '../store/index.ts';
import { checkMaintenanceWindow, type MaintenanceWindow } from './windows.ts';

export interface Site {
  id: string;
  name: string;
  maintenanceWindow: MaintenanceWindow | null;
  createdAt: string;
}

/** A saved device filter: every given criterion must hold. */
export interface DeviceFilter {
  hardwareRevisions?: string[] | undefined;
  siteIds?: string[] | undefined;
  /** Devices whose last reported version is one of these. */
  versions?: string[] | undefined;
}

export interface SavedFilter {
  id: string;
  name: string;
  filter: DeviceFilter;
  createdAt: string;
}

/** Devices may postpone one update this many times unless the product says otherwise. */
export const defaultPostponeLimit = 3;

/**
 * What rollouts aim at: sites with their maintenance windows, which site each device is at, saved
 * device filters, and each product's postponement limit.
 */
export class Fleet {
  constructor(private readonly options: { store: Store; ledger: Ledger; clock: Clock; identity: Identity }) {}

  async createSite(
    actor: Actor,
    input: { name: string; maintenanceWindow?: MaintenanceWindow | undefined },
  ): Promise<Site> {
    if (input.maintenanceWindow !== undefined) checkMaintenanceWindow(input.maintenanceWindow);
    const site: Site = {
      id: newId(),
      name: input.name,
      maintenanceWindow: input.maintenanceWindow ?? null,
      createdAt: toRfc3339(this.options.clock.now()),
    };
    try {
      await this.options.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('sites')
          .values({
            id: site.id,
            name: site.name,
            maintenance_window:
              site.maintenanceWindow === null ? null : JSON.stringify(site.maintenanceWindow),
            created_at: site.createdAt,
          })
          .execute();
        record({
          type: 'site.created',
          subject: site.id,
          details: { name: site.name, maintenanceWindow: site.maintenanceWindow },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new VigilError('SITE_NAME_TAKEN', 'conflict', `a site named ${input.name} exists`);
      throw error;
    }
    return site;
  }

  async sites(): Promise<Site[]> {
    const rows = await this.options.store.db.selectFrom('sites').selectAll().orderBy('name').execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      maintenanceWindow:
        row.maintenance_window === null ? null : (JSON.parse(row.maintenance_window) as MaintenanceWindow),
      createdAt: row.created_at,
    }));
  }

  async assignSite(
    actor: Actor,
    deviceId: string,
    siteId: string,
  ): Promise<{ deviceId: string; siteId: string }> {
    await this.options.identity.devices.get(deviceId);
    const now = toRfc3339(this.options.clock.now());
    try {
      await this.options.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('device_sites')
          .values({ device_id: deviceId, site_id: siteId, assigned_at: now })
          .onConflict((conflict) =>
            conflict.column('device_id').doUpdateSet({ site_id: siteId, assigned_at: now }),
          )
          .execute();
        record({ type: 'device.site-assigned', subject: deviceId, details: { siteId } });
      });
    } catch (error) {
      if (isForeignKeyViolation(error))
        throw new VigilError('SITE_NOT_FOUND', 'not_found', `no site ${siteId}`);
      throw error;
    }
    return { deviceId, siteId };
  }

  async createFilter(actor: Actor, input: { name: string; filter: DeviceFilter }): Promise<SavedFilter> {
    const saved: SavedFilter = {
      id: newId(),
      name: input.name,
      filter: input.filter,
      createdAt: toRfc3339(this.options.clock.now()),
    };
    try {
      await this.options.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('device_filters')
          .values({
            id: saved.id,
            name: saved.name,
            filter: JSON.stringify(saved.filter),
            created_at: saved.createdAt,
          })
          .execute();
        record({
          type: 'device-filter.created',
          subject: saved.id,
          details: { name: saved.name, filter: saved.filter },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new VigilError('DEVICE_FILTER_NAME_TAKEN', 'conflict', `a filter named ${input.name} exists`);
      throw error;
    }
    return saved;
  }

  async filters(): Promise<SavedFilter[]> {
    const rows = await this.options.store.db
      .selectFrom('device_filters')
      .selectAll()
      .orderBy('name')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      filter: JSON.parse(row.filter) as DeviceFilter,
      createdAt: row.created_at,
    }));
  }

  async filter(id: string): Promise<SavedFilter> {
    const row = await this.options.store.db
      .selectFrom('device_filters')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('DEVICE_FILTER_NOT_FOUND', 'not_found', `no device filter ${id}`);
    return {
      id: row.id,
      name: row.name,
      filter: JSON.parse(row.filter) as DeviceFilter,
      createdAt: row.created_at,
    };
  }

  async setPostponeLimit(
    actor: Actor,
    productId: string,
    postponeLimit: number,
  ): Promise<{ productId: string; postponeLimit: number }> {
    const now = toRfc3339(this.options.clock.now());
    try {
      await this.options.ledger.transact(actor, async (tx, record) => {
        await tx
          .insertInto('update_policies')
          .values({ product_id: productId, postpone_limit: postponeLimit, updated_at: now })
          .onConflict((conflict) =>
            conflict.column('product_id').doUpdateSet({ postpone_limit: postponeLimit, updated_at: now }),
          )
          .execute();
        record({ type: 'update-policy.set', subject: productId, details: { postponeLimit } });
      });
    } catch (error) {
      if (isForeignKeyViolation(error))
        throw new VigilError('PRODUCT_NOT_FOUND', 'not_found', `no product ${productId}`);
      throw error;
    }
    return { productId, postponeLimit };
  }

  async postponeLimit(productId: string, db: Queryable = this.options.store.db): Promise<number> {
    const row = await db
      .selectFrom('update_policies')
      .select('postpone_limit')
      .where('product_id', '=', productId)
      .executeTakeFirst();
    return row?.postpone_limit ?? defaultPostponeLimit;
  }

  /** The site of each of `deviceIds` that has one. */
  async sitesOf(deviceIds: readonly string[]): Promise<Map<string, string>> {
    const sites = new Map<string, string>();
    for (let start = 0; start < deviceIds.length; start += 500) {
      const rows = await this.options.store.db
        .selectFrom('device_sites')
        .select(['device_id', 'site_id'])
        .where('device_id', 'in', deviceIds.slice(start, start + 500))
        .execute();
      for (const row of rows) sites.set(row.device_id, row.site_id);
    }
    return sites;
  }

  /**
   * How many devices in the field still run each release: devices of its product, neither revoked
   * nor decommissioned, whose
   * last check-in reported its version, or whose last appraisal measured it (either counts, so a
   * device is never missed while one of the two is stale).
   */
  async devicesRunning(
    releases: readonly { id: string; productId: string; version: string }[],
    db: Queryable = this.options.store.db,
  ): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const release of releases) {
      const row = await db
        .selectFrom('devices')
        .leftJoin('device_update_states', 'device_update_states.device_id', 'devices.id')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('devices.product_id', '=', release.productId)
        .where('devices.status', 'not in', ['revoked', 'decommissioned'])
        .where((eb) =>
          eb.or([
            eb('device_update_states.version', '=', release.version),
            eb('devices.trust_release', '=', release.version),
          ]),
        )
        .executeTakeFirstOrThrow();
      counts.set(release.id, Number(row.count));
    }
    return counts;
  }

  /** Last reported version of each of `deviceIds` that has checked in. */
  async versionsOf(
    deviceIds: readonly string[],
  ): Promise<Map<string, { version: string; securityFloor: number }>> {
    const versions = new Map<string, { version: string; securityFloor: number }>();
    for (let start = 0; start < deviceIds.length; start += 500) {
      const rows = await this.options.store.db
        .selectFrom('device_update_states')
        .select(['device_id', 'version', 'security_floor'])
        .where('device_id', 'in', deviceIds.slice(start, start + 500))
        .execute();
      for (const row of rows)
        versions.set(row.device_id, { version: row.version, securityFloor: Number(row.security_floor) });
    }
    return versions;
  }
}
