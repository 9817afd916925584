import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { alpineScheme, isWellFormedAlpineVersion } from '../../../src/vulns/versions/alpine.ts';
import {
  assertOrderedPairs,
  assertVersSpecComparisons,
  readOrderedPairs,
  type OrderedPair,
} from './version-data.ts';

/**
 * Eight lines of alpine-versions.txt (osv-scalibr @ c2094f2d) about malformed versions expect the
 * opposite of what apk-tools 2.x answers. A later revision of the same file (osv-scalibr @ 3743bb27,
 * semantic/testdata/alpine-versions.txt) flips exactly these eight to apk-tools' answers, written here.
 * They are still checked, against the corrected expectation.
 */
const correctedUpstream: ReadonlyMap<string, -1 | 0 | 1> = new Map([
  ['1-r-0 1-r0', 1],
  ['1-r-1 1-r0', 1],
  ['0.r1 0r2', 1],
  ['0.8.21.r2 0.8.21r2', 1],
  ['1.2.0A 1.2.0d', 1],
  ['1.2.0D 1.2.0d', 1],
  ['1 1-ruff', -1],
  ['1-ruff2 1--ruff1', -1],
]);

test('orders every pair of osv-scalibr alpine-versions.txt, both ways (eight as corrected upstream)', (t) => {
  const pairs = readOrderedPairs('alpine-versions.txt');
  const corrected: OrderedPair[] = [];
  const asWritten: OrderedPair[] = [];
  for (const pair of pairs) {
    const correction = correctedUpstream.get(`${pair.a} ${pair.b}`);
    if (correction === undefined) asWritten.push(pair);
    else corrected.push({ ...pair, expected: correction });
  }
  assert.equal(corrected.length, correctedUpstream.size);
  const checked =
    assertOrderedPairs(alpineScheme, 'alpine-versions.txt', asWritten) +
    assertOrderedPairs(alpineScheme, 'alpine-versions.txt (corrected)', corrected);
  t.diagnostic(
    `alpine-versions.txt: ${checked} pairs (${asWritten.length} as written, ${corrected.length} as corrected)`,
  );
  assert.equal(checked, 778);
});

test('orders every pair of osv-scalibr alpine-versions-generated.txt (generated from real Alpine versions)', (t) => {
  const file = 'alpine-versions-generated.txt';
  const checked = assertOrderedPairs(alpineScheme, file, readOrderedPairs(file));
  t.diagnostic(`${file}: ${checked} pairs`);
  assert.equal(checked, 13979);
});

test('passes every vers-spec alpine_version_cmp_test.json case', (t) => {
  const checked = assertVersSpecComparisons(alpineScheme, 'alpine_version_cmp_test.json');
  t.diagnostic(`alpine_version_cmp_test.json: ${checked} cases`);
  assert.equal(checked, 716);
});

test('orders suffixes _alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg < _p', () => {
  const ordered = [
    '1.2_alpha',
    '1.2_beta',
    '1.2_pre',
    '1.2_rc',
    '1.2',
    '1.2_cvs',
    '1.2_svn',
    '1.2_git',
    '1.2_hg',
    '1.2_p',
  ];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      alpineScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
});

test('orders revisions, letters after digits and leading zeros', () => {
  assert.equal(alpineScheme.compare('1.2.3-r9', '1.2.3-r10'), -1);
  assert.equal(alpineScheme.compare('1.2.3', '1.2.3-r0'), -1); // an explicit revision is newer than none
  assert.equal(alpineScheme.compare('1.2.3a', '1.2.3'), 1);
  assert.equal(alpineScheme.compare('1.2.3a', '1.2.3b'), -1);
  assert.equal(alpineScheme.compare('6.6.2p1', '6.6.2p2'), -1);
  assert.equal(alpineScheme.compare('1.05', '1.5'), -1);
  assert.equal(alpineScheme.compare('1.2.3_p1-r0', '1.2.3_p10-r0'), -1);
  assert.equal(alpineScheme.compare('2.1.9.200602141850', '2.1.9.200602141849'), 1); // past C int
});

test('tells well-formed apk versions from ones it merely orders', () => {
  for (const good of ['1.2.3', '1.2.3a_rc1_p2-r4', '0.1.0_alpha', '20050718-r1'])
    assert.equal(isWellFormedAlpineVersion(good), true, good);
  for (const bad of ['1.0bc', '1_blah', '1-r0-1', '1.2.0A', '1.0-'])
    assert.equal(isWellFormedAlpineVersion(bad), false, bad);
  assert.equal(alpineScheme.isValid('1.0bc'), true); // apk version -t still orders it
});

test('refuses empty, non-ASCII and whitespace versions with the typed error', () => {
  for (const bad of ['', '1.0 ', '1.α', '1\n']) {
    assert.throws(
      () => alpineScheme.compare(bad, '1'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      JSON.stringify(bad),
    );
  }
});

test('stays transitive over the malformed and odd versions of alpine-versions.txt', () => {
  const versions = [
    ...new Set(
      readOrderedPairs('alpine-versions.txt')
        .filter(({ lineNumber }) => lineNumber < 80)
        .flatMap(({ a, b }) => [a, b]),
    ),
  ];
  for (const a of versions) {
    for (const b of versions) {
      if (alpineScheme.compare(a, b) > 0) continue;
      for (const c of versions) {
        if (alpineScheme.compare(b, c) <= 0)
          assert.notEqual(alpineScheme.compare(a, c), 1, `${a} ≤ ${b} ≤ ${c}`);
      }
    }
  }
});
