import { VigilError } from '../../core/index.ts';

/**
 * Converts a PKCS#11 CKM_ECDSA signature (r || s, each as long as the curve's order, PKCS#11 v2.40
 * §2.3.1) into the DER ECDSA-Sig-Value that X.509, CRLs and OCSP carry (RFC 3279 §2.2.3:
 * SEQUENCE { r INTEGER, s INTEGER }).
 */
export function ecdsaRawToDer(raw: Uint8Array, coordinateLength: number): Buffer {
  if (raw.length !== 2 * coordinateLength) {
    throw new VigilError(
      'KEYSTORE_SIGNATURE_INVALID',
      'internal',
      `an ECDSA signature of this curve has ${2 * coordinateLength} bytes, not ${raw.length}`,
    );
  }
  const r = derInteger(raw.subarray(0, coordinateLength));
  const s = derInteger(raw.subarray(coordinateLength));
  const body = Buffer.concat([r, s]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** A DER INTEGER of an unsigned big-endian value: minimal length, 0x00 first when the top bit is set (X.690 §8.3). */
function derInteger(unsigned: Uint8Array): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const value = Buffer.from(unsigned.subarray(start));
  const content = (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

/** DER definite length (X.690 §8.1.3): short form below 128, long form above. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
