import {
  constants,
  createCipheriv,
  createECDH,
  createHash,
  createHmac,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { digestSizeOf, hashAlgorithmOfId, maxDigestSize, type TpmHashAlgorithm } from './algorithms.ts';
import { ByteReader } from './byte-reader.ts';
import { tpmError } from './errors.ts';
import { leftPad, sized, uint32 } from './marshal.ts';
import { eccCurveNamed, type TpmPublicArea } from './public-area.ts';

/** What TPM2_MakeCredential returns (Part 3 §12.6), marshalled, ready for TPM2_ActivateCredential. */
export interface MadeCredential {
  /** TPM2B_ID_OBJECT (Part 2 §12.4.3): TPM2B_DIGEST integrityHMAC, then encIdentity. */
  readonly credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET: the seed, RSA-OAEP-encrypted, or the ephemeral ECDH point it derives from. */
  readonly encryptedSecret: Buffer;
}

/** A source of random bytes; node:crypto's randomBytes unless a test pins it. */
export type RandomBytes = (size: number) => Buffer;

/** Part 1 §24: the labels of credential protection, null-terminated as Part 1 §11.4.10 hashes them. */
const identityLabel = 'IDENTITY';
const storageLabel = 'STORAGE';
const integrityLabel = 'INTEGRITY';

/** AES key sizes Node offers in CFB mode; a parent's mode "shall be TPM_ALG_CFB" (Part 2 §11.1.7). */
const aesKeyBits = [128, 192, 256];
/** The block size of AES, and so of the all-zero IV credential protection uses (Part 1 §24.4). */
const aesBlockSize = 16;

/**
 * The group orders n of the NIST curves (SP 800-186 §3.2.1), for drawing the ephemeral ECDH key from
 * `random` so that tests can pin it.
 */
const curveOrders: Readonly<Record<string, bigint>> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384':
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  'P-521':
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/**
 * TPM2_MakeCredential in software (Part 3 §12.6; Part 1 §24 "Credential Protection"): encrypts
 * `credential` so that only the TPM holding the private part of `ekPublic` can recover it, and only
 * with TPM2_ActivateCredential naming a loaded object whose Name is `objectName` (Part 3 §12.5).
 * A verifier sends the result to the device and checks the secret it gets back: that proves the
 * object named (the AK) and the EK are in one TPM.
 *
 * 1. a seed: RSA EK — nameAlg-digest-sized random bytes, RSA-OAEP-encrypted to the EK with label
 *    "IDENTITY" (Part 1 Annex B.10.4); ECC EK — ECDH between an ephemeral key and the EK, then
 *    KDFe(nameAlg, Z, "IDENTITY", ephemeral x, EK x) (Part 1 Annex C.6.4);
 * 2. symKey = KDFa(nameAlg, seed, "STORAGE", objectName, empty, EK symmetric keyBits) (Part 1 §24.4);
 * 3. encIdentity = AES-CFB(symKey, IV 0, TPM2B_DIGEST credential);
 * 4. HMACkey = KDFa(nameAlg, seed, "INTEGRITY", empty, empty, digest bits), outerHMAC =
 *    HMAC(HMACkey, encIdentity || objectName) (Part 1 §24.5).
 *
 * `random` pins the seed and the ephemeral ECC key for tests; RSA-OAEP padding draws its own.
 *
 * Throws ATTESTATION_TPM_EK_UNSUITABLE when the EK cannot protect a credential (not a restricted
 * decryption key with AES-CFB as its symmetric algorithm) and ATTESTATION_TPM_CREDENTIAL_INVALID for
 * an objectName that is not a Name or a credential the TPM would refuse.
 */
export function makeCredential(
  ekPublic: TpmPublicArea,
  objectName: Uint8Array,
  credential: Uint8Array,
  random: RandomBytes = randomBytes,
): MadeCredential {
  const symmetricKeyBits = protectionKeyBits(ekPublic);
  const name = checkObjectName(objectName);
  const hash = ekPublic.nameAlg;
  const digestSize = digestSizeOf(hash);
  // Part 3 §12.6: TPM_RC_SIZE when the credential is larger than a digest of the EK's nameAlg.
  if (credential.length === 0 || credential.length > digestSize) {
    throw tpmError(
      'ATTESTATION_TPM_CREDENTIAL_INVALID',
      `the credential is ${credential.length} bytes; it must be 1 to ${digestSize} (a ${hash} digest)`,
    );
  }
  const { seed, encryptedSecret } =
    ekPublic.type === 'rsa' ? rsaSeed(ekPublic, random) : eccSeed(ekPublic, random);

  const symmetricKey = kdfa(hash, seed, storageLabel, name, Buffer.alloc(0), symmetricKeyBits);
  const cipher = createCipheriv(`aes-${symmetricKeyBits}-cfb`, symmetricKey, Buffer.alloc(aesBlockSize));
  const encIdentity = Buffer.concat([cipher.update(sized(Buffer.from(credential))), cipher.final()]);
  const hmacKey = kdfa(hash, seed, integrityLabel, Buffer.alloc(0), Buffer.alloc(0), digestSize * 8);
  const integrityHmac = createHmac(hash, hmacKey).update(encIdentity).update(name).digest();

  return {
    credentialBlob: sized(Buffer.concat([sized(integrityHmac), encIdentity])),
    encryptedSecret: sized(encryptedSecret),
  };
}

/**
 * Part 3 §12.6: the protector must be an asymmetric restricted decryption key (TPM_RC_TYPE
 * otherwise), since only those carry the symmetric definition the credential is encrypted with.
 */
function protectionKeyBits(ekPublic: TpmPublicArea): number {
  const { restricted, decrypt } = ekPublic.objectAttributes;
  if (!restricted || !decrypt) {
    throw tpmError(
      'ATTESTATION_TPM_EK_UNSUITABLE',
      'the endorsement key is not a restricted decryption key, so it cannot protect a credential',
      { objectAttributes: ekPublic.objectAttributes.value },
    );
  }
  const symmetric = ekPublic.parameters.symmetric;
  if (symmetric?.algorithm !== 'aes' || symmetric.mode !== 'cfb' || !aesKeyBits.includes(symmetric.keyBits)) {
    const described =
      symmetric === undefined ? 'none' : `${symmetric.algorithm}-${symmetric.keyBits}-${symmetric.mode}`;
    throw unsuitable(
      `the endorsement key's symmetric algorithm is ${described}, not AES-128/192/256 in CFB mode`,
    );
  }
  return symmetric.keyBits;
}

/** A TPM2B_NAME of an object (Part 1 §16): UINT16 nameAlg || a digest of that algorithm's size. */
function checkObjectName(objectName: Uint8Array): Buffer {
  const name = Buffer.from(objectName);
  const algorithm = name.length >= 2 ? hashAlgorithmOfId(name.readUInt16BE(0)) : undefined;
  if (algorithm === undefined || name.length !== 2 + digestSizeOf(algorithm)) {
    throw tpmError(
      'ATTESTATION_TPM_CREDENTIAL_INVALID',
      `the object name (${name.length} bytes) is not a nameAlg followed by a digest of that algorithm`,
    );
  }
  return name;
}

/** Part 1 Annex B.10.4: RSA-OAEP with the EK's nameAlg and the label "IDENTITY" (with its null). */
function rsaSeed(
  ekPublic: Extract<TpmPublicArea, { type: 'rsa' }>,
  random: RandomBytes,
): { seed: Buffer; encryptedSecret: Buffer } {
  const seed = random(digestSizeOf(ekPublic.nameAlg));
  try {
    const encryptedSecret = publicEncrypt(
      {
        key: ekPublic.publicKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: ekPublic.nameAlg,
        oaepLabel: nullTerminated(identityLabel),
      },
      seed,
    );
    return { seed, encryptedSecret };
  } catch (cause) {
    // e.g. a 1024-bit EK with a SHA-512 nameAlg: OAEP has no room for the seed.
    throw unsuitable(`RSA-OAEP to the endorsement key failed: ${(cause as Error).message}`);
  }
}

/**
 * Part 1 Annex C.6.4: one-pass Diffie-Hellman, C(1e, 1s, ECC CDH) of SP 800-56A, with an ephemeral key on the EK's curve; the
 * encrypted secret is the ephemeral public point, a TPMS_ECC_POINT (Part 2 §11.2.5.2).
 */
function eccSeed(
  ekPublic: Extract<TpmPublicArea, { type: 'ecc' }>,
  random: RandomBytes,
): { seed: Buffer; encryptedSecret: Buffer } {
  const curve = eccCurveNamed(ekPublic.parameters.curve);
  const ecdh = createECDH(curve.opensslName);
  ecdh.setPrivateKey(ephemeralScalar(curve.byteLength, curveOrders[curve.name]!, random));
  const ephemeral = ecdh.getPublicKey();
  const ephemeralX = ephemeral.subarray(1, 1 + curve.byteLength);
  const ephemeralY = ephemeral.subarray(1 + curve.byteLength);
  const ekPoint = Buffer.concat([
    Buffer.from([0x04]),
    leftPad(ekPublic.unique.x, curve.byteLength),
    leftPad(ekPublic.unique.y, curve.byteLength),
  ]);
  let z: Buffer;
  try {
    // Z is the x coordinate of the shared point, a full field element as the TPM computes it.
    z = ecdh.computeSecret(ekPoint);
  } catch (cause) {
    throw unsuitable(`ECDH with the endorsement key failed: ${(cause as Error).message}`);
  }
  // The TPM hashes the EK's x exactly as its public area holds it, so use the parsed bytes unchanged.
  const seed = kdfe(
    ekPublic.nameAlg,
    z,
    identityLabel,
    ephemeralX,
    ekPublic.unique.x,
    digestSizeOf(ekPublic.nameAlg) * 8,
  );
  return { seed, encryptedSecret: Buffer.concat([sized(ephemeralX), sized(ephemeralY)]) };
}

/**
 * An ECC private key in [1, n-1] from `random` (FIPS 186-5 Appendix A.2.1, "extra random bits"): 64
 * bits more than the order needs, reduced mod n-1, plus one; unbiased enough and never fails.
 */
function ephemeralScalar(byteLength: number, order: bigint, random: RandomBytes): Buffer {
  const candidate = BigInt(`0x${random(byteLength + 8).toString('hex')}`);
  const scalar = (candidate % (order - 1n)) + 1n;
  return Buffer.from(scalar.toString(16).padStart(byteLength * 2, '0'), 'hex');
}

/**
 * KDFa (Part 1 §11.4.10.2): SP 800-108 KDF in counter mode with HMAC-`hash` as the PRF; each block is
 * HMAC(key, [i]32 || label || 0x00 || contextU || contextV || [bits]32). Whole bytes only here.
 */
export function kdfa(
  hash: TpmHashAlgorithm,
  key: Buffer,
  label: string,
  contextU: Buffer,
  contextV: Buffer,
  bits: number,
): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 1, produced = 0; produced * 8 < bits; counter += 1) {
    const block = createHmac(hash, key)
      .update(uint32(counter))
      .update(nullTerminated(label))
      .update(contextU)
      .update(contextV)
      .update(uint32(bits))
      .digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, bits / 8);
}

