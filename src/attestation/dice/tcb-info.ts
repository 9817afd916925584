/**
 * The TCG DiceTcbInfo certificate extension (TCG DICE Attestation Architecture v1.00 §6.1.1, OID
 * 2.23.133.5.4.1): what a DICE layer measured about the layer it launched. The value comes from a
 * device and is attacker-controlled: parsing is strict DER, bounded, and only throws
 * `VigilError('ATTESTATION_DICE_TCB_INFO_MALFORMED')`.
 */
import { DerReader, DerTag as Tag, contextTag, type DerElement } from '../../identity/index.ts';
import { diceError } from './errors.ts';

export const diceTcbInfoOid = '2.23.133.5.4.1';

const maxTcbInfoSize = 16 * 1024;
const maxFwids = 32;
const maxDigestSize = 64;
const maxFlagBits = 32;

/** Digest sizes of the hash algorithms a FWID commonly names; others are kept but not size-checked. */
const digestSizes: Readonly<Record<string, number>> = {
  '2.16.840.1.101.3.4.2.1': 32, // SHA-256
  '2.16.840.1.101.3.4.2.2': 48, // SHA-384
  '2.16.840.1.101.3.4.2.3': 64, // SHA-512
  '2.16.840.1.101.3.4.2.8': 32, // SHA3-256
  '2.16.840.1.101.3.4.2.9': 48, // SHA3-384
  '2.16.840.1.101.3.4.2.10': 64, // SHA3-512
};

export interface Fwid {
  /** The hash algorithm's OBJECT IDENTIFIER, dotted. */
  hashAlgorithm: string;
  digest: Buffer;
}

/** OperationalFlags (§6.1.1); `setBits` lists every set bit, including ones later versions name. */
export interface DiceOperationalFlags {
  notConfigured: boolean;
  notSecure: boolean;
  recovery: boolean;
  debug: boolean;
  setBits: number[];
}

/** Absent optional fields are `undefined`. */
export interface DiceTcbInfo {
  vendor: string | undefined;
  model: string | undefined;
  version: string | undefined;
  svn: number | undefined;
  layer: number | undefined;
  index: number | undefined;
  fwids: Fwid[] | undefined;
  flags: DiceOperationalFlags | undefined;
  vendorInfo: Buffer | undefined;
  type: Buffer | undefined;
}

/**
 * Parses the DER of a DiceTcbInfo extension value (the content of the extnValue OCTET STRING).
 * Each field is IMPLICIT-tagged and optional; DER requires them in ascending tag order, each at most
 * once (X.690 §10: a SEQUENCE's components in definition order). Fields beyond [9] (added by later
 * revisions of the specification) are refused rather than silently ignored.
 */
