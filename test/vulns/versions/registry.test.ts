import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVigilError } from '../../../src/core/index.ts';
import { findVersionScheme, versionSchemeFor, versionSchemes } from '../../../src/vulns/versions/registry.ts';

test('maps OSV ecosystems to their schemes, ignoring case and release suffixes', () => {
  const expected: [string, string][] = [
    ['Go', 'go'],
    ['crates.io', 'cargo'],
    ['PyPI', 'pypi'],
    ['npm', 'npm'],
    ['Maven', 'maven'],
    ['Debian', 'debian'],
    ['Debian:12', 'debian'],
    ['Ubuntu:22.04:LTS', 'debian'],
    ['Alpine:v3.20', 'alpine'],
    ['Red Hat:enterprise_linux:9::appstream', 'rpm'],
    ['Rocky Linux:8', 'rpm'],
    ['AlmaLinux:9', 'rpm'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
    ['Bitnami', 'semver'],
  ];
  for (const [ecosystem, scheme] of expected)
    assert.equal(versionSchemeFor(ecosystem).name, scheme, ecosystem);
});

test('maps purl types to their schemes', () => {
  const expected: [string, string][] = [
    ['golang', 'go'],
    ['cargo', 'cargo'],
    ['pypi', 'pypi'],
    ['npm', 'npm'],
    ['maven', 'maven'],
    ['deb', 'debian'],
    ['apk', 'alpine'],
    ['rpm', 'rpm'],
    ['generic', 'generic'],
    ['openssl', 'openssl'],
  ];
  for (const [type, scheme] of expected) assert.equal(versionSchemeFor(type).name, scheme, type);
});

test('falls back to the generic scheme, and findVersionScheme tells the fallback apart', () => {
  for (const name of [
    'RubyGems',
    'gem',
    'Packagist',
    'NuGet',
    'no-such-ecosystem',
    'constructor',
    '__proto__',
  ]) {
    assert.equal(versionSchemeFor(name), versionSchemes.generic, name);
    assert.equal(findVersionScheme(name), undefined, name);
  }
});

test('every scheme is registered under its own name', () => {
  for (const [name, scheme] of Object.entries(versionSchemes)) assert.equal(scheme.name, name);
});

/** A small seeded generator (mulberry32), so the property below is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

test('every scheme answers -1, 0 or 1 or throws the typed error, antisymmetric and reflexive, on arbitrary input', () => {
  const random = seededRandom(440);
  const alphabet = [
    '0',
    '1',
    '9',
    '.',
    '-',
    '_',
    '~',
    '^',
    '+',
    ':',
    '!',
    'a',
    'r',
    'p',
    'v',
    'A',
    'Z',
    'é',
    ' ',
    '\u0000',
    '😀',
  ];
  const arbitrary = (): string =>
    Array.from(
      { length: Math.floor(random() * 12) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join('');
  for (const scheme of Object.values(versionSchemes)) {
    for (let run = 0; run < 2000; run++) {
      const a = arbitrary();
      const b = arbitrary();
      try {
        const forward = scheme.compare(a, b);
        assert.ok(forward === -1 || forward === 0 || forward === 1);
        assert.equal(scheme.compare(b, a), -forward || 0, `${scheme.name}: ${JSON.stringify([a, b])}`);
        assert.equal(scheme.compare(a, a), 0);
        assert.equal(scheme.isValid(a) && scheme.isValid(b), true);
      } catch (error) {
        assert.ok(
          isVigilError(error, 'VULNS_VERSION_INVALID'),
          `${scheme.name}: ${JSON.stringify([a, b])}: ${String(error)}`,
        );
        assert.equal(scheme.isValid(a) && scheme.isValid(b), false);
      }
    }
  }
});
