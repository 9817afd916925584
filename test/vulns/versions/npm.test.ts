import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { npmScheme } from '../../../src/vulns/versions/npm.ts';
import { assertOrderedPairsWhereValid, readOrderedPairs } from './version-data.ts';

test('orders the osv-scalibr semver pairs node-semver accepts and refuses the rest', (t) => {
  const { compared, refused } = assertOrderedPairsWhereValid(
    npmScheme,
    'semver-versions.txt',
    readOrderedPairs('semver-versions.txt'),
  );
  t.diagnostic(
    `semver-versions.txt as npm: ${compared} pairs compared, ${refused} refused (past 2^53, one-part, five-part)`,
  );
  assert.deepEqual({ compared, refused }, { compared: 83, refused: 3 });
});

test('follows node-semver: a leading v, pre-release order, build ignored', () => {
  assert.equal(npmScheme.compare('v1.2.3', '1.2.3'), 0);
  assert.equal(npmScheme.compare('1.2.3-beta.2', '1.2.3-beta.11'), -1);
  assert.equal(npmScheme.compare('1.2.3+build.1', '1.2.3'), 0);
});

test('turns node-semver refusals into the typed error', () => {
  for (const bad of ['1.2', '=1.2.3', '1.2.3.4', '9007199254740992.0.0', `1.0.0-${'a'.repeat(260)}`, '']) {
    assert.throws(
      () => npmScheme.compare(bad, '1.0.0'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});