export function parseDiceTcbInfo(extensionValueDer: Buffer): DiceTcbInfo {
  if (!Buffer.isBuffer(extensionValueDer)) {
    throw diceError('ATTESTATION_DICE_TCB_INFO_MALFORMED', 'DiceTcbInfo must be a Buffer');
  }
  if (extensionValueDer.length > maxTcbInfoSize) {
    throw diceError('ATTESTATION_DICE_TCB_INFO_MALFORMED', 'DiceTcbInfo too large');
  }
  const reader = new DerReader(extensionValueDer, 'ATTESTATION_DICE_TCB_INFO_MALFORMED');
  const fields = reader.children(reader.expectTag(reader.root(), Tag.sequence, 'DiceTcbInfo'));
  const info: DiceTcbInfo = {
    vendor: undefined,
    model: undefined,
    version: undefined,
    svn: undefined,
    layer: undefined,
    index: undefined,
    fwids: undefined,
    flags: undefined,
    vendorInfo: undefined,
    type: undefined,
  };
  let previous = -1;
  while (!fields.done) {
    const field = fields.next('DiceTcbInfo field');
    const number = field.tag & 0x1f;
    if ((field.tag & 0xc0) !== 0x80) reader.fail('DiceTcbInfo fields must be context-tagged');
    if (number <= previous) reader.fail(`DiceTcbInfo field [${number}] out of order or repeated`);
    previous = number;
    const expectPrimitive = (): void => {
      if (field.tag !== contextTag(number, false))
        reader.fail(`DiceTcbInfo field [${number}] must be primitive`);
    };
    switch (number) {
      case 0:
      case 1:
      case 2: {
        expectPrimitive();
        const name = (['vendor', 'model', 'version'] as const)[number];
        info[name] = reader.utf8(field, name);
        break;
      }
      case 3:
      case 4:
      case 5: {
        expectPrimitive();
        const name = number === 3 ? 'svn' : number === 4 ? 'layer' : 'index';
        info[name] = reader.unsignedInteger(field, name);
        break;
      }
      case 6:
        if (field.tag !== contextTag(6, true)) reader.fail('fwids must be constructed');
        info.fwids = readFwids(reader, field);
        break;
      case 7:
        expectPrimitive();
        info.flags = readFlags(reader, field);
        break;
      case 8:
        expectPrimitive();
        info.vendorInfo = Buffer.from(reader.content(field));
        break;
      case 9:
        expectPrimitive();
        info.type = Buffer.from(reader.content(field));
        break;
      default:
        reader.fail(`unsupported DiceTcbInfo field [${number}]`);
    }
  }
  return info;
}

/** FWIDLIST ::= SEQUENCE SIZE (1..MAX) OF FWID; FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }. */
function readFwids(reader: DerReader, list: DerElement): Fwid[] {
  const fwids: Fwid[] = [];
  for (const items = reader.children(list); !items.done;) {
    if (fwids.length === maxFwids) reader.fail('too many FWIDs');
    const fwid = reader.children(items.expect(Tag.sequence, 'FWID'));
    const hashAlgorithm = reader.oid(fwid.expect(Tag.oid, 'FWID hashAlg'));
    const digest = reader.content(fwid.expect(Tag.octetString, 'FWID digest'));
    fwid.end('FWID');
    if (digest.length === 0 || digest.length > maxDigestSize) reader.fail('FWID digest of unusable length');
    const expected = digestSizes[hashAlgorithm];
    if (expected !== undefined && digest.length !== expected) {
      reader.fail(`FWID digest is ${digest.length} bytes, ${hashAlgorithm} makes ${expected}`);
    }
    fwids.push({ hashAlgorithm, digest: Buffer.from(digest) });
  }
  if (fwids.length === 0) reader.fail('fwids must not be empty');
  return fwids;
}

/**
 * OperationalFlags, a named-bit BIT STRING: notConfigured(0), notSecure(1), recovery(2), debug(3).
 * DER (X.690 §11.2.2) drops trailing zero bits, so the last bit present must be set and the unused
 * bits must be zero.
 */
function readFlags(reader: DerReader, element: DerElement): DiceOperationalFlags {
  const content = reader.content(element);
  if (content.length === 0) reader.fail('flags: empty BIT STRING');
  const unused = content[0] as number;
  const bits = content.subarray(1);
  if (unused > 7 || (bits.length === 0 && unused !== 0)) reader.fail('flags: bad unused-bit count');
  if (bits.length * 8 - unused > maxFlagBits) reader.fail('flags: too many bits');
  if (bits.length > 0) {
    const last = bits[bits.length - 1] as number;
    if ((last & ((1 << unused) - 1)) !== 0) reader.fail('flags: unused bits must be zero');
    if ((last & (1 << unused)) === 0) reader.fail('flags: trailing zero bits are not DER');
  }
  const setBits: number[] = [];
  for (let bit = 0; bit < bits.length * 8 - unused; bit += 1) {
    if (((bits[bit >> 3] as number) >> (7 - (bit & 7))) & 1) setBits.push(bit);
  }
  return {
    notConfigured: setBits.includes(0),
    notSecure: setBits.includes(1),
    recovery: setBits.includes(2),
    debug: setBits.includes(3),
    setBits,
  };
}
