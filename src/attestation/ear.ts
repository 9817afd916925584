/**
 * EAT Attestation Results (draft-ietf-rats-ear-04) as JWTs (RFC 7519) signed ES256 by Vigil's EAR
 * key, with the AR4SI trustworthiness vector. The key lives in the software keystore (encrypted at
 * rest, like the OCSP responder's online key); relying parties fetch its public half as a JWKS.
 */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { VigilError, toRfc3339, type Clock } from '../core/index.ts';
import { DerReader, DerTag, type SoftwareKeystore } from '../identity/index.ts';
import type { Store } from '../store/index.ts';
import type { Appraisal } from './appraisal.ts';

export const earProfile = 'tag:ietf.org,2026:rats/ear#04';
/** Bumped whenever a change to verification or appraisal could change a result. */
export const verifierVersion = 'vigil-verifier/1';

export interface EarInput {
  deviceId: string;
  format: string;
  nonce: Buffer;
  /** The evidence's time: the result is as of then (re-appraisal reproduces it exactly). */
  at: Date;
  appraisal: Appraisal;
  policyId: string;
  referenceValueIds: string[];
  build: string;
}

/** The EAR claims-set (draft-ietf-rats-ear-04 §3, JSON labels). */
export function earClaims(input: EarInput): Record<string, unknown> {
  const { appraisal } = input;
  return {
    eat_profile: earProfile,
    iat: Math.floor(input.at.getTime() / 1000),
    sub: `urn:vigil:device:${input.deviceId}`,
    ear_verifier_id: { developer: 'urn:vigil', build: input.build },
    eat_nonce: input.nonce.toString('base64url'),
    ear_status: appraisal.status,
    submods: {
      [input.format]: {
        ear_status: appraisal.status,
        ear_trustworthiness_vector: appraisal.trustVector,
        ear_appraisal_policy_ids: [input.policyId],
        ear_verifier_claims: {
          'secure-boot': appraisal.secureBoot,
          'measured-release': appraisal.measuredRelease,
          'security-version': appraisal.securityVersion,
          'reference-values': input.referenceValueIds,
          rebooted: appraisal.rebooted,
          findings: appraisal.findings.filter((finding) => finding.outcome !== 'pass'),
        },
      },
    },
  };
}

/** DER ECDSA-Sig-Value → JWS r || s (RFC 7518 §3.4), each coordinate left-padded to `size` bytes. */
function joseSignature(der: Buffer, size: number): Buffer {
  const reader = new DerReader(der, 'ATTESTATION_EAR_SIGNATURE');
  const cursor = reader.children(reader.expectTag(reader.root(), DerTag.sequence, 'ECDSA-Sig-Value'));
  const coordinate = (): Buffer => {
    const value = reader.integer(cursor.next('INTEGER'));
    const trimmed = value.subarray(value.findIndex((byte) => byte !== 0));
    if (trimmed.length > size) reader.fail('ECDSA coordinate too long');
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([coordinate(), coordinate()]);
}

interface ActiveKey {
  kid: string;
  /** The JWS protected header, base64url-encoded: the same for every EAR the key signs. */
  header: string;
  ref: { id: string; backend: 'software'; algorithm: 'ecdsa-p256' };
}

/**
 * The EAR signing keys: the oldest key not retired signs, and every key not retired is published
 * (retiring one is a database update today; a rotation command is still to come).
 */
export class EarKeys {
  private readonly store: Store;
  private readonly keystore: SoftwareKeystore;
  private readonly clock: Clock;
  private active: ActiveKey | undefined;

  constructor(options: { store: Store; keystore: SoftwareKeystore; clock: Clock }) {
    this.store = options.store;
    this.keystore = options.keystore;
    this.clock = options.clock;
  }

  /** Loads the active key, creating the installation's first on first use (the oldest active key wins a race). */
  async ready(): Promise<ActiveKey> {
    if (this.active !== undefined) return this.active;
    let row = await this.oldestActive();
    if (row === undefined) {
      const { ref, publicKey } = await this.keystore.generateKey('ecdsa-p256', 'attestation EAR signing key');
      const jwk = await exportJWK(createPublicKey({ key: publicKey, format: 'der', type: 'spki' }));
      const kid = await calculateJwkThumbprint(jwk, 'sha256');
      await this.store.db
        .insertInto('attestation_signing_keys')
        .values({
          kid,
          key_id: ref.id,
          algorithm: 'ES256',
          public_key: publicKey,
          created_at: toRfc3339(this.clock.now()),
          retired_at: null,
        })
        .execute();
      row = await this.oldestActive();
      if (row !== undefined && row.kid !== kid)
        await this.store.db.deleteFrom('attestation_signing_keys').where('kid', '=', kid).execute();
    }
    if (row === undefined)
      throw new VigilError('ATTESTATION_EAR_KEY_MISSING', 'internal', 'no EAR signing key could be created');
    const ref = { id: row.key_id, backend: 'software' as const, algorithm: 'ecdsa-p256' as const };
    await this.keystore.loadKey(ref);
    const header = { alg: 'ES256', typ: 'JWT', kid: row.kid };
    this.active = {
      kid: row.kid,
      ref,
      header: Buffer.from(JSON.stringify(header), 'utf8').toString('base64url'),
    };
    return this.active;
  }

  private oldestActive() {
    return this.store.db
      .selectFrom('attestation_signing_keys')
      .select(['kid', 'key_id'])
      .where('retired_at', 'is', null)
      .orderBy('created_at')
      .orderBy('kid')
      .limit(1)
      .executeTakeFirst();
  }

  /** Signs an EAR claims-set as a compact JWS (RFC 7515) with the active key; call ready() first. */
  sign(claims: Record<string, unknown>): string {
    const active = this.active;
    if (active === undefined)
      throw new VigilError(
        'ATTESTATION_EAR_KEY_MISSING',
        'internal',
        'the EAR key is not loaded; call ready()',
      );
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    const input = Buffer.from(`${active.header}.${payload}`, 'ascii');
    const signature = joseSignature(this.keystore.signSync(active.ref, input, 'sha256'), 32);
    return `${active.header}.${payload}.${signature.toString('base64url')}`;
  }

  /** Every EAR key not retired, as a JWK Set (RFC 7517 §5). */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.ready();
    const rows = await this.store.db
      .selectFrom('attestation_signing_keys')
      .select(['kid', 'public_key', 'algorithm'])
      .where('retired_at', 'is', null)
      .orderBy('created_at')
      .execute();
    const keys: JWK[] = [];
    for (const row of rows) {
      const jwk = await exportJWK(createPublicKey({ key: row.public_key, format: 'der', type: 'spki' }));
      keys.push({ ...jwk, kid: row.kid, alg: row.algorithm, use: 'sig' });
    }
    return { keys };
  }
}
