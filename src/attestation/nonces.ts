import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store, Tx } from '../store/index.ts';

/** How long a nonce stays good unless configured (VIGIL_ATTESTATION_NONCE_SECONDS). */
export const defaultNonceSeconds = 300;

export interface IssuedNonce {
  /** 44 bytes: 16 random, expiry, device tag and the server's MAC (fits a TPM quote's extraData). */
  nonce: Buffer;
  expiresAt: string;
}

const randomLength = 16;
const tagLength = 8;
const macLength = 16;
/** random || expiry (UINT32 seconds) || device tag || MAC. */
export const nonceLength = randomLength + 4 + tagLength + macLength;

function deviceTag(deviceId: string): Buffer {
  return createHash('sha256').update(`vigil attestation device ${deviceId}`).digest().subarray(0, tagLength);
}

/**
 * Freshness for attestation (RFC 9334 §10): a single-use nonce bound to the device that asked for
 * it, valid for a short time. Issuing writes nothing: the nonce carries its expiry and the device it
 * was issued to under the installation's MAC, so any process of a scale-out deployment can check
 * it. Spending it is recorded in the same transaction as the appraisal it answers, so a nonce
 * answers exactly one appraisal. Evidence quoting an unknown, expired, reused or foreign nonce is
 * refused, and the refusal is recorded in the ledger.
 */
export class AttestationNonces {
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly key: Buffer;
  private readonly lifetimeSeconds: number;
  private readonly store: Store;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    /** The MAC key; every process of an installation derives the same one. */
    key: Buffer;
    lifetimeSeconds?: number | undefined;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.key = options.key;
    this.lifetimeSeconds = options.lifetimeSeconds ?? defaultNonceSeconds;
    // Every appraisal spends one: compiled once (Store.statement).
    this.insertSpent = this.store.statement<[string, string, string, string]>(
      4,
      (db, nonce, deviceId, expiresAt, usedAt) =>
        db
          .insertInto('attestation_spent_nonces')
          .values({
            nonce: nonce as string,
            device_id: deviceId as string,
            expires_at: expiresAt as string,
            used_at: usedAt as string,
          })
          .onConflict((conflict) => conflict.column('nonce').doNothing()),
    );
    if (
      !Number.isInteger(this.lifetimeSeconds) ||
      this.lifetimeSeconds < 1 ||
      this.lifetimeSeconds > 86_400
    ) {
      throw new VigilError(
        'CONFIG_INVALID',
        'invalid',
        'the attestation nonce lifetime (VIGIL_ATTESTATION_NONCE_SECONDS) must be a whole number of seconds, 1 to 86400',
      );
    }
  }

  private readonly insertSpent: (
    tx: Tx,
    nonce: string,
    deviceId: string,
    expiresAt: string,
    usedAt: string,
  ) => Promise<{ changes: number }>;

  /** Device tags by device (bounded): each appraisal checks one nonce and issues the next. */
  private readonly tags = new Map<string, Buffer>();

  private tagOf(deviceId: string): Buffer {
    let tag = this.tags.get(deviceId);
    if (tag === undefined) {
      tag = deviceTag(deviceId);
      if (this.tags.size >= 100_000) this.tags.clear();
      this.tags.set(deviceId, tag);
    }
    return tag;
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, macLength);
  }

  issue(deviceId: string): IssuedNonce {
    const expiry = Math.floor(this.clock.now().getTime() / 1000) + this.lifetimeSeconds;
    const expiryBytes = Buffer.alloc(4);
    expiryBytes.writeUInt32BE(expiry);
    const body = Buffer.concat([randomBytes(randomLength), expiryBytes, this.tagOf(deviceId)]);
    return { nonce: Buffer.concat([body, this.mac(body)]), expiresAt: toRfc3339(new Date(expiry * 1000)) };
  }

  /** Checks a nonce was issued by this installation, to this device, and has not expired (pure). */
  check(deviceId: string, nonce: Buffer): { expiresAt: string } {
    const body = nonce.subarray(0, nonceLength - macLength);
    if (
      nonce.length !== nonceLength ||
      !timingSafeEqual(this.mac(body), nonce.subarray(nonceLength - macLength))
    )
      throw new VigilError(
        'ATTESTATION_NONCE_UNKNOWN',
        'invalid',
        'the evidence carries a nonce this server never issued',
      );
    if (!body.subarray(randomLength + 4).equals(this.tagOf(deviceId)))
      throw new VigilError('ATTESTATION_NONCE_FOREIGN', 'invalid', 'the nonce was issued to another device');
    const expiry = body.readUInt32BE(randomLength);
    if (expiry * 1000 <= this.clock.now().getTime())
      throw new VigilError('ATTESTATION_NONCE_EXPIRED', 'invalid', 'the nonce has expired');
    return { expiresAt: toRfc3339(new Date(expiry * 1000)) };
  }

  /**
   * Spends a checked nonce inside the caller's transaction; exactly one transaction can, however
   * many processes try at once (the nonce is the spent table's primary key).
   */
  async spend(tx: Tx, deviceId: string, nonce: Buffer, expiresAt: string): Promise<void> {
    const inserted = await this.insertSpent(
      tx,
      nonce.toString('hex'),
      deviceId,
      expiresAt,
      toRfc3339(this.clock.now()),
    );
    if (inserted.changes !== 1)
      throw new VigilError('ATTESTATION_NONCE_REUSED', 'invalid', 'the nonce was already used');
  }

  /** Checks and spends a nonce on its own (for flows that record nothing else with it). */
  async consume(deviceId: string, nonce: Buffer): Promise<void> {
    try {
      const { expiresAt } = this.check(deviceId, nonce);
      await this.store.transaction((tx) => this.spend(tx, deviceId, nonce, expiresAt));
    } catch (error) {
      await this.refuse(deviceId, error);
      throw error;
    }
  }

  /** Records a refused nonce as an `attestation.refused` ledger event. */
  async refuse(deviceId: string, error: unknown): Promise<void> {
    if (!(error instanceof VigilError) || !error.code.startsWith('ATTESTATION_NONCE_')) return;
    await this.ledger.transact({ principal: deviceId }, async (_tx, record) =>
      record({
        type: 'attestation.refused',
        subject: deviceId,
        details: { code: error.code, reason: error.message },
      }),
    );
  }

  /** Forgets spent nonces that expired long ago: they would be refused as expired anyway. */
  async prune(olderThanSeconds = 86_400): Promise<number> {
    const horizon = toRfc3339(new Date(this.clock.now().getTime() - olderThanSeconds * 1000));
    const result = await this.store.db
      .deleteFrom('attestation_spent_nonces')
      .where('expires_at', '<', horizon)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
