import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseDiceTcbInfo } from '../../../src/attestation/dice/index.ts';
import { aliasTcbInfo, encodeDiceTcbInfo, firmwareTcbInfo, sha256Oid, tlv } from './fixtures.ts';

function throwsCode(run: () => unknown, code: string): void {
  assert.throws(run, (error: unknown) => isVigilError(error, code));
}

const malformed = 'ATTESTATION_DICE_TCB_INFO_MALFORMED';

describe('parseDiceTcbInfo', () => {
  it('reads every field of a full DiceTcbInfo', () => {
    const info = parseDiceTcbInfo(
      encodeDiceTcbInfo({
        ...aliasTcbInfo,
        index: 2,
        vendorInfo: Buffer.from('0102', 'hex'),
        type: Buffer.from('cafe', 'hex'),
      }),
    );
    assert.equal(info.vendor, 'Vigil Medical');
    assert.equal(info.model, 'Infusion Pump IP-7');
    assert.equal(info.version, '4.2.1');
    assert.equal(info.svn, 7);
    assert.equal(info.layer, 1);
    assert.equal(info.index, 2);
    assert.deepEqual(info.fwids, [{ hashAlgorithm: sha256Oid, digest: Buffer.alloc(32, 0xa1) }]);
    assert.deepEqual(info.flags, {
      notConfigured: false,
      notSecure: false,
      recovery: false,
      debug: true,
      setBits: [3],
    });
    assert.deepEqual(info.vendorInfo, Buffer.from('0102', 'hex'));
    assert.deepEqual(info.type, Buffer.from('cafe', 'hex'));
  });

  it('leaves absent optional fields undefined, including an empty DiceTcbInfo', () => {
    const info = parseDiceTcbInfo(Buffer.from('3000', 'hex'));
    assert.deepEqual(Object.values(info), Array(10).fill(undefined));
  });

  it('reads an SVN above 127 and several FWIDs with an empty flags BIT STRING', () => {
    const info = parseDiceTcbInfo(encodeDiceTcbInfo(firmwareTcbInfo));
    assert.equal(info.svn, 300);
    assert.equal(info.fwids?.length, 2);
    assert.deepEqual(info.flags?.setBits, []);
  });

  it('reports flag bits beyond the four named ones in setBits', () => {
    const info = parseDiceTcbInfo(encodeDiceTcbInfo({ flags: [0, 1, 2, 8] }));
    assert.deepEqual(info.flags, {
      notConfigured: true,
      notSecure: true,
      recovery: true,
      debug: false,
      setBits: [0, 1, 2, 8],
    });
  });

  it('refuses fields out of order or repeated', () => {
    throwsCode(
      () =>
        parseDiceTcbInfo(
          tlv(0x30, Buffer.concat([tlv(0x81, Buffer.from('m')), tlv(0x80, Buffer.from('v'))])),
        ),
      malformed,
    );
    throwsCode(
      () =>
        parseDiceTcbInfo(
          tlv(0x30, Buffer.concat([tlv(0x80, Buffer.from('v')), tlv(0x80, Buffer.from('v'))])),
        ),
      malformed,
    );
  });

  it('refuses fields the specification does not define here', () => {
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x8a, Buffer.from([0])))), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x0c, Buffer.from('untagged')))), malformed);
  });

  it('refuses trailing bytes, non-minimal lengths and a truncated value', () => {
    const good = encodeDiceTcbInfo(aliasTcbInfo);
    throwsCode(() => parseDiceTcbInfo(Buffer.concat([good, Buffer.from([0])])), malformed);
    throwsCode(() => parseDiceTcbInfo(Buffer.from('30810080', 'hex')), malformed);
    throwsCode(() => parseDiceTcbInfo(good.subarray(0, good.length - 1)), malformed);
    throwsCode(() => parseDiceTcbInfo(Buffer.from('3080', 'hex')), malformed);
  });

  it('refuses negative and non-minimal integers', () => {
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x83, Buffer.from([0xff])))), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x83, Buffer.from([0x00, 0x01])))), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x83, Buffer.alloc(0)))), malformed);
  });

  it('refuses a vendor that is not UTF-8', () => {
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x80, Buffer.from([0xc3, 0x28])))), malformed);
  });

  it('refuses a FWID whose digest length does not match its hash algorithm', () => {
    const bad = encodeDiceTcbInfo({ fwids: [{ hashAlgorithm: sha256Oid, digest: Buffer.alloc(20) }] });
    throwsCode(() => parseDiceTcbInfo(bad), malformed);
  });

  it('refuses an empty FWID list', () => {
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0xa6, Buffer.alloc(0)))), malformed);
  });

  it('refuses flags that are not DER: trailing zero bits or set unused bits', () => {
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x87, Buffer.from([0x03, 0x00])))), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x87, Buffer.from([0x04, 0x11])))), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x87, Buffer.from([0x01])))), malformed);
  });

  it('refuses a value that is not a Buffer or too large', () => {
    throwsCode(() => parseDiceTcbInfo('3000' as unknown as Buffer), malformed);
    throwsCode(() => parseDiceTcbInfo(tlv(0x30, tlv(0x88, Buffer.alloc(20_000)))), malformed);
  });

  it('only ever parses or throws VigilError on byte-flipped and truncated values', () => {
    const good = encodeDiceTcbInfo({ ...aliasTcbInfo, index: 2, vendorInfo: Buffer.from('0102', 'hex') });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(good.length),
        (at, value, cut) => {
          const mutated = Buffer.from(good);
          mutated[at] = value;
          for (const input of [mutated, mutated.subarray(0, mutated.length - cut)]) {
            try {
              parseDiceTcbInfo(input);
            } catch (error) {
              if (!isVigilError(error, malformed)) throw error;
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('only ever parses or throws VigilError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        try {
          parseDiceTcbInfo(Buffer.concat([Buffer.from([0x30, bytes.length & 0x7f]), bytes]));
        } catch (error) {
          if (!isVigilError(error, malformed)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
