import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { cargoScheme } from '../../../src/vulns/versions/cargo.ts';
import { assertOrderedPairsWhereValid, readOrderedPairs, readOsvRangeEvents } from './version-data.ts';

test('orders the osv-scalibr semver pairs strict SemVer accepts and refuses the rest', (t) => {
  const { compared, refused } = assertOrderedPairsWhereValid(
    cargoScheme,
    'semver-versions.txt',
    readOrderedPairs('semver-versions.txt'),
  );
  t.diagnostic(
    `semver-versions.txt as crates.io: ${compared} pairs compared, ${refused} refused (leading v, short or long cores)`,
  );
  assert.deepEqual({ compared, refused }, { compared: 55, refused: 31 });
});

test('refuses what the semver crate refuses, with the typed error', () => {
  for (const bad of ['v1.0.0', '1.0', '1.0.0.0', '01.0.0', '1.0.0-01', '1.0.0-', '1.0.0+']) {
    assert.throws(
      () => cargoScheme.compare(bad, '1.0.0'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});

test('orders pre-releases and ignores build metadata', () => {
  assert.equal(cargoScheme.compare('0.102.0-alpha.0', '0.102.0'), -1);
  assert.equal(cargoScheme.compare('1.0.0-alpha.10', '1.0.0-alpha.9'), 1);
  assert.equal(cargoScheme.compare('1.0.0+a', '1.0.0+b'), 0);
});

test('parses every RustSec range; no fix lies below its introduction (real data)', (t) => {
  let versions = 0;
  let pairs = 0;
  const empty: string[] = [];
  for (const { id, events } of readOsvRangeEvents('rustsec.jsonl.gz')) {
    for (const [kind, version] of events) {
      if (kind === 'introduced' && version === '0') continue;
      versions++;
      assert.ok(cargoScheme.isValid(version), `${id}: ${version}`);
    }
    for (let index = 1; index < events.length; index++) {
      const [previousKind, introduced] = events[index - 1] as [string, string];
      const [kind, fixed] = events[index] as [string, string];
      if (previousKind !== 'introduced' || kind !== 'fixed' || introduced === '0') continue;
      pairs++;
      const order = cargoScheme.compare(introduced, fixed);
      assert.notEqual(order, 1, `${id}: ${introduced} > ${fixed}`);
      if (order === 0) empty.push(id);
    }
  }
  t.diagnostic(
    `rustsec: ${versions} event versions, ${pairs} introduced/fixed pairs (${empty.length} empty ranges)`,
  );
  assert.deepEqual(empty.sort(), [
    'RUSTSEC-2022-0012',
    'RUSTSEC-2023-0039',
    'RUSTSEC-2024-0399',
    'RUSTSEC-2026-0149',
  ]);
});
