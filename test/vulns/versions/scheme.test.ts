import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import {
  checkVersionText,
  defineVersionScheme,
  maxVersionLength,
} from '../../../src/vulns/versions/scheme.ts';

const invalid = (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID');

test('checkVersionText refuses empty, over-long, whitespace, control and non-string input', () => {
  for (const bad of ['', 'x'.repeat(maxVersionLength + 1), '1.0 ', '1\t0', '1\u00000', '1\u007f', 42, null]) {
    assert.throws(() => checkVersionText('generic', bad), invalid, JSON.stringify(bad));
  }
  checkVersionText('generic', 'x'.repeat(maxVersionLength));
});

test('checkVersionText allows non-ASCII only when asked, and only well-formed UTF-16', () => {
  assert.throws(() => checkVersionText('generic', '1.α'), invalid);
  checkVersionText('rpm', '1.α😀', { allowNonAscii: true });
  assert.throws(() => checkVersionText('rpm', '1.\ud800', { allowNonAscii: true }), invalid);
  assert.throws(() => checkVersionText('rpm', '1.\udc00x', { allowNonAscii: true }), invalid);
  assert.throws(() => checkVersionText('rpm', '1.\u0085', { allowNonAscii: true }), invalid); // C1 control
});

test('defineVersionScheme signs the order and reports validity without swallowing bugs', () => {
  const scheme = defineVersionScheme(
    'generic',
    (version) => {
      checkVersionText('generic', version);
      if (version === 'bug') throw new TypeError('a bug, not bad input');
      return Number(version);
    },
    (a, b) => (a - b) * 1000,
  );
  assert.equal(scheme.compare('1', '5'), -1);
  assert.equal(scheme.compare('5', '1'), 1);
  assert.equal(scheme.isValid('1'), true);
  assert.equal(scheme.isValid(''), false);
  assert.throws(() => scheme.isValid('bug'), TypeError);
  assert.ok(Object.isFrozen(scheme));
});
