/**
 * OCSP (RFC 6960): reading requests (attacker-controlled: bounded, and only `X509_OCSP_REQUEST_MALFORMED`
 * can come out), computing CertIDs, and building signed responses by hand so that pre-signing a whole
 * fleet's responses is bounded by the signer, not the encoder.
 */
import { createHash } from 'node:crypto';
import { VigilError } from '../../core/index.ts';
import { Oid, signWith, signatureAlgorithmOf, signerMatchesKey, type X509Signer } from './algorithms.ts';
import { parseCertificate, readExtensions } from './certificate.ts';
import {
  DerReader,
  Tag,
  bitString,
  checkedTime,
  contextTag,
  derNull,
  enumerated,
  generalizedTime,
  octetString,
  oid,
  sequence,
  serialNumber,
  tlv,
  tlvOf,
} from './der.ts';
import { ExtensionOid, extension, keyIdentifier } from './extensions.ts';
import { revocationReasonCode, type RevocationReason } from './crl.ts';

export type OcspHashAlgorithm = 'sha1' | 'sha256';

/** CertID (RFC 6960 §4.1.1); `serial` is the unsigned big-endian magnitude. */
export interface OcspCertId {
  hashAlgorithm: OcspHashAlgorithm;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
}

export interface OcspRequest {
  requests: OcspCertId[];
  /** RFC 8954 nonce value (1 to 32 octets), when the client sent one. */
  nonce?: Buffer;
}

const requestCode = 'X509_OCSP_REQUEST_MALFORMED';
export const maxOcspRequestSize = 16 * 1024;
const maxRequestsPerMessage = 64;

const hashOids: Record<string, OcspHashAlgorithm> = { [Oid.sha1]: 'sha1', [Oid.sha256]: 'sha256' };
const hashLengths: Record<OcspHashAlgorithm, number> = { sha1: 20, sha256: 32 };

export function parseOcspRequest(der: Buffer): OcspRequest {
  if (!Buffer.isBuffer(der)) throw new VigilError(requestCode, 'invalid', 'OCSP request must be a Buffer');
  if (der.length > maxOcspRequestSize) throw new VigilError(requestCode, 'invalid', 'OCSP request too large');
  const reader = new DerReader(der, requestCode, { maxElements: 2_000 });

  // RFC 6960 §4.1.1: OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT OPTIONAL }
  const request = reader.children(reader.expectTag(reader.root(), Tag.sequence, 'OCSPRequest'));
  const tbs = reader.children(request.expect(Tag.sequence, 'TBSRequest'));
  // A request signature is not checked: Vigil answers anyone (RFC 6960 §4.1.2 makes it optional).
  request.optional(contextTag(0, true));
  request.end('OCSPRequest');

  const version = tbs.optional(contextTag(0, true));
  if (version && reader.smallInteger(reader.wrapped(version)) !== 0)
    reader.fail('unknown OCSP request version');
  tbs.optional(contextTag(1, true)); // requestorName
  const list = reader.children(tbs.expect(Tag.sequence, 'requestList'));
  const requestExtensions = tbs.optional(contextTag(2, true));
  tbs.end('TBSRequest');

  const requests: OcspCertId[] = [];
  while (!list.done) {
    if (requests.length >= maxRequestsPerMessage) reader.fail('too many requests in one message');
    const single = reader.children(list.expect(Tag.sequence, 'Request'));
    const certId = reader.children(single.expect(Tag.sequence, 'CertID'));
    single.optional(contextTag(0, true)); // singleRequestExtensions
    single.end('Request');

    const algorithm = reader.children(certId.expect(Tag.sequence, 'hashAlgorithm'));
    const hashOid = reader.oid(algorithm.next('hash algorithm OID'));
    const parameters = algorithm.optional(Tag.null);
    if (parameters && parameters.end !== parameters.contentStart)
      reader.fail('bad hash algorithm parameters');
    algorithm.end('hashAlgorithm');
    const hashAlgorithm = hashOids[hashOid] ?? reader.fail(`unsupported CertID hash algorithm ${hashOid}`);
    const issuerNameHash = reader.content(certId.expect(Tag.octetString, 'issuerNameHash'));
    const issuerKeyHash = reader.content(certId.expect(Tag.octetString, 'issuerKeyHash'));
    const serial = reader.positiveInteger(certId.next('serialNumber'), 'serialNumber');
    certId.end('CertID');
    const length = hashLengths[hashAlgorithm];
    if (issuerNameHash.length !== length || issuerKeyHash.length !== length)
      reader.fail('CertID hash has the wrong length');
    requests.push({
      hashAlgorithm,
      issuerNameHash: Buffer.from(issuerNameHash),
      issuerKeyHash: Buffer.from(issuerKeyHash),
      serial: Buffer.from(serial),
    });
  }
  if (requests.length === 0) reader.fail('empty requestList');

  const parsed: OcspRequest = { requests };
  if (requestExtensions) {
    for (const requestExtension of readExtensions(reader, reader.wrapped(requestExtensions))) {
      if (requestExtension.type === ExtensionOid.ocspNonce) {
        // RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)), inside extnValue.
        const nonce = reader.content(
          reader.expectTag(reader.wrapped(requestExtension.value), Tag.octetString, 'Nonce'),
        );
        if (nonce.length < 1 || nonce.length > 32)
          reader.fail('nonce must be 1 to 32 octets (RFC 8954 §2.1)');
        parsed.nonce = Buffer.from(nonce);
      } else if (requestExtension.critical) {
        reader.fail(`unsupported critical request extension ${requestExtension.type}`);
      }
    }
  }
  return parsed;
}

