/**
 * Reading certificates (RFC 5280 §4.1): the fields issuing code needs from an issuer certificate,
 * and a summary for people and records. Certificates may come from devices, so parsing is strict and
 * bounded and only throws `VigilError('X509_CERTIFICATE_MALFORMED')`.
 */
import { createHash } from 'node:crypto';
import { VigilError } from '../../core/index.ts';
import { readSubjectPublicKeyInfo, type SubjectPublicKeyInfo } from './algorithms.ts';
import { DerReader, Tag, contextTag, type DerElement } from './der.ts';
import { ExtensionOid } from './extensions.ts';
import { readCommonName } from './names.ts';

const maxCertificateSize = 64 * 1024;

export interface ParsedCertificate {
  der: Buffer;
  /** Serial number as its minimal unsigned magnitude. */
  serial: Buffer;
  /** The issuer and subject Name TLVs, byte-exact. */
  issuerName: Buffer;
  subjectName: Buffer;
  issuerCommonName: string | undefined;
  subjectCommonName: string | undefined;
  notBefore: Date;
  notAfter: Date;
  publicKey: SubjectPublicKeyInfo;
  subjectKeyIdentifier: Buffer | undefined;
  sanUris: string[];
  /** basicConstraints cA. */
  isCa: boolean;
}

export interface CertificateExtension {
  type: string;
  critical: boolean;
  /** The extnValue OCTET STRING element (its content is the DER of the extension value). */
  value: DerElement;
}

/** Reads `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension`, refusing duplicates (RFC 5280 §4.2). */
export function readExtensions(reader: DerReader, extensions: DerElement): CertificateExtension[] {
  reader.expectTag(extensions, Tag.sequence, 'Extensions');
  const out: CertificateExtension[] = [];
  const seen = new Set<string>();
  for (const list = reader.children(extensions); !list.done;) {
    const fields = reader.children(list.expect(Tag.sequence, 'Extension'));
    const type = reader.oid(fields.next('extnID'));
    const criticalElement = fields.optional(Tag.boolean);
    const critical = criticalElement ? reader.boolean(criticalElement) : false;
    const value = fields.expect(Tag.octetString, 'extnValue');
    fields.end('Extension');
    if (seen.has(type)) reader.fail(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, critical, value });
  }
  return out;
}

/** The uniformResourceIdentifier entries of a GeneralNames value (other name forms are skipped). */
export function readUris(reader: DerReader, generalNames: DerElement): string[] {
  reader.expectTag(generalNames, Tag.sequence, 'GeneralNames');
  const uris: string[] = [];
  for (const names = reader.children(generalNames); !names.done;) {
    const name = names.next('GeneralName');
    if (name.tag === contextTag(6, false)) {
      const content = reader.content(name);
      if (content.some((octet) => octet < 0x21 || octet > 0x7e)) reader.fail('URI is not printable ASCII');
      uris.push(content.toString('latin1'));
    }
  }
  return uris;
}

