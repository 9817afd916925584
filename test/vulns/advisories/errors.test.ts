import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advisoryError, invalidAdvisory, quoteText } from '../../../src/vulns/advisories/errors.ts';

test('each code has its kind, which the API edge maps to a status', () => {
  assert.equal(advisoryError('VULNS_ADVISORY_MALFORMED', 'x').kind, 'invalid');
  assert.equal(advisoryError('VULNS_ADVISORY_TOO_LARGE', 'x').kind, 'too_large');
  assert.equal(advisoryError('VULNS_FORMAT_UNKNOWN', 'x').kind, 'unsupported_media');
  assert.equal(advisoryError('VULNS_ADVISORY_PARSER_FAILED', 'x').kind, 'internal');
  const invalid = invalidAdvisory('/affected/0', 'must be an object');
  assert.equal(invalid.code, 'VULNS_ADVISORY_INVALID');
  assert.equal(invalid.message, '/affected/0: must be an object');
  assert.equal(invalid.facts?.path, '/affected/0');
});

test('quoted input is escaped and cut short', () => {
  assert.equal(quoteText('a"b'), '"a\\"b"');
  assert.equal(quoteText('x'.repeat(100)), `"${'x'.repeat(80)}…"`);
});
