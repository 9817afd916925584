import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { DerReader, Tag } from '../../../src/attestation/dice/der.ts';
import { encodeOid, tlv } from './fixtures.ts';

const code = 'ATTESTATION_DICE_TCB_INFO_MALFORMED';

function reader(hex: string | Buffer): DerReader {
  return new DerReader(typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex, code);
}

function throwsCode(run: () => unknown): void {
  assert.throws(run, (error: unknown) => isVigilError(error, code));
}

describe('DerReader', () => {
  it('reads long-form lengths that are minimal', () => {
    const value = tlv(Tag.octetString, Buffer.alloc(300, 1));
    const element = reader(value).root();
    assert.equal(element.end - element.contentStart, 300);
  });

  it('refuses indefinite, non-minimal and over-long lengths', () => {
    throwsCode(() => reader('0480').root());
    throwsCode(() => reader('04817f' + '00'.repeat(0x7f)).root());
    throwsCode(() => reader('0482000100').root());
    throwsCode(() => reader('048501000000000000').root());
  });

  it('refuses high tag numbers', () => {
    throwsCode(() => reader('1f2100').root());
  });

  it('decodes OBJECT IDENTIFIERs with multi-byte arcs', () => {
    for (const oid of ['2.23.133.5.4.1', '2.16.840.1.101.3.4.2.1', '1.2.840.10045.4.3.2']) {
      const r = reader(encodeOid(oid));
      assert.equal(r.oid(r.root()), oid);
    }
  });

  it('refuses non-minimal and truncated OBJECT IDENTIFIERs', () => {
    throwsCode(() => {
      const r = reader('0603808101');
      r.oid(r.root());
    });
    throwsCode(() => {
      const r = reader('06022a86');
      r.oid(r.root());
    });
  });

  it('accepts only 0x00 and 0xFF as DER BOOLEANs', () => {
    const r = reader('0101ff');
    assert.equal(r.boolean(r.root()), true);
    throwsCode(() => {
      const bad = reader('010101');
      bad.boolean(bad.root());
    });
  });
});
