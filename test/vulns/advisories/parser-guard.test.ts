import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../../../src/core/index.ts';
import { guardParser } from '../../../src/vulns/advisories/parser-guard.ts';
import { assertVigilError } from './fixtures.ts';

test('typed refusals pass through; anything else becomes VULNS_ADVISORY_PARSER_FAILED (kind internal)', () => {
  const refusal = new VigilError('VULNS_ADVISORY_INVALID', 'invalid', 'bad');
  assert.throws(
    () =>
      guardParser(() => {
        throw refusal;
      }),
    (error) => error === refusal,
  );
  const error = assertVigilError(
    () =>
      guardParser(() => {
        throw new TypeError('bug');
      }),
    'VULNS_ADVISORY_PARSER_FAILED',
  );
  assert.equal(error.kind, 'internal');
  assert.ok(error.cause instanceof TypeError);
  assert.equal(
    guardParser(() => 42),
    42,
  );
});