/**
 * The CertID of `serial` issued by `issuerCertificate` (RFC 6960 §4.1.1): hashes of the issuer's
 * subject Name DER and of its subjectPublicKey BIT STRING value.
 */
export function certificateId(
  issuerCertificate: Buffer,
  serial: Buffer,
  hash: OcspHashAlgorithm = 'sha1',
): OcspCertId {
  if (hash !== 'sha1' && hash !== 'sha256')
    throw new VigilError('X509_OCSP_INVALID', 'invalid', 'hash must be sha1 or sha256');
  const issuer = parseCertificate(issuerCertificate);
  return {
    hashAlgorithm: hash,
    issuerNameHash: createHash(hash).update(issuer.subjectName).digest(),
    issuerKeyHash: createHash(hash).update(issuer.publicKey.keyBytes).digest(),
    serial: Buffer.from(serial),
  };
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspSingleResponse {
  certId: OcspCertId;
  status: OcspCertStatus;
  /** Required when revoked. */
  revokedAt?: Date;
  reason?: RevocationReason;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface OcspResponseRequest {
  /** The responder's certificate: a delegated OCSP signer or the CA itself (DER). */
  responderCertificate: Buffer;
  signer: X509Signer;
  producedAt: Date;
  responses: OcspSingleResponse[];
  /** Echoed in a nonce response extension (RFC 8954 §2.1). */
  nonce?: Buffer;
  /** The certs field; defaults to the responder certificate (RFC 6960 §4.2.2.2). */
  includeCertificates?: Buffer[];
}

const hashAlgorithmIdentifiers: Record<OcspHashAlgorithm, Buffer> = {
  // RFC 6960 §4.1.1 and common practice: NULL parameters, as OpenSSL writes them.
  sha1: sequence(oid(Oid.sha1), derNull),
  sha256: sequence(oid(Oid.sha256), derNull),
};
const idPkixOcspBasic = '1.3.6.1.5.5.7.48.1.1';
const statusGood = Buffer.from([contextTag(0, false), 0]);
const statusUnknown = Buffer.from([contextTag(2, false), 0]);

function invalid(message: string): VigilError {
  return new VigilError('X509_OCSP_INVALID', 'invalid', message);
}

function encodeCertId(certId: OcspCertId): Buffer {
  const algorithm = hashAlgorithmIdentifiers[certId.hashAlgorithm];
  if (!algorithm) throw invalid('CertID hash must be sha1 or sha256');
  return sequence(
    algorithm,
    octetString(certId.issuerNameHash),
    octetString(certId.issuerKeyHash),
    serialNumber(certId.serial),
  );
}

function encodeSingleResponse(response: OcspSingleResponse): Buffer {
  let status: Buffer;
  switch (response.status) {
    case 'good':
      status = statusGood;
      break;
    case 'unknown':
      status = statusUnknown;
      break;
    case 'revoked': {
      if (!response.revokedAt) throw invalid('a revoked status needs revokedAt');
      // RFC 6960 §4.2.1: revoked [1] IMPLICIT RevokedInfo { revocationTime, revocationReason [0] EXPLICIT }.
      const parts = [generalizedTime(checkedTime(response.revokedAt, 'revokedAt'))];
      if (response.reason !== undefined) {
        parts.push(tlv(contextTag(0, true), enumerated(revocationReasonCode(response.reason))));
      }
      status = tlv(contextTag(1, true), ...parts);
      break;
    }
    default:
      throw invalid(`unknown status ${String(response.status)}`);
  }
  const thisUpdate = checkedTime(response.thisUpdate, 'thisUpdate');
  const parts = [encodeCertId(response.certId), status, generalizedTime(thisUpdate)];
  if (response.nextUpdate !== undefined) {
    const nextUpdate = checkedTime(response.nextUpdate, 'nextUpdate');
    if (nextUpdate.getTime() < thisUpdate.getTime()) throw invalid('nextUpdate is before thisUpdate');
    parts.push(tlv(contextTag(0, true), generalizedTime(nextUpdate)));
  }
  return sequence(...parts);
}

/** A successful OCSPResponse carrying a signed BasicOCSPResponse (RFC 6960 §4.2.1); returns DER. */
export async function buildOcspResponse(request: OcspResponseRequest): Promise<Buffer> {
  const responder = parseCertificate(request.responderCertificate);
  if (!signerMatchesKey(request.signer.algorithm, responder.publicKey.key)) {
    throw new VigilError(
      'X509_SIGNER_MISMATCH',
      'invalid',
      "the signer's algorithm does not fit the responder key",
    );
  }
  if (request.responses.length === 0) throw invalid('an OCSP response needs at least one SingleResponse');
  // RFC 6960 §4.2.1: ResponderID byKey [2] KeyHash, the SHA-1 of the responder's public key.
  const responderId = tlv(contextTag(2, true), octetString(keyIdentifier(responder.publicKey.keyBytes)));
  const parts = [
    responderId,
    generalizedTime(checkedTime(request.producedAt, 'producedAt')),
    tlvOf(Tag.sequence, request.responses.map(encodeSingleResponse)),
  ];
  if (request.nonce !== undefined) {
    if (!Buffer.isBuffer(request.nonce) || request.nonce.length < 1 || request.nonce.length > 32) {
      throw invalid('nonce must be 1 to 32 octets (RFC 8954 §2.1)');
    }
    parts.push(
      tlv(
        contextTag(1, true),
        sequence(extension(ExtensionOid.ocspNonce, false, octetString(request.nonce))),
      ),
    );
  }
  const tbsResponseData = tlvOf(Tag.sequence, parts);
  const signatureAlgorithm = signatureAlgorithmOf(request.signer.algorithm);
  const signature = await signWith(request.signer, tbsResponseData);
  const certificates = request.includeCertificates ?? [request.responderCertificate];
  const basic = sequence(
    tbsResponseData,
    signatureAlgorithm,
    bitString(signature),
    ...(certificates.length > 0 ? [tlv(contextTag(0, true), tlvOf(Tag.sequence, certificates))] : []),
  );
  return sequence(
    enumerated(0),
    tlv(contextTag(0, true), sequence(oid(idPkixOcspBasic), octetString(basic))),
  );
}

export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'unauthorized';

const errorStatuses: Record<OcspErrorStatus, number> = {
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  unauthorized: 6,
};

/** An unsigned OCSPResponse with only an error responseStatus (RFC 6960 §4.2.1, §2.3). */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  const value = errorStatuses[status];
  if (value === undefined) throw invalid(`unknown OCSP error status ${String(status)}`);
  return sequence(enumerated(value));
}
