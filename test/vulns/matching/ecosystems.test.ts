import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseEcosystem,
  normalisePackageName,
  osvEcosystemForPurl,
  packageIdentityFromOsv,
  packageIdentityFromPurl,
  purlTypeForOsvEcosystem,
} from '../../../src/vulns/matching/index.ts';

test('purl types map to OSV ecosystems and back', () => {
  const pairs: [string, string | undefined, string][] = [
    ['golang', undefined, 'Go'],
    ['cargo', undefined, 'crates.io'],
    ['npm', undefined, 'npm'],
    ['pypi', undefined, 'PyPI'],
    ['maven', undefined, 'Maven'],
    ['composer', undefined, 'Packagist'],
    ['gem', undefined, 'RubyGems'],
    ['nuget', undefined, 'NuGet'],
    ['bitnami', undefined, 'Bitnami'],
    ['deb', 'debian', 'Debian'],
    ['deb', 'ubuntu', 'Ubuntu'],
    ['apk', 'alpine', 'Alpine'],
    ['rpm', 'redhat', 'Red Hat'],
  ];
  for (const [type, namespace, ecosystem] of pairs) {
    assert.equal(osvEcosystemForPurl(type, namespace), ecosystem, `${type}/${namespace}`);
    assert.deepEqual(
      purlTypeForOsvEcosystem(ecosystem),
      namespace === undefined ? { type } : { type, namespace },
    );
  }
  assert.equal(osvEcosystemForPurl('generic'), undefined);
  assert.equal(osvEcosystemForPurl('deb', 'raspbian'), undefined);
  assert.deepEqual(purlTypeForOsvEcosystem('Debian:12'), { type: 'deb', namespace: 'debian' });
  assert.equal(purlTypeForOsvEcosystem('Linux'), undefined);
});

test('ecosystem suffixes (release, repository) are not part of the identity', () => {
  assert.equal(baseEcosystem('Debian:12'), 'Debian');
  assert.equal(baseEcosystem('Maven:https://maven.google.com'), 'Maven');
  assert.equal(baseEcosystem('Red Hat:rhel_aus:8.4::appstream'), 'Red Hat');
  assert.equal(
    packageIdentityFromOsv('Alpine:v3.18', 'openssl').key,
    packageIdentityFromOsv('Alpine', 'openssl').key,
  );
});

test('names are normalised as each registry compares them', () => {
  // PEP 503: runs of "-", "_" and "." are one "-", case-insensitive.
  assert.equal(normalisePackageName('PyPI', 'Django_Rest.Framework'), 'django-rest-framework');
  assert.equal(normalisePackageName('PyPI', 'zope..interface'), 'zope-interface');
  // crates.io folds "-" and "_".
  assert.equal(normalisePackageName('crates.io', 'serde_json'), 'serde-json');
  assert.equal(normalisePackageName('npm', '@Angular/Core'), '@angular/core');
  assert.equal(
    normalisePackageName('Go', 'github.com/ProtonMail/go-crypto'),
    'github.com/protonmail/go-crypto',
  );
});

test('a purl and the OSV ecosystem and name of the same package have one identity', () => {
  const same: [Parameters<typeof packageIdentityFromPurl>[0], string, string][] = [
    [{ type: 'golang', namespace: 'golang.org/x', name: 'net' }, 'Go', 'golang.org/x/net'],
    [
      { type: 'golang', namespace: 'github.com/kataras/iris', name: 'v12' },
      'Go',
      'github.com/kataras/iris/v12',
    ],
    [
      { type: 'golang', namespace: 'github.com/ProtonMail', name: 'go-crypto' },
      'Go',
      'github.com/ProtonMail/go-crypto',
    ],
    [
      { type: 'maven', namespace: 'com.fasterxml.jackson.core', name: 'jackson-databind' },
      'Maven',
      'com.fasterxml.jackson.core:jackson-databind',
    ],
    [{ type: 'npm', namespace: '@babel', name: 'traverse' }, 'npm', '@babel/traverse'],
    [{ type: 'npm', name: 'lodash' }, 'npm', 'lodash'],
    [{ type: 'pypi', name: 'django-rest-framework' }, 'PyPI', 'Django_REST_framework'],
    [{ type: 'composer', namespace: 'laravel', name: 'framework' }, 'Packagist', 'laravel/framework'],
    [{ type: 'cargo', name: 'openssl' }, 'crates.io', 'openssl'],
    [{ type: 'deb', namespace: 'debian', name: 'curl' }, 'Debian:12', 'curl'],
    [{ type: 'bitnami', name: 'activemq' }, 'Bitnami', 'activemq'],
    [{ type: 'nuget', name: 'Newtonsoft.Json' }, 'NuGet', 'newtonsoft.json'],
  ];
  for (const [purl, ecosystem, name] of same) {
    assert.equal(
      packageIdentityFromPurl(purl).key,
      packageIdentityFromOsv(ecosystem, name).key,
      `${ecosystem} ${name}`,
    );
  }
});

test('the same name in two ecosystems is two packages (OSV schema: "they identify different packages")', () => {
  assert.notEqual(packageIdentityFromOsv('npm', 'zlib').key, packageIdentityFromOsv('PyPI', 'zlib').key);
  assert.notEqual(
    packageIdentityFromPurl({ type: 'npm', name: 'node' }).key,
    packageIdentityFromOsv('Bitnami', 'node').key,
  );
  assert.equal(
    packageIdentityFromPurl({ type: 'generic', namespace: 'vigil', name: 'fw' }).key,
    'purl:generic|vigil/fw',
  );
});
