/**
 * Signature and public-key algorithms: the signer abstraction (keys may live in an HSM), the
 * AlgorithmIdentifier each signer writes, and the description of a SubjectPublicKeyInfo.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { VigilError } from '../../core/index.ts';
import type { KeyAlgorithm, SignatureHash } from '../keystore/index.ts';
import { DerReader, Tag, derNull, oid, sequence, type DerElement } from './der.ts';

/**
 * Signs for a certificate, CRL or OCSP response. `sign` hashes `data` itself (SHA-256 for P-256 and
 * RSA-3072, SHA-384 for P-384) and returns a DER ECDSA-Sig-Value or a PKCS#1 v1.5 signature.
 */
export interface X509Signer {
  algorithm: KeyAlgorithm;
  sign(data: Buffer): Promise<Buffer> | Buffer;
}

export const Oid = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** Public OID names for callers (e.g. EST /csrattrs, RFC 7030 §4.5.2). */
export const oids = {
  ecPublicKey: Oid.ecPublicKey,
  rsaEncryption: Oid.rsaEncryption,
  secp256r1: Oid.p256,
  secp384r1: Oid.p384,
  ecdsaWithSha256: Oid.ecdsaWithSha256,
  ecdsaWithSha384: Oid.ecdsaWithSha384,
  sha256WithRSAEncryption: Oid.sha256WithRsa,
  extensionRequest: '1.2.840.113549.1.9.14',
  challengePassword: '1.2.840.113549.1.9.7',
  subjectAltName: '2.5.29.17',
} as const;

/** The hash each key algorithm signs with in X.509 (RFC 5758 §3.2, RFC 4055 §5). */
export function signatureHashOf(algorithm: KeyAlgorithm): SignatureHash {
  return algorithm === 'ecdsa-p384' ? 'sha384' : 'sha256';
}

const signatureAlgorithms: Record<KeyAlgorithm, Buffer> = {
  // RFC 5758 §3.2: ECDSA AlgorithmIdentifiers omit parameters.
  'ecdsa-p256': sequence(oid(Oid.ecdsaWithSha256)),
  'ecdsa-p384': sequence(oid(Oid.ecdsaWithSha384)),
  // RFC 4055 §5: sha256WithRSAEncryption carries NULL parameters.
  'rsa-3072': sequence(oid(Oid.sha256WithRsa), derNull),
};

/** The DER AlgorithmIdentifier a signer's signatures carry. */
export function signatureAlgorithmOf(algorithm: KeyAlgorithm): Buffer {
  const identifier = signatureAlgorithms[algorithm];
  if (!identifier)
    throw new VigilError('X509_SIGNER_UNSUPPORTED', 'invalid', `unsupported signer algorithm ${algorithm}`);
  return identifier;
}

/** An `X509Signer` over a node:crypto private key (software keys and tests). */
export function x509SignerFromKeyObject(privateKey: KeyObject): X509Signer {
  const details = privateKey.asymmetricKeyDetails ?? {};
  let algorithm: KeyAlgorithm;
  if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') algorithm = 'ecdsa-p256';
  else if (privateKey.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1')
    algorithm = 'ecdsa-p384';
  else if (privateKey.asymmetricKeyType === 'rsa' && details.modulusLength === 3072) algorithm = 'rsa-3072';
  else throw new VigilError('X509_SIGNER_UNSUPPORTED', 'invalid', 'key must be P-256, P-384 or RSA-3072');
  const hash = signatureHashOf(algorithm);
  return { algorithm, sign: (data) => cryptoSign(hash, data, privateKey) };
}

export interface PublicKeyDescription {
  type: 'ec' | 'rsa' | 'other';
  /** 'P-256', 'P-384', 'P-521', or the curve OID. */
  curve?: string;
  /** RSA modulus length. */
  bits?: number;
  /** The algorithm OID of the key. */
  algorithmOid: string;
}

export interface SubjectPublicKeyInfo {
  /** The whole SPKI TLV. */
  der: Buffer;
  /** The subjectPublicKey BIT STRING contents (without the unused-bits octet). */
  keyBytes: Buffer;
  key: PublicKeyDescription;
}

const curveNames: Record<string, string> = { [Oid.p256]: 'P-256', [Oid.p384]: 'P-384', [Oid.p521]: 'P-521' };

/** Reads a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) element. */
export function readSubjectPublicKeyInfo(reader: DerReader, element: DerElement): SubjectPublicKeyInfo {
  reader.expectTag(element, Tag.sequence, 'SubjectPublicKeyInfo');
  const fields = reader.children(element);
  const algorithm = reader.children(fields.expect(Tag.sequence, 'SPKI algorithm'));
  const algorithmOid = reader.oid(algorithm.next('SPKI algorithm OID'));
  let key: PublicKeyDescription;
  if (algorithmOid === Oid.ecPublicKey) {
    // RFC 5480 §2.1.1: namedCurve only.
    const curveOid = reader.oid(algorithm.next('EC named curve'));
    key = { type: 'ec', curve: curveNames[curveOid] ?? curveOid, algorithmOid };
  } else if (algorithmOid === Oid.rsaEncryption) {
    key = { type: 'rsa', algorithmOid };
    if (!algorithm.done) reader.expectTag(algorithm.next('RSA parameters'), Tag.null, 'RSA parameters');
  } else {
    key = { type: 'other', algorithmOid };
    if (!algorithm.done) algorithm.next('algorithm parameters');
  }
  algorithm.end('SPKI algorithm');
  const keyBytes = reader.octetAlignedBitString(fields.next('subjectPublicKey'));
  fields.end('SubjectPublicKeyInfo');
  if (key.type === 'rsa') {
    // RFC 8017 §A.1.1: RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
    const rsa = new DerReader(keyBytes, reader.code, { maxElements: 8 });
    const rsaKey = rsa.children(rsa.expectTag(rsa.root(), Tag.sequence, 'RSAPublicKey'));
    const modulus = rsa.positiveInteger(rsaKey.next('modulus'), 'RSA modulus');
    rsa.positiveInteger(rsaKey.next('publicExponent'), 'RSA exponent');
    rsaKey.end('RSAPublicKey');
    key.bits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0] as number));
  }
  return { der: reader.bytes(element), keyBytes, key };
}

/** Parses standalone SPKI DER (a public key handed to an issuing function). */
export function parseSubjectPublicKeyInfo(
  der: Buffer,
  code = 'X509_PUBLIC_KEY_MALFORMED',
): SubjectPublicKeyInfo {
  if (!Buffer.isBuffer(der)) throw new VigilError(code, 'invalid', 'public key must be a Buffer');
  const reader = new DerReader(der, code, { maxElements: 64 });
  return readSubjectPublicKeyInfo(reader, reader.root());
}

/** Does a signer's algorithm fit this public key? (guards against signing with the wrong CA key) */
export function signerMatchesKey(algorithm: KeyAlgorithm, key: PublicKeyDescription): boolean {
  switch (algorithm) {
    case 'ecdsa-p256':
      return key.type === 'ec' && key.curve === 'P-256';
    case 'ecdsa-p384':
      return key.type === 'ec' && key.curve === 'P-384';
    case 'rsa-3072':
      return key.type === 'rsa' && key.bits === 3072;
  }
}

/** Signs and checks the signer returned something that can be a signature. */
export async function signWith(signer: X509Signer, data: Buffer): Promise<Buffer> {
  const signature = await signer.sign(data);
  if (!Buffer.isBuffer(signature) || signature.length === 0) {
    throw new VigilError('X509_SIGNER_FAILED', 'internal', 'signer returned no signature');
  }
  return signature;
}
