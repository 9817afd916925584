import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../../../src/core/index.ts';
import { quoteInput, versionError } from '../../../src/vulns/versions/errors.ts';

test('versionError is a VigilError of kind invalid with its facts', () => {
  const error = versionError('VULNS_VERS_INVALID', 'bad', { vers: 'x' });
  assert.ok(error instanceof VigilError);
  assert.equal(error.code, 'VULNS_VERS_INVALID');
  assert.equal(error.kind, 'invalid');
  assert.deepEqual(error.facts, { vers: 'x' });
});

test('quoteInput escapes and cuts attacker-controlled text', () => {
  assert.equal(quoteInput('a"\n'), '"a\\"\\n"');
  const quoted = quoteInput('x'.repeat(10_000));
  assert.ok(quoted.length < 100);
  assert.ok(quoted.endsWith('…"'));
});
