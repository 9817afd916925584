/**
 * PKCS#10 certification requests (RFC 2986). Attacker-controlled input: a CSR arrives from a device
 * over EST, so parsing is bounded (size, element count) and can only throw `VigilError` with
 * `X509_CSR_MALFORMED` or `X509_CSR_UNSUPPORTED_ALGORITHM`.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { VigilError } from '../../core/index.ts';
import { Oid, readSubjectPublicKeyInfo, type SubjectPublicKeyInfo } from './algorithms.ts';
import { readExtensions, readUris } from './certificate.ts';
import { DerReader, Tag, contextTag } from './der.ts';
import { ExtensionOid } from './extensions.ts';
import { readCommonName } from './names.ts';

/** Far above any real device CSR (an RSA-4096 CSR with SANs is about 1.7 KiB). */
export const maxCsrSize = 16 * 1024;
const maxCsrElements = 2_000;

export interface ParsedCsr {
  subject: { commonName?: string; raw: Buffer };
  /** SubjectPublicKeyInfo DER, byte-exact from the request. */
  publicKey: Buffer;
  key: { type: 'ec' | 'rsa' | 'other'; curve?: string; bits?: number };
  /** The request's signature verifies over the exact certificationRequestInfo bytes (RFC 2986 §3). */
  signatureValid: boolean;
  /** subjectAltName URIs from the extensionRequest attribute (RFC 2985 §5.4.2). */
  sanUris: string[];
  /** The signature algorithm's hash, or null for Ed25519. */
  signatureHash: 'sha256' | 'sha384' | 'sha512' | null;
}

interface SignatureAlgorithm {
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  keyType: 'ec' | 'rsa' | 'ed25519';
}

const signatureAlgorithms: Record<string, SignatureAlgorithm> = {
  [Oid.ecdsaWithSha256]: { hash: 'sha256', keyType: 'ec' },
  [Oid.ecdsaWithSha384]: { hash: 'sha384', keyType: 'ec' },
  [Oid.ecdsaWithSha512]: { hash: 'sha512', keyType: 'ec' },
  [Oid.sha256WithRsa]: { hash: 'sha256', keyType: 'rsa' },
  [Oid.sha384WithRsa]: { hash: 'sha384', keyType: 'rsa' },
  [Oid.sha512WithRsa]: { hash: 'sha512', keyType: 'rsa' },
  [Oid.ed25519]: { hash: null, keyType: 'ed25519' },
};

const code = 'X509_CSR_MALFORMED';

