import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { isVigilError } from '../../../src/core/index.ts';
import {
  formatVers,
  maxVersLength,
  normalizeVers,
  parseVers,
  versContains,
  versionSchemeForVersType,
} from '../../../src/vulns/versions/vers.ts';
import { readVersSpecTests, versionDataDirectory } from './version-data.ts';

const versInvalid = (error: unknown) => isVigilError(error, 'VULNS_VERS_INVALID');

/** vers-spec test files this module has no business with, and why; each is counted, none is claimed. */
const skippedFiles: Readonly<Record<string, string>> = {
  'alpm_version_cmp_test.json': 'no Arch Linux (alpm) scheme',
  'conan_version_cmp_test.json': 'no Conan scheme',
  'datetime_version_cmp_test.json': 'no datetime scheme',
  'gentoo_version_cmp_test.json': 'no Gentoo scheme',
  'nuget_version_cmp_test.json': 'no NuGet scheme',
  'conan_range_from_native_basic_test.json': 'native range syntax is not converted (from_native)',
  'conan_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'gem_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'nginx_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'npm_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'nuget_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'openssl_range_from_native_test.json': 'native range syntax is not converted (from_native)',
  'pypi_range_from_native_test.json': 'native range syntax is not converted (from_native)',
};

/** Files whose cases a test in this folder runs (comparison files run in each scheme's own test file). */
const usedFiles = new Set([
  'alpine_version_cmp_test.json',
  'maven_version_cmp_test.json',
  'openssl_version_cmp_test.json',
  'lexicographic-test.json',
  'vers_canonical_parse_test.json',
  'npm_range_containment_test.json',
  'pypi_range_containment_test.json',
  'pypi_range_validate_test.json',
]);

test('accounts for every vers-spec test file: used or skipped with a reason', (t) => {
  const files = readdirSync(new URL('vers-spec/', versionDataDirectory)).filter((name) =>
    name.endsWith('.json'),
  );
  const unaccounted = files.filter((name) => !usedFiles.has(name) && skippedFiles[name] === undefined);
  assert.deepEqual(unaccounted, []);
  for (const name of files.filter((file) => skippedFiles[file] !== undefined).sort()) {
    t.diagnostic(`skipped ${name}: ${readVersSpecTests(name).length} cases, ${skippedFiles[name]}`);
  }
});

test('vers_canonical_parse_test.json: npm cases parse, or fail with the expected message', (t) => {
  const tests = readVersSpecTests('vers_canonical_parse_test.json');
  const ours = tests.filter((item) => !(item.input as string).startsWith('vers:datetime/'));
  for (const item of ours) {
    const input = item.input as string;
    if (item.expected_failure === true) {
      assert.throws(
        () => parseVers(input),
        (error: unknown) => versInvalid(error) && (error as Error).message === item.expected_message,
        `${input}: ${item.expected_message}`,
      );
    } else {
      const range = parseVers(input);
      const expected = item.expected_output as { scheme: string; version_constraints: [string, string][] };
      assert.equal(range.type, expected.scheme);
      assert.deepEqual(
        range.constraints.map(({ comparator, version }) => [comparator, version]),
        expected.version_constraints,
        input,
      );
    }
  }
  t.diagnostic(
    `vers_canonical_parse_test.json: ${ours.length} cases checked, ${tests.length - ours.length} datetime cases skipped (no datetime scheme)`,
  );
  assert.deepEqual([ours.length, tests.length - ours.length], [8, 4]);
});

test('npm and pypi range containment cases hold', (t) => {
  let checked = 0;
  for (const file of ['npm_range_containment_test.json', 'pypi_range_containment_test.json']) {
    for (const item of readVersSpecTests(file)) {
      const { vers, version } = item.input as { vers: string; version: string };
      assert.equal(versContains(normalizeVers(vers), version), item.expected_output, `${vers} ∋ ${version}`);
      checked++;
    }
  }
  t.diagnostic(`range containment: ${checked} cases (1 npm, 10 pypi)`);
  assert.equal(checked, 11);
});

