import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger, LedgerEvent } from '../ledger/index.ts';
import type { DevicesTable, Queryable, Store, Tx } from '../store/index.ts';
import type { IdentityProfiles } from './profile-store.ts';
import type { Revocations, RevocationReason } from './revocation.ts';

export type DeviceStatus = DevicesTable['status'];

export interface Device {
  id: string;
  serial: string;
  productId: string;
  hardwareRevision: string;
  status: DeviceStatus;
  bootstrapMethod: 'secret' | 'idevid';
  registeredAt: string;
  enrolledAt: string | null;
  revokedAt: string | null;
  revocationReason: string | null;
  decommissionedAt: string | null;
  wipeConfirmation: WipeConfirmation | null;
  /** The latest attestation appraisal (RFC 9334 Verifier result); null until the device attests. */
  trust: DeviceTrust | null;
  /** Set while the device endpoint serves this device only attestation and update routes. */
  quarantine: { at: string; reason: string } | null;
}

export interface DeviceTrust {
  status: 'affirming' | 'warning' | 'contraindicated' | 'none';
  appraisedAt: string;
  secureBoot: 'enabled' | 'disabled' | 'unknown';
  measuredRelease: string | null;
  attestationId: string;
}

export type TrustStatus = DeviceTrust['status'];

export interface WipeConfirmation {
  confirmedBy: 'device' | 'operator';
  method: string;
  at: string;
  evidence?: string | undefined;
}

export type Bootstrap =
  { method: 'secret'; expiresInDays?: number | undefined } | { method: 'idevid'; chain: string[] };

export interface Registration {
  serial: string;
  productId: string;
  hardwareRevision: string;
  bootstrap: Bootstrap;
}

export interface RegistrationResult {
  serial: string;
  outcome: 'created' | 'existing' | 'rejected';
  device?: Device;
  /** The one-time enrollment secret, returned once, only when the device was created now. */
  enrollmentSecret?: string;
  error?: { code: string; detail: string };
}

const day = 86_400_000;
/** Device serials end up in certificate subjects and HTTP Basic user names: no ':' and no controls. */
export const serialPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const serialExpression = new RegExp(serialPattern);

export function hashEnrollmentSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function toDevice(row: DevicesTable): Device {
  return {
    id: row.id,
    serial: row.serial,
    productId: row.product_id,
    hardwareRevision: row.hardware_revision,
    status: row.status,
    bootstrapMethod: row.bootstrap_method,
    registeredAt: row.registered_at,
    enrolledAt: row.enrolled_at,
    revokedAt: row.revoked_at,
    revocationReason: row.revocation_reason,
    decommissionedAt: row.decommissioned_at,
    wipeConfirmation:
      row.wipe_confirmation === null ? null : (JSON.parse(row.wipe_confirmation) as WipeConfirmation),
    trust:
      row.trust_status === null ||
      row.trust_appraised_at === null ||
      row.trust_attestation_id === null ||
      row.trust_secure_boot === null
        ? null
        : {
            status: row.trust_status,
            appraisedAt: row.trust_appraised_at,
            secureBoot: row.trust_secure_boot,
            measuredRelease: row.trust_release,
            attestationId: row.trust_attestation_id,
          },
    quarantine:
      row.quarantined_at === null ? null : { at: row.quarantined_at, reason: row.quarantine_reason ?? '' },
  };
}

/**
 * Checks a manufacturer (IDevID) chain, leaf first: each certificate signed by the next, the
 * last self-signed or left as the anchor, all valid now. Returns the leaf's SHA-256 fingerprint.
 */
export function checkIdevidChain(chain: string[], now: Date): { fingerprint: string; pems: string[] } {
  if (chain.length === 0 || chain.length > 8) {
    throw new VigilError(
      'IDENTITY_IDEVID_INVALID',
      'invalid',
      'an IDevID chain has 1 to 8 certificates, leaf first',
    );
  }
  let certificates: X509Certificate[];
  try {
    certificates = chain.map((pem) => new X509Certificate(pem));
  } catch {
    throw new VigilError(
      'IDENTITY_IDEVID_INVALID',
      'invalid',
      'the IDevID chain holds something that is not a PEM certificate',
    );
  }
  for (const [index, certificate] of certificates.entries()) {
    if (
      new Date(certificate.validFrom).getTime() > now.getTime() ||
      new Date(certificate.validTo).getTime() < now.getTime()
    ) {
      throw new VigilError(
        'IDENTITY_IDEVID_INVALID',
        'invalid',
        `IDevID certificate ${index} is not valid now`,
      );
    }
    const issuer = certificates[index + 1];
    if (issuer !== undefined && !(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey))) {
      throw new VigilError(
        'IDENTITY_IDEVID_INVALID',
        'invalid',
        `IDevID certificate ${index} is not signed by the next one`,
      );
    }
  }
  const leaf = certificates[0]!;
  return {
    fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
    pems: certificates.map((certificate) => certificate.toString()),
  };
}

