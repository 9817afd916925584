import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

function sized(bytes: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** A TPMS_ATTEST quote (Part 2 §10.12.12) built by hand: sha256 bank, the given PCRs, the given digest. */
export function buildQuoteAttest(options: {
  nonce: Buffer;
  pcrs: number[];
  pcrDigest: Buffer;
  resetCount?: number;
  restartCount?: number;
}): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt32BE(0xff544347);
  header.writeUInt16BE(0x8018, 4);
  const clock = Buffer.alloc(8 + 4 + 4 + 1 + 8);
  clock.writeBigUInt64BE(123456n);
  clock.writeUInt32BE(options.resetCount ?? 7, 8);
  clock.writeUInt32BE(options.restartCount ?? 2, 12);
  clock.writeUInt8(1, 16);
  clock.writeBigUInt64BE(0x2019102300163636n, 17);
  const bitmap = Buffer.alloc(3);
  for (const pcr of options.pcrs) bitmap[pcr >> 3]! |= 1 << (pcr & 7);
  const selection = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x00, 0x0b, 3]), bitmap]);
  const signer = Buffer.concat([Buffer.from([0x00, 0x0b]), createHash('sha256').update('signer').digest()]);
  return Buffer.concat([
    header,
    sized(signer),
    sized(options.nonce),
    clock,
    selection,
    sized(options.pcrDigest),
  ]);
}

/** TPMT_SIGNATURE (Part 2 §11.3.4) of an ECDSA P-256 / SHA-256 signature, from node's IEEE P1363 r||s. */
export function ecdsaTpmtSignature(attest: Buffer, privateKey: KeyObject): Buffer {
  const raw = sign('sha256', attest, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return Buffer.concat([
    Buffer.from([0x00, 0x18, 0x00, 0x0b]),
    sized(raw.subarray(0, 32)),
    sized(raw.subarray(32)),
  ]);
}

/** TPMT_SIGNATURE of an RSASSA-PKCS1-v1_5 / SHA-256 signature. */
export function rsassaTpmtSignature(attest: Buffer, privateKey: KeyObject): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x14, 0x00, 0x0b]), sized(sign('sha256', attest, privateKey))]);
}

export function ecKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function rsaKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}