test('pypi_range_validate_test.json: normalising yields the expected canonical string', (t) => {
  const tests = readVersSpecTests('pypi_range_validate_test.json');
  const refusedByStrictParse: string[] = [];
  for (const item of tests) {
    assert.equal(formatVers(normalizeVers(item.input as string)), item.expected_output, item.input as string);
    try {
      parseVers(item.expected_output as string);
    } catch (error) {
      assert.ok(versInvalid(error));
      refusedByStrictParse.push(item.expected_output as string);
    }
  }
  t.diagnostic(
    `pypi_range_validate_test.json: ${tests.length} cases; ${refusedByStrictParse.length} expected outputs are refused by parseVers: ${refusedByStrictParse.join(' ')}`,
  );
  assert.equal(tests.length, 19);
  // These outputs keep redundant constraints (">0.0.0|>=0.0.1", ">=0.0.0|0.0.1") that §5.4 and
  // how-to-parse.md call invalid; the "validate" cases only ask for sorting.
  assert.equal(refusedByStrictParse.length, 4);
});

test('normalizeVers sorts, lowercases and drops "=" prefixes; formatVers writes the canonical string', () => {
  const range = normalizeVers('VERS:NPM/<2.0.0|=1.0.0|!=1.5.0|>1.1.0');
  assert.equal(range.type, 'npm');
  assert.equal(formatVers(range), 'vers:npm/1.0.0|>1.1.0|!=1.5.0|<2.0.0');
  assert.deepEqual(parseVers(formatVers(range)), range);
});

test('percent-encoding is decoded once and written back in uppercase', () => {
  const range = normalizeVers('vers:rpm/1.0%3e1|2.0%25x%7C');
  assert.deepEqual(
    range.constraints.map((constraint) => constraint.version),
    ['1.0>1', '2.0%x|'],
  );
  assert.equal(formatVers(range), 'vers:rpm/1.0%3E1|2.0%25x%7C');
  assert.throws(() => parseVers('vers:rpm/1.0%3e1'), versInvalid); // lowercase hex is not canonical
  assert.throws(() => parseVers('vers:rpm/1.0%0A'), versInvalid); // decodes to a control character
  assert.throws(() => parseVers('vers:rpm/1.0%'), versInvalid);
  assert.throws(() => parseVers('vers:rpm/1.0>1'), versInvalid); // ">" inside a version must be encoded
});

