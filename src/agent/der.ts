/**
 * The agent's own small DER (ITU-T X.690 §10) encoder and strict reader. The agent links nothing
 * of the server (ARCHITECTURE.md), so it keeps the few ASN.1 pieces a device needs: names, PKCS#10
 * requests, certificates with DICE extensions, and reading the certificates out of an EST answer.
 */
import { VigilError } from '../core/index.ts';

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tag byte `[n]`, constructed (0xa0 | n) or primitive (0x80 | n). */
export function contextTag(n: number, constructed: boolean): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`no low tag number ${n}`);
  return (constructed ? 0xa0 : 0x80) | n;
}

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return [0x80 | octets.length, ...octets];
}

/** One TLV whose content is the concatenation of `parts` (X.690 §8.1, definite length, §10.1). */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...lengthOctets(content.length)]), content]);
}

export function sequence(...parts: Buffer[]): Buffer {
  return tlv(Tag.sequence, ...parts);
}

/** DER SET OF: elements in the order of their encodings (X.690 §11.6). */
export function setOf(...elements: Buffer[]): Buffer {
  return tlv(Tag.set, ...[...elements].sort(Buffer.compare));
}

export function octetString(content: Buffer): Buffer {
  return tlv(Tag.octetString, content);
}

/** BIT STRING with `unusedBits` unused bits in its last octet (X.690 §8.6). */
export function bitString(content: Buffer, unusedBits = 0): Buffer {
  return tlv(Tag.bitString, Buffer.from([unusedBits]), content);
}

export function derBoolean(value: boolean): Buffer {
  return Buffer.from([Tag.boolean, 1, value ? 0xff : 0x00]);
}

export function utf8String(text: string): Buffer {
  return tlv(Tag.utf8String, Buffer.from(text, 'utf8'));
}

/** The minimal two's-complement content octets of a non-negative integer given as big-endian bytes. */
export function unsignedContent(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const minimal = magnitude.subarray(start);
  if (minimal.length === 0) return Buffer.from([0]);
  return (minimal[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), minimal]) : Buffer.from(minimal);
}

/** The content octets of a small non-negative integer (X.690 §8.3). */
export function numberContent(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative integer: ${value}`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return unsignedContent(Buffer.from(bytes));
}

export function integer(value: number | Buffer): Buffer {
  return tlv(Tag.integer, typeof value === 'number' ? numberContent(value) : unsignedContent(value));
}

/** OBJECT IDENTIFIER from dotted notation (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`not an OID: ${dotted}`);
  const [first = 0n, second = 0n, ...rest] = dotted.split('.').map((arc) => BigInt(arc));
  const octets: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) chunk.unshift(Number(value & 0x7fn) | 0x80);
    octets.push(...chunk);
  }
  return tlv(Tag.oid, Buffer.from(octets));
}

/**
 * RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both in whole seconds, Z.
 */
export function x509Time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050
    ? tlv(Tag.utcTime, Buffer.from(digits.slice(2), 'latin1'))
    : tlv(Tag.generalizedTime, Buffer.from(digits, 'latin1'));
}

// --- reading ---------------------------------------------------------------------------------

export interface DerElement {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  contentStart: number;
  end: number;
}

/**
 * Reads the element at `offset` (before `limit`), refusing BER-only forms: indefinite and
 * non-minimal lengths, high tag numbers. Whatever is wrong ends in a `VigilError` with `code`.
 */
export function readElement(buffer: Buffer, offset: number, limit: number, code: string): DerElement {
  const fail = (why: string): never => {
    throw new VigilError(code, 'internal', `malformed DER at offset ${offset}: ${why}`);
  };
  if (offset + 2 > limit) fail('truncated element');
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('high tag numbers are not used here');
  const first = buffer[offset + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) fail('indefinite length (BER, not DER)');
    if (count > 4) fail('length too large');
    if (offset + 2 + count > limit) fail('truncated length');
    length = 0;
    for (let index = 0; index < count; index += 1) length = length * 256 + buffer[offset + 2 + index]!;
    if (length < 0x80 || buffer[offset + 2] === 0) fail('non-minimal length');
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) fail('content runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element, in order. */
export function childrenOf(
  buffer: Buffer,
  parent: DerElement,
  code: string,
  maxChildren = 10_000,
): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    if (children.length >= maxChildren) {
      throw new VigilError(code, 'internal', `malformed DER: more than ${maxChildren} elements`);
    }
    const child = readElement(buffer, offset, parent.end, code);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** Reads the single element making up all of `buffer`. */
export function readRoot(buffer: Buffer, code: string): DerElement {
  const root = readElement(buffer, 0, buffer.length, code);
  if (root.end !== buffer.length) {
    throw new VigilError(code, 'internal', 'malformed DER: trailing bytes after the element');
  }
  return root;
}

/** Decodes the content of an OBJECT IDENTIFIER element to dotted notation. */
export function readOid(buffer: Buffer, element: DerElement, code: string): string {
  const content = buffer.subarray(element.contentStart, element.end);
  if (element.tag !== Tag.oid || content.length === 0 || (content[content.length - 1]! & 0x80) !== 0) {
    throw new VigilError(code, 'internal', 'malformed DER: expected an OBJECT IDENTIFIER');
  }
  const arcs: bigint[] = [];
  let value = 0n;
  for (const octet of content) {
    value = (value << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

export function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER of every PEM block labelled `label` in `text`, in order. */
export function fromPem(text: string, label: string): Buffer[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(pattern)].map((match) => Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64'));
}
