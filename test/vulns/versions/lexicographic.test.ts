import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { lexicographicScheme } from '../../../src/vulns/versions/lexicographic.ts';
import { assertVersSpecComparisons } from './version-data.ts';

test('passes every vers-spec lexicographic-test.json case (UTF-8 byte order, no normalisation)', (t) => {
  const checked = assertVersSpecComparisons(lexicographicScheme, 'lexicographic-test.json');
  t.diagnostic(`lexicographic-test.json: ${checked} cases`);
  assert.equal(checked, 8);
});

test('orders astral characters by UTF-8, not by UTF-16 code unit', () => {
  // U+FF5E is one UTF-16 unit above the surrogates of U+1F600, but its UTF-8 bytes sort first.
  assert.equal(lexicographicScheme.compare('\uff5e', '😀'), -1);
});

test('refuses lone surrogates and control characters with the typed error', () => {
  for (const bad of ['\ud83d', 'a\u0007', '']) {
    assert.throws(
      () => lexicographicScheme.compare(bad, 'a'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
    );
  }
});
