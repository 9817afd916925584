import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { parseOsvJsonLines, readOsvJsonLines } from '../../../src/vulns/advisories/index.ts';
import { assertVigilError, osvFiles, osvRecord, readSharedFile } from './fixtures.ts';

// Record and withdrawal counts read off the files with `zcat | wc -l` and a jq/python count of `withdrawn`.
const realFiles = [
  { file: osvFiles.go, records: 4291, withdrawn: 17, firstId: 'GO-2020-0001' },
  { file: osvFiles.bitnami, records: 7444, withdrawn: 0, firstId: 'BIT-activemq-2020-11998' },
  { file: osvFiles.rustsec, records: 1206, withdrawn: 13, firstId: 'RUSTSEC-2016-0001' },
];

for (const { file, records, withdrawn, firstId } of realFiles) {
  test(`reads every line of ${file}: ${records} records, no errors, ${withdrawn} withdrawn`, () => {
    const report = parseOsvJsonLines(readSharedFile(file));
    assert.deepEqual(report.errors, []);
    assert.equal(report.omittedErrors, 0);
    assert.equal(report.recordCount, records);
    assert.equal(report.advisories.length, records);
    assert.equal(report.advisories.filter((advisory) => advisory.withdrawn !== undefined).length, withdrawn);
    assert.equal(report.advisories[0]?.id, firstId);
    assert.equal(new Set(report.advisories.map((advisory) => advisory.id)).size, records, 'ids are unique');
  });
}

test('the Go database names modules, all with SEMVER ranges; RustSec names crates with purls', () => {
  const go = parseOsvJsonLines(readSharedFile(osvFiles.go)).advisories;
  assert.ok(go.every((advisory) => advisory.affected.every((affected) => affected.ecosystem === 'Go')));
  assert.ok(
    go.every((advisory) =>
      advisory.affected.every((affected) => affected.ranges.every((range) => range.type === 'SEMVER')),
    ),
  );
  const rust = parseOsvJsonLines(readSharedFile(osvFiles.rustsec)).advisories;
  assert.ok(rust.every((advisory) => advisory.affected.every((affected) => affected.purl?.type === 'cargo')));
});

test('one bad line costs that line only: its typed error is reported with its line number', () => {
  const lines = [
    JSON.stringify(osvRecord({ id: 'GOOD-1' })),
    '',
    '{"id": "BROKEN", ',
    JSON.stringify(
      osvRecord({
        id: 'BAD-EVENT',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'x' },
            ranges: [{ type: 'SEMVER', events: [{ fixed: '1' }] }],
          },
        ],
      }),
    ),
    '   ',
    JSON.stringify(osvRecord({ id: 'GOOD-2' })),
    '[]',
  ];
  const report = parseOsvJsonLines(Buffer.from(lines.join('\r\n')));
  assert.deepEqual(
    report.advisories.map((advisory) => advisory.id),
    ['GOOD-1', 'GOOD-2'],
  );
  assert.equal(report.recordCount, 5);
  assert.deepEqual(
    report.errors.map(({ line, code }) => ({ line, code })),
    [
      { line: 3, code: 'VULNS_ADVISORY_MALFORMED' },
      { line: 4, code: 'VULNS_ADVISORY_INVALID' },
      { line: 7, code: 'VULNS_ADVISORY_INVALID' },
    ],
  );
});

test('reads gzip and plain JSON-lines alike, with or without a byte order mark and a final newline', () => {
  const text = `${JSON.stringify(osvRecord({ id: 'A-1' }))}\n${JSON.stringify(osvRecord({ id: 'A-2' }))}`;
  const plain = parseOsvJsonLines(Buffer.from(`\uFEFF${text}`));
  const gzip = parseOsvJsonLines(gzipSync(Buffer.from(`${text}\n`)));
  assert.deepEqual(plain, gzip);
  assert.deepEqual(
    plain.advisories.map((advisory) => advisory.id),
    ['A-1', 'A-2'],
  );
});

test('reads lazily: the generator yields results line by line', () => {
  const text = [osvRecord({ id: 'L-1' }), osvRecord({ id: 'L-2' })]
    .map((record) => JSON.stringify(record))
    .join('\n');
  const results = readOsvJsonLines(text);
  const first = results.next();
  assert.equal(first.done, false);
  assert.equal(first.value?.advisory?.id, 'L-1');
  assert.equal(first.value?.line, 1);
});

test('a line longer than 4 MiB is refused alone, with VULNS_ADVISORY_TOO_LARGE', () => {
  const long = JSON.stringify(osvRecord({ id: 'LONG', details: 'x'.repeat(4 * 1024 * 1024) }));
  const report = parseOsvJsonLines(Buffer.from(`${long}\n${JSON.stringify(osvRecord({ id: 'SHORT' }))}\n`));
  assert.deepEqual(
    report.errors.map((error) => error.code),
    ['VULNS_ADVISORY_TOO_LARGE'],
  );
  assert.deepEqual(
    report.advisories.map((advisory) => advisory.id),
    ['SHORT'],
  );
});

test('a file that claims gzip but is not throws VULNS_ADVISORY_MALFORMED on the first read', () => {
  assertVigilError(() => parseOsvJsonLines(Buffer.from([0x1f, 0x8b, 1, 2, 3])), 'VULNS_ADVISORY_MALFORMED');
});
