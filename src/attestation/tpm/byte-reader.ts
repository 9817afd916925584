import { tpmError, type TpmEvidenceErrorCode } from './errors.ts';

/**
 * A bounds-checked cursor over attacker-controlled bytes. Every read that would run past the end
 * throws the caller's VigilError code, never a RangeError, so parsers built on it can only throw
 * VigilError. TPM structures are big-endian (TPM 2.0 Part 1 §11.1 "marshaling"); the PC Client
 * event log is little-endian (PFP §10.2), hence the explicit endianness.
 */
export class ByteReader {
  readonly #bytes: Buffer;
  readonly #littleEndian: boolean;
  readonly #errorCode: TpmEvidenceErrorCode;
  readonly #what: string;
  #offset = 0;

  constructor(
    bytes: Uint8Array,
    options: { littleEndian: boolean; errorCode: TpmEvidenceErrorCode; what: string },
  ) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#littleEndian = options.littleEndian;
    this.#errorCode = options.errorCode;
    this.#what = options.what;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  fail(message: string): never {
    throw tpmError(this.#errorCode, `${this.#what}: ${message} (at byte ${this.#offset})`, {
      offset: this.#offset,
    });
  }

  #need(length: number, field: string): void {
    if (length > this.remaining)
      this.fail(`truncated ${field}: needs ${length} bytes, ${this.remaining} left`);
  }

  uint8(field: string): number {
    this.#need(1, field);
    const value = this.#bytes.readUInt8(this.#offset);
    this.#offset += 1;
    return value;
  }

  uint16(field: string): number {
    this.#need(2, field);
    const value = this.#littleEndian
      ? this.#bytes.readUInt16LE(this.#offset)
      : this.#bytes.readUInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  uint32(field: string): number {
    this.#need(4, field);
    const value = this.#littleEndian
      ? this.#bytes.readUInt32LE(this.#offset)
      : this.#bytes.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  uint64(field: string): bigint {
    this.#need(8, field);
    const value = this.#littleEndian
      ? this.#bytes.readBigUInt64LE(this.#offset)
      : this.#bytes.readBigUInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** A copy, so results never alias (or pin) the caller's buffer. */
  bytes(length: number, field: string): Buffer {
    this.#need(length, field);
    const value = Buffer.from(this.#bytes.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  /** A TPM2B_*: UINT16 size then that many bytes (Part 2 §10.4), refused above `maxSize`. */
  sized(field: string, maxSize: number): Buffer {
    const size = this.uint16(`${field} size`);
    if (size > maxSize) this.fail(`${field} is ${size} bytes, more than the ${maxSize} allowed`);
    return this.bytes(size, field);
  }

  expectEnd(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}
