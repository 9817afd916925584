import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  DerReader,
  Tag,
  oid,
  serialNumber,
  tlv,
  unsignedInteger,
  validity,
  x509Time,
} from '../../../src/identity/x509/der.ts';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isVigilError(error, code));
}

describe('DER encoding', () => {
  it('uses the short length form below 128 octets and minimal long forms above', () => {
    assert.deepEqual(tlv(Tag.octetString, Buffer.alloc(127)).subarray(0, 2), Buffer.from([0x04, 0x7f]));
    assert.deepEqual(tlv(Tag.octetString, Buffer.alloc(128)).subarray(0, 3), Buffer.from([0x04, 0x81, 0x80]));
    assert.deepEqual(
      tlv(Tag.octetString, Buffer.alloc(256)).subarray(0, 4),
      Buffer.from([0x04, 0x82, 0x01, 0x00]),
    );
    assert.deepEqual(
      tlv(Tag.octetString, Buffer.alloc(70_000)).subarray(0, 5),
      Buffer.from([0x04, 0x83, 0x01, 0x11, 0x70]),
    );
  });

  it('pads a positive INTEGER whose high bit is set and strips leading zero octets', () => {
    assert.deepEqual(unsignedInteger(Buffer.from([0x80])), Buffer.from([0x02, 0x02, 0x00, 0x80]));
    assert.deepEqual(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])), Buffer.from([0x02, 0x01, 0x7f]));
  });

  it('encodes OIDs with multi-octet arcs', () => {
    assert.deepEqual(oid('1.2.840.10045.3.1.7'), Buffer.from('06082a8648ce3d030107', 'hex'));
    assert.deepEqual(oid('2.5.29.19'), Buffer.from('0603551d13', 'hex'));
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050, in whole seconds', () => {
    assert.equal(x509Time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1', 2), '491231235959Z');
    assert.equal(x509Time(new Date('2050-01-01T00:00:00.500Z')).toString('latin1', 2), '20500101000000Z');
    assert.equal(x509Time(new Date('2049-12-31T23:59:59Z'))[0], Tag.utcTime);
    assert.equal(x509Time(new Date('2050-01-01T00:00:00Z'))[0], Tag.generalizedTime);
  });

  it('refuses a serial that is zero, negative-looking after padding beyond 20 octets, or not a Buffer', () => {
    throwsCode(() => serialNumber(Buffer.from([0, 0])), 'X509_SERIAL_INVALID');
    throwsCode(() => serialNumber(Buffer.alloc(21, 1)), 'X509_SERIAL_INVALID');
    throwsCode(() => serialNumber(Buffer.alloc(20, 0xff)), 'X509_SERIAL_INVALID');
    assert.equal(serialNumber(Buffer.alloc(20, 0x7f)).length, 22);
  });

  it('refuses a validity whose notAfter precedes notBefore or an invalid Date', () => {
    throwsCode(() => validity(new Date('2030-01-02Z'), new Date('2030-01-01Z')), 'X509_TIME_INVALID');
    throwsCode(() => validity(new Date('nope'), new Date('2030-01-01Z')), 'X509_TIME_INVALID');
  });
});