/**
 * KDFe (Part 1 §11.4.10.3): SP 800-56A §5.8.1 concatenation KDF; each block is
 * H([i]32 || Z || label || 0x00 || partyUInfo || partyVInfo). Whole bytes only here.
 */
export function kdfe(
  hash: TpmHashAlgorithm,
  z: Buffer,
  label: string,
  partyUInfo: Buffer,
  partyVInfo: Buffer,
  bits: number,
): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 1, produced = 0; produced * 8 < bits; counter += 1) {
    const block = createHash(hash)
      .update(uint32(counter))
      .update(z)
      .update(nullTerminated(label))
      .update(partyUInfo)
      .update(partyVInfo)
      .digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, bits / 8);
}

/**
 * The header tpm2-tools puts before a credential (its lib/files.c `files_write_header`): UINT32 magic
 * 0xBADCC0DE, UINT32 version 1, both big-endian. Not a TCG structure.
 */
const tpm2ToolsMagic = 0xbadcc0de;
const tpm2ToolsVersion = 1;
/** sizeof(TPMS_ID_OBJECT) (Part 2 §12.4.2): two TPM2B_DIGESTs. */
const maxIdObjectSize = 2 * (2 + maxDigestSize);
/** sizeof(TPMU_ENCRYPTED_SECRET): the largest is an RSA-4096 ciphertext (MAX_RSA_KEY_BYTES). */
const maxEncryptedSecretSize = 512;

