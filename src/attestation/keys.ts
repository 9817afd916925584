/**
 * Attestation keys bound to a device (the Endorser side of RFC 9334 for TPMs). A TPM AK is bound
 * once, over the device's mutual-TLS identity, by credential activation: the device sends its EK
 * and AK public areas, Vigil answers TPM2_MakeCredential of a secret for the AK's Name under the
 * EK, and only a TPM holding both keys can return the secret (TPM2_ActivateCredential). The EK is
 * pinned at the first binding. Keys can also be registered at the factory, and a DICE device's
 * DeviceID certificate is registered the same way. Keys are never deleted: archived evidence stays
 * verifiable.
 */
import {
  X509Certificate,
  createHash,
  createPublicKey,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { VigilError, newId, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import type { AttestationKeysTable, Queryable, Store, Tx } from '../store/index.ts';
import { tpmClockOf, type BoundKey, type TpmClock } from './claims.ts';
import type { EndorsementRoots } from './endorsement.ts';
import {
  checkAttestationKeyAttributes,
  encodeTpm2ToolsCredential,
  makeCredential,
  parsePublicArea,
  parseTpmtPublic,
  type TpmPublicArea,
} from './tpm/index.ts';

/** How long a device has to activate a credential. */
const challengeSeconds = 300;

export interface AttestationKey {
  id: string;
  deviceId: string;
  kind: 'tpm2' | 'dice';
  method: 'activate-credential' | 'factory';
  /** TPM Name of the AK, hex. */
  akName: string | null;
  /** What vouches for the key: a TPM manufacturer's EK certificate, the factory, or only its first use. */
  endorsement: 'ek-certificate' | 'factory' | 'first-use';
  /** SubjectPublicKeyInfo PEM of the AK or the DICE DeviceID key. */
  publicKey: string;
  boundAt: string;
  retiredAt: string | null;
}

export interface CredentialChallenge {
  challengeId: string;
  /** What `tpm2_activatecredential -i` reads (tpm2-tools credential file), base64. */
  credentialBlob: string;
  akName: string;
  expiresAt: string;
}

export type FactoryKey = { kind: 'tpm2'; akPublic: Buffer } | { kind: 'dice'; deviceIdCertificate: string };

function toKey(row: AttestationKeysTable): AttestationKey {
  return {
    id: row.id,
    deviceId: row.device_id,
    kind: row.kind,
    method: row.method,
    akName: row.tpm_name,
    endorsement: row.endorsement,
    publicKey: pemOfSpki(row.public_key),
    boundAt: row.bound_at,
    retiredAt: row.retired_at,
  };
}

function pemOfSpki(der: Buffer): string {
  return createPublicKey({ key: der, format: 'der', type: 'spki' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

/** A TPM2B_PUBLIC as tpm2-tools writes it, or a bare TPMT_PUBLIC. */
function readPublic(bytes: Buffer, what: string): TpmPublicArea {
  try {
    return parsePublicArea(bytes);
  } catch (sized) {
    try {
      return parseTpmtPublic(bytes);
    } catch {
      throw new VigilError(
        (sized as VigilError).code ?? 'ATTESTATION_TPM_PUBLIC_MALFORMED',
        'invalid',
        `${what}: ${(sized as Error).message}`,
      );
    }
  }
}

type BoundKeyRow = Pick<
  AttestationKeysTable,
  | 'id'
  | 'kind'
  | 'public_key'
  | 'certificate'
  | 'retired_at'
  | 'endorsement'
  | 'last_reset_count'
  | 'last_restart_count'
>;

export class AttestationKeys {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;

  private readonly endorsementRoots: EndorsementRoots | undefined;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    endorsementRoots?: EndorsementRoots | undefined;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.endorsementRoots = options.endorsementRoots;
    // Every appraisal runs this lookup: compiled once (Store.prepare).
    this.boundRows = this.store.prepare<[string, string, string], BoundKeyRow>(3, (db, deviceId, kind, at) =>
      db
        .selectFrom('attestation_keys')
        .select([
          'id',
          'kind',
          'public_key',
          'certificate',
          'retired_at',
          'endorsement',
          'last_reset_count',
          'last_restart_count',
        ])
        .where('device_id', '=', deviceId as string)
        .where('kind', '=', kind as BoundKey['kind'])
        .where('bound_at', '<=', at as string),
    );
    this.updateClock = this.store.statement<[number, number, string]>(
      3,
      (db, resetCount, restartCount, keyId) =>
        db
          .updateTable('attestation_keys')
          .set({ last_reset_count: resetCount as number, last_restart_count: restartCount as number })
          .where('id', '=', keyId as string)
          .where((where) =>
            where.or([
              where('last_reset_count', 'is', null),
              where('last_restart_count', 'is', null),
              where('last_reset_count', '<>', resetCount as number),
              where('last_restart_count', '<>', restartCount as number),
            ]),
          ),
    );
  }

  private readonly boundRows: (deviceId: string, kind: string, at: string) => Promise<BoundKeyRow[]>;
  private readonly updateClock: (
    tx: Tx,
    resetCount: number,
    restartCount: number,
    keyId: string,
  ) => Promise<unknown>;

  /** Step 1 of binding a TPM AK: checks both public areas and answers a credential only that TPM can open. */
  async challenge(
    deviceId: string,
    ekPublicBytes: Buffer,
    akPublicBytes: Buffer,
    ekCertificate?: Buffer,
  ): Promise<CredentialChallenge> {
    try {
      const ek = readPublic(ekPublicBytes, 'the EK public area');
      const ak = readPublic(akPublicBytes, 'the AK public area');
      checkAttestationKeyAttributes(ak);
      await this.checkPinnedEk(deviceId, ek);
      // With manufacturer CAs configured, an EK must prove it is a genuine TPM's; without, the first
      // EK a device presents is trusted and pinned (recorded as such, and claimed as nothing more).
      let endorsement: 'ek-certificate' | 'first-use' = 'first-use';
      if (this.endorsementRoots !== undefined) {
        if (ekCertificate === undefined)
          throw new VigilError(
            'ATTESTATION_EK_CERTIFICATE_REQUIRED',
            'invalid',
            'this installation trusts TPM manufacturer CAs: send the EK certificate (ekCertificate)',
          );
        this.endorsementRoots.verify(ekCertificate, ek.publicKey, this.clock.now());
        endorsement = 'ek-certificate';
      }
      const secret = randomBytes(32);
      const made = makeCredential(ek, ak.name, secret);
      const now = this.clock.now();
      const id = newId();
      const expiresAt = toRfc3339(new Date(now.getTime() + challengeSeconds * 1000));
      await this.store.db
        .insertInto('attestation_credential_challenges')
        .values({
          id,
          device_id: deviceId,
          ak_public: ak.publicAreaBytes,
          ek_public: ek.publicAreaBytes,
          endorsement,
          ek_certificate: endorsement === 'ek-certificate' ? (ekCertificate ?? null) : null,
          secret_hash: createHash('sha256').update(secret).digest(),
          issued_at: toRfc3339(now),
          expires_at: expiresAt,
          used_at: null,
        })
        .execute();
      return {
        challengeId: id,
        credentialBlob: encodeTpm2ToolsCredential(made).toString('base64'),
        akName: ak.name.toString('hex'),
        expiresAt,
      };
    } catch (error) {
      await this.refuse(deviceId, error);
      throw error;
    }
  }

  /** Step 2: the device proves it opened the credential; the AK is bound from now on. */
  async activate(deviceId: string, challengeId: string, secret: Buffer): Promise<AttestationKey> {
    const now = toRfc3339(this.clock.now());
    try {
      return await this.ledger.transact({ principal: deviceId }, async (tx, record) => {
        const challenge = await tx
          .selectFrom('attestation_credential_challenges')
          .selectAll()
          .where('id', '=', challengeId)
          .executeTakeFirst();
        if (challenge === undefined || challenge.device_id !== deviceId)
          throw new VigilError(
            'ATTESTATION_CHALLENGE_UNKNOWN',
            'not_found',
            `no credential challenge ${challengeId} for this device`,
          );
        if (challenge.used_at !== null)
          throw new VigilError(
            'ATTESTATION_CHALLENGE_USED',
            'conflict',
            'the credential challenge was already answered',
          );
        if (challenge.expires_at <= now)
          throw new VigilError(
            'ATTESTATION_CHALLENGE_EXPIRED',
            'invalid',
            'the credential challenge has expired',
          );
        const spent = await tx
          .updateTable('attestation_credential_challenges')
          .set({ used_at: now })
          .where('id', '=', challengeId)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(spent.numUpdatedRows) !== 1)
          throw new VigilError(
            'ATTESTATION_CHALLENGE_USED',
            'conflict',
            'the credential challenge was already answered',
          );
        // The EK pin again, in this transaction: two challenges for two EKs cannot both bind.
        await this.checkPinnedEk(deviceId, parseTpmtPublic(challenge.ek_public), tx);
        const digest = createHash('sha256').update(secret).digest();
        if (!timingSafeEqual(digest, challenge.secret_hash))
          throw new VigilError(
            'ATTESTATION_CREDENTIAL_WRONG',
            'invalid',
            'the secret does not match: the AK and the EK are not in the same TPM',
          );
        const ak = parseTpmtPublic(challenge.ak_public);
        const row: AttestationKeysTable = {
          id: newId(),
          device_id: deviceId,
          kind: 'tpm2',
          method: 'activate-credential',
          public_key: ak.publicKey.export({ format: 'der', type: 'spki' }),
          tpm_public: challenge.ak_public,
          tpm_name: ak.name.toString('hex'),
          ek_public: challenge.ek_public,
          endorsement: challenge.endorsement,
          ek_certificate: challenge.ek_certificate,
          certificate: null,
          bound_at: now,
          retired_at: null,
          last_reset_count: null,
          last_restart_count: null,
        };
        await tx.insertInto('attestation_keys').values(row).execute();
        record({
          type: 'attestation.key-bound',
          subject: deviceId,
          details: {
            keyId: row.id,
            method: row.method,
            endorsement: row.endorsement,
            ekCertificateSha256:
              row.ek_certificate === null
                ? null
                : createHash('sha256').update(row.ek_certificate).digest('hex'),
            akName: row.tpm_name,
            ekName: parseTpmtPublic(challenge.ek_public).name.toString('hex'),
          },
        });
        return toKey(row);
      });
    } catch (error) {
      // One guess per credential: a wrong answer spends the challenge, with its refusal.
      await this.refuse(deviceId, error, async (tx) => {
        if (error instanceof VigilError && error.code === 'ATTESTATION_CREDENTIAL_WRONG')
          await tx
            .updateTable('attestation_credential_challenges')
            .set({ used_at: now })
            .where('id', '=', challengeId)
            .execute();
      });
      throw error;
    }
  }

  /** Registers a key at the factory (a TPM AK the line certified, or a DICE DeviceID certificate). */
  async register(actor: Actor, deviceId: string, key: FactoryKey): Promise<AttestationKey> {
    const now = toRfc3339(this.clock.now());
    let row: AttestationKeysTable;
    if (key.kind === 'tpm2') {
      const ak = readPublic(key.akPublic, 'the AK public area');
      checkAttestationKeyAttributes(ak);
      row = {
        id: newId(),
        device_id: deviceId,
        kind: 'tpm2',
        method: 'factory',
        public_key: ak.publicKey.export({ format: 'der', type: 'spki' }),
        tpm_public: ak.publicAreaBytes,
        tpm_name: ak.name.toString('hex'),
        ek_public: null,
        endorsement: 'factory',
        ek_certificate: null,
        certificate: null,
        bound_at: now,
        retired_at: null,
        last_reset_count: null,
        last_restart_count: null,
      };
    } else {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(key.deviceIdCertificate);
      } catch {
        throw new VigilError(
          'ATTESTATION_DEVICE_ID_INVALID',
          'invalid',
          'the DeviceID certificate is not a PEM or DER X.509 certificate',
        );
      }
      row = {
        id: newId(),
        device_id: deviceId,
        kind: 'dice',
        method: 'factory',
        public_key: certificate.publicKey.export({ format: 'der', type: 'spki' }),
        tpm_public: null,
        tpm_name: null,
        ek_public: null,
        endorsement: 'factory',
        ek_certificate: null,
        certificate: certificate.raw,
        bound_at: now,
        retired_at: null,
        last_reset_count: null,
        last_restart_count: null,
      };
    }
    await this.ledger.transact(actor, async (tx, record) => {
      const device = await tx
        .selectFrom('devices')
        .select('id')
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (device === undefined)
        throw new VigilError('IDENTITY_DEVICE_NOT_FOUND', 'not_found', `no device ${deviceId}`);
      await tx.insertInto('attestation_keys').values(row).execute();
      record({
        type: 'attestation.key-registered',
        subject: deviceId,
        details: {
          keyId: row.id,
          kind: row.kind,
          akName: row.tpm_name,
          publicKeySha256: createHash('sha256').update(row.public_key).digest('hex'),
        },
      });
    });
    return toKey(row);
  }

  async list(deviceId: string): Promise<AttestationKey[]> {
    const device = await this.store.db
      .selectFrom('devices')
      .select('id')
      .where('id', '=', deviceId)
      .executeTakeFirst();
    if (device === undefined)
      throw new VigilError('IDENTITY_DEVICE_NOT_FOUND', 'not_found', `no device ${deviceId}`);
    const rows = await this.store.db
      .selectFrom('attestation_keys')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toKey);
  }

  /** The keys that could sign the device's evidence at `at` (bound by then, not yet retired). */
  async boundAt(deviceId: string, kind: BoundKey['kind'], at: string): Promise<BoundKey[]> {
    const rows = await this.boundRows(deviceId, kind, at);
    return rows
      .filter((row) => row.retired_at === null || row.retired_at > at)
      .map((row) => ({
        id: row.id,
        kind: row.kind,
        publicKey: this.keyObject(row.id, row.public_key),
        certificate: row.certificate,
        endorsement: row.endorsement,
        lastClock: tpmClockOf(row.last_reset_count, row.last_restart_count),
      }));
  }

  /**
   * Keeps the TPM clock of an appraisal just recorded on its key, inside the appraisal's
   * transaction; the row is written only when the clock differs (a reboot, or the first time).
   */
  async recordClock(tx: Tx, keyId: string, clock: TpmClock): Promise<void> {
    await this.updateClock(tx, clock.resetCount, clock.restartCount, keyId);
  }

  /** Key material never changes, so parsed public keys are kept (bounded). */
  private readonly keyObjects = new Map<string, KeyObject>();

  private keyObject(id: string, spki: Buffer): KeyObject {
    let key = this.keyObjects.get(id);
    if (key === undefined) {
      key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
      if (this.keyObjects.size >= 100_000) this.keyObjects.clear();
      this.keyObjects.set(id, key);
    }
    return key;
  }

  /** Forgets credential challenges that expired a day ago or more, answered or not. */
  async pruneChallenges(olderThanSeconds = 86_400): Promise<number> {
    const horizon = toRfc3339(new Date(this.clock.now().getTime() - olderThanSeconds * 1000));
    const result = await this.store.db
      .deleteFrom('attestation_credential_challenges')
      .where('expires_at', '<', horizon)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The EK a device bound its first AK against; a different EK later is another TPM. */
  private async checkPinnedEk(
    deviceId: string,
    ek: TpmPublicArea,
    db: Queryable = this.store.db,
  ): Promise<void> {
    const pinned = await db
      .selectFrom('attestation_keys')
      .select('ek_public')
      .where('device_id', '=', deviceId)
      .where('ek_public', 'is not', null)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (pinned?.ek_public != null && !Buffer.from(pinned.ek_public).equals(ek.publicAreaBytes))
      throw new VigilError(
        'ATTESTATION_EK_CHANGED',
        'invalid',
        'this device bound its attestation key against another endorsement key: a different TPM',
      );
  }

  private async refuse(
    deviceId: string,
    error: unknown,
    alongside?: (tx: Queryable) => Promise<void>,
  ): Promise<void> {
    if (!(error instanceof VigilError) || error.kind === 'internal') return;
    await this.ledger.transact({ principal: deviceId }, async (tx, record) => {
      await alongside?.(tx);
      record({
        type: 'attestation.key-refused',
        subject: deviceId,
        details: { code: error.code, reason: error.message },
      });
    });
  }
}
