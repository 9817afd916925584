import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import { tpmError } from '../../../src/attestation/tpm/errors.ts';

describe('tpmError', () => {
  it("makes a VigilError of kind 'invalid' with the code and facts", () => {
    const error = tpmError('ATTESTATION_TPM_EVENT_LOG_EMPTY', 'empty', { offset: 0 });
    assert.ok(isVigilError(error, 'ATTESTATION_TPM_EVENT_LOG_EMPTY'));
    assert.equal(error.kind, 'invalid');
    assert.deepEqual(error.facts, { offset: 0 });
  });
});
