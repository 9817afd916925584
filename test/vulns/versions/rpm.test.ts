import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { compareRpmVersionParts, parseRpmVersion, rpmScheme } from '../../../src/vulns/versions/rpm.ts';
import { assertOrderedPairs, readOrderedPairs } from './version-data.ts';

test('orders every pair of osv-scalibr redhat-versions.txt, both ways', (t) => {
  const checked = assertOrderedPairs(
    rpmScheme,
    'redhat-versions.txt',
    readOrderedPairs('redhat-versions.txt'),
  );
  t.diagnostic(`redhat-versions.txt: ${checked} pairs`);
  assert.equal(checked, 165);
});

test('"~" sorts before the end and "^" after it but before anything else (rpm ≥ 4.15)', () => {
  const ordered = ['1.0~rc1', '1.0', '1.0^', '1.0^git1', '1.0^git2', '1.0.1'];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      rpmScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
  assert.equal(compareRpmVersionParts('1.0^git1~pre', '1.0^git1'), -1);
});

test('splits epoch:version-release as rpmverParse does', () => {
  assert.deepEqual(parseRpmVersion('2:1.0-3.el9'), { epoch: '2', version: '1.0', release: '3.el9' });
  assert.deepEqual(parseRpmVersion('1.0-a-b'), { epoch: '0', version: '1.0-a', release: 'b' });
  assert.deepEqual(parseRpmVersion('a:1'), { epoch: '0', version: 'a:1', release: undefined });
  assert.equal(rpmScheme.compare('1:1.0', '2.0'), 1);
  assert.equal(rpmScheme.compare('1.0', '1.0-1'), -1); // no release sorts before any release
});

test('numbers beat letters and are compared by value at any length', () => {
  assert.equal(compareRpmVersionParts('1.0a', '1.0.1'), -1);
  assert.equal(compareRpmVersionParts('10.0001', '10.1'), 0);
  assert.equal(compareRpmVersionParts('1.99999999999999999999', '1.99999999999999999998'), 1);
});

test('refuses only what no package could carry, with the typed error', () => {
  for (const bad of ['', '1.0 1', '1.0\u0000', 'x'.repeat(300)]) {
    assert.throws(
      () => rpmScheme.compare(bad, '1'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      JSON.stringify(bad.slice(0, 10)),
    );
  }
  assert.equal(rpmScheme.isValid('+'), true);
});