describe('DER reading', () => {
  const read = (hex: string) => new DerReader(Buffer.from(hex, 'hex'), 'TEST_MALFORMED').root();

  it('reads a well-formed element', () => {
    assert.deepEqual(read('3003020101'), { tag: 0x30, start: 0, contentStart: 2, end: 5 });
  });

  it('rejects indefinite lengths, non-minimal lengths, truncation and trailing bytes (X.690 §10.1)', () => {
    for (const hex of ['3080020101 0000', '30810302 0101', '3005020101', '3003020101 00', '1f0100']) {
      throwsCode(() => read(hex.replace(/ /g, '')), 'TEST_MALFORMED');
    }
  });

  it('rejects non-minimal INTEGERs and non-DER BOOLEANs', () => {
    const integer = new DerReader(Buffer.from('02020001', 'hex'), 'TEST_MALFORMED');
    throwsCode(() => integer.integer(integer.root()), 'TEST_MALFORMED');
    const boolean = new DerReader(Buffer.from('010101', 'hex'), 'TEST_MALFORMED');
    throwsCode(() => boolean.boolean(boolean.root()), 'TEST_MALFORMED');
  });

  it('stops after its element budget', () => {
    const many = Buffer.concat([
      Buffer.from([0x30, 0x82, 0x01, 0x2c]),
      Buffer.alloc(300, 0).fill(Buffer.from([0x05, 0x00])),
    ]);
    const reader = new DerReader(many, 'TEST_MALFORMED', { maxElements: 10 });
    const cursor = reader.children(reader.root());
    throwsCode(() => {
      while (!cursor.done) cursor.next('element');
    }, 'TEST_MALFORMED');
  });

  it('decodes OIDs and rejects non-minimal arcs', () => {
    const good = new DerReader(Buffer.from('06082a8648ce3d030107', 'hex'), 'TEST_MALFORMED');
    assert.equal(good.oid(good.root()), '1.2.840.10045.3.1.7');
    const bad = new DerReader(Buffer.from('0603558001', 'hex'), 'TEST_MALFORMED');
    throwsCode(() => bad.oid(bad.root()), 'TEST_MALFORMED');
  });

  it('rejects fractional seconds in GeneralizedTime (RFC 5280 §4.1.2.5.2)', () => {
    const text = Buffer.from('20300101000000.5Z', 'latin1');
    const reader = new DerReader(tlv(Tag.generalizedTime, text), 'TEST_MALFORMED');
    throwsCode(() => reader.time(reader.root()), 'TEST_MALFORMED');
  });
});

// Moved here with the DICE verifier's reader, which now uses this one.
describe('DER reading for other modules (DICE TcbInfo)', () => {
  const code = 'ATTESTATION_DICE_TCB_INFO_MALFORMED';
  const reader = (hex: string | Buffer) =>
    new DerReader(typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex, code);

  it('reads long-form lengths that are minimal', () => {
    const element = reader(tlv(Tag.octetString, Buffer.alloc(300, 1))).root();
    assert.equal(element.end - element.contentStart, 300);
  });

  it("refuses indefinite, non-minimal and over-long lengths, and high tag numbers, with the caller's code", () => {
    for (const hex of ['0480', '04817f' + '00'.repeat(0x7f), '0482000100', '048501000000000000', '1f2100']) {
      throwsCode(() => reader(hex).root(), code);
    }
  });

  it('decodes OBJECT IDENTIFIERs with multi-byte arcs, refusing non-minimal and truncated ones', () => {
    for (const dotted of ['2.23.133.5.4.1', '2.16.840.1.101.3.4.2.1', '1.2.840.10045.4.3.2']) {
      const r = reader(oid(dotted));
      assert.equal(r.oid(r.root()), dotted);
    }
    for (const hex of ['0603808101', '06022a86']) {
      const r = reader(hex);
      throwsCode(() => r.oid(r.root()), code);
    }
  });

  it('accepts only 0x00 and 0xFF as DER BOOLEANs', () => {
    const r = reader('0101ff');
    assert.equal(r.boolean(r.root()), true);
    const bad = reader('010101');
    throwsCode(() => bad.boolean(bad.root()), code);
  });

  it('reads non-negative minimal INTEGERs up to 2^53-1', () => {
    const read = (hex: string) => {
      const r = reader(hex);
      return r.unsignedInteger(r.root(), 'svn');
    };
    assert.equal(read('020100'), 0);
    assert.equal(read('020200ff'), 255);
    assert.equal(read('02071fffffffffffff'), Number.MAX_SAFE_INTEGER);
    for (const hex of [
      '0200',
      '0201ff',
      '02020001',
      '0208' + '20' + '00'.repeat(7),
      '0209' + '00ff'.padEnd(18, '0'),
    ]) {
      throwsCode(() => read(hex), code);
    }
  });

  it('reads UTF8Strings, refusing invalid UTF-8 rather than replacing it', () => {
    const r = reader(tlv(Tag.utf8String, Buffer.from('Vigil ü', 'utf8')));
    assert.equal(r.utf8(r.root(), 'vendor'), 'Vigil ü');
    const bad = reader('0c02c328');
    throwsCode(() => bad.utf8(bad.root(), 'vendor'), code);
  });
});
