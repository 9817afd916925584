import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  algorithmIdName,
  digestSizeOf,
  hashAlgorithmOfId,
  maxDigestSize,
  requireHashAlgorithm,
} from './algorithms.ts';
import type { TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';
import { leftPad, uint16 } from './marshal.ts';

/** TPM_ALG_ID values of the object types and the null algorithm (TCG Algorithm Registry; Part 2 §6.3). */
const tpmAlgRsa = 0x0001;
const tpmAlgEcc = 0x0023;
const tpmAlgNull = 0x0010;

/**
 * TPMA_OBJECT bit positions (Part 2 §8.3). x509sign (19) arrived in Library 1.59, firmwareLimited (8)
 * and svnLimited (9) in 1.83; a TPM implementing an older revision leaves them clear.
 */
const objectAttributeBits = {
  fixedTPM: 1,
  stClear: 2,
  fixedParent: 4,
  sensitiveDataOrigin: 5,
  userWithAuth: 6,
  adminWithPolicy: 7,
  firmwareLimited: 8,
  svnLimited: 9,
  noDA: 10,
  encryptedDuplication: 11,
  restricted: 16,
  decrypt: 17,
  sign: 18,
  x509sign: 19,
} as const;

export type ObjectAttributeName = keyof typeof objectAttributeBits;

/** TPMA_OBJECT (Part 2 §8.3): the raw value and each defined attribute decoded. */
export type ObjectAttributes = { readonly value: number } & {
  readonly [name in ObjectAttributeName]: boolean;
};

/** Part 2 §8.3: every bit not named above is reserved, "shall be zero" (a TPM answers TPM_RC_RESERVED_BITS). */
const reservedAttributeMask =
  ~Object.values(objectAttributeBits).reduce((mask, bit) => mask | (1 << bit), 0) >>> 0;

export type SymmetricAlgorithmName = 'aes' | 'sm4' | 'camellia';
export type SymmetricModeName = 'ctr' | 'ofb' | 'cbc' | 'cfb' | 'ecb';
export type RsaSchemeName = 'rsassa' | 'rsaes' | 'rsapss' | 'oaep';
export type EccSchemeName = 'ecdsa' | 'ecdh' | 'ecdaa' | 'sm2' | 'ecschnorr' | 'ecmqv';
export type KdfSchemeName = 'mgf1' | 'kdf1-sp800-56a' | 'kdf2' | 'kdf1-sp800-108';
export type EccCurveName = 'P-256' | 'P-384' | 'P-521';

/** TPMI_ALG_SYM_OBJECT and TPMI_ALG_SYM_MODE values (Part 2 §9; TCG Algorithm Registry). */
const symmetricAlgorithms = new Map<number, SymmetricAlgorithmName>([
  [0x0006, 'aes'],
  [0x0013, 'sm4'],
  [0x0026, 'camellia'],
]);
const symmetricModes = new Map<number, SymmetricModeName>([
  [0x0040, 'ctr'],
  [0x0041, 'ofb'],
  [0x0042, 'cbc'],
  [0x0043, 'cfb'],
  [0x0044, 'ecb'],
] as const);

/** TPMI_ALG_RSA_SCHEME (Part 2 §11.2.4.1) and TPMI_ALG_ECC_SCHEME (§11.2.5.4) values. */
const rsaSchemes = new Map<number, RsaSchemeName>([
  [0x0014, 'rsassa'],
  [0x0015, 'rsaes'],
  [0x0016, 'rsapss'],
  [0x0017, 'oaep'],
]);
const eccSchemes = new Map<number, EccSchemeName>([
  [0x0018, 'ecdsa'],
  [0x0019, 'ecdh'],
  [0x001a, 'ecdaa'],
  [0x001b, 'sm2'],
  [0x001c, 'ecschnorr'],
  [0x001d, 'ecmqv'],
]);
/** TPMI_ALG_KDF values (Part 2 §9). */
const kdfSchemes = new Map<number, KdfSchemeName>([
  [0x0007, 'mgf1'],
  [0x0020, 'kdf1-sp800-56a'],
  [0x0021, 'kdf2'],
  [0x0022, 'kdf1-sp800-108'],
]);
const tpmAlgRsaes = 0x0015;
const tpmAlgEcdaa = 0x001a;

/** TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7) when its algorithm is not TPM_ALG_NULL. */
export interface SymmetricDefinition {
  readonly algorithm: SymmetricAlgorithmName;
  readonly algorithmId: number;
  readonly keyBits: number;
  readonly mode: SymmetricModeName;
  readonly modeId: number;
}

/** TPMT_RSA_SCHEME / TPMT_ECC_SCHEME (Part 2 §11.2.4.2, §11.2.5.6) when not TPM_ALG_NULL. */
export interface KeyScheme<Name extends string> {
  readonly scheme: Name;
  readonly schemeId: number;
  /** TPMS_SCHEME_HASH.hashAlg; undefined for RSAES, whose details are empty (TPMS_ENC_SCHEME_RSAES). */
  readonly hashAlgorithmId: number | undefined;
  /** undefined when the hash is one Vigil does not compute. */
  readonly hashAlgorithm: TpmHashAlgorithm | undefined;
  /** TPMS_SCHEME_ECDAA.count, only for ECDAA. */
  readonly count?: number;
}

/** TPMT_KDF_SCHEME (Part 2 §11.2.3.3) when not TPM_ALG_NULL. */
export interface KdfScheme {
  readonly scheme: KdfSchemeName;
  readonly schemeId: number;
  readonly hashAlgorithmId: number;
  readonly hashAlgorithm: TpmHashAlgorithm | undefined;
}

/** TPMS_RSA_PARMS (Part 2 §12.2.3.5). */
export interface RsaParameters {
  /** undefined when TPM_ALG_NULL (every key that is not a storage parent, e.g. an AK). */
  readonly symmetric: SymmetricDefinition | undefined;
  readonly scheme: KeyScheme<RsaSchemeName> | undefined;
  readonly keyBits: number;
  /** The public exponent; the structure's 0 stands for the default 2^16 + 1 and is given here as 65537. */
  readonly exponent: number;
}

/** TPMS_ECC_PARMS (Part 2 §12.2.3.6). */
export interface EccParameters {
  readonly symmetric: SymmetricDefinition | undefined;
  readonly scheme: KeyScheme<EccSchemeName> | undefined;
  readonly curveId: number;
  readonly curve: EccCurveName;
  readonly kdf: KdfScheme | undefined;
}

interface PublicAreaCommon {
  readonly nameAlg: TpmHashAlgorithm;
  readonly nameAlgId: number;
  readonly objectAttributes: ObjectAttributes;
  readonly authPolicy: Buffer;
  readonly publicKey: KeyObject;
  /** The marshalled TPMT_PUBLIC: what the Name hashes, and what a TPM2_Certify attests. */
  readonly publicAreaBytes: Buffer;
  /** The object's TPM Name (Part 1 §16): UINT16 nameAlg || H_nameAlg(TPMT_PUBLIC). */
  readonly name: Buffer;
}

/** A parsed TPMT_PUBLIC (Part 2 §12.2.4) of an RSA or ECC key. */
export type TpmPublicArea =
  | (PublicAreaCommon & {
      readonly type: 'rsa';
      readonly parameters: RsaParameters;
      /** TPM2B_PUBLIC_KEY_RSA (Part 2 §11.2.4.5): the modulus, big-endian. */
      readonly unique: { readonly modulus: Buffer };
    })
  | (PublicAreaCommon & {
      readonly type: 'ecc';
      readonly parameters: EccParameters;
      /** TPMS_ECC_POINT (Part 2 §11.2.5.2) exactly as marshalled (the ECC secret's KDFe hashes x as is). */
      readonly unique: { readonly x: Buffer; readonly y: Buffer };
    });

/** The NIST curves a TPM offers (TPM_ECC_CURVE, Part 2 §6.4) that node:crypto can use. */
export interface EccCurve {
  readonly id: number;
  readonly name: EccCurveName;
  /** The curve's name for node:crypto's createECDH. */
  readonly opensslName: string;
  /** Bytes of a field element (MAX_ECC_KEY_BYTES for this curve). */
  readonly byteLength: number;
}

const eccCurves: readonly EccCurve[] = [
  { id: 0x0003, name: 'P-256', opensslName: 'prime256v1', byteLength: 32 },
  { id: 0x0004, name: 'P-384', opensslName: 'secp384r1', byteLength: 48 },
  { id: 0x0005, name: 'P-521', opensslName: 'secp521r1', byteLength: 66 },
];

export function eccCurveNamed(name: EccCurveName): EccCurve {
  return eccCurves.find((curve) => curve.name === name)!;
}

/** RSA key sizes a TPM implements (TPMI_RSA_KEY_BITS, Part 2 §11.2.4.6). */
const rsaKeyBits = [1024, 2048, 3072, 4096];
/** MAX_RSA_KEY_BYTES for 4096-bit keys. */
const maxRsaModulusSize = 512;
/**
 * Upper bound of a marshalled TPMT_PUBLIC: type, nameAlg and attributes (8), authPolicy (2 + 64), RSA
 * parameters (16) and a 4096-bit modulus (2 + 512) make 604 bytes; the largest ECC key (P-521 with
 * ECDAA and a KDF) needs 228.
 */
export const maxPublicAreaSize = 604;
/** Part 2 §12.2.3.5: the default exponent that 0 stands for. */
const defaultRsaExponent = 65537;

/**
 * Parses a TPM2B_PUBLIC (Part 2 §12.2.5): UINT16 size then a TPMT_PUBLIC, the form `tpm2_createek -u`,
 * `tpm2_createak -u` and `tpm2_readpublic -o` write by default ("tss" format). The bytes come from the
 * device and are attacker-controlled: this only ever throws VigilError (ATTESTATION_TPM_PUBLIC_*, or
 * ATTESTATION_TPM_HASH_UNSUPPORTED for a nameAlg Vigil cannot compute). The result says what the
 * device claims; bind it to a TPM (an EK certificate, a credential activation) before trusting it.
 */
export function parsePublicArea(bytes: Uint8Array): TpmPublicArea {
  const reader = new ByteReader(bytes, {
    littleEndian: false,
    errorCode: 'ATTESTATION_TPM_PUBLIC_MALFORMED',
    what: 'TPM2B_PUBLIC',
  });
  const publicAreaBytes = reader.sized('publicArea', maxPublicAreaSize);
  reader.expectEnd();
  return parseTpmtPublic(publicAreaBytes);
}

/**
 * Parses a bare TPMT_PUBLIC (Part 2 §12.2.4), without the TPM2B size: e.g. `publicAreaBytes` kept from
 * an earlier parse. A separate function, not a guess inside parsePublicArea, so that the caller always
 * says which of the two encodings it holds. Attacker-controlled: throws only VigilError.
 */
export function parseTpmtPublic(bytes: Uint8Array): TpmPublicArea {
  if (bytes.length > maxPublicAreaSize) {
    throw tpmError(
      'ATTESTATION_TPM_PUBLIC_MALFORMED',
      `TPMT_PUBLIC is ${bytes.length} bytes, more than the ${maxPublicAreaSize} any RSA or ECC key needs`,
    );
  }
  const reader = new ByteReader(bytes, {
    littleEndian: false,
    errorCode: 'ATTESTATION_TPM_PUBLIC_MALFORMED',
    what: 'TPMT_PUBLIC',
  });
  const type = reader.uint16('type');
  if (type !== tpmAlgRsa && type !== tpmAlgEcc) {
    throw unsupported(`object type ${algorithmIdName(type)} is not an RSA or ECC key`, { type });
  }
  const nameAlgId = reader.uint16('nameAlg');
  const nameAlg = requireHashAlgorithm(nameAlgId, 'TPMT_PUBLIC nameAlg');
  const objectAttributes = decodeObjectAttributes(reader);
  const authPolicy = reader.sized('authPolicy', maxDigestSize);
  // Part 3 §12.1 (TPM2_Create): a policy is empty or exactly one nameAlg digest, else TPM_RC_SIZE.
  if (authPolicy.length !== 0 && authPolicy.length !== digestSizeOf(nameAlg)) {
    reader.fail(`authPolicy is ${authPolicy.length} bytes, neither empty nor a ${nameAlg} digest`);
  }
  const common = { nameAlg, nameAlgId, objectAttributes, authPolicy };
  const area = type === tpmAlgRsa ? readRsaKey(reader) : readEccKey(reader);
  reader.expectEnd();
  const publicAreaBytes = Buffer.from(bytes);
  const name = Buffer.concat([uint16(nameAlgId), createHash(nameAlg).update(publicAreaBytes).digest()]);
  return { ...common, ...area, publicAreaBytes, name };
}

function decodeObjectAttributes(reader: ByteReader): ObjectAttributes {
  const value = reader.uint32('objectAttributes');
  const reserved = (value & reservedAttributeMask) >>> 0;
  if (reserved !== 0) reader.fail(`objectAttributes sets reserved bits 0x${reserved.toString(16)}`);
  const decoded = Object.fromEntries(
    Object.entries(objectAttributeBits).map(([name, bit]) => [name, ((value >>> bit) & 1) === 1]),
  ) as Record<ObjectAttributeName, boolean>;
  return { value, ...decoded };
}

type RsaKey = Pick<Extract<TpmPublicArea, { type: 'rsa' }>, 'type' | 'parameters' | 'unique' | 'publicKey'>;
type EccKey = Pick<Extract<TpmPublicArea, { type: 'ecc' }>, 'type' | 'parameters' | 'unique' | 'publicKey'>;

/** TPMS_RSA_PARMS (Part 2 §12.2.3.5) then TPM2B_PUBLIC_KEY_RSA (§11.2.4.5). */
function readRsaKey(reader: ByteReader): RsaKey {
  const symmetric = readSymmetric(reader);
  const scheme = readScheme(reader, rsaSchemes, 'RSA');
  const keyBits = reader.uint16('keyBits');
  if (!rsaKeyBits.includes(keyBits))
    throw unsupported(`RSA keyBits ${keyBits} is not supported`, { keyBits });
  const rawExponent = reader.uint32('exponent');
  const exponent = rawExponent === 0 ? defaultRsaExponent : rawExponent;
  // Part 2 §12.2.3.5: the exponent is "an odd number greater than 2".
  if (exponent < 3 || exponent % 2 === 0) reader.fail(`exponent ${exponent} is not an odd number above 2`);
  const modulus = reader.sized('unique.rsa', maxRsaModulusSize);
  if (modulus.length !== keyBits / 8 || ((modulus[0] ?? 0) & 0x80) === 0) {
    reader.fail(`the modulus is not a ${keyBits}-bit number (${modulus.length} bytes)`);
  }
  const publicKey = importKey(reader, {
    kty: 'RSA',
    n: modulus.toString('base64url'),
    e: unsignedBigEndian(exponent).toString('base64url'),
  });
  return {
    type: 'rsa',
    parameters: { symmetric, scheme, keyBits, exponent },
    unique: { modulus },
    publicKey,
  };
}

/** TPMS_ECC_PARMS (Part 2 §12.2.3.6) then TPMS_ECC_POINT (§11.2.5.2). */
function readEccKey(reader: ByteReader): EccKey {
  const symmetric = readSymmetric(reader);
  const scheme = readScheme(reader, eccSchemes, 'ECC');
  const curveId = reader.uint16('curveID');
  const curve = eccCurves.find((candidate) => candidate.id === curveId);
  if (curve === undefined) {
    throw unsupported(`ECC curve 0x${curveId.toString(16).padStart(4, '0')} is not supported`, { curveId });
  }
  const kdf = readKdf(reader);
  const x = reader.sized('unique.ecc.x', curve.byteLength);
  const y = reader.sized('unique.ecc.y', curve.byteLength);
  if (x.length === 0 || y.length === 0) reader.fail('the ECC point is empty (a template, not a key)');
  // JWK wants full-length coordinates (RFC 7518 §6.2.1.2); a TPM2B may drop leading zeros.
  const publicKey = importKey(reader, {
    kty: 'EC',
    crv: curve.name,
    x: leftPad(x, curve.byteLength).toString('base64url'),
    y: leftPad(y, curve.byteLength).toString('base64url'),
  });
  return {
    type: 'ecc',
    parameters: { symmetric, scheme, curveId, curve: curve.name, kdf },
    unique: { x, y },
    publicKey,
  };
}

/** TPMT_SYM_DEF_OBJECT (Part 2 §11.1.7): algorithm, then keyBits and mode unless TPM_ALG_NULL. */
function readSymmetric(reader: ByteReader): SymmetricDefinition | undefined {
  const algorithmId = reader.uint16('symmetric.algorithm');
  if (algorithmId === tpmAlgNull) return undefined;
  const algorithm = symmetricAlgorithms.get(algorithmId);
  if (algorithm === undefined) {
    throw unsupported(`symmetric algorithm ${algorithmIdName(algorithmId)} is not supported`, {
      algorithmId,
    });
  }
  const keyBits = reader.uint16('symmetric.keyBits');
  const modeId = reader.uint16('symmetric.mode');
  const mode = symmetricModes.get(modeId);
  if (mode === undefined) {
    throw unsupported(`symmetric mode ${algorithmIdName(modeId)} is not supported`, { modeId });
  }
  return { algorithm, algorithmId, keyBits, mode, modeId };
}

/** TPMT_RSA_SCHEME / TPMT_ECC_SCHEME: scheme, then its details (TPMU_ASYM_SCHEME, Part 2 §11.2.3.5). */
function readScheme<Name extends string>(
  reader: ByteReader,
  schemes: ReadonlyMap<number, Name>,
  keyType: string,
): KeyScheme<Name> | undefined {
  const schemeId = reader.uint16('scheme.scheme');
  if (schemeId === tpmAlgNull) return undefined;
  const scheme = schemes.get(schemeId);
  if (scheme === undefined) {
    throw unsupported(`${algorithmIdName(schemeId)} is not an ${keyType} key scheme`, { schemeId });
  }
  if (schemeId === tpmAlgRsaes) {
    return { scheme, schemeId, hashAlgorithmId: undefined, hashAlgorithm: undefined };
  }
  const hashAlgorithmId = reader.uint16('scheme.hashAlg');
  const hashAlgorithm = hashAlgorithmOfId(hashAlgorithmId);
  if (schemeId === tpmAlgEcdaa) {
    return { scheme, schemeId, hashAlgorithmId, hashAlgorithm, count: reader.uint16('scheme.count') };
  }
  return { scheme, schemeId, hashAlgorithmId, hashAlgorithm };
}

/** TPMT_KDF_SCHEME (Part 2 §11.2.3.3): scheme, then TPMS_SCHEME_HASH unless TPM_ALG_NULL. */
function readKdf(reader: ByteReader): KdfScheme | undefined {
  const schemeId = reader.uint16('kdf.scheme');
  if (schemeId === tpmAlgNull) return undefined;
  const scheme = kdfSchemes.get(schemeId);
  if (scheme === undefined) throw unsupported(`${algorithmIdName(schemeId)} is not a KDF`, { schemeId });
  const hashAlgorithmId = reader.uint16('kdf.hashAlg');
  return { scheme, schemeId, hashAlgorithmId, hashAlgorithm: hashAlgorithmOfId(hashAlgorithmId) };
}

function importKey(reader: ByteReader, jwk: JsonWebKey): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (cause) {
    // OpenSSL refuses a point off the curve or a malformed modulus; the bytes were not a key.
    return reader.fail(`the public key does not import: ${(cause as Error).message}`);
  }
}

