import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { normalizePythonVersion, parsePythonVersion, pypiScheme } from '../../../src/vulns/versions/pypi.ts';
import { assertOrderedPairs, readOrderedPairs } from './version-data.ts';

const invalid = (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID');

test('orders every pair of osv-scalibr pypi-versions.txt, both ways', (t) => {
  const checked = assertOrderedPairs(pypiScheme, 'pypi-versions.txt', readOrderedPairs('pypi-versions.txt'));
  t.diagnostic(`pypi-versions.txt: ${checked} pairs`);
  assert.equal(checked, 37);
});

test('orders the PEP 440 §Summary of permitted suffixes example', () => {
  const ordered = [
    '1.dev0',
    '1.0.dev456',
    '1.0a1',
    '1.0a2.dev456',
    '1.0a12.dev456',
    '1.0a12',
    '1.0b1.dev456',
    '1.0b2',
    '1.0b2.post345.dev456',
    '1.0b2.post345',
    '1.0rc1.dev456',
    '1.0rc1',
    '1.0',
    '1.0+abc.5',
    '1.0+abc.7',
    '1.0+5',
    '1.0.post456.dev34',
    '1.0.post456',
    '1.0.15',
    '1.1.dev1',
  ];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      pypiScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
});

test('normalises as PEP 440 §Normalization says', () => {
  const cases: [string, string][] = [
    ['1.0.0.post1', '1.0.0.post1'],
    ['1.0post1', '1.0.post1'],
    ['1.0-1', '1.0.post1'],
    ['1.0.post', '1.0.post0'],
    ['1.0-r4', '1.0.post4'],
    ['1.0rev', '1.0.post0'],
    ['1.1alpha1', '1.1a1'],
    ['1.1-BETA.2', '1.1b2'],
    ['1.1c3', '1.1rc3'],
    ['1.1-preview-4', '1.1rc4'],
    ['1.1.pre', '1.1rc0'],
    ['1.0.DEV', '1.0.dev0'],
    ['1.0-dev-2', '1.0.dev2'],
    ['v1.0', '1.0'],
    ['  1.0  ', '1.0'],
    ['0!1.0', '1.0'],
    ['007!01.002', '7!1.2'],
    ['1.0+ubuntu-1', '1.0+ubuntu.1'],
    ['1.0+Local_007', '1.0+local.7'],
    ['1.0a-', '1.0a0'],
    ['1.0a.post1', '1.0a0.post1'],
  ];
  for (const [input, normal] of cases) assert.equal(normalizePythonVersion(input), normal, input);
});

test('equal spellings compare equal: 1.0.0.post1 == 1.0post1, 1.0 == 1.0.0', () => {
  assert.equal(pypiScheme.compare('1.0.0.post1', '1.0post1'), 0);
  assert.equal(pypiScheme.compare('1.0', '1.0.0'), 0);
  assert.equal(pypiScheme.compare('1.0RC1', '1.0rc1'), 0);
  assert.equal(pypiScheme.compare('1!0.1', '2.0'), 1); // epochs first
});

test('orders legacy (non-PEP 440) versions below all PEP 440 versions, as pip once did', () => {
  assert.equal(parsePythonVersion('0.1-bulbasaur').kind, 'legacy');
  assert.equal(pypiScheme.compare('2004d', '0.0.1'), -1);
  assert.equal(pypiScheme.compare('0.1-bulbasaur', '0.1-charmander'), -1);
  assert.throws(() => normalizePythonVersion('0.1-bulbasaur'), invalid);
  assert.equal(pypiScheme.compare('constructor', '__proto__'), 1); // words, not Object.prototype members
});

test('refuses empty, over-long and non-ASCII input with the typed error', () => {
  for (const bad of ['', '   ', `1.${'0'.repeat(300)}`, '1.0\u0000', '1.α', '1.0 1']) {
    assert.throws(() => pypiScheme.compare(bad, '1.0'), invalid, JSON.stringify(bad));
  }
});

test('reads hostile input in linear time', () => {
  const hostile = [
    '1'.repeat(255) + 'x',
    `1${'.1'.repeat(127)}!`,
    `1a${'-'.repeat(250)}`,
    `1+${'a.'.repeat(126)}`,
  ];
  const started = process.hrtime.bigint();
  for (const version of hostile) pypiScheme.isValid(version);
  assert.ok(process.hrtime.bigint() - started < 200_000_000n);
});
