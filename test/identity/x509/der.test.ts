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