function unsupported(message: string, facts: Record<string, unknown>) {
  return tpmError('ATTESTATION_TPM_PUBLIC_UNSUPPORTED', `TPMT_PUBLIC: ${message}`, facts);
}

/**
 * Throws ATTESTATION_TPM_AK_ATTRIBUTES, naming every fault, unless the key can serve as an attestation
 * key (Part 2 §8.3 TPMA_OBJECT): restricted + sign (it signs only structures the TPM produced itself,
 * such as a quote, never an outside digest that merely looks like one), fixedTPM + fixedParent (it can
 * never be duplicated off this TPM), sensitiveDataOrigin (the TPM generated its private part), and not
 * decrypt. These are the AK templates' attributes in TCG "TPM 2.0 Keys for Device Identity and
 * Attestation" and `tpm2_createak`'s. They are only the device's claim until a credential activation
 * proves this public area lives in the TPM that holds the endorsement key.
 */
export function checkAttestationKeyAttributes(publicArea: TpmPublicArea): void {
  const attributes = publicArea.objectAttributes;
  const required = ['restricted', 'sign', 'fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const;
  const problems = required.filter((name) => !attributes[name]).map((name) => `${name} is not set`);
  if (attributes.decrypt) problems.push('decrypt is set');
  if (problems.length > 0) {
    throw tpmError('ATTESTATION_TPM_AK_ATTRIBUTES', `not an attestation key: ${problems.join(', ')}`, {
      problems,
      objectAttributes: attributes.value,
    });
  }
}

function unsignedBigEndian(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  let start = 0;
  while (start < 3 && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}
