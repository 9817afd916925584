import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { genericScheme, parseGenericVersion } from '../../../src/vulns/versions/generic.ts';

test('splits into digit and letter runs; separators carry no meaning', () => {
  assert.deepEqual(parseGenericVersion('1.10-RC2'), [
    { kind: 'number', digits: '1' },
    { kind: 'number', digits: '10' },
    { kind: 'word', letters: 'rc' },
    { kind: 'number', digits: '2' },
  ]);
  assert.equal(genericScheme.compare('1-0', '1_0'), 0);
});

test('numbers compare by value, words case-insensitively, numbers above words', () => {
  assert.equal(genericScheme.compare('1.9', '1.10'), -1);
  assert.equal(genericScheme.compare('1.0A', '1.0a'), 0);
  assert.equal(genericScheme.compare('1.a', '1.1'), -1);
  assert.equal(genericScheme.compare('2020.1', '99999999999999999999'), -1);
});

test('missing runs count as 0, and a trailing word marks a pre-release', () => {
  assert.equal(genericScheme.compare('1.0', '1.0.0'), 0);
  assert.equal(genericScheme.compare('1.0', '1.0.1'), -1);
  assert.equal(genericScheme.compare('1.0rc1', '1.0'), -1);
  assert.equal(genericScheme.compare('1.0', '1.0.0.rc1'), 1);
});

test('refuses versions without digits or letters, and non-ASCII, with the typed error', () => {
  for (const bad of ['', '...', '1.0 ', 'é']) {
    assert.throws(
      () => genericScheme.compare(bad, '1'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});
