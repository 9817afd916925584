import { createHash, timingSafeEqual } from 'node:crypto';
import { VigilError, isVigilError, toRfc3339, type Clock } from '../core/index.ts';
import type { Actor, Ledger } from '../ledger/index.ts';
import type { CertificatesTable, DevicesTable, Store, Tx } from '../store/index.ts';
import type { CertificateAuthorities, IssuingContext } from './authorities.ts';
import { newCertificateSerial } from './authorities.ts';
import { hashEnrollmentSecret, toDevice, type Device } from './devices.ts';
import type { IdentityProfiles } from './profile-store.ts';
import { keyAlgorithmOf } from './profiles.ts';
import { describeCertificate, parseCsr, pemToDer } from './x509/index.ts';

/** How a device proved who it is when it asked for a certificate. */
export type EnrollmentCredential =
  | { kind: 'secret'; serial: string; secret: string }
  | { kind: 'idevid'; certificate: Buffer }
  | { kind: 'certificate'; certificate: Buffer };

export interface Issued {
  device: Device;
  certificate: Buffer;
  chain: Buffer[];
  serial: string;
  fingerprint: string;
}

const day = 86_400_000;
const maxCsrBytes = 16 * 1024;

/** RFC 7030 §4.2.1: the body is base64 of the DER PKCS#10, line breaks allowed. Attacker-controlled. */
export function decodeBase64Body(body: string, what: string): Buffer {
  const compact = body.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new VigilError('EST_BASE64_INVALID', 'invalid', `the ${what} is not base64 (RFC 7030 §4.2.1)`);
  }
  const der = Buffer.from(compact, 'base64');
  if (der.length > maxCsrBytes)
    throw new VigilError('EST_CSR_INVALID', 'too_large', `the ${what} is larger than ${maxCsrBytes} bytes`);
  return der;
}

