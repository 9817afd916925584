/**
 * Certificates for Vigil's own infrastructure (few, so clarity over speed): the root and issuing
 * CAs, the delegated OCSP responder, and the TLS server certificate of the device endpoint.
 */
import { VigilError } from '../../core/index.ts';
import {
  parseSubjectPublicKeyInfo,
  signWith,
  signatureAlgorithmOf,
  signerMatchesKey,
  type X509Signer,
} from './algorithms.ts';
import { parseCertificate } from './certificate.ts';
import { bitString, contextTag, sequence, serialNumber, tlv, validity } from './der.ts';
import {
  ExtendedKeyUsage,
  KeyUsageBit,
  authorityInfoAccessOcsp,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  extendedKeyUsage,
  keyIdentifier,
  keyUsage,
  ocspNoCheck,
  subjectAltName,
  subjectKeyIdentifier,
} from './extensions.ts';
import { encodeName, type SubjectName } from './names.ts';

export type CaCertificateKind = 'root' | 'issuing' | 'ocsp' | 'tls';

export interface CaCertificateRequest {
  /**
   * root: self-signed CA; issuing: subordinate CA; ocsp: delegated OCSP signer (RFC 6960 §4.2.2.2);
   * tls: server certificate for the device endpoint.
   */
  kind: CaCertificateKind;
  subject: SubjectName;
  /** SubjectPublicKeyInfo DER of the certified key. */
  publicKey: Buffer;
  /** Unsigned big-endian serial (positive, at most 20 octets encoded). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** The issuing certificate (DER); absent for a self-signed root. */
  issuer?: { certificate: Buffer };
  /** Signs with the issuer's key (the subject's own key for a root). */
  signer: X509Signer;
  /** basicConstraints pathLenConstraint (root and issuing only). */
  pathLength?: number;
  /** tls only: subjectAltName dNSName and iPAddress entries. */
  dnsNames?: string[];
  ipAddresses?: string[];
  crlUrl?: string;
  ocspUrl?: string;
}

const version3 = tlv(contextTag(0, true), Buffer.from([0x02, 0x01, 0x02]));

function invalid(message: string): VigilError {
  return new VigilError('X509_PROFILE_INVALID', 'invalid', message);
}

/** Builds and signs a certificate of one of the infrastructure profiles; returns DER. */
export async function createCaCertificate(request: CaCertificateRequest): Promise<Buffer> {
  const { kind, signer } = request;
  if (!['root', 'issuing', 'ocsp', 'tls'].includes(kind))
    throw invalid(`unknown certificate kind ${String(kind)}`);
  const subjectKey = parseSubjectPublicKeyInfo(request.publicKey);
  const subjectName = encodeName(request.subject);
  const subjectKeyId = keyIdentifier(subjectKey.keyBytes);

  let issuerName: Buffer;
  let issuerKeyId: Buffer;
  if (request.issuer === undefined) {
    if (kind !== 'root') throw invalid(`a ${kind} certificate needs an issuer`);
    if (!signerMatchesKey(signer.algorithm, subjectKey.key)) {
      throw new VigilError(
        'X509_SIGNER_MISMATCH',
        'invalid',
        'a self-signed root must be signed with its own key',
      );
    }
    issuerName = subjectName;
    issuerKeyId = subjectKeyId;
  } else {
    if (kind === 'root') throw invalid('a root certificate is self-signed; do not pass an issuer');
    const issuer = parseCertificate(request.issuer.certificate);
    if (!issuer.isCa) throw invalid('the issuer certificate is not a CA (basicConstraints cA)');
    if (!signerMatchesKey(signer.algorithm, issuer.publicKey.key)) {
      throw new VigilError(
        'X509_SIGNER_MISMATCH',
        'invalid',
        "the signer's algorithm does not fit the issuer key",
      );
    }
    issuerName = issuer.subjectName;
    issuerKeyId = issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.publicKey.keyBytes);
  }
  if (request.pathLength !== undefined && kind !== 'root' && kind !== 'issuing') {
    throw invalid('pathLength applies to CA certificates only');
  }
  if ((request.dnsNames?.length || request.ipAddresses?.length) && kind !== 'tls') {
    throw invalid('dnsNames and ipAddresses apply to tls certificates only');
  }

  const extensions: Buffer[] = [];
  const rsaSubject = subjectKey.key.type === 'rsa';
  switch (kind) {
    case 'root':
    case 'issuing':
      // RFC 5280 §4.2.1.9 and §4.2.1.3: CA certificates assert cA and keyCertSign, both critical.
      extensions.push(
        basicConstraints(true, request.pathLength),
        keyUsage([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign]),
      );
      break;
    case 'ocsp':
      // RFC 6960 §4.2.2.2: id-kp-OCSPSigning; §4.2.2.2.1: id-pkix-ocsp-nocheck.
      extensions.push(
        basicConstraints(false),
        keyUsage([KeyUsageBit.digitalSignature]),
        extendedKeyUsage([ExtendedKeyUsage.ocspSigning]),
        ocspNoCheck(),
      );
      break;
    case 'tls':
      extensions.push(
        basicConstraints(false),
        keyUsage(
          rsaSubject
            ? [KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]
            : [KeyUsageBit.digitalSignature],
        ),
        extendedKeyUsage([ExtendedKeyUsage.serverAuth]),
        subjectAltName({ dnsNames: request.dnsNames ?? [], ipAddresses: request.ipAddresses ?? [] }),
      );
      break;
  }
  extensions.push(subjectKeyIdentifier(subjectKeyId), authorityKeyIdentifier(issuerKeyId));
  if (request.crlUrl !== undefined) extensions.push(crlDistributionPoints(request.crlUrl));
  if (request.ocspUrl !== undefined) extensions.push(authorityInfoAccessOcsp(request.ocspUrl));

  const signatureAlgorithm = signatureAlgorithmOf(signer.algorithm);
  const tbs = sequence(
    version3,
    serialNumber(request.serial),
    signatureAlgorithm,
    issuerName,
    validity(request.notBefore, request.notAfter),
    subjectName,
    subjectKey.der,
    tlv(contextTag(3, true), sequence(...extensions)),
  );
  const signature = await signWith(signer, tbs);
  return sequence(tbs, signatureAlgorithm, bitString(signature));
}
