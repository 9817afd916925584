import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { ByteReader } from '../../../src/attestation/tpm/byte-reader.ts';

const options = { errorCode: 'ATTESTATION_TPM_ATTEST_MALFORMED', what: 'test' } as const;

describe('ByteReader', () => {
  it('reads big-endian TPM integers and little-endian log integers', () => {
    const bytes = Buffer.from('0102030405060708', 'hex');
    assert.equal(new ByteReader(bytes, { ...options, littleEndian: false }).uint32('x'), 0x01020304);
    assert.equal(new ByteReader(bytes, { ...options, littleEndian: true }).uint32('x'), 0x04030201);
    assert.equal(new ByteReader(bytes, { ...options, littleEndian: false }).uint64('x'), 0x0102030405060708n);
  });

  it('throws the caller code, not RangeError, when a read runs past the end', () => {
    const reader = new ByteReader(Buffer.from([1]), { ...options, littleEndian: false });
    assert.throws(
      () => reader.uint16('field'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_ATTEST_MALFORMED'),
    );
  });

  it('refuses a TPM2B larger than its bound and trailing bytes', () => {
    const reader = new ByteReader(Buffer.from('0003aabbcc00', 'hex'), { ...options, littleEndian: false });
    assert.throws(
      () => reader.sized('field', 2),
      (error: unknown) => isVigilError(error),
    );
    const ok = new ByteReader(Buffer.from('0001aa00', 'hex'), { ...options, littleEndian: false });
    assert.deepEqual(ok.sized('field', 2), Buffer.from('aa', 'hex'));
    assert.throws(
      () => ok.expectEnd(),
      (error: unknown) => isVigilError(error),
    );
  });

  it('returns copies that do not alias the input', () => {
    const input = Buffer.from([1, 2]);
    const copy = new ByteReader(input, { ...options, littleEndian: false }).bytes(2, 'x');
    input[0] = 9;
    assert.equal(copy[0], 1);
  });
});
