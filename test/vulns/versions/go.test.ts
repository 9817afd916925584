import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { goScheme } from '../../../src/vulns/versions/go.ts';
import { assertOrderedPairsWhereValid, readOrderedPairs, readOsvRangeEvents } from './version-data.ts';

const invalid = (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID');

test('orders the osv-scalibr semver pairs Go accepts and refuses the rest', (t) => {
  const { compared, refused } = assertOrderedPairsWhereValid(
    goScheme,
    'semver-versions.txt',
    readOrderedPairs('semver-versions.txt'),
  );
  t.diagnostic(`semver-versions.txt as Go: ${compared} pairs compared, ${refused} refused (1.1.3.4.5)`);
  assert.deepEqual({ compared, refused }, { compared: 85, refused: 1 });
});

test('+incompatible is build metadata and does not change the order', () => {
  assert.equal(goScheme.compare('v2.0.0+incompatible', 'v2.0.0'), 0);
  assert.equal(goScheme.compare('v2.0.1+incompatible', 'v2.0.0+incompatible'), 1);
  assert.equal(goScheme.compare('2.2.5-rc6.0.20190621200032-0ddffe484adc+incompatible', '2.2.5-rc6'), 1);
});

test('pseudo-versions sort as SemVer pre-releases', () => {
  const ordered = [
    'v0.0.0-20191109021931-daa7c04131f5',
    'v0.0.0-20200101000000-aaaaaaaaaaaa',
    'v0.1.0',
    'v1.2.3',
    'v1.2.4-0.20191109021931-daa7c04131f5', // pseudo-version after v1.2.3
    'v1.2.4-pre',
    'v1.2.4-pre.0.20191109021931-daa7c04131f5', // pseudo-version after v1.2.4-pre
    'v1.2.4',
  ];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      goScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
});

test('accepts golang.org/x/mod/semver shorthands and the OSV spelling without "v"', () => {
  assert.equal(goScheme.compare('v1', 'v1.0.0'), 0);
  assert.equal(goScheme.compare('v1.2', '1.2.0'), 0);
  for (const bad of ['v1-pre', 'v1.2+meta', 'v01.2.3', 'v1.2.3-01', 'v1.2.3.4', 'V1.2.3', 'v1.2.3-']) {
    assert.throws(() => goScheme.compare(bad, 'v1.0.0'), invalid, bad);
  }
});

test('parses every Go vulnerability database range and finds each fix above its introduction (real data)', (t) => {
  let versions = 0;
  let pairs = 0;
  for (const { id, events } of readOsvRangeEvents('golang-vulndb.jsonl.gz')) {
    for (const [kind, version] of events) {
      if (kind === 'introduced' && version === '0') continue;
      versions++;
      assert.ok(goScheme.isValid(version), `${id}: ${version}`);
    }
    for (let index = 1; index < events.length; index++) {
      const [previousKind, introduced] = events[index - 1] as [string, string];
      const [kind, fixed] = events[index] as [string, string];
      if (previousKind !== 'introduced' || kind !== 'fixed' || introduced === '0') continue;
      pairs++;
      assert.equal(goScheme.compare(introduced, fixed), -1, `${id}: ${introduced} < ${fixed}`);
    }
  }
  t.diagnostic(`golang-vulndb: ${versions} event versions, ${pairs} introduced/fixed pairs`);
  assert.ok(versions > 7000 && pairs > 2000);
});
