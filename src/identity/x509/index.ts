/**
 * Vigil's X.509 toolkit: pure functions and templates, bytes in and bytes out. Parsers of
 * attacker-controlled input (`parseCsr`, `parseOcspRequest`, `describeCertificate`) only throw
 * `VigilError`. Every time written is truncated to whole seconds (RFC 5280 §4.1.2.5).
 */
export { x509SignerFromKeyObject, signatureHashOf, oids, type X509Signer } from './algorithms.ts';
export { createCaCertificate, type CaCertificateKind, type CaCertificateRequest } from './ca-certificate.ts';
export {
  LeafCertificateTemplate,
  type LeafCertificateRequest,
  type LeafTemplateOptions,
} from './leaf-certificate.ts';
export { parseCsr, maxCsrSize, type ParsedCsr } from './csr.ts';
export { encodeCertsOnlyPkcs7, encodeCsrAttributes, type CsrAttribute } from './pkcs7.ts';
export {
  buildCrl,
  revocationReasons,
  revocationReasonCode,
  type RevocationReason,
  type CrlEntry,
  type CrlRequest,
} from './crl.ts';
export {
  parseOcspRequest,
  certificateId,
  buildOcspResponse,
  ocspErrorResponse,
  type OcspCertId,
  type OcspRequest,
  type OcspHashAlgorithm,
  type OcspCertStatus,
  type OcspSingleResponse,
  type OcspResponseRequest,
  type OcspErrorStatus,
} from './ocsp.ts';
export {
  describeCertificate,
  certificateToPem,
  pemToDer,
  pemToDerAll,
  type CertificateSummary,
} from './certificate.ts';
export type { SubjectName } from './names.ts';
/** The bounded, strict DER reader, for other modules' parsers of attacker-controlled ASN.1. */
export { DerReader, DerCursor, Tag, contextTag, type DerElement } from './der.ts';
