/**
 * The device-certificate hot path. A template is built once per (issuing CA, profile) and holds every
 * constant DER piece; `issue` only encodes the per-device fields (serial, validity, subject, key,
 * SKI, SAN) and asks the signer for a signature.
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
  subjectAltName,
  subjectKeyIdentifier,
} from './extensions.ts';
import { encodeName } from './names.ts';

export interface LeafTemplateOptions {
  /** The issuing CA certificate (DER). */
  issuerCertificate: Buffer;
  /** Signs with the issuing CA key. */
  signer: X509Signer;
  /** cRLDistributionPoints URI (RFC 5280 §4.2.1.13); omitted when absent. */
  crlUrl?: string;
  /** authorityInfoAccess id-ad-ocsp URI (RFC 5280 §4.2.2.1); omitted when absent. */
  ocspUrl?: string;
}

export interface LeafCertificateRequest {
  /** Unsigned big-endian serial: positive, at most 20 octets encoded (RFC 5280 §4.1.2.2). */
  serial: Buffer;
  commonName: string;
  /** SubjectPublicKeyInfo DER, copied byte-exact into the certificate (e.g. from the CSR). */
  publicKey: Buffer;
  /** subjectAltName uniformResourceIdentifier, e.g. urn:vigil:device:<uuid>. */
  sanUri: string;
  /** Truncated to whole seconds (RFC 5280 §4.1.2.5). */
  notBefore: Date;
  notAfter: Date;
}

const version3 = tlv(contextTag(0, true), Buffer.from([0x02, 0x01, 0x02]));

export class LeafCertificateTemplate {
  readonly signer: X509Signer;
  private readonly signatureAlgorithm: Buffer;
  /** signature AlgorithmIdentifier + issuer Name, which follow the serial in TBSCertificate. */
  private readonly afterSerial: Buffer;
  private readonly keyUsageSigning: Buffer;
  private readonly keyUsageRsa: Buffer;
  /** basicConstraints, extendedKeyUsage, AKI, CRL DP, AIA. */
  private readonly constantExtensions: Buffer;

  constructor(options: LeafTemplateOptions) {
    const issuer = parseCertificate(options.issuerCertificate);
    if (!issuer.isCa) {
      throw new VigilError(
        'X509_PROFILE_INVALID',
        'invalid',
        'the issuer certificate is not a CA (basicConstraints cA)',
      );
    }
    if (!signerMatchesKey(options.signer.algorithm, issuer.publicKey.key)) {
      throw new VigilError(
        'X509_SIGNER_MISMATCH',
        'invalid',
        "the signer's algorithm does not fit the issuer key",
      );
    }
    this.signer = options.signer;
    this.signatureAlgorithm = signatureAlgorithmOf(options.signer.algorithm);
    // RFC 5280 §4.1.2.4: the issuer field is the issuer's subject, byte for byte (path building
    // compares names, and some validators compare bytes).
    this.afterSerial = Buffer.concat([this.signatureAlgorithm, issuer.subjectName]);
    this.keyUsageSigning = keyUsage([KeyUsageBit.digitalSignature]);
    this.keyUsageRsa = keyUsage([KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]);
    const constant = [
      basicConstraints(false),
      extendedKeyUsage([ExtendedKeyUsage.clientAuth]),
      // RFC 5280 §4.2.1.1: AKI keyIdentifier matches the issuer's SKI.
      authorityKeyIdentifier(issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.publicKey.keyBytes)),
    ];
    if (options.crlUrl !== undefined) constant.push(crlDistributionPoints(options.crlUrl));
    if (options.ocspUrl !== undefined) constant.push(authorityInfoAccessOcsp(options.ocspUrl));
    this.constantExtensions = Buffer.concat(constant);
  }

  /** Encodes the TBSCertificate (exposed for measurement and tests). */
  encodeTbs(request: LeafCertificateRequest): Buffer {
    const subjectKey = parseSubjectPublicKeyInfo(request.publicKey);
    const extensions = tlv(
      contextTag(3, true),
      sequence(
        subjectKey.key.type === 'rsa' ? this.keyUsageRsa : this.keyUsageSigning,
        this.constantExtensions,
        subjectKeyIdentifier(keyIdentifier(subjectKey.keyBytes)),
        subjectAltName({ uris: [request.sanUri] }),
      ),
    );
    return sequence(
      version3,
      serialNumber(request.serial),
      this.afterSerial,
      validity(request.notBefore, request.notAfter),
      encodeName({ commonName: request.commonName }),
      subjectKey.der,
      extensions,
    );
  }

  /** Issues one certificate; returns DER. */
  async issue(request: LeafCertificateRequest): Promise<Buffer> {
    const tbs = this.encodeTbs(request);
    const signature = await signWith(this.signer, tbs);
    return sequence(tbs, this.signatureAlgorithm, bitString(signature));
  }
}