function fingerprintOf(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/**
 * EST enrollment and re-enrollment (RFC 7030 §4.2): checks the bootstrap credential and the CSR,
 * issues from the product's active issuing CA, and records issuance and every refusal in the ledger.
 */
/** A device certificate's row joined with its device, as every device request reads it. */
type CertificateOwnerRow = DevicesTable & {
  cert_serial: string;
  cert_status: CertificatesTable['status'];
  cert_not_after: string;
  cert_not_before: string;
  cert_subject: string;
};

export class EnrollmentService {
  private readonly store: Store;
  private readonly ledger: Ledger;
  private readonly clock: Clock;
  private readonly authorities: CertificateAuthorities;
  private readonly profiles: IdentityProfiles;

  constructor(options: {
    store: Store;
    ledger: Ledger;
    clock: Clock;
    authorities: CertificateAuthorities;
    profiles: IdentityProfiles;
  }) {
    this.store = options.store;
    this.ledger = options.ledger;
    this.clock = options.clock;
    this.authorities = options.authorities;
    this.profiles = options.profiles;
    // Every device request runs this lookup: compiled once (Store.prepare).
    this.certificateOwner = this.store.prepare<[string], CertificateOwnerRow>(1, (db, fingerprint) =>
      db
        .selectFrom('certificates')
        .innerJoin('devices', 'devices.id', 'certificates.device_id')
        .selectAll('devices')
        .select([
          'certificates.serial as cert_serial',
          'certificates.status as cert_status',
          'certificates.not_after as cert_not_after',
          'certificates.not_before as cert_not_before',
          'certificates.subject as cert_subject',
        ])
        .where('certificates.fingerprint', '=', fingerprint as string),
    );
  }

  private readonly certificateOwner: (fingerprint: string) => Promise<CertificateOwnerRow[]>;

  /** simpleenroll: first certificate, bootstrapped by a one-time secret or an IDevID certificate. */
  async enroll(csrBase64: string, credential: EnrollmentCredential): Promise<Issued> {
    return this.refusalsRecorded('simpleenroll', credential, async (setDevice) => {
      const device = await this.authenticateBootstrap(credential);
      setDevice(device);
      return this.issue(device, csrBase64, 'enroll', credential.kind === 'secret' ? 'secret' : 'idevid');
    });
  }

  /** simplereenroll: renewal (and optional rekey) authenticated by the current device certificate. */
  async reenroll(csrBase64: string, certificate: Buffer): Promise<Issued> {
    const credential: EnrollmentCredential = { kind: 'certificate', certificate };
    return this.refusalsRecorded('simplereenroll', credential, async (setDevice) => {
      const { device, current } = await this.authenticateCertificate(certificate);
      setDevice(device);
      return this.issue(device, csrBase64, 'reenroll', 'certificate', current);
    });
  }

  async certificateOf(
    serial: string,
  ): Promise<{ serial: string; notAfter: string; notBefore: string; status: string }> {
    const row = await this.store.db
      .selectFrom('certificates')
      .select(['serial', 'not_after', 'not_before', 'status'])
      .where('serial', '=', serial)
      .executeTakeFirst();
    if (row === undefined)
      throw new VigilError('IDENTITY_CERTIFICATE_NOT_FOUND', 'not_found', `no certificate ${serial}`);
    return { serial: row.serial, notAfter: row.not_after, notBefore: row.not_before, status: row.status };
  }

  /** Resolves a device certificate presented in TLS to its device, refusing anything not valid now. */
  async authenticateCertificate(
    certificate: Buffer,
  ): Promise<{ device: DevicesTable; current: { serial: string; subject: string } }> {
    const fingerprint = fingerprintOf(certificate);
    const [row] = await this.certificateOwner(fingerprint);
    if (row === undefined)
      throw new VigilError(
        'DEVICE_CERTIFICATE_UNKNOWN',
        'unauthenticated',
        'the client certificate was not issued by this installation',
      );
    const now = this.clock.now().getTime();
    if (row.cert_status === 'revoked')
      throw new VigilError(
        'DEVICE_CERTIFICATE_REVOKED',
        'unauthenticated',
        'the client certificate is revoked',
      );
    if (new Date(row.cert_not_after).getTime() < now || new Date(row.cert_not_before).getTime() > now) {
      throw new VigilError(
        'DEVICE_CERTIFICATE_EXPIRED',
        'unauthenticated',
        'the client certificate is not valid now',
      );
    }
    if (row.status === 'decommissioned')
      throw new VigilError('DEVICE_DECOMMISSIONED', 'forbidden', 'the device is decommissioned');
    if (row.status === 'revoked')
      throw new VigilError('DEVICE_REVOKED', 'forbidden', 'the device is revoked');
    const {
      cert_serial,
      cert_status: _status,
      cert_not_after: _after,
      cert_not_before: _before,
      cert_subject,
      ...device
    } = row;
    return { device, current: { serial: cert_serial, subject: cert_subject } };
  }

  private async authenticateBootstrap(credential: EnrollmentCredential): Promise<DevicesTable> {
    if (credential.kind === 'certificate')
      throw new VigilError('EST_AUTH_FAILED', 'unauthenticated', 'simpleenroll needs a bootstrap credential');
    let device: DevicesTable | undefined;
    if (credential.kind === 'secret') {
      device = await this.store.db
        .selectFrom('devices')
        .selectAll()
        .where('serial', '=', credential.serial)
        .executeTakeFirst();
      // One answer for "no such serial" and "wrong secret", so serials cannot be probed.
      const expected = device?.secret_hash ?? null;
      if (
        device === undefined ||
        expected === null ||
        !timingSafeEqual(expected, hashEnrollmentSecret(credential.secret))
      ) {
        throw new VigilError(
          'EST_AUTH_FAILED',
          'unauthenticated',
          'the serial and enrollment secret do not match',
        );
      }
    } else {
      device = await this.store.db
        .selectFrom('devices')
        .selectAll()
        .where('idevid_fingerprint', '=', fingerprintOf(credential.certificate))
        .executeTakeFirst();
    }
    if (device === undefined)
      throw new VigilError(
        'EST_AUTH_FAILED',
        'unauthenticated',
        'the bootstrap credential matches no registered device',
      );
    if (device.status === 'decommissioned')
      throw new VigilError('EST_DEVICE_DECOMMISSIONED', 'forbidden', 'the device is decommissioned');
    if (device.status === 'revoked')
      throw new VigilError('EST_DEVICE_REVOKED', 'forbidden', 'the device is revoked');
    if (credential.kind === 'secret') {
      if (device.secret_used_at !== null)
        throw new VigilError('EST_SECRET_USED', 'unauthenticated', 'the enrollment secret was already used');
      if (
        device.secret_expires_at !== null &&
        new Date(device.secret_expires_at).getTime() <= this.clock.now().getTime()
      ) {
        throw new VigilError('EST_SECRET_EXPIRED', 'unauthenticated', 'the enrollment secret has expired');
      }
    } else if (credential.kind === 'idevid') {
      const chain = JSON.parse(device.idevid_chain ?? '[]') as string[];
      const leaf = chain[0] === undefined ? undefined : describeCertificate(pemToDer(chain[0]));
      const now = this.clock.now().getTime();
      if (leaf === undefined || leaf.notBefore.getTime() > now || leaf.notAfter.getTime() < now) {
        throw new VigilError(
          'EST_IDEVID_EXPIRED',
          'unauthenticated',
          'the IDevID certificate is not valid now',
        );
      }
    }
    return device;
  }

  private async issue(
    device: DevicesTable,
    csrBase64: string,
    via: 'enroll' | 'reenroll',
    bootstrap: 'secret' | 'idevid' | 'certificate',
    current?: { serial: string; subject: string },
  ): Promise<Issued> {
    const csr = parseCsr(decodeBase64Body(csrBase64, 'CSR'));
    if (!csr.signatureValid)
      throw new VigilError(
        'EST_CSR_SIGNATURE_INVALID',
        'invalid',
        'the CSR signature does not verify (RFC 2986 proof of possession)',
      );
    // RFC 7030 §4.2.2: a renewal keeps the subject of the certificate being renewed; ours is the serial.
    if (csr.subject.commonName !== device.serial) {
      throw new VigilError(
        'EST_CSR_SUBJECT_MISMATCH',
        'invalid',
        `the CSR subject must be CN=${device.serial}, the registered serial`,
      );
    }
    if (csr.sanUris.some((uri) => uri !== `urn:vigil:device:${device.id}`)) {
      throw new VigilError(
        'EST_CSR_SUBJECT_MISMATCH',
        'invalid',
        'the CSR asks for a subject alternative name that is not this device',
      );
    }
    const profile = await this.profiles.get(device.product_id);
    const algorithm = keyAlgorithmOf(csr.key);
    if (algorithm === undefined || !profile.keyTypes.includes(algorithm)) {
      throw new VigilError(
        'EST_KEY_NOT_ALLOWED',
        'invalid',
        `the CSR key (${csr.key.type}${csr.key.curve === undefined ? '' : ` ${csr.key.curve}`}${csr.key.bits === undefined ? '' : ` ${csr.key.bits} bits`}) is not allowed; allowed: ${profile.keyTypes.join(', ')}`,
      );
    }
    const context: IssuingContext = await this.authorities.activeIssuing(device.product_id);
    const now = new Date(Math.floor(this.clock.now().getTime() / 1000) * 1000);
    const notAfter = new Date(
      Math.min(now.getTime() + profile.validityDays * day, new Date(context.authority.notAfter).getTime()),
    );
    const serial = newCertificateSerial();
    const certificate = await context.template.issue({
      serial,
      commonName: device.serial,
      publicKey: csr.publicKey,
      sanUri: `urn:vigil:device:${device.id}`,
      notBefore: now,
      notAfter,
    });
    const fingerprint = fingerprintOf(certificate);
    const serialHex = serial.toString('hex');
    const actor: Actor = { principal: device.id };
    await this.ledger.transactGrouped(actor, async (tx: Tx) => {
      if (via === 'enroll') {
        let claim = tx
          .updateTable('devices')
          .set({
            status: 'enrolled',
            enrolled_at: toRfc3339(now),
            ...(bootstrap === 'secret' ? { secret_used_at: toRfc3339(now) } : {}),
          })
          .where('id', '=', device.id)
          .where('status', 'in', ['registered', 'enrolled']);
        // A one-time secret works exactly once, even under concurrent use.
        if (bootstrap === 'secret') claim = claim.where('secret_used_at', 'is', null);
        const claimed = await claim.executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1)
          throw new VigilError(
            'EST_SECRET_USED',
            'unauthenticated',
            'the enrollment secret was already used',
          );
      }
      const { firstIndex } = await this.ledger.append(tx, actor, [
        {
          type: via === 'enroll' ? 'certificate.issued' : 'certificate.renewed',
          subject: device.id,
          details: {
            serial: serialHex,
            fingerprint,
            subject: `CN=${device.serial}`,
            ca: context.authority.id,
            chain: context.chain.map(fingerprintOf),
            notBefore: toRfc3339(now),
            notAfter: toRfc3339(notAfter),
            keyType: algorithm,
            bootstrap,
            ...(current === undefined ? {} : { renews: current.serial }),
          },
        },
      ]);
      await tx
        .insertInto('certificates')
        .values({
          serial: serialHex,
          device_id: device.id,
          ca_id: context.authority.id,
          fingerprint,
          der: certificate,
          subject: `CN=${device.serial}`,
          not_before: toRfc3339(now),
          not_after: toRfc3339(notAfter),
          status: 'valid',
          revoked_at: null,
          revocation_reason: null,
          issued_via: via,
          bootstrap_method: bootstrap,
          ledger_index: firstIndex,
          created_at: toRfc3339(now),
        })
        .execute();
    });
    const updated: DevicesTable =
      via === 'enroll'
        ? {
            ...device,
            status: 'enrolled',
            enrolled_at: toRfc3339(now),
            secret_used_at: bootstrap === 'secret' ? toRfc3339(now) : device.secret_used_at,
          }
        : device;
    return { device: toDevice(updated), certificate, chain: context.chain, serial: serialHex, fingerprint };
  }

  /** Runs an enrollment; a refusal is recorded in the ledger (nothing else changes) and rethrown. */
  private async refusalsRecorded<T>(
    operation: 'simpleenroll' | 'simplereenroll',
    credential: EnrollmentCredential,
    work: (setDevice: (device: DevicesTable) => void) => Promise<T>,
  ): Promise<T> {
    let device: DevicesTable | undefined;
    try {
      return await work((found) => (device = found));
    } catch (error) {
      if (!isVigilError(error) || error.kind === 'internal' || error.kind === 'unavailable') throw error;
      const claimed =
        credential.kind === 'secret'
          ? { claimedSerial: credential.serial }
          : { presentedCertificate: fingerprintOf(credential.certificate) };
      await this.ledger.transact({ principal: device?.id ?? 'anonymous' }, async (_tx, record) =>
        record({
          type: 'enrollment.refused',
          subject: device?.id ?? null,
          details: {
            operation,
            code: error.code,
            reason: error.message,
            bootstrap: credential.kind,
            ...claimed,
          },
        }),
      );
      throw error;
    }
  }
}