/**
 * The file `tpm2_makecredential -o` writes and `tpm2_activatecredential -i` reads: the tpm2-tools
 * header, then the TPM2B_ID_OBJECT, then the TPM2B_ENCRYPTED_SECRET, each with its UINT16 size.
 */
export function encodeTpm2ToolsCredential(made: MadeCredential): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(tpm2ToolsMagic, 0);
  header.writeUInt32BE(tpm2ToolsVersion, 4);
  return Buffer.concat([header, made.credentialBlob, made.encryptedSecret]);
}

/**
 * Reads a tpm2-tools credential file back into its two TPM2B structures (sizes kept), e.g. one made
 * by `tpm2_makecredential`. Untrusted input: throws only ATTESTATION_TPM_CREDENTIAL_MALFORMED.
 */
export function parseTpm2ToolsCredential(bytes: Uint8Array): MadeCredential {
  const reader = new ByteReader(bytes, {
    littleEndian: false,
    errorCode: 'ATTESTATION_TPM_CREDENTIAL_MALFORMED',
    what: 'tpm2-tools credential',
  });
  const magic = reader.uint32('magic');
  if (magic !== tpm2ToolsMagic) reader.fail(`magic is 0x${magic.toString(16)}, not 0xbadcc0de`);
  const version = reader.uint32('version');
  if (version !== tpm2ToolsVersion) reader.fail(`version is ${version}, not ${tpm2ToolsVersion}`);
  const credentialBlob = sized(reader.sized('credentialBlob', maxIdObjectSize));
  const encryptedSecret = sized(reader.sized('secret', maxEncryptedSecretSize));
  reader.expectEnd();
  return { credentialBlob, encryptedSecret };
}

function unsuitable(message: string) {
  return tpmError('ATTESTATION_TPM_EK_UNSUITABLE', message);
}

function nullTerminated(label: string): Buffer {
  return Buffer.from(`${label}\0`, 'latin1');
}