export function parseCertificate(der: Buffer, code = 'X509_CERTIFICATE_MALFORMED'): ParsedCertificate {
  if (!Buffer.isBuffer(der)) throw new VigilError(code, 'invalid', 'certificate must be a Buffer');
  if (der.length > maxCertificateSize) throw new VigilError(code, 'invalid', 'certificate too large');
  const reader = new DerReader(der, code);
  const certificate = reader.children(reader.expectTag(reader.root(), Tag.sequence, 'Certificate'));
  const tbs = reader.children(certificate.expect(Tag.sequence, 'TBSCertificate'));
  certificate.expect(Tag.sequence, 'signatureAlgorithm');
  certificate.expect(Tag.bitString, 'signatureValue');
  certificate.end('Certificate');

  const version = tbs.optional(contextTag(0, true));
  if (version) {
    const inner = reader.wrapped(version);
    if (reader.smallInteger(inner) > 2) reader.fail('unknown certificate version');
  }
  const serialContent = reader.integer(tbs.next('serialNumber'));
  const serial =
    serialContent.length > 1 && serialContent[0] === 0 ? serialContent.subarray(1) : serialContent;
  tbs.expect(Tag.sequence, 'signature');
  const issuer = tbs.expect(Tag.sequence, 'issuer');
  const validity = reader.children(tbs.expect(Tag.sequence, 'validity'));
  const notBefore = reader.time(validity.next('notBefore'));
  const notAfter = reader.time(validity.next('notAfter'));
  validity.end('Validity');
  const subject = tbs.expect(Tag.sequence, 'subject');
  const publicKey = readSubjectPublicKeyInfo(reader, tbs.next('subjectPublicKeyInfo'));
  tbs.optional(contextTag(1, false));
  tbs.optional(contextTag(2, false));
  const extensionsWrapper = tbs.optional(contextTag(3, true));
  tbs.end('TBSCertificate');

  let subjectKeyIdentifier: Buffer | undefined;
  let sanUris: string[] = [];
  let isCa = false;
  if (extensionsWrapper) {
    for (const extension of readExtensions(reader, reader.wrapped(extensionsWrapper))) {
      if (extension.type === ExtensionOid.subjectKeyIdentifier) {
        subjectKeyIdentifier = reader.content(
          reader.expectTag(reader.wrapped(extension.value), Tag.octetString, 'SubjectKeyIdentifier'),
        );
      } else if (extension.type === ExtensionOid.subjectAltName) {
        sanUris = readUris(reader, reader.wrapped(extension.value));
      } else if (extension.type === ExtensionOid.basicConstraints) {
        const constraints = reader.children(reader.wrapped(extension.value));
        const ca = constraints.optional(Tag.boolean);
        isCa = ca ? reader.boolean(ca) : false;
      }
    }
  }
  return {
    der,
    serial,
    issuerName: reader.bytes(issuer),
    subjectName: reader.bytes(subject),
    issuerCommonName: readCommonName(reader, issuer),
    subjectCommonName: readCommonName(reader, subject),
    notBefore,
    notAfter,
    publicKey,
    subjectKeyIdentifier,
    sanUris,
    isCa,
  };
}

export interface CertificateSummary {
  /** Lower-case hex of the serial's minimal magnitude. */
  serialHex: string;
  subjectCommonName: string | undefined;
  issuerCommonName: string | undefined;
  notBefore: Date;
  notAfter: Date;
  sanUris: string[];
  /** Lower-case hex SHA-256 of the DER. */
  fingerprintSha256: string;
  /** SubjectPublicKeyInfo DER. */
  publicKey: Buffer;
}

export function describeCertificate(der: Buffer): CertificateSummary {
  const parsed = parseCertificate(der);
  return {
    serialHex: parsed.serial.toString('hex'),
    subjectCommonName: parsed.subjectCommonName,
    issuerCommonName: parsed.issuerCommonName,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    sanUris: parsed.sanUris,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    publicKey: Buffer.from(parsed.publicKey.der),
  };
}

/** RFC 7468 §2 textual encoding, 64-character lines. */
export function derToPem(der: Buffer, label: string): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function certificateToPem(der: Buffer): string {
  return derToPem(der, 'CERTIFICATE');
}

/** The DER of every PEM block with `label` in `pem`, in order. */
export function pemToDerAll(pem: string, label = 'CERTIFICATE'): Buffer[] {
  const blocks: Buffer[] = [];
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  for (const match of pem.matchAll(pattern)) {
    const body = (match[1] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0 || body.length === 0) {
      throw new VigilError('X509_PEM_MALFORMED', 'invalid', `bad base64 in a ${label} block`);
    }
    blocks.push(Buffer.from(body, 'base64'));
  }
  return blocks;
}

/** The DER of the first PEM block with `label` (RFC 7468). */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Buffer {
  const [first] = pemToDerAll(pem, label);
  if (!first) throw new VigilError('X509_PEM_MALFORMED', 'invalid', `no ${label} block`);
  return first;
}
