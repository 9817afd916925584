/**
 * The Verifier (RFC 9334 §3): takes a device's evidence, checks its freshness and authenticity,
 * appraises it against reference values under the product's policy, signs the result as an EAR,
 * and keeps the record (raw evidence, nonce, verifier, policy and reference-value versions, time,
 * EAR) with its digest in the ledger, in the same transaction as the device's new trust state.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import {
  VigilError,
  canonicalJson,
  canonicalJsonBytes,
  newId,
  toRfc3339,
  type Clock,
} from '../core/index.ts';
import type { Identity } from '../identity/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { AttestationsTable, DevicesTable, Store } from '../store/index.ts';
import {
  appraise,
  type Appraisal,
  type Finding,
  type ReferenceValueSet,
  type TrustVector,
} from './appraisal.ts';
import { tpmClockOf, type TpmClock, type VerifiedClaims } from './claims.ts';
import { EarKeys, earClaims, verifierVersion } from './ear.ts';
import { checkWire, formatOf, type DecodedEvidence, type EvidenceFormat } from './formats.ts';
import type { AttestationKeys } from './keys.ts';
import type { AttestationNonces } from './nonces.ts';
import type { PolicyStore, ReferenceValueStore, StoredPolicy } from './reference-values.ts';
import type { ReplayCache, ReplayedLog } from './tpm/index.ts';

export interface AttestationRecord {
  id: string;
  deviceId: string;
  format: string;
  status: Appraisal['status'];
  secureBoot: Appraisal['secureBoot'];
  measuredRelease: string | null;
  trustVector: TrustVector;
  findings: Finding[];
  rebooted: boolean | null;
  tpmClock: TpmClock | null;
  receivedAt: string;
  nonce: string;
  verifierVersion: string;
  policy: { id: string; version: number };
  referenceValues: { id: string; release: string | null; version: number }[];
  evidenceDigest: string;
  recordDigest: string;
  ear: string;
  ledger: {
    index: number;
    inclusionProof: { treeSize: number; hashes: string[] } | null;
  } | null;
}

export interface ReappraisalResult {
  attestationId: string;
  /** True when appraising the archived evidence at its own time gives the recorded result. */
  matches: boolean;
  /** True when the stored record still hashes to the digest its ledger entry holds and its EAR verifies. */
  recordIntact: boolean;
  recorded: { status: string; trustVector: TrustVector };
  reappraised: { status: string; trustVector: TrustVector; findings: Finding[] };
}

/**
 * An LRU of replayed event logs bounded by their size: a log seen before is not parsed or replayed
 * again, and a flood of large distinct logs cannot hold more than `maxBytes` (times a small factor
 * for their parsed form).
 */
class LruReplayCache implements ReplayCache {
  private readonly entries = new Map<string, ReplayedLog>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}
  get(digest: string): ReplayedLog | undefined {
    const value = this.entries.get(digest);
    if (value !== undefined) {
      this.entries.delete(digest);
      this.entries.set(digest, value);
    }
    return value;
  }
  set(digest: string, value: ReplayedLog): void {
    if (this.entries.has(digest) || value.bytes.length > this.maxBytes) return;
    this.entries.set(digest, value);
    this.bytes += value.bytes.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes.length;
    }
  }
}

/** SHA-256 of the record's canonical JSON (every column but the digest itself), as the ledger holds it. */
function recordDigestOf(row: AttestationsTable): string {
  return createHash('sha256')
    .update(canonicalJsonBytes({ ...row, record_digest: undefined }))
    .digest('hex');
}

type DeviceRow = Pick<DevicesTable, 'id' | 'product_id' | 'hardware_revision'>;

