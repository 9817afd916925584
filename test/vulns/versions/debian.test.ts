import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { debianScheme, parseDebianVersion } from '../../../src/vulns/versions/debian.ts';
import { assertOrderedPairs, readOrderedPairs } from './version-data.ts';

test('orders every pair of osv-scalibr debian-versions.txt, both ways', (t) => {
  const checked = assertOrderedPairs(
    debianScheme,
    'debian-versions.txt',
    readOrderedPairs('debian-versions.txt'),
  );
  t.diagnostic(`debian-versions.txt: ${checked} pairs`);
  assert.equal(checked, 30);
});

test('orders every pair of osv-scalibr debian-versions-generated.txt (generated from real Debian versions)', (t) => {
  const file = 'debian-versions-generated.txt';
  const checked = assertOrderedPairs(debianScheme, file, readOrderedPairs(file));
  t.diagnostic(`${file}: ${checked} pairs`);
  assert.equal(checked, 14442);
});

test('"~" sorts before everything, even the end of the version (Debian Policy §5.6.12)', () => {
  const ordered = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0+', '1.0.1'];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      debianScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
  assert.equal(debianScheme.compare('1.2.3-1~deb7u1', '1.2.3-1'), -1);
});

test('epochs dominate, a missing epoch is 0 and a missing revision equals "0"', () => {
  assert.equal(debianScheme.compare('1:0.1', '9.9'), 1);
  assert.equal(debianScheme.compare('0:1.0', '1.0'), 0);
  assert.equal(debianScheme.compare('1.0', '1.0-0'), 0);
  assert.deepEqual(parseDebianVersion('2:1.2-3-4'), { epoch: '2', upstream: '1.2-3', revision: '4' });
});

test('refuses versions Debian Policy §5.6.12 forbids, with the typed error', () => {
  for (const bad of [
    '1.2.3-not-a-debian:version!@#$',
    'a1.0',
    ':1.0',
    'x:1.0',
    '1:',
    '1.0-',
    '-1',
    '1.0-1_2',
    '99999999999:1.0',
    '1.0 ',
  ]) {
    assert.throws(
      () => debianScheme.compare(bad, '1.0'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});
