/**
 * What a device makes itself in X.509: a P-256 key, its PKCS#10 request for EST (RFC 2986, RFC
 * 7030 §4.2.1), the certificates a DICE layer issues to the next (RFC 5280 §4.1 with the TCG DICE
 * extensions), and the certificates out of an EST certs-only answer (RFC 5652 §5). ECDSA P-256 with
 * SHA-256 only: what the device endpoint's default profile asks for (`/csrattrs`).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  Tag,
  bitString,
  childrenOf,
  contextTag,
  derBoolean,
  integer,
  octetString,
  oid,
  readElement,
  readOid,
  readRoot,
  sequence,
  setOf,
  tlv,
  utf8String,
  x509Time,
} from './der.ts';
import { agentError } from './errors.ts';

export const Oid = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  signedData: '1.2.840.113549.1.7.2',
} as const;

/** RFC 5758 §3.2: ecdsa-with-SHA256 with the parameters absent. */
const ecdsaWithSha256 = sequence(oid(Oid.ecdsaWithSha256));

export function generateP256Key(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** A Name of one CN (RFC 5280 §4.1.2.4, UTF8String per §4.1.2.6's "MUST use UTF8String" for new names). */
export function commonNameOnly(commonName: string): Buffer {
  return sequence(setOf(sequence(oid(Oid.commonName), utf8String(commonName))));
}

function spki(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: 'der', type: 'spki' });
}

/** RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const info = spki(publicKey);
  const root = readRoot(info, 'AGENT_DICE_KEY_INVALID');
  const [, subjectPublicKey] = childrenOf(info, root, 'AGENT_DICE_KEY_INVALID');
  const bits = info.subarray(subjectPublicKey!.contentStart + 1, subjectPublicKey!.end);
  return createHash('sha256').update(bits).digest().subarray(0, 20);
}

function signEcdsa(data: Buffer, privateKey: KeyObject): Buffer {
  return sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
}

/** A PKCS#10 request for `CN=<commonName>`, signed by the key it asks a certificate for (RFC 2986 §4). */
export function buildCertificationRequest(
  commonName: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
): Buffer {
  const info = sequence(
    integer(0),
    commonNameOnly(commonName),
    spki(publicKey),
    tlv(contextTag(0, true)), // attributes: none
  );
  return sequence(info, ecdsaWithSha256, bitString(signEcdsa(info, privateKey)));
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The DER the extnValue OCTET STRING wraps. */
  value: Buffer;
}

export const extensions = {
  /** RFC 5280 §4.2.1.9, critical in CA certificates. */
  basicConstraints(ca: boolean): Extension {
    return { oid: Oid.basicConstraints, critical: true, value: ca ? sequence(derBoolean(true)) : sequence() };
  },
  /** RFC 5280 §4.2.1.3: digitalSignature is bit 0, keyCertSign bit 5. */
  keyUsage(usage: 'digitalSignature' | 'keyCertSign'): Extension {
    const value =
      usage === 'digitalSignature' ? bitString(Buffer.from([0x80]), 7) : bitString(Buffer.from([0x04]), 2);
    return { oid: Oid.keyUsage, critical: true, value };
  },
  subjectKeyIdentifier(publicKey: KeyObject): Extension {
    return { oid: Oid.subjectKeyIdentifier, critical: false, value: octetString(keyIdentifier(publicKey)) };
  },
  /** RFC 5280 §4.2.1.1: keyIdentifier [0] only. */
  authorityKeyIdentifier(issuerPublicKey: KeyObject): Extension {
    return {
      oid: Oid.authorityKeyIdentifier,
      critical: false,
      value: sequence(tlv(contextTag(0, false), keyIdentifier(issuerPublicKey))),
    };
  },
};

export interface CertificateTemplate {
  /** Positive, at most 20 octets (RFC 5280 §4.1.2.2). */
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: Extension[];
}

/** An X.509 v3 certificate (RFC 5280 §4.1) signed ECDSA P-256/SHA-256 by `issuerKey`. */
export function buildCertificate(template: CertificateTemplate, issuerKey: KeyObject): Buffer {
  if (template.serial.length === 0 || template.serial.length > 20)
    throw new RangeError('a certificate serial is 1 to 20 octets');
  const encodedExtensions = template.extensions.map((extension) =>
    sequence(
      oid(extension.oid),
      ...(extension.critical ? [derBoolean(true)] : []),
      octetString(extension.value),
    ),
  );
  const tbs = sequence(
    tlv(contextTag(0, true), integer(2)), // v3
    integer(template.serial),
    ecdsaWithSha256,
    template.issuer,
    sequence(x509Time(template.notBefore), x509Time(template.notAfter)),
    template.subject,
    spki(template.publicKey),
    tlv(contextTag(3, true), sequence(...encodedExtensions)),
  );
  return sequence(tbs, ecdsaWithSha256, bitString(signEcdsa(tbs, issuerKey)));
}

/**
 * The certificates of a certs-only CMS SignedData (RFC 7030 §4.1.3, RFC 5652 §5.1), as EST's
 * /simpleenroll answers. Read strictly; anything else is AGENT_ENROLLMENT_FAILED.
 */
export function certificatesOfCertsOnly(der: Buffer): Buffer[] {
  const code = 'AGENT_ENROLLMENT_FAILED';
  const malformed = (why: string) =>
    agentError(code, 'internal', `the EST answer is not a certs-only PKCS#7: ${why}`);
  const root = readRoot(der, code);
  if (root.tag !== Tag.sequence) throw malformed('no ContentInfo');
  const [contentType, explicit] = childrenOf(der, root, code);
  if (contentType === undefined || readOid(der, contentType, code) !== Oid.signedData)
    throw malformed('not SignedData');
  if (explicit === undefined || explicit.tag !== contextTag(0, true)) throw malformed('no content');
  const signedData = readElement(der, explicit.contentStart, explicit.end, code);
  if (signedData.tag !== Tag.sequence) throw malformed('SignedData is not a SEQUENCE');
  const certificates = childrenOf(der, signedData, code).find((field) => field.tag === contextTag(0, true));
  if (certificates === undefined) throw malformed('it holds no certificates');
  return childrenOf(der, certificates, code, 64).map((certificate) => {
    if (certificate.tag !== Tag.sequence) throw malformed('a certificate is not a SEQUENCE');
    return Buffer.from(der.subarray(certificate.start, certificate.end));
  });
}