/** The device registry: factory registration, revocation and decommissioning. */
export class DeviceService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly profiles: IdentityProfiles;
  private readonly revocations: Revocations;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    profiles: IdentityProfiles;
    revocations: Revocations;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.profiles = options.profiles;
    this.revocations = options.revocations;
    // Every appraisal runs these: compiled once (Store.statement).
    this.trustStatus = this.store.statement<[string], Pick<DevicesTable, 'trust_status'>>(1, (db, id) =>
      db
        .selectFrom('devices')
        .select('trust_status')
        .where('id', '=', id as string),
    );
    this.updateTrust = this.store.statement<[string, string, string, string | null, string, string]>(
      6,
      (db, status, appraisedAt, secureBoot, release, attestationId, id) =>
        db
          .updateTable('devices')
          .set({
            trust_status: status as DeviceTrust['status'],
            trust_appraised_at: appraisedAt as string,
            trust_secure_boot: secureBoot as DeviceTrust['secureBoot'],
            trust_release: release as string | null,
            trust_attestation_id: attestationId as string,
          })
          .where('id', '=', id as string)
          // Ids are time-ordered: an appraisal committed late by another process never hides a newer one.
          .where((where) =>
            where.or([
              where('trust_attestation_id', 'is', null),
              where('trust_attestation_id', '<', attestationId as string),
            ]),
          ),
    );
  }

  private readonly trustStatus: (
    tx: Tx,
    id: string,
  ) => Promise<{ rows: Pick<DevicesTable, 'trust_status'>[] }>;
  private readonly updateTrust: (
    tx: Tx,
    status: string,
    appraisedAt: string,
    secureBoot: string,
    release: string | null,
    attestationId: string,
    id: string,
  ) => Promise<unknown>;

  async register(actor: Actor, registration: Registration): Promise<RegistrationResult> {
    const [result] = await this.registerMany(actor, [registration]);
    if (result!.outcome === 'rejected') {
      throw new VigilError(
        result!.error!.code,
        result!.error!.code.endsWith('_EXISTS') ? 'conflict' : 'invalid',
        result!.error!.detail,
      );
    }
    return result!;
  }

  /**
   * Registers devices in one transaction. Idempotent: a serial already registered identically is
   * reported 'existing' (its secret is not shown again); a serial registered differently, or a
   * row that breaks a rule, is 'rejected' with the reason, and the valid rows still register.
   */
  async registerMany(actor: Actor, registrations: readonly Registration[]): Promise<RegistrationResult[]> {
    const now = this.clock.now();
    const products = new Map<string, { hardwareRevisions: string[] } | null>();
    const results: RegistrationResult[] = [];
    const rows: DevicesTable[] = [];
    const secrets = new Map<string, string>();
    const seen = new Set<string>();
    const existing = new Map(
      (
        await this.store.db
          .selectFrom('devices')
          .selectAll()
          .where('serial', 'in', registrations.map((registration) => registration.serial).concat(['']))
          .execute()
      ).map((row) => [row.serial, row]),
    );

    for (const registration of registrations) {
      const reject = (code: string, detail: string) =>
        results.push({ serial: registration.serial, outcome: 'rejected', error: { code, detail } });
      if (!serialExpression.test(registration.serial)) {
        reject('IDENTITY_SERIAL_INVALID', `serial must match ${serialPattern}`);
        continue;
      }
      if (seen.has(registration.serial)) {
        reject('IDENTITY_SERIAL_DUPLICATE', 'the serial appears twice in this request');
        continue;
      }
      seen.add(registration.serial);
      if (!products.has(registration.productId)) {
        const product = await this.store.db
          .selectFrom('products')
          .select('hardware_revisions')
          .where('id', '=', registration.productId)
          .executeTakeFirst();
        products.set(
          registration.productId,
          product === undefined
            ? null
            : { hardwareRevisions: JSON.parse(product.hardware_revisions) as string[] },
        );
      }
      const product = products.get(registration.productId);
      if (product === null || product === undefined) {
        reject('IDENTITY_PRODUCT_UNKNOWN', `no product ${registration.productId}`);
        continue;
      }
      if (
        product.hardwareRevisions.length > 0 &&
        !product.hardwareRevisions.includes(registration.hardwareRevision)
      ) {
        reject(
          'IDENTITY_HARDWARE_REVISION_UNKNOWN',
          `the product has no hardware revision "${registration.hardwareRevision}"`,
        );
        continue;
      }
      let idevid: { fingerprint: string; pems: string[] } | undefined;
      if (registration.bootstrap.method === 'idevid') {
        try {
          idevid = checkIdevidChain(registration.bootstrap.chain, now);
        } catch (error) {
          reject((error as VigilError).code, (error as VigilError).message);
          continue;
        }
      }
      const prior = existing.get(registration.serial);
      if (prior !== undefined) {
        const same =
          prior.product_id === registration.productId &&
          prior.hardware_revision === registration.hardwareRevision &&
          prior.bootstrap_method === registration.bootstrap.method &&
          (idevid === undefined || prior.idevid_fingerprint === idevid.fingerprint);
        if (same) results.push({ serial: registration.serial, outcome: 'existing', device: toDevice(prior) });
        else
          reject('IDENTITY_SERIAL_EXISTS', `serial ${registration.serial} is already registered differently`);
        continue;
      }
      const row: DevicesTable = {
        id: newId(),
        product_id: registration.productId,
        serial: registration.serial,
        hardware_revision: registration.hardwareRevision,
        status: 'registered',
        bootstrap_method: registration.bootstrap.method,
        secret_hash: null,
        secret_expires_at: null,
        secret_used_at: null,
        idevid_chain: idevid === undefined ? null : JSON.stringify(idevid.pems),
        idevid_fingerprint: idevid?.fingerprint ?? null,
        registered_at: toRfc3339(now),
        enrolled_at: null,
        revoked_at: null,
        revocation_reason: null,
        decommissioned_at: null,
        wipe_confirmation: null,
        trust_status: null,
        trust_appraised_at: null,
        trust_secure_boot: null,
        trust_release: null,
        trust_attestation_id: null,
        quarantined_at: null,
        quarantine_reason: null,
      };
      if (registration.bootstrap.method === 'secret') {
        const days =
          registration.bootstrap.expiresInDays ??
          (await this.profiles.get(registration.productId)).enrollmentSecretDays;
        const secret = randomBytes(24).toString('base64url');
        secrets.set(row.id, secret);
        row.secret_hash = hashEnrollmentSecret(secret);
        row.secret_expires_at = toRfc3339(new Date(now.getTime() + days * day));
      }
      rows.push(row);
      results.push({
        serial: registration.serial,
        outcome: 'created',
        device: toDevice(row),
        ...(secrets.has(row.id) ? { enrollmentSecret: secrets.get(row.id)! } : {}),
      });
    }

    if (rows.length > 0) {
      await this.ledger.transact(actor, async (tx, record) => {
        for (let start = 0; start < rows.length; start += 200) {
          await tx
            .insertInto('devices')
            .values(rows.slice(start, start + 200))
            .execute();
        }
        for (const row of rows) {
          record({
            type: 'device.registered',
            subject: row.id,
            details: {
              serial: row.serial,
              product: row.product_id,
              hardwareRevision: row.hardware_revision,
              bootstrap: row.bootstrap_method,
              ...(row.idevid_fingerprint === null
                ? { secretExpiresAt: row.secret_expires_at }
                : { idevidFingerprint: row.idevid_fingerprint }),
            },
          });
        }
      });
    }
    return results;
  }

  async get(id: string, db: Queryable = this.store.db): Promise<Device> {
    return toDevice(await this.requireRow(db, id));
  }

  async list(options: {
    limit: number;
    cursor?: string | undefined;
    productId?: string | undefined;
    status?: DeviceStatus | undefined;
    trust?: TrustStatus | 'unattested' | undefined;
    quarantined?: boolean | undefined;
  }): Promise<{
    devices: Device[];
    nextCursor: string | null;
  }> {
    let query = this.store.db
      .selectFrom('devices')
      .selectAll()
      .orderBy('id')
      .limit(options.limit + 1);
    if (options.cursor !== undefined) query = query.where('id', '>', options.cursor);
    if (options.productId !== undefined) query = query.where('product_id', '=', options.productId);
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    if (options.trust === 'unattested') query = query.where('trust_status', 'is', null);
    else if (options.trust !== undefined) query = query.where('trust_status', '=', options.trust);
    if (options.quarantined !== undefined)
      query = query.where('quarantined_at', options.quarantined ? 'is not' : 'is', null);
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    return {
      devices: page.map(toDevice),
      nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /** Revokes every certificate of a device with an RFC 5280 reason; the device can no longer enroll. */
  async revoke(actor: Actor, id: string, reason: RevocationReason): Promise<Device> {
    const revoked = await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.status === 'decommissioned') {
        throw new VigilError('IDENTITY_DEVICE_DECOMMISSIONED', 'conflict', 'the device is decommissioned');
      }
      if (row.status === 'revoked') {
        throw new VigilError(
          'IDENTITY_DEVICE_REVOKED',
          'conflict',
          `the device was already revoked (${row.revocation_reason ?? 'unspecified'})`,
        );
      }
      const certificates = await this.revocations.revokeInTransaction(tx, { deviceId: id }, reason);
      await tx
        .updateTable('devices')
        .set({ status: 'revoked', revoked_at: toRfc3339(this.clock.now()), revocation_reason: reason })
        .where('id', '=', id)
        .execute();
      record({
        type: 'device.revoked',
        subject: id,
        details: { serial: row.serial, reason, certificates: certificates.map((c) => c.serial) },
      });
      return certificates;
    });
    await this.revocations.published(revoked.map((certificate) => certificate.caId));
    return this.get(id);
  }

  /** Revokes one device certificate (the device itself stays as it is). */
  async revokeCertificate(actor: Actor, serial: string, reason: RevocationReason): Promise<void> {
    const revoked = await this.ledger.transact(actor, async (tx, record) => {
      const row = await tx
        .selectFrom('certificates')
        .select(['device_id', 'status'])
        .where('serial', '=', serial)
        .executeTakeFirst();
      if (row === undefined)
        throw new VigilError('IDENTITY_CERTIFICATE_NOT_FOUND', 'not_found', `no certificate ${serial}`);
      if (row.status === 'revoked')
        throw new VigilError(
          'IDENTITY_CERTIFICATE_REVOKED',
          'conflict',
          `certificate ${serial} is already revoked`,
        );
      const certificates = await this.revocations.revokeInTransaction(tx, { serials: [serial] }, reason);
      record({ type: 'certificate.revoked', subject: row.device_id, details: { serial, reason } });
      return certificates;
    });
    await this.revocations.published(revoked.map((certificate) => certificate.caId));
  }

  /**
   * Retires a device (CRA Annex I Part I (2)(m)): revokes its certificates (cessationOfOperation),
   * records the wipe confirmation, and keeps its whole history readable.
   */
  async decommission(
    actor: Actor,
    id: string,
    wipe: (Omit<WipeConfirmation, 'at'> & { at?: string | undefined }) | undefined,
  ): Promise<Device> {
    // One instant for the retirement and the wipe it confirms, so the two never disagree by a tick.
    const now = toRfc3339(this.clock.now());
    const confirmation = wipe === undefined ? null : this.confirmation(wipe, now);
    const revoked = await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.status === 'decommissioned') {
        throw new VigilError(
          'IDENTITY_DEVICE_DECOMMISSIONED',
          'conflict',
          'the device is already decommissioned',
        );
      }
      const certificates = await this.revocations.revokeInTransaction(
        tx,
        { deviceId: id },
        'cessationOfOperation',
      );
      await tx
        .updateTable('devices')
        .set({
          status: 'decommissioned',
          decommissioned_at: now,
          wipe_confirmation: confirmation === null ? null : JSON.stringify(confirmation),
        })
        .where('id', '=', id)
        .execute();
      record({
        type: 'device.decommissioned',
        subject: id,
        details: {
          serial: row.serial,
          wipe: confirmation ?? 'pending',
          certificates: certificates.map((c) => c.serial),
        },
      });
      return certificates;
    });
    await this.revocations.published(revoked.map((certificate) => certificate.caId));
    return this.get(id);
  }

  /** Records the wipe confirmation of a decommissioned device that was retired before it arrived. */
  async confirmWipe(
    actor: Actor,
    id: string,
    wipe: Omit<WipeConfirmation, 'at'> & { at?: string | undefined },
  ): Promise<Device> {
    const confirmation = this.confirmation(wipe);
    await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.status !== 'decommissioned') {
        throw new VigilError(
          'IDENTITY_DEVICE_NOT_DECOMMISSIONED',
          'conflict',
          'decommission the device first',
        );
      }
      if (row.wipe_confirmation !== null) {
        throw new VigilError('IDENTITY_WIPE_ALREADY_CONFIRMED', 'conflict', 'the wipe was already confirmed');
      }
      await tx
        .updateTable('devices')
        .set({ wipe_confirmation: JSON.stringify(confirmation) })
        .where('id', '=', id)
        .execute();
      record({
        type: 'device.wipe-confirmed',
        subject: id,
        details: { serial: row.serial, wipe: confirmation },
      });
    });
    return this.get(id);
  }

  /**
   * Records the latest appraisal of a device, inside the caller's transaction (attestation writes
   * it with the attestation record, so the two never disagree). Returns the trust status it had.
   */
  async recordTrust(
    tx: Tx,
    id: string,
    trust: DeviceTrust,
  ): Promise<{ previousStatus: DevicesTable['trust_status'] | null }> {
    const [previous] = (await this.trustStatus(tx, id)).rows;
    await this.updateTrust(
      tx,
      trust.status,
      trust.appraisedAt,
      trust.secureBoot,
      trust.measuredRelease,
      trust.attestationId,
      id,
    );
    return { previousStatus: previous?.trust_status ?? null };
  }

  /**
   * Quarantines a device: the device endpoint then serves it only attestation and update routes.
   * Inside the caller's transaction; returns false when it already was quarantined.
   */
  async quarantineInTransaction(
    tx: Queryable,
    record: (event: LedgerEvent) => void,
    id: string,
    reason: string,
  ): Promise<boolean> {
    const row = await this.requireRow(tx, id);
    if (row.quarantined_at !== null) return false;
    if (row.status === 'decommissioned')
      throw new VigilError(
        'IDENTITY_DEVICE_DECOMMISSIONED',
        'conflict',
        'a decommissioned device cannot be quarantined',
      );
    await tx
      .updateTable('devices')
      .set({ quarantined_at: toRfc3339(this.clock.now()), quarantine_reason: reason })
      .where('id', '=', id)
      .execute();
    record({ type: 'device.quarantined', subject: id, details: { serial: row.serial, reason } });
    return true;
  }

  async quarantine(actor: Actor, id: string, reason: string): Promise<Device> {
    await this.ledger.transact(actor, async (tx, record) => {
      if (!(await this.quarantineInTransaction(tx, record, id, reason)))
        throw new VigilError(
          'IDENTITY_DEVICE_QUARANTINED',
          'conflict',
          'the device is already in quarantine',
        );
    });
    return this.get(id);
  }

  /** Lets a quarantined device use every device route again. */
  async releaseQuarantine(actor: Actor, id: string, reason: string): Promise<Device> {
    await this.ledger.transact(actor, async (tx, record) => {
      const row = await this.requireRow(tx, id);
      if (row.quarantined_at === null)
        throw new VigilError(
          'IDENTITY_DEVICE_NOT_QUARANTINED',
          'conflict',
          'the device is not in quarantine',
        );
      await tx
        .updateTable('devices')
        .set({ quarantined_at: null, quarantine_reason: null })
        .where('id', '=', id)
        .execute();
      record({
        type: 'device.quarantine-released',
        subject: id,
        details: { serial: row.serial, reason, quarantinedAt: row.quarantined_at },
      });
    });
    return this.get(id);
  }

  private confirmation(
    wipe: Omit<WipeConfirmation, 'at'> & { at?: string | undefined },
    now = toRfc3339(this.clock.now()),
  ): WipeConfirmation {
    return { ...wipe, at: wipe.at ?? now };
  }

  async requireRow(db: Queryable, id: string): Promise<DevicesTable> {
    const row = await db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new VigilError('IDENTITY_DEVICE_NOT_FOUND', 'not_found', `no device ${id}`);
    return row;
  }
}
