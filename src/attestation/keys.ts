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
import type { AttestationKeysTable, Store } from '../store/index.ts';
import type { BoundKey } from './claims.ts';
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

export class AttestationKeys {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
  }

  /** Step 1 of binding a TPM AK: checks both public areas and answers a credential only that TPM can open. */
  async challenge(
    deviceId: string,
    ekPublicBytes: Buffer,
    akPublicBytes: Buffer,
  ): Promise<CredentialChallenge> {
    try {
      const ek = readPublic(ekPublicBytes, 'the EK public area');
      const ak = readPublic(akPublicBytes, 'the AK public area');
      checkAttestationKeyAttributes(ak);
      await this.checkPinnedEk(deviceId, ek);
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
          certificate: null,
          bound_at: now,
          retired_at: null,
        };
        await tx.insertInto('attestation_keys').values(row).execute();
        record({
          type: 'attestation.key-bound',
          subject: deviceId,
          details: {
            keyId: row.id,
            method: row.method,
            akName: row.tpm_name,
            ekName: parseTpmtPublic(challenge.ek_public).name.toString('hex'),
          },
        });
        return toKey(row);
      });
    } catch (error) {
      // A spent challenge stays spent even when the answer was wrong: one guess per credential.
      if (error instanceof VigilError && error.code === 'ATTESTATION_CREDENTIAL_WRONG')
        await this.store.db
          .updateTable('attestation_credential_challenges')
          .set({ used_at: now })
          .where('id', '=', challengeId)
          .execute();
      await this.refuse(deviceId, error);
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
        certificate: null,
        bound_at: now,
        retired_at: null,
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
        certificate: certificate.raw,
        bound_at: now,
        retired_at: null,
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
    const rows = await this.store.db
      .selectFrom('attestation_keys')
      .select(['id', 'kind', 'public_key', 'certificate', 'retired_at'])
      .where('device_id', '=', deviceId)
      .where('kind', '=', kind)
      .where('bound_at', '<=', at)
      .execute();
    return rows
      .filter((row) => row.retired_at === null || row.retired_at > at)
      .map((row) => ({
        id: row.id,
        kind: row.kind,
        publicKey: this.keyObject(row.id, row.public_key),
        certificate: row.certificate,
      }));
  }

  /** Key rows never change, so their parsed public keys are kept (bounded). */
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

  /** The EK a device bound its first AK against; a different EK later is another TPM. */
  private async checkPinnedEk(deviceId: string, ek: TpmPublicArea): Promise<void> {
    const pinned = await this.store.db
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

  private async refuse(deviceId: string, error: unknown): Promise<void> {
    if (!(error instanceof VigilError) || error.kind === 'internal') return;
    await this.ledger.transact({ principal: deviceId }, async (_tx, record) =>
      record({
        type: 'attestation.key-refused',
        subject: deviceId,
        details: { code: error.code, reason: error.message },
      }),
    );
  }
}