test('"*" matches every valid version and stands alone', () => {
  const all = parseVers('vers:deb/*');
  assert.equal(all.matchesAll, true);
  assert.deepEqual(all.constraints, []);
  assert.equal(formatVers(all), 'vers:deb/*');
  assert.equal(versContains(all, '1:2.3-4'), true);
  assert.throws(
    () => versContains(all, 'not a version'),
    (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
  );
  for (const bad of ['vers:deb/*|1.0', 'vers:deb/1.0|*', 'vers:deb/**', 'vers:deb/>*']) {
    assert.throws(() => normalizeVers(bad), versInvalid, bad);
  }
});

test('parseVers enforces the §5.4 validation rules; normalizeVers only sorts', () => {
  const refused = [
    'vers:npm/1.0.0|1.0.0', // a version twice
    'vers:pypi/1.0|1.0.0', // equal under PEP 440
    'vers:npm/>1.0.0|>=2.0.0', // two lower bounds in a row
    'vers:npm/<1.0.0|<2.0.0', // two upper bounds in a row
    'vers:npm/1.0.0|<2.0.0', // an equality followed by "<"
    'vers:npm/>=1.0.0|2.0.0', // an equality inside an open interval
    'vers:npm/=1.0.0', // "=" is never written
    'vers:NPM/1.0.0', // type is lowercase
    'Vers:npm/1.0.0', // scheme is lowercase
  ];
  for (const text of refused) assert.throws(() => parseVers(text), versInvalid, text);
  assert.equal(formatVers(normalizeVers('vers:npm/>1.0.0|>=2.0.0')), 'vers:npm/>1.0.0|>=2.0.0');
  for (const text of [
    'vers:npm/1.0.0|>2.0.0|!=2.5.0|<3.0.0',
    'vers:npm/<1.0.0|2.0.0|>=3.0.0',
    'vers:npm/!=1.0.0',
  ]) {
    assert.equal(formatVers(parseVers(text)), text);
  }
});

test('refuses malformed vers strings with VULNS_VERS_INVALID', () => {
  for (const bad of [
    '',
    'npm/1.0.0',
    'vers:npm',
    'vers:npm/',
    'vers:/1.0.0',
    'vers:1npm/1.0.0',
    'vers:np_m/1.0.0',
    'vers:invalid/1.0.0',
    'vers:npm/>=',
    'vers:npm/1.0.0|',
    'vers:npm/1.0.0\n',
    'vers:npm/1.0.0\u00e9',
    `vers:npm/${'1'.repeat(maxVersLength)}`,
  ]) {
    assert.throws(() => normalizeVers(bad), versInvalid, JSON.stringify(bad.slice(0, 40)));
  }
  assert.throws(() => parseVers(42 as unknown as string), versInvalid);
});

test('versions stay opaque until ordered; an unreadable one fails containment with VULNS_VERS_INVALID', () => {
  const lone = parseVers('vers:npm/not-a-version');
  assert.throws(() => versContains(lone, '1.0.0'), versInvalid);
  assert.throws(() => parseVers('vers:npm/1.0.0|not-a-version'), versInvalid);
  assert.throws(() => normalizeVers('vers:npm/not-a-version|1.0.0'), versInvalid);
});

test('a type without a comparator here is VULNS_VERS_TYPE_UNSUPPORTED', () => {
  for (const text of [
    'vers:gem/>=1.0',
    'vers:datetime/2024-01-01T00:00:00Z',
    'vers:test/1.0',
    'vers:nuget/1.0.0',
  ]) {
    assert.throws(
      () => parseVers(text),
      (error: unknown) => isVigilError(error, 'VULNS_VERS_TYPE_UNSUPPORTED'),
      text,
    );
  }
  assert.equal(versionSchemeForVersType('deb')?.name, 'debian');
  assert.equal(versionSchemeForVersType('golang')?.name, 'go');
  assert.equal(versionSchemeForVersType('gem'), undefined);
});

test('versContains follows the vers-spec containment algorithm', () => {
  const range = parseVers('vers:npm/1.0.0|>=2.0.0|!=2.5.0|<3.0.0|>=4.0.0-rc.1');
  const cases: [string, boolean][] = [
    ['0.9.0', false],
    ['1.0.0', true], // equality
    ['1.5.0', false], // between "=" and ">="
    ['2.0.0', true], // ">=" includes its version
    ['2.5.0', false], // excluded by "!="
    ['2.9.9', true],
    ['3.0.0', false], // "<" excludes its version
    ['3.5.0', false],
    ['4.0.0-rc.1', true],
    ['9.0.0', true], // above the last lower bound
  ];
  for (const [version, inside] of cases) assert.equal(versContains(range, version), inside, version);
  const below = parseVers('vers:deb/<=1:2.0-1');
  assert.equal(versContains(below, '1:1.9-1'), true);
  assert.equal(versContains(below, '1:2.0-1'), true);
  assert.equal(versContains(below, '2.0-1'), true); // epoch 0 is below epoch 1
  assert.equal(versContains(below, '1:2.0-1+deb12u1'), false);
  assert.throws(
    () => versContains(below, '-bad-'),
    (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
  );
});

test("containment uses the type's own order: PEP 440, apk, Maven, Go", () => {
  assert.equal(versContains(parseVers('vers:pypi/>=1.0|<1.1'), '1.0.post1'), true);
  assert.equal(versContains(parseVers('vers:pypi/>=1.0|<1.1'), '1.1rc1'), true);
  assert.equal(versContains(parseVers('vers:apk/<1.2.3-r2'), '1.2.3-r1'), true);
  assert.equal(versContains(parseVers('vers:maven/>=1.0|<2.0'), '2.0-SNAPSHOT'), true);
  assert.equal(versContains(parseVers('vers:golang/<1.2.3'), 'v1.2.3+incompatible'), false);
});

test('parses a long hostile vers in bounded time', () => {
  const constraints = Array.from({ length: 1500 }, (_, index) => `!=1.0.${index}`).join('|');
  const started = process.hrtime.bigint();
  const range = parseVers(`vers:npm/${constraints}`);
  assert.equal(range.constraints.length, 1500);
  assert.equal(versContains(range, '1.0.1499'), false);
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});
