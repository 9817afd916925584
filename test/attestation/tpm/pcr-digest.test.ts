import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { computePcrDigest, type PcrSelection } from '../../../src/attestation/tpm/index.ts';

const value = (byte: number) => Buffer.alloc(32, byte);
const sha256Bank = new Map([
  [0, value(0)],
  [7, value(7)],
  [14, value(14)],
]);

describe('computePcrDigest', () => {
  it('hashes the selected PCR values concatenated in ascending PCR order', () => {
    const selection: PcrSelection[] = [
      { hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: [0, 7, 14] },
    ];
    const expected = createHash('sha256')
      .update(Buffer.concat([value(0), value(7), value(14)]))
      .digest();
    assert.deepEqual(computePcrDigest(selection, { sha256: sha256Bank }), expected);
  });

  it('takes banks in selection order and hashes with the requested algorithm', () => {
    const sha1Bank = new Map([[1, Buffer.alloc(20, 1)]]);
    const selection: PcrSelection[] = [
      { hashAlgorithmId: 0x0004, hashAlgorithm: 'sha1', pcrs: [1] },
      { hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: [7] },
    ];
    const expected = createHash('sha384')
      .update(Buffer.concat([Buffer.alloc(20, 1), value(7)]))
      .digest();
    assert.deepEqual(computePcrDigest(selection, { sha1: sha1Bank, sha256: sha256Bank }, 'sha384'), expected);
  });

  it('refuses to compute when a selected PCR has no value (fail closed)', () => {
    const selection: PcrSelection[] = [{ hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: [0, 8] }];
    assert.throws(
      () => computePcrDigest(selection, { sha256: sha256Bank }),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_PCR_VALUE_MISSING'),
    );
  });

  it('refuses a PCR value of the wrong length for its bank', () => {
    const selection: PcrSelection[] = [{ hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: [0] }];
    assert.throws(
      () => computePcrDigest(selection, { sha256: new Map([[0, Buffer.alloc(20)]]) }),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_PCR_VALUE_MISSING'),
    );
  });

  it('refuses a bank whose algorithm it cannot compute (SM3)', () => {
    const selection: PcrSelection[] = [{ hashAlgorithmId: 0x0012, hashAlgorithm: undefined, pcrs: [0] }];
    assert.throws(
      () => computePcrDigest(selection, {}),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_HASH_UNSUPPORTED'),
    );
  });
});
