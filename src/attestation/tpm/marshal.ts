/** Writing TPM 2.0 structures (Part 1 §18 marshalling: big-endian, TPM2B = UINT16 size + bytes). */

export function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

export function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** A TPM2B: the UINT16 size, then the bytes. */
export function sized(bytes: Buffer): Buffer {
  return Buffer.concat([uint16(bytes.length), bytes]);
}

/** Big-endian bytes left-padded with zeros to `length` (coordinates, moduli). */
export function leftPad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}
