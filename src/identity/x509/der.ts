/**
 * A small DER (ITU-T X.690 §10) encoder and a strict, bounded DER reader.
 *
 * The encoder builds TLVs from pre-encoded pieces so that templates can keep their constant parts as
 * ready bytes. The reader walks a buffer by offsets without copying; it rejects BER-only forms
 * (indefinite lengths, non-minimal lengths, high tag numbers) and counts every element it visits, so
 * attacker-controlled input can only end in a `VigilError` carrying the caller's error code.
 */
import { VigilError } from '../../core/index.ts';

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tag byte: `[n]` constructed (0xa0 | n) or primitive (0x80 | n). */
export function contextTag(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  if (length < 0x10000) return [0x82, length >> 8, length & 0xff];
  if (length < 0x1000000) return [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  return [0x84, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

/** Encodes one TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  return tlvOf(tag, parts);
}

/** `tlv` over an array (no argument spreading, so any number of parts). */
export function tlvOf(tag: number, parts: readonly Buffer[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const header = lengthOctets(length);
  const out = Buffer.allocUnsafe(1 + header.length + length);
  out[0] = tag;
  let offset = 1;
  for (const octet of header) out[offset++] = octet;
  for (const part of parts) {
    part.copy(out, offset);
    offset += part.length;
  }
  return out;
}

export function sequence(...parts: Buffer[]): Buffer {
  return tlv(Tag.sequence, ...parts);
}

/** DER SET OF: elements sorted by their encodings (X.690 §11.6). */
export function setOf(elements: Buffer[]): Buffer {
  return tlv(Tag.set, ...[...elements].sort(Buffer.compare));
}

export function octetString(content: Buffer): Buffer {
  return tlv(Tag.octetString, content);
}

/** BIT STRING with no unused bits (signatures, keys). */
export function bitString(content: Buffer): Buffer {
  return tlv(Tag.bitString, Buffer.from([0]), content);
}

export function derBoolean(value: boolean): Buffer {
  return Buffer.from([Tag.boolean, 1, value ? 0xff : 0x00]);
}

export const derNull = Buffer.from([Tag.null, 0]);

/** INTEGER from a small non-negative number. */
export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative integer: ${value}`);
  return unsignedInteger(bigintMagnitude(BigInt(value)));
}

export function enumerated(value: number): Buffer {
  return Buffer.from([Tag.enumerated, 1, value]);
}

/** The minimal big-endian magnitude of a non-negative bigint (zero is one 0x00 octet). */
export function bigintMagnitude(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/** Strips leading zero octets (keeps one octet for zero). */
export function minimalMagnitude(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  return magnitude.subarray(start);
}

/** INTEGER whose value is the unsigned big-endian `magnitude` (a 0x00 octet is prepended when needed). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  const minimal = minimalMagnitude(magnitude);
  if (minimal.length === 0) return Buffer.from([Tag.integer, 1, 0]);
  return (minimal[0] ?? 0) & 0x80 ? tlv(Tag.integer, Buffer.from([0]), minimal) : tlv(Tag.integer, minimal);
}

const oidCache = new Map<string, Buffer>();

/** OBJECT IDENTIFIER from dotted notation (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`not an OID: ${dotted}`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first = 0n, second = 0n, ...rest] = arcs;
  if (first < 2n && second > 39n) throw new RangeError(`not an OID: ${dotted}`);
  const octets: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) chunk.unshift(Number(value & 0x7fn) | 0x80);
    octets.push(...chunk);
  }
  const encoded = tlv(Tag.oid, Buffer.from(octets));
  oidCache.set(dotted, encoded);
  return encoded;
}

export function utf8String(value: string): Buffer {
  return tlv(Tag.utf8String, Buffer.from(value, 'utf8'));
}

export function ia5String(value: string, tag: number = Tag.ia5String): Buffer {
  return tlv(tag, Buffer.from(value, 'latin1'));
}

/** Whole seconds since the epoch; RFC 5280 §4.1.2.5 forbids fractional seconds. */
export function wholeSeconds(date: Date): Date {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  return new Date(Math.floor(ms / 1000) * 1000);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function timeDigits(date: Date): string {
  return (
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds())
  );
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (RFC 5280 §4.1.2.5.2, RFC 6960 §4.2.2.1). */
export function generalizedTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError('year out of range');
  return tlv(
    Tag.generalizedTime,
    Buffer.from(`${String(year).padStart(4, '0')}${timeDigits(date)}Z`, 'latin1'),
  );
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on; whole seconds. */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) {
    return tlv(Tag.utcTime, Buffer.from(`${pad2(year % 100)}${timeDigits(date)}Z`, 'latin1'));
  }
  return generalizedTime(date);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** One element: offsets into `source`. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

export interface DerLimits {
  /** Most elements one read may visit. */
  maxElements: number;
}

/**
 * A strict DER reader over one buffer. Every failure throws `VigilError(code, 'invalid', ...)`.
 * Attacker-controlled input: every length is checked against its enclosing element.
 */
export class DerReader {
  private visited = 0;

  constructor(
    readonly source: Buffer,
    readonly code: string,
    private readonly limits: DerLimits = { maxElements: 10_000 },
  ) {}

  fail(message: string): never {
    throw new VigilError(this.code, 'invalid', message);
  }

  /** Reads the element at `offset`, which must end at or before `limit`. */
  element(offset: number, limit: number): DerElement {
    if (++this.visited > this.limits.maxElements) this.fail('too many ASN.1 elements');
    const source = this.source;
    if (offset + 2 > limit) this.fail('truncated ASN.1 element');
    const tag = source[offset] as number;
    // X.690 §8.1.2.4: tag numbers >= 31 use the high-tag form, which no structure we read uses.
    if ((tag & 0x1f) === 0x1f) this.fail('unexpected high-tag-number form');
    let length = source[offset + 1] as number;
    let contentStart = offset + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      // X.690 §10.1: definite form only; §8.1.3.5: no leading zero octets; DER: long form only for >= 128.
      if (count === 0) this.fail('indefinite length is not DER');
      if (count > 4) this.fail('length too large');
      if (contentStart + count > limit) this.fail('truncated length');
      if (source[contentStart] === 0) this.fail('non-minimal length encoding');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (source[contentStart + i] as number);
      if (length < 0x80) this.fail('non-minimal length encoding');
      contentStart += count;
    }
    const end = contentStart + length;
    if (end > limit) this.fail('element runs past its container');
    return { tag, start: offset, contentStart, end };
  }

  /** Reads the single element that must fill the whole buffer (no trailing bytes). */
  root(): DerElement {
    const root = this.element(0, this.source.length);
    if (root.end !== this.source.length) this.fail('trailing bytes after the ASN.1 structure');
    return root;
  }

  children(parent: DerElement): DerCursor {
    if ((parent.tag & 0x20) === 0) this.fail('expected a constructed element');
    return new DerCursor(this, parent.contentStart, parent.end);
  }

  bytes(element: DerElement): Buffer {
    return this.source.subarray(element.start, element.end);
  }

  content(element: DerElement): Buffer {
    return this.source.subarray(element.contentStart, element.end);
  }

  /** An element's content, read as a DER structure of its own (OCTET STRING-wrapped values). */
  wrapped(element: DerElement): DerElement {
    const inner = this.element(element.contentStart, element.end);
    if (inner.end !== element.end) this.fail('trailing bytes inside a wrapped value');
    return inner;
  }

  expectTag(element: DerElement, tag: number, what: string): DerElement {
    if (element.tag !== tag)
      this.fail(`${what}: expected tag 0x${tag.toString(16)}, got 0x${element.tag.toString(16)}`);
    return element;
  }

  oid(element: DerElement): string {
    this.expectTag(element, Tag.oid, 'OBJECT IDENTIFIER');
    const { contentStart, end } = element;
    if (contentStart === end) this.fail('empty OBJECT IDENTIFIER');
    if (end - contentStart > 64) this.fail('OBJECT IDENTIFIER too long');
    const arcs: string[] = [];
    let value = 0;
    let started = false;
    for (let i = contentStart; i < end; i++) {
      const octet = this.source[i] as number;
      // X.690 §8.19.2: subidentifiers are minimal (no leading 0x80 octet).
      if (!started && octet === 0x80) this.fail('non-minimal OBJECT IDENTIFIER arc');
      started = true;
      value = value * 128 + (octet & 0x7f);
      if (value > Number.MAX_SAFE_INTEGER / 128) this.fail('OBJECT IDENTIFIER arc too large');
      if ((octet & 0x80) === 0) {
        if (arcs.length === 0) {
          const first = value < 40 ? 0 : value < 80 ? 1 : 2;
          arcs.push(String(first), String(value - first * 40));
        } else {
          arcs.push(String(value));
        }
        value = 0;
        started = false;
      }
    }
    if (started) this.fail('truncated OBJECT IDENTIFIER');
    return arcs.join('.');
  }

  /** INTEGER content (two's complement), checked for minimal encoding (X.690 §8.3.2). */
  integer(element: DerElement): Buffer {
    this.expectTag(element, Tag.integer, 'INTEGER');
    const content = this.content(element);
    if (content.length === 0) this.fail('empty INTEGER');
    if (content.length > 1) {
      const first = content[0] as number;
      const second = content[1] as number;
      if ((first === 0 && (second & 0x80) === 0) || (first === 0xff && (second & 0x80) !== 0)) {
        this.fail('non-minimal INTEGER encoding');
      }
    }
    return content;
  }

  smallInteger(element: DerElement): number {
    const content = this.integer(element);
    if (content.length > 4 || ((content[0] as number) & 0x80) !== 0) this.fail('INTEGER out of range');
    return content.readUIntBE(0, content.length);
  }

  /** A non-negative INTEGER that fits a JavaScript safe integer (X.690 §8.3, minimal encoding). */
  unsignedInteger(element: DerElement, what: string): number {
    const content = this.content(element);
    if (content.length === 0) this.fail(`${what}: empty INTEGER`);
    const first = content[0] as number;
    if (first & 0x80) this.fail(`${what}: negative INTEGER`);
    if (content.length > 1 && first === 0 && ((content[1] as number) & 0x80) === 0) {
      this.fail(`${what}: non-minimal INTEGER`);
    }
    if (content.length > 8) this.fail(`${what}: INTEGER too large`);
    let value = 0;
    for (const octet of content) value = value * 256 + octet;
    if (!Number.isSafeInteger(value)) this.fail(`${what}: INTEGER too large`);
    return value;
  }

  /** A UTF8String's text; invalid UTF-8 is refused rather than replaced. */
  utf8(element: DerElement, what: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.content(element));
    } catch {
      return this.fail(`${what}: invalid UTF-8`);
    }
  }

  /** A positive INTEGER as its minimal unsigned magnitude (certificate serial numbers). */
  positiveInteger(element: DerElement, what: string): Buffer {
    const content = this.integer(element);
    if (((content[0] as number) & 0x80) !== 0) this.fail(`${what} is negative`);
    const magnitude = content[0] === 0 && content.length > 1 ? content.subarray(1) : content;
    if (magnitude.length === 1 && magnitude[0] === 0) this.fail(`${what} is zero`);
    return magnitude;
  }

  boolean(element: DerElement): boolean {
    this.expectTag(element, Tag.boolean, 'BOOLEAN');
    if (element.end - element.contentStart !== 1) this.fail('BOOLEAN must be one octet');
    const value = this.source[element.contentStart];
    // X.690 §11.1: DER TRUE is 0xff.
    if (value !== 0 && value !== 0xff) this.fail('BOOLEAN is not DER');
    return value === 0xff;
  }

  /** BIT STRING contents without the unused-bits octet. */
  bitStringBytes(element: DerElement): Buffer {
    this.expectTag(element, Tag.bitString, 'BIT STRING');
    if (element.end === element.contentStart) this.fail('empty BIT STRING');
    const unused = this.source[element.contentStart] as number;
    if (unused > 7 || (unused !== 0 && element.end - element.contentStart === 1)) this.fail('bad BIT STRING');
    return this.source.subarray(element.contentStart + 1, element.end);
  }

  /** Whole-octet BIT STRING (signatures, public keys). */
  octetAlignedBitString(element: DerElement): Buffer {
    this.expectTag(element, Tag.bitString, 'BIT STRING');
    if (element.end === element.contentStart || this.source[element.contentStart] !== 0) {
      this.fail('BIT STRING must have no unused bits');
    }
    return this.source.subarray(element.contentStart + 1, element.end);
  }

  /** A directory string (RFC 5280 §4.1.2.4 DirectoryString, plus IA5String) as text. */
  text(element: DerElement): string {
    const content = this.content(element);
    switch (element.tag) {
      case Tag.utf8String:
        return decodeUtf8(content, this);
      case Tag.printableString:
        if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(content.toString('latin1'))) this.fail('bad PrintableString');
        return content.toString('latin1');
      case Tag.ia5String:
        if (content.some((octet) => octet > 0x7f)) this.fail('bad IA5String');
        return content.toString('latin1');
      case Tag.teletexString:
        return content.toString('latin1');
      case Tag.bmpString: {
        if (content.length % 2 !== 0) this.fail('bad BMPString');
        const swapped = Buffer.from(content);
        swapped.swap16();
        return swapped.toString('utf16le');
      }
      default:
        return this.fail(`unsupported string type 0x${element.tag.toString(16)}`);
    }
  }

  /** UTCTime or GeneralizedTime in the RFC 5280 §4.1.2.5 forms (Z, whole seconds). */
  time(element: DerElement): Date {
    const text = this.content(element).toString('latin1');
    let match: RegExpExecArray | null;
    let year: number;
    if (element.tag === Tag.utcTime) {
      match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      if (!match) return this.fail('bad UTCTime');
      const yy = Number(match[1]);
      year = yy < 50 ? 2000 + yy : 1900 + yy;
    } else if (element.tag === Tag.generalizedTime) {
      match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
      if (!match) return this.fail('bad GeneralizedTime (RFC 5280 §4.1.2.5.2: Z, whole seconds)');
      year = Number(match[1]);
    } else {
      return this.fail('expected a time');
    }
    const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(match[i]));
    const date = new Date(Date.UTC(year, (month ?? 0) - 1, day, hour, minute, second));
    if (
      date.getUTCMonth() !== (month ?? 0) - 1 ||
      date.getUTCDate() !== day ||
      date.getUTCHours() !== hour ||
      date.getUTCMinutes() !== minute ||
      date.getUTCSeconds() !== second
    ) {
      this.fail('time out of range');
    }
    return date;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(content: Buffer, reader: DerReader): string {
  try {
    return utf8Decoder.decode(content);
  } catch {
    return reader.fail('bad UTF8String');
  }
}

/** Walks the children of one constructed element in order. */
export class DerCursor {
  constructor(
    private readonly reader: DerReader,
    private offset: number,
    private readonly limit: number,
  ) {}

  get done(): boolean {
    return this.offset >= this.limit;
  }

  next(what: string): DerElement {
    if (this.done) this.reader.fail(`missing ${what}`);
    const element = this.reader.element(this.offset, this.limit);
    this.offset = element.end;
    return element;
  }

  expect(tag: number, what: string): DerElement {
    return this.reader.expectTag(this.next(what), tag, what);
  }

  /** The next element when it carries `tag`; otherwise nothing is consumed. */
  optional(tag: number): DerElement | undefined {
    if (this.done || this.reader.source[this.offset] !== tag) return undefined;
    return this.next('optional element');
  }

  /** Asserts every child was consumed. */
  end(what: string): void {
    if (!this.done) this.reader.fail(`unexpected element at the end of ${what}`);
  }
}

// ---------------------------------------------------------------------------------------------
// X.509 encoding pieces shared by certificates, CRLs and OCSP
// ---------------------------------------------------------------------------------------------

/**
 * CertificateSerialNumber from an unsigned big-endian magnitude. RFC 5280 §4.1.2.2: positive, and
 * at most 20 octets as encoded.
 */
export function serialNumber(serial: Buffer): Buffer {
  if (!Buffer.isBuffer(serial))
    throw new VigilError('X509_SERIAL_INVALID', 'invalid', 'serial must be a Buffer');
  const minimal = minimalMagnitude(serial);
  if (minimal.length === 0 || (minimal.length === 1 && minimal[0] === 0)) {
    throw new VigilError('X509_SERIAL_INVALID', 'invalid', 'serial must be positive (RFC 5280 §4.1.2.2)');
  }
  const encoded = unsignedInteger(minimal);
  if (encoded.length - 2 > 20) {
    throw new VigilError(
      'X509_SERIAL_INVALID',
      'invalid',
      'serial longer than 20 octets (RFC 5280 §4.1.2.2)',
    );
  }
  return encoded;
}

/** Truncates to whole seconds and checks the date is a valid Date. */
export function checkedTime(date: Date, what: string): Date {
  if (!(date instanceof Date) || !Number.isFinite(date.getTime())) {
    throw new VigilError('X509_TIME_INVALID', 'invalid', `${what} must be a valid Date`);
  }
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999)
    throw new VigilError('X509_TIME_INVALID', 'invalid', `${what} out of range`);
  return wholeSeconds(date);
}

/** Validity ::= SEQUENCE { notBefore Time, notAfter Time } (RFC 5280 §4.1.2.5), whole seconds. */
export function validity(notBefore: Date, notAfter: Date): Buffer {
  const from = checkedTime(notBefore, 'notBefore');
  const to = checkedTime(notAfter, 'notAfter');
  if (to.getTime() < from.getTime()) {
    throw new VigilError('X509_TIME_INVALID', 'invalid', 'notAfter is before notBefore');
  }
  return sequence(x509Time(from), x509Time(to));
}