export class AttestationService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly identity: Identity;
  private readonly nonces: AttestationNonces;
  private readonly keys: AttestationKeys;
  private readonly referenceValues: ReferenceValueStore;
  private readonly policies: PolicyStore;
  readonly earKeys: EarKeys;
  private readonly replayCache = new LruReplayCache(32 * 1024 * 1024);
  private readonly build: string;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    identity: Identity;
    nonces: AttestationNonces;
    keys: AttestationKeys;
    referenceValues: ReferenceValueStore;
    policies: PolicyStore;
    earKeys: EarKeys;
    build: string;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.identity = options.identity;
    this.nonces = options.nonces;
    this.keys = options.keys;
    this.referenceValues = options.referenceValues;
    this.policies = options.policies;
    this.earKeys = options.earKeys;
    this.build = options.build;
  }

  /** Appraises fresh evidence from an authenticated device; refusals are typed and recorded. */
  async submit(device: DeviceRow, formatId: string, wire: unknown): Promise<AttestationRecord> {
    let format: EvidenceFormat;
    let decoded: DecodedEvidence;
    try {
      format = formatOf(formatId);
      checkWire(format, wire);
      const referenced = format.references?.(wire);
      decoded = format.decode(wire, referenced === undefined ? undefined : await this.storedLog(referenced));
    } catch (error) {
      await this.refuse(device.id, error, formatId);
      throw error;
    }
    const nonce = decoded.nonce;
    let expiresAt: string;
    try {
      ({ expiresAt } = this.nonces.check(device.id, nonce));
    } catch (error) {
      await this.nonces.refuse(device.id, error);
      throw error;
    }

    const receivedAt = this.clock.now();
    const at = toRfc3339(receivedAt);
    const keys = await this.keys.boundAt(device.id, format.keyKind, at);
    let claims: VerifiedClaims;
    try {
      claims = decoded.verify({ keys, at: receivedAt, replayCache: this.replayCache });
    } catch (error) {
      await this.refuse(device.id, error, formatId);
      throw error;
    }
    const [policy, referenceSets] = await Promise.all([
      this.policies.inForce(device.product_id, at),
      this.referenceValues.inForce(device.product_id, device.hardware_revision, at),
    ]);
    const previousClock = keys.find((key) => key.id === claims.keyId)?.lastClock ?? null;
    const appraisal = appraise({ claims, referenceSets, policy: policy.policy, previousClock });
    await this.earKeys.ready();
    const id = newId();
    const ear = this.earKeys.sign(
      this.earClaimsOf(device.id, format.id, nonce, receivedAt, appraisal, policy, referenceSets),
    );

    // The stored form names large parts by their SHA-256, so its digest commits to the whole evidence.
    const evidence = canonicalJson(decoded.stored);
    const evidenceDigest = createHash('sha256').update(evidence).digest('hex');
    const eventLogDigest = decoded.blob?.digest ?? null;
    const policyRef = { id: policy.id, version: policy.version };
    const referenceValueRefs = referenceSets.map((set) => ({
      id: set.id,
      release: set.release,
      version: set.version,
    }));
    const row: AttestationsTable = {
      id,
      device_id: device.id,
      format: format.id,
      key_id: claims.keyId,
      nonce: nonce.toString('hex'),
      evidence,
      evidence_digest: evidenceDigest,
      event_log_digest: eventLogDigest,
      received_at: at,
      verifier_version: verifierVersion,
      policy: JSON.stringify(policyRef),
      reference_values: JSON.stringify(referenceValueRefs),
      status: appraisal.status,
      secure_boot: appraisal.secureBoot,
      measured_release: appraisal.measuredRelease,
      trust_vector: JSON.stringify(appraisal.trustVector),
      appraisal: JSON.stringify({
        findings: appraisal.findings,
        rebooted: appraisal.rebooted,
        securityVersion: appraisal.securityVersion,
        matched: appraisal.matched,
        facts: claims.facts,
      }),
      reset_count: claims.tpmClock?.resetCount ?? null,
      restart_count: claims.tpmClock?.restartCount ?? null,
      ear,
      record_digest: '',
    };
    row.record_digest = recordDigestOf(row);

    try {
      await this.record(
        device.id,
        nonce,
        expiresAt,
        row,
        decoded.blob?.content,
        appraisal,
        policy,
        format.id,
      );
    } catch (error) {
      await this.nonces.refuse(device.id, error);
      throw error;
    }
    return recordOf(
      row,
      {
        trustVector: appraisal.trustVector,
        findings: appraisal.findings,
        rebooted: appraisal.rebooted,
        policy: policyRef,
        referenceValues: referenceValueRefs,
      },
      null,
    );
  }

  /** Spends the nonce and writes the record, the device's trust and the ledger entries, in one transaction. */
  private async record(
    deviceId: string,
    nonce: Buffer,
    expiresAt: string,
    row: AttestationsTable,
    eventLog: Buffer | undefined,
    appraisal: Appraisal,
    policy: StoredPolicy,
    format: string,
  ): Promise<void> {
    const device = { id: deviceId };
    const id = row.id;
    const at = row.received_at;
    const eventLogDigest = row.event_log_digest;
    const evidenceDigest = row.evidence_digest;
    await this.ledger.transactGrouped({ principal: device.id }, async (tx, record) => {
      await this.nonces.spend(tx, device.id, nonce, expiresAt);
      if (eventLog !== undefined && eventLogDigest !== null && !this.storedLogs.has(eventLogDigest)) {
        await tx
          .insertInto('attestation_event_logs')
          .values({ digest: eventLogDigest, content: eventLog, first_seen_at: at })
          .onConflict((conflict) => conflict.column('digest').doNothing())
          .execute();
      }
      await this.store.insertMany(tx, 'attestations', [row]);
      if (row.reset_count !== null && row.restart_count !== null)
        await this.keys.recordClock(tx, row.key_id, {
          resetCount: row.reset_count,
          restartCount: row.restart_count,
        });
      const { previousStatus } = await this.identity.devices.recordTrust(tx, device.id, {
        status: appraisal.status,
        appraisedAt: at,
        secureBoot: appraisal.secureBoot,
        measuredRelease: appraisal.measuredRelease,
        attestationId: id,
      });
      record({
        type: 'attestation.appraised',
        subject: id,
        details: {
          deviceId: device.id,
          format,
          status: appraisal.status,
          secureBoot: appraisal.secureBoot,
          measuredRelease: appraisal.measuredRelease,
          policy: policy.id,
          evidenceDigest,
          recordDigest: row.record_digest,
        },
      });
      // The alert is for the turn: a device already contraindicated is not alerted on again.
      if (appraisal.status === 'contraindicated' && previousStatus !== 'contraindicated') {
        record({
          type: 'alert.raised',
          subject: device.id,
          details: {
            reason: 'attestation contraindicated',
            attestationId: id,
            findings: appraisal.findings.filter((finding) => finding.outcome === 'failure'),
          },
        });
      }
      if (appraisal.status === 'contraindicated') {
        if (policy.policy.quarantineOnContraindicated)
          await this.identity.devices.quarantineInTransaction(
            tx,
            record,
            device.id,
            `attestation ${id} was contraindicated (policy ${policy.id})`,
          );
      }
    });
    if (eventLogDigest !== null) this.rememberLog(eventLogDigest);
  }

  /** The bytes of a log this server stored, for evidence that names it by digest. */
  private async storedLog(digest: string): Promise<Buffer> {
    const cached = this.replayCache.get(digest)?.bytes;
    if (cached !== undefined) return cached;
    const row = await this.store.db
      .selectFrom('attestation_event_logs')
      .select('content')
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError(
        'ATTESTATION_EVENT_LOG_UNKNOWN',
        'invalid',
        `this server holds no event log sha256:${digest}; send the log itself`,
      );
    return row.content;
  }

  /** Event logs known to be stored: not sent to the database again (bounded). */
  private readonly storedLogs = new Set<string>();

  private rememberLog(digest: string): void {
    if (this.storedLogs.size >= 4096) this.storedLogs.clear();
    this.storedLogs.add(digest);
  }

  private earClaimsOf(
    deviceId: string,
    format: string,
    nonce: Buffer,
    at: Date,
    appraisal: Appraisal,
    policy: StoredPolicy,
    referenceSets: readonly ReferenceValueSet[],
  ): Record<string, unknown> {
    return earClaims({
      deviceId,
      format,
      nonce,
      at,
      appraisal,
      policyId: policy.id,
      referenceValueIds: referenceSets.map((set) => set.id),
      build: `${verifierVersion} (vigil ${this.build})`,
    });
  }

  /** The TPM clock of the appraisal by the same key recorded before `beforeId` (for re-appraisal). */
  private async clockBefore(deviceId: string, keyId: string, beforeId: string): Promise<TpmClock | null> {
    const row = await this.store.db
      .selectFrom('attestations')
      .select(['reset_count', 'restart_count'])
      .where('device_id', '=', deviceId)
      .where('key_id', '=', keyId)
      .where('id', '<', beforeId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? null : tpmClockOf(row.reset_count, row.restart_count);
  }

  private async refuse(deviceId: string, error: unknown, format: string): Promise<void> {
    // A log named by a digest this server does not hold is a cache miss, not a refusal: the device sends it.
    if (
      !(error instanceof VigilError) ||
      error.kind === 'internal' ||
      error.code === 'ATTESTATION_EVENT_LOG_UNKNOWN'
    )
      return;
    await this.ledger.transact({ principal: deviceId }, async (_tx, record) =>
      record({
        type: 'attestation.refused',
        subject: deviceId,
        details: { code: error.code, reason: error.message, format },
      }),
    );
  }

  /** A device's appraisals, newest first, each with its ledger inclusion proof. */
  async history(
    deviceId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ attestations: AttestationRecord[]; nextCursor: string | null }> {
    await this.identity.devices.get(deviceId);
    let query = this.store.db
      .selectFrom('attestations')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('id', 'desc')
      .limit(page.limit + 1);
    if (page.cursor !== undefined) query = query.where('id', '<', page.cursor);
    const rows = await query.execute();
    const shown = rows.slice(0, page.limit);
    const checkpoint = await this.ledger.latestCheckpoint();
    const attestations: AttestationRecord[] = [];
    for (const row of shown) attestations.push(await this.toRecord(row, checkpoint?.size ?? 0));
    return { attestations, nextCursor: rows.length > page.limit ? (shown.at(-1)?.id ?? null) : null };
  }

  /** One record with its raw evidence exactly as the device sent it. */
  async get(id: string): Promise<AttestationRecord & { evidence: unknown }> {
    const row = await this.requireRow(id);
    const checkpoint = await this.ledger.latestCheckpoint();
    return { ...(await this.toRecord(row, checkpoint?.size ?? 0)), evidence: await this.rawEvidence(row) };
  }

  private async requireRow(id: string): Promise<AttestationsTable> {
    const row = await this.store.db
      .selectFrom('attestations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new VigilError('ATTESTATION_NOT_FOUND', 'not_found', `no attestation ${id}`);
    return row;
  }

  private async rawEvidence(row: AttestationsTable): Promise<unknown> {
    const stored = JSON.parse(row.evidence) as unknown;
    const format = formatOf(row.format);
    if (row.event_log_digest === null || format.attach === undefined) return stored;
    const log = await this.store.db
      .selectFrom('attestation_event_logs')
      .select('content')
      .where('digest', '=', row.event_log_digest)
      .executeTakeFirstOrThrow();
    return format.attach(stored, log.content);
  }

  /**
   * Appraises an archived record again as of its own time: the keys bound then, certificates
   * judged valid at the evidence's time, and the policy and reference-value versions it cites.
   * The nonce is not spent again; it must be the one recorded.
   */
  async reappraise(id: string): Promise<ReappraisalResult> {
    const row = await this.requireRow(id);
    const device = await this.identity.devices.requireRow(this.store.db, row.device_id);
    const format = formatOf(row.format);
    const wire = await this.rawEvidence(row);
    const at = new Date(row.received_at);
    const keys = await this.keys.boundAt(row.device_id, format.keyKind, row.received_at);
    const claims = format.decode(wire).verify({ keys, at });
    if (claims.nonce.toString('hex') !== row.nonce)
      throw new VigilError(
        'ATTESTATION_RECORD_CORRUPT',
        'conflict',
        'the archived evidence does not carry the recorded nonce',
      );
    const policyRef = JSON.parse(row.policy) as { id: string; version: number };
    const policy = await this.policies.version(device.product_id, policyRef.version);
    const cited = JSON.parse(row.reference_values) as { id: string }[];
    const referenceSets = await this.referenceValues.byIds(cited.map((entry) => entry.id));
    const previousClock = await this.clockBefore(row.device_id, claims.keyId, row.id);
    const appraisal = appraise({ claims, referenceSets, policy: policy.policy, previousClock });
    const claimsNow = this.earClaimsOf(
      row.device_id,
      row.format,
      Buffer.from(row.nonce, 'hex'),
      at,
      appraisal,
      policy,
      referenceSets,
    );
    let earSignatureValid = true;
    try {
      await jwtVerify(row.ear, createLocalJWKSet(await this.earKeys.jwks()), { currentDate: at });
    } catch {
      earSignatureValid = false;
    }
    const recordedClaims = decodeJwt(row.ear);
    // A newer build may re-appraise: which build signed is not part of the answer.
    claimsNow.ear_verifier_id = recordedClaims.ear_verifier_id;
    const [entry] = await this.ledger.entriesOfSubject(row.id);
    const ledgered =
      entry === undefined
        ? undefined
        : (JSON.parse(entry.leaf.toString('utf8')) as { details?: { recordDigest?: string } });
    const recordIntact =
      recordDigestOf(row) === row.record_digest && ledgered?.details?.recordDigest === row.record_digest;
    return {
      attestationId: id,
      matches:
        canonicalJson(claimsNow) === canonicalJson(recordedClaims) &&
        appraisal.status === row.status &&
        canonicalJson(appraisal.trustVector) === canonicalJson(JSON.parse(row.trust_vector)),
      recordIntact: recordIntact && earSignatureValid,
      recorded: { status: row.status, trustVector: JSON.parse(row.trust_vector) as TrustVector },
      reappraised: {
        status: appraisal.status,
        trustVector: appraisal.trustVector,
        findings: appraisal.findings,
      },
    };
  }

  private async toRecord(row: AttestationsTable, treeSize: number | null): Promise<AttestationRecord> {
    const details = JSON.parse(row.appraisal) as { findings: Finding[]; rebooted: boolean | null };
    let ledger: AttestationRecord['ledger'] = null;
    if (treeSize !== null) {
      const [entry] = await this.ledger.entriesOfSubject(row.id);
      if (entry !== undefined)
        ledger = {
          index: entry.index,
          inclusionProof:
            entry.index < treeSize
              ? {
                  treeSize,
                  hashes: (await this.ledger.inclusionProof(entry.index, treeSize)).map((hash) =>
                    hash.toString('base64'),
                  ),
                }
              : null,
        };
    }
    return recordOf(
      row,
      {
        trustVector: JSON.parse(row.trust_vector) as TrustVector,
        findings: details.findings,
        rebooted: details.rebooted,
        policy: JSON.parse(row.policy) as AttestationRecord['policy'],
        referenceValues: JSON.parse(row.reference_values) as AttestationRecord['referenceValues'],
      },
      ledger,
    );
  }
}

/** A record as the API shows it: the row, with its JSON columns given already parsed. */
function recordOf(
  row: AttestationsTable,
  parsed: Pick<AttestationRecord, 'trustVector' | 'findings' | 'rebooted' | 'policy' | 'referenceValues'>,
  ledger: AttestationRecord['ledger'],
): AttestationRecord {
  return {
    id: row.id,
    deviceId: row.device_id,
    format: row.format,
    status: row.status,
    secureBoot: row.secure_boot,
    measuredRelease: row.measured_release,
    trustVector: parsed.trustVector,
    findings: parsed.findings,
    rebooted: parsed.rebooted,
    tpmClock: tpmClockOf(row.reset_count, row.restart_count),
    receivedAt: row.received_at,
    nonce: Buffer.from(row.nonce, 'hex').toString('base64'),
    verifierVersion: row.verifier_version,
    policy: parsed.policy,
    referenceValues: parsed.referenceValues,
    evidenceDigest: row.evidence_digest,
    recordDigest: row.record_digest,
    ear: row.ear,
    ledger,
  };
}
