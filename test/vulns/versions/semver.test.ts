import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  osvSemanticVersionSyntax,
  parseSemanticVersion,
  semverScheme,
  strictSemanticVersionSyntax,
} from '../../../src/vulns/versions/semver.ts';
import { assertOrderedPairs, readOrderedPairs, readOsvRangeEvents } from './version-data.ts';

const invalid = (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID');

test('orders every pair of osv-scalibr semver-versions.txt, both ways', (t) => {
  const checked = assertOrderedPairs(
    semverScheme,
    'semver-versions.txt',
    readOrderedPairs('semver-versions.txt'),
  );
  t.diagnostic(`semver-versions.txt: ${checked} pairs`);
  assert.equal(checked, 86);
});

test('follows SemVer 2.0.0 §11 precedence for the spec example chain', () => {
  const chain = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '2.0.0',
    '2.1.0',
    '2.1.1',
  ];
  for (let index = 1; index < chain.length; index++) {
    assert.equal(semverScheme.compare(chain[index - 1] as string, chain[index] as string), -1, chain[index]);
  }
});

test('ignores build metadata (SemVer 2.0.0 §10)', () => {
  assert.equal(semverScheme.compare('1.0.0+20130313144700', '1.0.0+exp.sha.5114f85'), 0);
  assert.equal(semverScheme.compare('1.0.0-beta+exp', '1.0.0-beta'), 0);
});

test('reads OSV leniencies: a leading v, short and long cores, huge numbers', () => {
  assert.equal(semverScheme.compare('v1.2.3', '1.2.3'), 0);
  assert.equal(semverScheme.compare('1', '1.0.0'), 0);
  assert.equal(semverScheme.compare('1.2', '1.2.0'), 0);
  assert.equal(semverScheme.compare('1.1.3.4.5', '1.1.3'), 0);
  assert.deepEqual(parseSemanticVersion('semver', '1.1.3.4.5', osvSemanticVersionSyntax).build, ['4', '5']);
  assert.equal(semverScheme.compare('18446744073709551617.0.0', '18446744073709551616.0.0'), 1);
});

test('strict syntax refuses what SemVer 2.0.0 §2 and §9 forbid', () => {
  for (const bad of ['v1.2.3', '1.2', '01.2.3', '1.2.3-01', '1.2.3.4']) {
    assert.throws(() => parseSemanticVersion('cargo', bad, strictSemanticVersionSyntax), invalid, bad);
  }
  assert.deepEqual(parseSemanticVersion('cargo', '1.2.3-0.a-b+001', strictSemanticVersionSyntax), {
    major: '1',
    minor: '2',
    patch: '3',
    prerelease: ['0', 'a-b'],
    build: ['001'],
  });
});

test('refuses malformed versions with the typed error', () => {
  for (const bad of [
    '',
    'v',
    'x1.2.3',
    '1..2',
    '1.2.3-',
    '1.2.3-a..b',
    '1.2.3+',
    '1.2.3-a_b',
    '1.2.3rc1',
    ' 1.2.3',
  ]) {
    assert.throws(() => semverScheme.compare(bad, '1.0.0'), invalid, JSON.stringify(bad));
    assert.equal(semverScheme.isValid(bad), false);
  }
});

test('parses the SEMVER ranges of the Bitnami OSV database (real data)', (t) => {
  let versions = 0;
  const refused: string[] = [];
  const outOfOrder: string[] = [];
  for (const { id, events } of readOsvRangeEvents('bitnami-vulndb.jsonl.gz')) {
    for (const [kind, version] of events) {
      if (kind === 'introduced' && version === '0') continue; // OSV's "from the beginning" sentinel
      versions++;
      if (!semverScheme.isValid(version)) refused.push(version);
    }
    for (let index = 1; index < events.length; index++) {
      const [previousKind, introduced] = events[index - 1] as [string, string];
      const [kind, fixed] = events[index] as [string, string];
      if (previousKind !== 'introduced' || kind !== 'fixed' || introduced === '0') continue;
      if (semverScheme.isValid(introduced) && semverScheme.compare(introduced, fixed) > 0) {
        outOfOrder.push(`${id} ${introduced} ${fixed}`);
      }
    }
  }
  t.diagnostic(`bitnami-vulndb: ${versions} event versions`);
  // A nightly build tag is not a version, and four records of the data set list a fix below its introduction.
  assert.deepEqual(refused, ['nightly.2026-03-10.0']);
  assert.deepEqual(outOfOrder.sort(), [
    'BIT-elasticsearch-2026-63136 9.4.0 9.3.4',
    'BIT-gitlab-2024-6685 17.3.0 17.2.5',
    'BIT-kibana-2025-25014 8.18.0 8.17.10',
    'BIT-redis-2025-21605 7.3.0 6.2.18',
  ]);
});
