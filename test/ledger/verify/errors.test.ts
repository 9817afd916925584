import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../../../src/core/index.ts';
import { ledgerError } from '../../../src/ledger/verify/errors.ts';

test('ledgerError builds a VigilError of kind invalid by default, with facts', () => {
  const error = ledgerError('LEDGER_PROOF_INVALID', 'bad proof', { facts: { index: 3 } });
  assert.ok(error instanceof VigilError);
  assert.equal(error.code, 'LEDGER_PROOF_INVALID');
  assert.equal(error.kind, 'invalid');
  assert.equal(error.message, 'bad proof');
  assert.deepEqual(error.facts, { index: 3 });
});

test('ledgerError keeps an explicit kind and the cause', () => {
  const cause = new Error('underlying');
  const error = ledgerError('LEDGER_HASH_INVALID', 'corrupt node', { kind: 'internal', cause });
  assert.equal(error.kind, 'internal');
  assert.equal(error.cause, cause);
});