export function parseCsr(der: Buffer): ParsedCsr {
  if (!Buffer.isBuffer(der)) throw new VigilError(code, 'invalid', 'CSR must be a Buffer');
  if (der.length > maxCsrSize) throw new VigilError(code, 'invalid', `CSR larger than ${maxCsrSize} bytes`);
  const reader = new DerReader(der, code, { maxElements: maxCsrElements });

  // RFC 2986 §4.2: CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
  const request = reader.children(reader.expectTag(reader.root(), Tag.sequence, 'CertificationRequest'));
  const infoElement = request.expect(Tag.sequence, 'certificationRequestInfo');
  const algorithm = reader.children(request.expect(Tag.sequence, 'signatureAlgorithm'));
  const signature = reader.octetAlignedBitString(request.next('signature'));
  request.end('CertificationRequest');

  const algorithmOid = reader.oid(algorithm.next('signature algorithm OID'));
  const signatureAlgorithm = signatureAlgorithms[algorithmOid];
  if (!signatureAlgorithm) {
    throw new VigilError(
      'X509_CSR_UNSUPPORTED_ALGORITHM',
      'invalid',
      `unsupported CSR signature algorithm ${algorithmOid}`,
      {
        facts: { algorithm: algorithmOid },
      },
    );
  }
  // RFC 4055 §5 (RSA: NULL or absent), RFC 5758 §3.2 and RFC 8410 §3 (ECDSA, Ed25519: absent).
  const parameters = algorithm.optional(Tag.null);
  if (parameters && (signatureAlgorithm.keyType !== 'rsa' || parameters.end !== parameters.contentStart)) {
    reader.fail('unexpected signature algorithm parameters');
  }
  algorithm.end('signatureAlgorithm');

  // RFC 2986 §4.1: CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, attributes [0] }
  const info = reader.children(infoElement);
  if (reader.smallInteger(info.next('version')) !== 0) reader.fail('CSR version must be 0 (v1)');
  const subject = info.expect(Tag.sequence, 'subject');
  const commonName = readCommonName(reader, subject);
  const spki = readSubjectPublicKeyInfo(reader, info.next('subjectPKInfo'));
  const attributes = info.expect(contextTag(0, true), 'attributes');
  info.end('CertificationRequestInfo');

  let sanUris: string[] = [];
  let sawExtensionRequest = false;
  for (const list = reader.children(attributes); !list.done;) {
    const attribute = reader.children(list.expect(Tag.sequence, 'Attribute'));
    const type = reader.oid(attribute.next('attribute type'));
    const values = reader.children(attribute.expect(Tag.set, 'attribute values'));
    attribute.end('Attribute');
    if (type !== ExtensionOid.extensionRequest) continue;
    // RFC 2985 §5.4.2: extensionRequest is single-valued.
    if (sawExtensionRequest) reader.fail('more than one extensionRequest attribute');
    sawExtensionRequest = true;
    const extensions = values.next('extensionRequest value');
    values.end('extensionRequest values');
    for (const extension of readExtensions(reader, extensions)) {
      if (extension.type === ExtensionOid.subjectAltName)
        sanUris = readUris(reader, reader.wrapped(extension.value));
    }
  }

  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(publicKeyInput(spki));
  } catch {
    return reader.fail('the CSR public key cannot be decoded');
  }
  const keyFits =
    signatureAlgorithm.keyType === (publicKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : spki.key.type);
  let signatureValid = false;
  if (keyFits) {
    try {
      signatureValid = cryptoVerify(signatureAlgorithm.hash, reader.bytes(infoElement), publicKey, signature);
    } catch {
      signatureValid = false;
    }
  }

  const key: ParsedCsr['key'] = { type: spki.key.type };
  if (spki.key.curve !== undefined) key.curve = spki.key.curve;
  if (spki.key.bits !== undefined) key.bits = spki.key.bits;
  const parsed: ParsedCsr = {
    subject: { raw: Buffer.from(reader.bytes(subject)) },
    publicKey: Buffer.from(spki.der),
    key,
    signatureValid,
    sanUris,
    signatureHash: signatureAlgorithm.hash,
  };
  if (commonName !== undefined) parsed.subject.commonName = commonName;
  return parsed;
}

const coordinateSizes: Record<string, number> = { 'P-256': 32, 'P-384': 48 };

/**
 * How to hand the CSR key to OpenSSL. An uncompressed P-256/P-384 point goes in as a JWK, which
 * OpenSSL imports markedly faster than the same key as SPKI DER (enrollment's hot path); anything
 * else goes in as the SPKI DER. OpenSSL validates the point either way.
 */
function publicKeyInput(spki: SubjectPublicKeyInfo): Parameters<typeof createPublicKey>[0] {
  const size = spki.key.curve === undefined ? undefined : coordinateSizes[spki.key.curve];
  if (
    spki.key.type === 'ec' &&
    size !== undefined &&
    spki.keyBytes.length === 1 + 2 * size &&
    spki.keyBytes[0] === 0x04
  ) {
    return {
      key: {
        kty: 'EC',
        crv: spki.key.curve,
        x: spki.keyBytes.subarray(1, 1 + size).toString('base64url'),
        y: spki.keyBytes.subarray(1 + size).toString('base64url'),
      },
      format: 'jwk',
    };
  }
  return { key: spki.der, format: 'der', type: 'spki' };
}
