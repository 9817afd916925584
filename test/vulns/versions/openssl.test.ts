import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { opensslScheme, parseOpenSslVersion } from '../../../src/vulns/versions/openssl.ts';
import { assertVersSpecComparisons } from './version-data.ts';

test('passes every vers-spec openssl_version_cmp_test.json case', (t) => {
  const checked = assertVersSpecComparisons(opensslScheme, 'openssl_version_cmp_test.json');
  t.diagnostic(`openssl_version_cmp_test.json: ${checked} cases`);
  assert.equal(checked, 44);
});

test('letter releases follow their base release and pre-releases precede it', () => {
  const ordered = [
    '0.9.8',
    '0.9.8a',
    '0.9.8z',
    '0.9.8za',
    '0.9.8zh',
    '1.0.0-beta1',
    '1.0.0-beta5',
    '1.0.0',
    '1.1.1',
    '1.1.1k',
    '3.0.0-alpha1',
    '3.0.0-alpha17',
    '3.0.0-beta1',
    '3.0.0',
    '3.0.1',
    '3.0.10',
  ];
  for (let index = 1; index < ordered.length; index++) {
    assert.equal(
      opensslScheme.compare(ordered[index - 1] as string, ordered[index] as string),
      -1,
      ordered[index],
    );
  }
  assert.deepEqual(parseOpenSslVersion('1.1.1k'), {
    numbers: ['1', '1', '1'],
    letters: 'k',
    prerelease: undefined,
  });
});

test('refuses malformed versions with the typed error', () => {
  for (const bad of ['', 'v1.1.1', '1.1.1K', '1.1.1-fips', '1..1', '1.1.1-', '1.1.1k-alpha1x', '1.2.3.4.5']) {
    assert.throws(
      () => opensslScheme.compare(bad, '1.0.0'),
      (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
      bad,
    );
  }
});
