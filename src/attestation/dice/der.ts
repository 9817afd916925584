/**
 * A small, strict DER reader (X.690 §10) for the two structures this module must read itself: the
 * outer layers of a certificate (to find its extensions and validity) and the DiceTcbInfo value.
 * Input is attacker-controlled: every read is bounds-checked and every failure is a `VigilError`
 * with the code the reader was made with. Only low tag numbers (< 31) and definite, minimal lengths
 * are accepted, which is all DER allows for the structures read here.
 */
import { diceError, type DiceErrorCode } from './errors.ts';

export interface DerElement {
  /** The identifier octet: class, constructed bit and tag number. */
  tag: number;
  /** Offsets into the reader's buffer. */
  start: number;
  contentStart: number;
  end: number;
}

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

export function contextTag(number: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | number;
}

export class DerReader {
  readonly bytes: Buffer;
  readonly code: DiceErrorCode;

  constructor(bytes: Buffer, code: DiceErrorCode) {
    this.bytes = bytes;
    this.code = code;
  }

  fail(message: string): never {
    throw diceError(this.code, message);
  }

  /** The single element spanning the whole buffer (trailing bytes are refused). */
  root(): DerElement {
    const element = this.readElement(0, this.bytes.length);
    if (element.end !== this.bytes.length) this.fail('trailing bytes after the DER value');
    return element;
  }

  readElement(offset: number, limit: number): DerElement {
    if (offset + 2 > limit) this.fail('truncated DER header');
    const tag = this.bytes[offset] as number;
    if ((tag & 0x1f) === 0x1f) this.fail('high tag numbers are not used here');
    let length = this.bytes[offset + 1] as number;
    let contentStart = offset + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      // X.690 §10.1: definite form only; lengths are bounded to 4 octets here.
      if (count === 0 || count > 4) this.fail('indefinite or oversized DER length');
      if (contentStart + count > limit) this.fail('truncated DER length');
      length = 0;
      for (let i = 0; i < count; i += 1) length = length * 256 + (this.bytes[contentStart + i] as number);
      if (this.bytes[contentStart] === 0 || length < 0x80) this.fail('non-minimal DER length');
      contentStart += count;
    }
    const end = contentStart + length;
    if (end > limit) this.fail('DER value runs past its container');
    return { tag, start: offset, contentStart, end };
  }

  expectTag(element: DerElement, tag: number, what: string): DerElement {
    if (element.tag !== tag)
      this.fail(`${what}: expected tag 0x${tag.toString(16)}, got 0x${element.tag.toString(16)}`);
    return element;
  }

  content(element: DerElement): Buffer {
    return this.bytes.subarray(element.contentStart, element.end);
  }

  raw(element: DerElement): Buffer {
    return this.bytes.subarray(element.start, element.end);
  }

  children(element: DerElement): Children {
    if ((element.tag & 0x20) === 0) this.fail('expected a constructed value');
    return new Children(this, element.contentStart, element.end);
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

  /** Dotted OBJECT IDENTIFIER (X.690 §8.19), minimal subidentifiers, bounded arcs. */
  oid(element: DerElement): string {
    const content = this.content(element);
    if (content.length === 0 || content.length > 64) this.fail('OBJECT IDENTIFIER of unusable length');
    const arcs: number[] = [];
    let value = 0;
    let fresh = true;
    for (const octet of content) {
      if (fresh && octet === 0x80) this.fail('non-minimal OBJECT IDENTIFIER subidentifier');
      fresh = false;
      value = value * 128 + (octet & 0x7f);
      if (value > 0xffffffff) this.fail('OBJECT IDENTIFIER arc too large');
      if ((octet & 0x80) === 0) {
        arcs.push(value);
        value = 0;
        fresh = true;
      }
    }
    if (!fresh) this.fail('truncated OBJECT IDENTIFIER');
    const first = arcs[0] as number;
    const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
    return [...head, ...arcs.slice(1)].join('.');
  }

  /** A UTF8String's text; invalid UTF-8 is refused rather than replaced. */
  utf8(element: DerElement, what: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.content(element));
    } catch {
      return this.fail(`${what}: invalid UTF-8`);
    }
  }

  /** X.690 §8.2.2 and §11.1: a DER BOOLEAN is one octet, 0x00 or 0xFF. */
  boolean(element: DerElement): boolean {
    const content = this.content(element);
    if (content.length !== 1 || (content[0] !== 0 && content[0] !== 0xff)) this.fail('non-DER BOOLEAN');
    return content[0] === 0xff;
  }
}

/** Iterates the elements inside one constructed value. */
export class Children {
  private offset: number;

  constructor(
    private readonly reader: DerReader,
    start: number,
    private readonly limit: number,
  ) {
    this.offset = start;
  }

  get done(): boolean {
    return this.offset >= this.limit;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.reader.bytes[this.offset];
  }

  next(what: string): DerElement {
    if (this.done) this.reader.fail(`missing ${what}`);
    const element = this.reader.readElement(this.offset, this.limit);
    this.offset = element.end;
    return element;
  }

  expect(tag: number, what: string): DerElement {
    return this.reader.expectTag(this.next(what), tag, what);
  }

  optional(tag: number): DerElement | undefined {
    return this.peekTag() === tag ? this.next('optional value') : undefined;
  }

  end(what: string): void {
    if (!this.done) this.reader.fail(`unexpected data at the end of ${what}`);
  }
}
