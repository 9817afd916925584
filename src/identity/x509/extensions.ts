/**
 * Encoders for the RFC 5280 §4.2 certificate extensions Vigil writes. Each returns one complete
 * Extension TLV so templates can keep them as constant bytes.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { VigilError } from '../../core/index.ts';
import {
  Tag,
  contextTag,
  derBoolean,
  derNull,
  ia5String,
  octetString,
  oid,
  sequence,
  smallInteger,
  tlv,
} from './der.ts';

export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  cRLDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

export const ExtendedKeyUsage = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

const idAdOcsp = '1.3.6.1.5.5.7.48.1';

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function extension(type: string, critical: boolean, value: Buffer): Buffer {
  // X.690 §11.5: a DEFAULT value is omitted in DER, so only critical=TRUE is written.
  return critical
    ? sequence(oid(type), derBoolean(true), octetString(value))
    : sequence(oid(type), octetString(value));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(subjectPublicKey: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

export function subjectKeyIdentifier(keyId: Buffer): Buffer {
  return extension(ExtensionOid.subjectKeyIdentifier, false, octetString(keyId));
}

/** RFC 5280 §4.2.1.1: keyIdentifier [0] only. */
export function authorityKeyIdentifier(keyId: Buffer): Buffer {
  return extension(ExtensionOid.authorityKeyIdentifier, false, sequence(tlv(contextTag(0, false), keyId)));
}

/** RFC 5280 §4.2.1.9, always critical. */
export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  if (!ca) return extension(ExtensionOid.basicConstraints, true, sequence());
  const parts = [derBoolean(true)];
  if (pathLength !== undefined) {
    if (!Number.isInteger(pathLength) || pathLength < 0 || pathLength > 16) {
      throw new VigilError('X509_PROFILE_INVALID', 'invalid', 'pathLength must be an integer from 0 to 16');
    }
    parts.push(smallInteger(pathLength));
  }
  return extension(ExtensionOid.basicConstraints, true, sequence(...parts));
}

export const KeyUsageBit = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/** RFC 5280 §4.2.1.3, critical; a named BIT STRING without trailing zero bits (X.690 §11.2.2). */
export function keyUsage(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) octets[bit >> 3] = (octets[bit >> 3] as number) | (0x80 >> (bit & 7));
  const unused = 7 - (highest & 7);
  return extension(ExtensionOid.keyUsage, true, tlv(Tag.bitString, Buffer.from([unused]), octets));
}

export function extendedKeyUsage(purposes: string[]): Buffer {
  return extension(ExtensionOid.extKeyUsage, false, sequence(...purposes.map((purpose) => oid(purpose))));
}

/** RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck, value NULL. */
export function ocspNoCheck(): Buffer {
  return extension(ExtensionOid.ocspNoCheck, false, derNull);
}

/** An absolute URI as IA5String (RFC 5280 §4.2.1.6: scheme required, no relative references). */
export function checkUri(uri: string, what: string): void {
  if (typeof uri !== 'string' || uri.length > 2048 || !/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/.test(uri)) {
    throw new VigilError('X509_URI_INVALID', 'invalid', `${what} must be an absolute ASCII URI`);
  }
}

const uriTag = contextTag(6, false);

/** RFC 5280 §4.2.1.13: one DistributionPoint with a fullName URI. */
export function crlDistributionPoints(url: string): Buffer {
  checkUri(url, 'CRL URL');
  const fullName = tlv(contextTag(0, true), ia5String(url, uriTag));
  return extension(
    ExtensionOid.cRLDistributionPoints,
    false,
    sequence(sequence(tlv(contextTag(0, true), fullName))),
  );
}

/** RFC 5280 §4.2.2.1: id-ad-ocsp access location. */
export function authorityInfoAccessOcsp(url: string): Buffer {
  checkUri(url, 'OCSP URL');
  return extension(
    ExtensionOid.authorityInfoAccess,
    false,
    sequence(sequence(oid(idAdOcsp), ia5String(url, uriTag))),
  );
}

export interface AlternativeNames {
  uris?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
}

/** RFC 5280 §4.2.1.6. Non-critical: every subject Vigil issues has a commonName. */
export function subjectAltName(names: AlternativeNames): Buffer {
  const generalNames: Buffer[] = [];
  for (const dnsName of names.dnsNames ?? []) {
    if (
      typeof dnsName !== 'string' ||
      dnsName.length > 253 ||
      !/^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(
        dnsName,
      )
    ) {
      throw new VigilError('X509_SAN_INVALID', 'invalid', `not a DNS name: ${String(dnsName)}`);
    }
    generalNames.push(ia5String(dnsName, contextTag(2, false)));
  }
  for (const uri of names.uris ?? []) {
    checkUri(uri, 'SAN URI');
    generalNames.push(ia5String(uri, uriTag));
  }
  for (const address of names.ipAddresses ?? []) {
    generalNames.push(tlv(contextTag(7, false), ipAddressOctets(address)));
  }
  if (generalNames.length === 0)
    throw new VigilError('X509_SAN_INVALID', 'invalid', 'subjectAltName needs a name');
  return extension(ExtensionOid.subjectAltName, false, sequence(...generalNames));
}

/** RFC 5280 §4.2.1.6: iPAddress is 4 octets (IPv4) or 16 octets (IPv6) in network order. */
export function ipAddressOctets(address: string): Buffer {
  const version = typeof address === 'string' ? isIP(address) : 0;
  if (version === 4) return Buffer.from(address.split('.').map(Number));
  if (version !== 6)
    throw new VigilError('X509_SAN_INVALID', 'invalid', `not an IP address: ${String(address)}`);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  if (v4 === undefined) return groupsToOctets(expandIpv6(address));
  // An IPv4-suffixed form (::ffff:192.0.2.1): expand with two placeholder groups, then fill them.
  const groups = expandIpv6(`${address.slice(0, -v4.length)}0:0`);
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  groups[6] = a * 256 + b;
  groups[7] = c * 256 + d;
  return groupsToOctets(groups);
}

function expandIpv6(text: string): number[] {
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  return [...headGroups, ...Array<string>(fill).fill('0'), ...restGroups].map((group) => parseInt(group, 16));
}

function groupsToOctets(groups: number[]): Buffer {
  const out = Buffer.alloc(16);
  groups.forEach((group, index) => out.writeUInt16BE(group, index * 2));
  return out;
}
