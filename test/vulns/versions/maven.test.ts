import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { mavenScheme, parseMavenVersion } from '../../../src/vulns/versions/maven.ts';
import { assertOrderedPairs, assertVersSpecComparisons, readOrderedPairs } from './version-data.ts';

test('orders every pair of osv-scalibr maven-versions.txt, both ways', (t) => {
  const checked = assertOrderedPairs(
    mavenScheme,
    'maven-versions.txt',
    readOrderedPairs('maven-versions.txt'),
  );
  t.diagnostic(`maven-versions.txt: ${checked} pairs`);
  assert.equal(checked, 102);
});

test('passes every vers-spec maven_version_cmp_test.json case', (t) => {
  const checked = assertVersSpecComparisons(mavenScheme, 'maven_version_cmp_test.json');
  t.diagnostic(`maven_version_cmp_test.json: ${checked} cases`);
  assert.equal(checked, 977);
});

test('orders qualifiers alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp', () => {
  const ordered = [
    '1-alpha',
    '1-beta',
    '1-milestone',
    '1-rc',
    '1-snapshot',
    '1',
    '1-sp',
    '1-abc',
    '1-1',
    '1.1',
  ];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      mavenScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
  for (const same of ['1-ga', '1.final', '1-RELEASE', '1.0.0', '1-0'])
    assert.equal(mavenScheme.compare(same, '1'), 0, same);
  assert.equal(mavenScheme.compare('1-cr', '1-rc'), 0);
  assert.equal(mavenScheme.compare('1a1', '1-alpha-1'), 0);
});

test('collapses a sub-list emptied by trimming, as the POM Version Order Specification trims at each hyphen', () => {
  // ComparableVersion 3.8 keeps a nesting level here and orders 1-ga-1 below 1-1; OSV's data and the
  // POM reference ("repeated at each remaining hyphen") make them equal.
  assert.equal(mavenScheme.compare('1-ga-1', '1-1'), 0);
  assert.deepEqual(parseMavenVersion('1-ga-1'), parseMavenVersion('1-1'));
});

test('qualifiers named like Object.prototype members are ordinary unknown qualifiers', () => {
  assert.equal(mavenScheme.compare('1-constructor', '1-toString'), -1);
  assert.equal(mavenScheme.compare('1-__proto__', '1-sp'), 1);
  assert.equal(mavenScheme.compare('1-constructor', '1-constructor'), 0);
});

test('compares numbers of any length by value', () => {
  assert.equal(mavenScheme.compare('1.12345678901234567890', '1.12345678901234567891'), -1);
  assert.equal(mavenScheme.compare('1.0012345678901', '1.12345678901'), 0);
});

test('refuses non-ASCII, whitespace and empty versions with the typed error', () => {
  for (const bad of ['', '1.0 ', '1.0-ß', `1${'.1'.repeat(200)}`]) {
    assert.throws(
      () => mavenScheme.compare(bad, '1'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});

test('deeply nested versions stay within bounds', () => {
  const deep = `1${'-a1'.repeat(85)}`;
  assert.equal(mavenScheme.compare(deep, deep), 0);
});

test('stays transitive over every version of maven-versions.txt', () => {
  const versions = [...new Set(readOrderedPairs('maven-versions.txt').flatMap(({ a, b }) => [a, b]))];
  for (const a of versions) {
    for (const b of versions) {
      if (mavenScheme.compare(a, b) > 0) continue;
      for (const c of versions) {
        if (mavenScheme.compare(b, c) <= 0)
          assert.notEqual(mavenScheme.compare(a, c), 1, `${a} ≤ ${b} ≤ ${c}`);
      }
    }
  }
});
