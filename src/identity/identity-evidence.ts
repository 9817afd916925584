import { VigilError, type Clock } from '../core/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Store } from '../store/index.ts';
import { toDevice, type Device } from './devices.ts';
import type { IdentityProfiles } from './profile-store.ts';
import { certificateToPem } from './x509/index.ts';

export interface CertificateRecord {
  serial: string;
  fingerprint: string;
  subject: string;
  caId: string;
  notBefore: string;
  notAfter: string;
  status: 'valid' | 'revoked';
  revokedAt: string | null;
  revocationReason: string | null;
  issuedVia: 'enroll' | 'reenroll';
  bootstrapMethod: string;
  pem: string;
  chain: string[];
}

export interface EvidenceEvent {
  index: number;
  type: string;
  at: string;
  entry: Record<string, unknown>;
  /** RFC 9162 inclusion proof against the latest checkpoint; null until the entry is checkpointed. */
  inclusionProof: { treeSize: number; hashes: string[] } | null;
}

export interface IdentityEvidenceReport {
  device: Device;
  bootstrapMethod: string;
  enrolledAt: string | null;
  revocation: { revoked: boolean; at: string | null; reason: string | null };
  certificates: CertificateRecord[];
  events: EvidenceEvent[];
  checkpoint: { size: number; note: string } | null;
}

/** The identity evidence an auditor asks for, and the expiry watch. */
export class IdentityEvidence {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly profiles: IdentityProfiles;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock; profiles: IdentityProfiles }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.profiles = options.profiles;
  }

  async identity(deviceId: string): Promise<IdentityEvidenceReport> {
    const row = await this.store.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', deviceId)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('IDENTITY_DEVICE_NOT_FOUND', 'not_found', `no device ${deviceId}`);
    const certificates = await this.store.db
      .selectFrom('certificates')
      .innerJoin('certificate_authorities as issuing', 'issuing.id', 'certificates.ca_id')
      .leftJoin('certificate_authorities as root', 'root.id', 'issuing.parent_id')
      .selectAll('certificates')
      .select(['issuing.certificate as issuing_der', 'root.certificate as root_der'])
      .where('certificates.device_id', '=', deviceId)
      // Newest first by ledger position: issuance order, even within one second.
      .orderBy('certificates.ledger_index', 'desc')
      .execute();
    const checkpoint = await this.ledger.latestCheckpoint();
    const entries = await this.ledger.entriesOfSubject(deviceId);
    const events: EvidenceEvent[] = [];
    for (const entry of entries) {
      const document = JSON.parse(entry.leaf.toString('utf8')) as Record<string, unknown>;
      const proven = checkpoint !== undefined && entry.index < checkpoint.size;
      events.push({
        index: entry.index,
        type: String(document.type),
        at: String(document.at),
        entry: document,
        inclusionProof: proven
          ? {
              treeSize: checkpoint.size,
              hashes: (await this.ledger.inclusionProof(entry.index, checkpoint.size)).map((hash) =>
                hash.toString('base64'),
              ),
            }
          : null,
      });
    }
    const device = toDevice(row);
    return {
      device,
      bootstrapMethod: row.bootstrap_method,
      enrolledAt: row.enrolled_at,
      revocation: {
        revoked: row.status === 'revoked' || row.status === 'decommissioned',
        at: row.revoked_at ?? row.decommissioned_at,
        reason: row.revocation_reason,
      },
      certificates: certificates.map((certificate) => ({
        serial: certificate.serial,
        fingerprint: certificate.fingerprint,
        subject: certificate.subject,
        caId: certificate.ca_id,
        notBefore: certificate.not_before,
        notAfter: certificate.not_after,
        status: certificate.status,
        revokedAt: certificate.revoked_at,
        revocationReason: certificate.revocation_reason,
        issuedVia: certificate.issued_via,
        bootstrapMethod: certificate.bootstrap_method,
        pem: certificateToPem(certificate.der),
        chain: [certificate.issuing_der, certificate.root_der]
          .filter((der): der is Buffer => der !== null)
          .map(certificateToPem),
      })),
      events,
      checkpoint: checkpoint === undefined ? null : { size: checkpoint.size, note: checkpoint.note },
    };
  }

  /** Valid certificates of active devices that expire within `withinMs`, soonest first. */
  async expiring(withinMs: number): Promise<
    {
      deviceId: string;
      serial: string;
      deviceSerial: string;
      productId: string;
      notAfter: string;
      renewFrom: string;
    }[]
  > {
    const now = this.clock.now();
    const horizon = new Date(now.getTime() + withinMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const rows = await this.store.db
      .selectFrom('certificates')
      .innerJoin('devices', 'devices.id', 'certificates.device_id')
      .select([
        'certificates.serial',
        'certificates.not_after',
        'devices.id',
        'devices.serial as device_serial',
        'devices.product_id',
      ])
      .where('certificates.status', '=', 'valid')
      .where('devices.status', '=', 'enrolled')
      .where('certificates.not_after', '<=', horizon)
      .orderBy('certificates.not_after')
      .limit(10_000)
      .execute();
    const result = [];
    for (const row of rows) {
      const profile = await this.profiles.get(row.product_id);
      result.push({
        deviceId: row.id,
        serial: row.serial,
        deviceSerial: row.device_serial,
        productId: row.product_id,
        notAfter: row.not_after,
        renewFrom: new Date(new Date(row.not_after).getTime() - profile.renewalWindowDays * 86_400_000)
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
      });
    }
    return result;
  }
}
