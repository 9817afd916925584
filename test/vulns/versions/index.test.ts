import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as versions from '../../../src/vulns/versions/index.ts';

test('the public face exports the registry, the vers functions and the scheme helpers, nothing else', () => {
  assert.deepEqual(Object.keys(versions).sort(), [
    'findVersionScheme',
    'formatVers',
    'isWellFormedAlpineVersion',
    'maxVersLength',
    'maxVersionLength',
    'normalizePythonVersion',
    'normalizeVers',
    'parseVers',
    'versContains',
    'versionSchemeFor',
    'versionSchemeForVersType',
    'versionSchemes',
  ]);
});

test('an OSV ecosystem and a vers range meet through the public face', () => {
  const scheme = versions.versionSchemeFor('Debian:12');
  assert.equal(scheme.compare('2.36-9+deb12u3', '2.36-9+deb12u10'), -1);
  const range = versions.parseVers('vers:deb/>=2.36-9|<2.36-9+deb12u10');
  assert.equal(versions.versContains(range, '2.36-9+deb12u3'), true);
  assert.equal(versions.versContains(range, '2.36-9+deb12u10'), false);
});
