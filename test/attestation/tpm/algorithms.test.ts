import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  algorithmIdName,
  digestSizeOf,
  hashAlgorithmOfId,
  requireHashAlgorithm,
} from '../../../src/attestation/tpm/algorithms.ts';

describe('TPM hash algorithms', () => {
  it('maps TPM_ALG_IDs to names and digest sizes (TCG Algorithm Registry)', () => {
    assert.equal(hashAlgorithmOfId(0x0004), 'sha1');
    assert.equal(hashAlgorithmOfId(0x000b), 'sha256');
    assert.equal(digestSizeOf('sha384'), 48);
    assert.equal(algorithmIdName(0x0012), '0x0012');
  });

  it('refuses an algorithm it cannot compute', () => {
    assert.throws(
      () => requireHashAlgorithm(0x0012, 'test'),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_HASH_UNSUPPORTED'),
    );
  });
});
