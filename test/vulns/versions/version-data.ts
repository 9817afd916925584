import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isVigilError } from '../../../src/core/index.ts';
import type { VersionScheme } from '../../../src/vulns/versions/index.ts';

/** /work/shared/data/versions: osv-scalibr ordered pairs and the package-url/vers-spec test suite (README.md there). */
export const versionDataDirectory = new URL('../../../../shared/data/versions/', import.meta.url);

export interface OrderedPair {
  readonly lineNumber: number;
  readonly a: string;
  readonly b: string;
  /** -1 for "a < b", 0 for "a = b", 1 for "a > b". */
  readonly expected: -1 | 0 | 1;
}

const orderOfOperator: Readonly<Record<string, -1 | 0 | 1>> = { '<': -1, '=': 0, '>': 1 };

/**
 * Reads an osv-scalibr semantic/testdata file: one "a <op> b" per line; blank lines and lines starting
 * with "# " or "// " are comments (as compare_test.go skips them). Any other line that is not exactly
 * three space-separated fields with a known operator fails the read, so no pair is ever dropped silently.
 */
export function readOrderedPairs(fileName: string): OrderedPair[] {
  const text = readFileSync(new URL(`osv-scalibr/${fileName}`, versionDataDirectory), 'utf8');
  const pairs: OrderedPair[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#') || line.startsWith('//')) return;
    const fields = line.split(' ');
    const expected = orderOfOperator[fields[1] ?? ''];
    assert.ok(
      fields.length === 3 && expected !== undefined,
      `${fileName}:${index + 1}: unreadable line ${line}`,
    );
    pairs.push({ lineNumber: index + 1, a: fields[0] as string, b: fields[2] as string, expected });
  });
  return pairs;
}

/**
 * Checks every pair in both directions (antisymmetry: compare(b, a) is -compare(a, b)) and fails with
 * the full list of mismatches. Returns the number of pairs checked.
 */
export function assertOrderedPairs(
  scheme: VersionScheme,
  fileName: string,
  pairs: readonly OrderedPair[],
): number {
  const mismatches: string[] = [];
  for (const { lineNumber, a, b, expected } of pairs) {
    const describe = (left: string, right: string): string => {
      try {
        return String(scheme.compare(left, right));
      } catch (error) {
        return `threw ${(error as Error).message}`;
      }
    };
    const forward = describe(a, b);
    const backward = describe(b, a);
    if (forward !== String(expected) || backward !== String(-expected || 0)) {
      mismatches.push(
        `${fileName}:${lineNumber}: ${a} vs ${b}: expected ${expected}, got ${forward} / reversed ${backward}`,
      );
    }
  }
  assert.deepEqual(mismatches, []);
  return pairs.length;
}

/**
 * For a scheme stricter than the file's: pairs of versions it accepts must compare as the file says (both
 * directions); a pair with a version it refuses must throw VULNS_VERSION_INVALID both ways. Nothing is
 * passed over: every pair lands in one of the two counts.
 */
export function assertOrderedPairsWhereValid(
  scheme: VersionScheme,
  fileName: string,
  pairs: readonly OrderedPair[],
): { compared: number; refused: number } {
  const accepted = pairs.filter(({ a, b }) => scheme.isValid(a) && scheme.isValid(b));
  const refused = pairs.filter((pair) => !accepted.includes(pair));
  for (const { a, b, lineNumber } of refused) {
    for (const [left, right] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.throws(
        () => scheme.compare(left, right),
        (error: unknown) => isVigilError(error, 'VULNS_VERSION_INVALID'),
        `${fileName}:${lineNumber}`,
      );
    }
  }
  return { compared: assertOrderedPairs(scheme, fileName, accepted), refused: refused.length };
}

/** One case of a vers-spec test file (vers-test.schema-0.2.json). */
export interface VersSpecTest {
  readonly description: string;
  readonly test_group: 'required' | 'recommended';
  readonly test_type: 'comparison' | 'equality' | 'parse' | 'validate' | 'containment' | 'from_native';
  readonly input: unknown;
  readonly expected_output?: unknown;
  readonly expected_failure?: boolean;
  readonly expected_message?: string;
}

export function readVersSpecTests(fileName: string): VersSpecTest[] {
  const document = JSON.parse(
    readFileSync(new URL(`vers-spec/${fileName}`, versionDataDirectory), 'utf8'),
  ) as {
    tests: VersSpecTest[];
  };
  assert.ok(Array.isArray(document.tests) && document.tests.length > 0, `${fileName} holds no tests`);
  return document.tests;
}

/**
 * Runs the "comparison" (expected_output is the two versions in ascending order) and "equality"
 * (expected_output says whether they are equal) cases of a `*_version_cmp_test.json` file against a
 * scheme, both directions. Fails on any other test type. Returns the number of cases checked.
 */
export function assertVersSpecComparisons(scheme: VersionScheme, fileName: string): number {
  const tests = readVersSpecTests(fileName);
  const mismatches: string[] = [];
  tests.forEach((test, index) => {
    const { versions } = test.input as { versions: [string, string] };
    assert.equal(versions.length, 2, `${fileName} #${index}: two versions`);
    const [a, b] = versions;
    let forward: number | string;
    let backward: number | string;
    try {
      forward = scheme.compare(a, b);
      backward = scheme.compare(b, a);
    } catch (error) {
      mismatches.push(`${fileName} #${index} ${a} vs ${b}: threw ${(error as Error).message}`);
      return;
    }
    if (backward !== (-forward || 0))
      mismatches.push(`${fileName} #${index} ${a} vs ${b}: not antisymmetric`);
    if (test.test_type === 'equality') {
      if ((forward === 0) !== test.expected_output) {
        mismatches.push(`${fileName} #${index} ${a} = ${b} should be ${String(test.expected_output)}`);
      }
    } else if (test.test_type === 'comparison') {
      const [low, high] = test.expected_output as [string, string];
      const expected = low === high ? 0 : low === a ? -1 : 1;
      assert.ok(low === a || low === b, `${fileName} #${index}: expected_output names the inputs`);
      if (forward !== expected)
        mismatches.push(`${fileName} #${index} ${a} vs ${b}: expected ${expected}, got ${forward}`);
    } else {
      assert.fail(`${fileName} #${index}: unexpected test type ${test.test_type}`);
    }
  });
  assert.deepEqual(mismatches, []);
  return tests.length;
}

/** The versions in the events of every OSV range of a gzipped JSON-lines advisory file in ../shared/data/osv/. */
export function readOsvRangeEvents(fileName: string): { id: string; events: [string, string][] }[] {
  const records = gunzipSync(readFileSync(new URL(`../osv/${fileName}`, versionDataDirectory)))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OsvRecord);
  return records.flatMap((record) =>
    (record.affected ?? []).flatMap((affected) =>
      (affected.ranges ?? []).map((range) => ({
        id: record.id,
        events: range.events.flatMap((event) => Object.entries(event)),
      })),
    ),
  );
}

interface OsvRecord {
  id: string;
  affected?: { ranges?: { events: Record<string, string>[] }[] }[];
}
