/**
 * Certificate revocation lists (RFC 5280 §5), v2 with authorityKeyIdentifier and cRLNumber, encoded
 * by hand so that 100,000 entries take well under a second before signing.
 */
import { VigilError } from '../../core/index.ts';
import { signWith, signatureAlgorithmOf, signerMatchesKey, type X509Signer } from './algorithms.ts';
import { parseCertificate } from './certificate.ts';
import {
  bigintMagnitude,
  bitString,
  checkedTime,
  contextTag,
  enumerated,
  sequence,
  serialNumber,
  tlv,
  tlvOf,
  Tag,
  unsignedInteger,
  x509Time,
} from './der.ts';
import { ExtensionOid, authorityKeyIdentifier, extension, keyIdentifier } from './extensions.ts';

/** CRLReason names (RFC 5280 §5.3.1); value 7 is unused. */
export const revocationReasons = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;

export type RevocationReason = (typeof revocationReasons)[number];

const reasonCodes: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

/** The CRLReason ENUMERATED value of a reason name. */
export function revocationReasonCode(reason: RevocationReason): number {
  const value = reasonCodes[reason];
  if (value === undefined) {
    throw new VigilError(
      'X509_REVOCATION_REASON_INVALID',
      'invalid',
      `unknown revocation reason ${String(reason)}`,
    );
  }
  return value;
}

export interface CrlEntry {
  /** Unsigned big-endian serial of the revoked certificate. */
  serial: Buffer;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlRequest {
  /** The CA certificate whose key signs the CRL (DER). */
  issuerCertificate: Buffer;
  signer: X509Signer;
  /** Monotonically increasing (RFC 5280 §5.2.3), at most 20 octets. */
  crlNumber: bigint | number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: CrlEntry[];
}

const version2 = Buffer.from([0x02, 0x01, 0x01]);

/** crlEntryExtensions holding reasonCode, one per reason; 'unspecified' is left out (RFC 5280 §5.3.1). */
const reasonExtensions = new Map<RevocationReason, Buffer | undefined>(
  revocationReasons.map((reason) => [
    reason,
    reason === 'unspecified'
      ? undefined
      : sequence(extension(ExtensionOid.reasonCode, false, enumerated(reasonCodes[reason]))),
  ]),
);

export async function buildCrl(request: CrlRequest): Promise<Buffer> {
  const issuer = parseCertificate(request.issuerCertificate);
  if (!signerMatchesKey(request.signer.algorithm, issuer.publicKey.key)) {
    throw new VigilError(
      'X509_SIGNER_MISMATCH',
      'invalid',
      "the signer's algorithm does not fit the issuer key",
    );
  }
  const crlNumber = typeof request.crlNumber === 'bigint' ? request.crlNumber : BigInt(request.crlNumber);
  if (crlNumber < 0n || bigintMagnitude(crlNumber).length > 20) {
    throw new VigilError(
      'X509_CRL_INVALID',
      'invalid',
      'cRLNumber must be a non-negative integer of at most 20 octets',
    );
  }
  const thisUpdate = checkedTime(request.thisUpdate, 'thisUpdate');
  const nextUpdate = checkedTime(request.nextUpdate, 'nextUpdate');
  if (nextUpdate.getTime() <= thisUpdate.getTime()) {
    throw new VigilError('X509_CRL_INVALID', 'invalid', 'nextUpdate must be after thisUpdate');
  }

  const seen = new Set<string>();
  const revoked: Buffer[] = new Array<Buffer>(request.entries.length);
  request.entries.forEach((entry, index) => {
    // RFC 5280 §5.3.1: removeFromCRL only appears in delta CRLs; these are full CRLs.
    if (entry.reason === 'removeFromCRL') {
      throw new VigilError('X509_CRL_INVALID', 'invalid', 'removeFromCRL belongs in delta CRLs only');
    }
    if (!reasonExtensions.has(entry.reason)) revocationReasonCode(entry.reason);
    const serial = serialNumber(entry.serial);
    const key = serial.toString('latin1');
    if (seen.has(key)) throw new VigilError('X509_CRL_INVALID', 'invalid', 'a serial is listed twice');
    seen.add(key);
    const time = x509Time(checkedTime(entry.revokedAt, 'revokedAt'));
    const extensions = reasonExtensions.get(entry.reason);
    revoked[index] = extensions ? sequence(serial, time, extensions) : sequence(serial, time);
  });

  const signatureAlgorithm = signatureAlgorithmOf(request.signer.algorithm);
  const crlExtensions = tlv(
    contextTag(0, true),
    sequence(
      authorityKeyIdentifier(issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.publicKey.keyBytes)),
      extension(ExtensionOid.cRLNumber, false, unsignedInteger(bigintMagnitude(crlNumber))),
    ),
  );
  // RFC 5280 §5.1.2.6: revokedCertificates is absent, not empty, when nothing is revoked.
  const tbs = sequence(
    version2,
    signatureAlgorithm,
    issuer.subjectName,
    x509Time(thisUpdate),
    x509Time(nextUpdate),
    ...(revoked.length > 0 ? [tlvOf(Tag.sequence, revoked)] : []),
    crlExtensions,
  );
  const signature = await signWith(request.signer, tbs);
  return sequence(tbs, signatureAlgorithm, bitString(signature));
}
