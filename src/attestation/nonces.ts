import { randomBytes } from 'node:crypto';
import { VigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';

/** How long a nonce stays good unless configured (VIGIL_ATTESTATION_NONCE_SECONDS). */
export const defaultNonceSeconds = 300;

export interface IssuedNonce {
  /** 32 random bytes. */
  nonce: Buffer;
  expiresAt: string;
}

/**
 * Freshness for attestation (RFC 9334 §10): a single-use nonce bound to the device that asked for
 * it, valid for a short time. Evidence quoting an unknown, expired, reused or foreign nonce is
 * refused, and the refusal is recorded in the ledger.
 */
export class AttestationNonces {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly lifetimeSeconds: number;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock; lifetimeSeconds?: number }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.lifetimeSeconds = options.lifetimeSeconds ?? defaultNonceSeconds;
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

  async issue(deviceId: string): Promise<IssuedNonce> {
    const nonce = randomBytes(32);
    const now = this.clock.now();
    const expiresAt = toRfc3339(new Date(now.getTime() + this.lifetimeSeconds * 1000));
    await this.store.db
      .insertInto('attestation_nonces')
      .values({
        nonce: nonce.toString('hex'),
        device_id: deviceId,
        issued_at: toRfc3339(now),
        expires_at: expiresAt,
        used_at: null,
      })
      .execute();
    return { nonce, expiresAt };
  }

  /**
   * Spends the nonce a device's evidence carries. Exactly one caller can spend a nonce, even
   * concurrently; every refusal is an `attestation.refused` ledger event naming why.
   */
  async consume(deviceId: string, nonce: Buffer): Promise<void> {
    const now = toRfc3339(this.clock.now());
    const hex = nonce.toString('hex');
    const row = await this.store.db
      .selectFrom('attestation_nonces')
      .selectAll()
      .where('nonce', '=', hex)
      .executeTakeFirst();
    let refusal: VigilError | undefined;
    if (row === undefined)
      refusal = new VigilError(
        'ATTESTATION_NONCE_UNKNOWN',
        'invalid',
        'the evidence carries a nonce this server never issued',
      );
    else if (row.device_id !== deviceId)
      refusal = new VigilError(
        'ATTESTATION_NONCE_FOREIGN',
        'invalid',
        'the nonce was issued to another device',
      );
    else if (row.used_at !== null)
      refusal = new VigilError('ATTESTATION_NONCE_REUSED', 'invalid', 'the nonce was already used');
    else if (row.expires_at <= now)
      refusal = new VigilError('ATTESTATION_NONCE_EXPIRED', 'invalid', 'the nonce has expired');
    else {
      const spent = await this.store.db
        .updateTable('attestation_nonces')
        .set({ used_at: now })
        .where('nonce', '=', hex)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) === 1) return;
      refusal = new VigilError('ATTESTATION_NONCE_REUSED', 'invalid', 'the nonce was already used');
    }
    await this.ledger.transact({ principal: deviceId }, async (_tx, record) =>
      record({
        type: 'attestation.refused',
        subject: deviceId,
        details: { code: refusal.code, reason: refusal.message },
      }),
    );
    throw refusal;
  }

  /** Forgets nonces that expired long ago (spent or not); they can no longer be asked about. */
  async prune(olderThanSeconds = 86_400): Promise<number> {
    const horizon = toRfc3339(new Date(this.clock.now().getTime() - olderThanSeconds * 1000));
    const result = await this.store.db
      .deleteFrom('attestation_nonces')
      .where('expires_at', '<', horizon)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
