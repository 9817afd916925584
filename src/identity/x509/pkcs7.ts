/**
 * EST payload encodings: certs-only CMS SignedData (RFC 7030 §4.1.3, RFC 5652 §5) for /cacerts and
 * /simpleenroll, and CsrAttrs (RFC 7030 §4.5.2) for /csrattrs.
 */
import { VigilError } from '../../core/index.ts';
import { DerReader, Tag, contextTag, oid, sequence, setOf, smallInteger, tlv } from './der.ts';

const idSignedData = '1.2.840.113549.1.7.2';
const idData = '1.2.840.113549.1.7.1';
const emptySet = Buffer.from([Tag.set, 0]);

/**
 * A degenerate SignedData carrying only certificates (no content, no signers). Certificates keep
 * the caller's order, which EST clients read as the chain order.
 */
export function encodeCertsOnlyPkcs7(certificates: Buffer[]): Buffer {
  for (const certificate of certificates) {
    const reader = new DerReader(certificate, 'X509_CERTIFICATE_MALFORMED', { maxElements: 1 });
    reader.expectTag(reader.root(), Tag.sequence, 'Certificate');
  }
  // RFC 5652 §5.1: version 1 when only X.509 v3 certificates and no other features are present.
  const signedData = sequence(
    smallInteger(1),
    emptySet, // digestAlgorithms
    sequence(oid(idData)), // encapContentInfo without eContent
    tlv(contextTag(0, true), ...certificates), // certificates [0] IMPLICIT CertificateSet
    emptySet, // signerInfos
  );
  return sequence(oid(idSignedData), tlv(contextTag(0, true), signedData));
}

/** An OID to request, or an attribute naming what to put in it (e.g. a curve for a key type). */
export type CsrAttribute = string | { type: string; values: string[] };

/** CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID (RFC 7030 §4.5.2). */
export function encodeCsrAttributes(attributes: CsrAttribute[]): Buffer {
  try {
    return sequence(
      ...attributes.map((attribute) =>
        typeof attribute === 'string'
          ? oid(attribute)
          : sequence(oid(attribute.type), setOf(attribute.values.map((value) => oid(value)))),
      ),
    );
  } catch (error) {
    throw new VigilError('X509_CSR_ATTRIBUTES_INVALID', 'invalid', 'CSR attributes must be dotted OIDs', {
      cause: error,
    });
  }
}
