import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { detectAdvisoryFormat, parseAdvisoryFile } from '../../../src/vulns/advisories/index.ts';
import {
  assertVigilError,
  csafExampleFiles,
  jsonBytes,
  osvFiles,
  osvRecord,
  readSharedFile,
} from './fixtures.ts';

test('detects the real OSV exports as gzip JSON-lines, whatever their name', () => {
  for (const file of Object.values(osvFiles)) {
    assert.equal(detectAdvisoryFormat(readSharedFile(file), file), 'osv-jsonl');
    assert.equal(detectAdvisoryFormat(readSharedFile(file), 'upload.bin'), 'osv-jsonl');
  }
});

test('detects every CSAF example and the KEV catalogue', () => {
  for (const file of csafExampleFiles())
    assert.equal(detectAdvisoryFormat(readSharedFile(file), file), 'csaf', file);
  assert.equal(detectAdvisoryFormat(readSharedFile('kev/known_exploited_vulnerabilities.json')), 'kev');
});

test('tells one OSV record from JSON-lines: pretty-printed, single line, gzip, and by name when one line', () => {
  const record = osvRecord();
  assert.equal(
    detectAdvisoryFormat(Buffer.from(JSON.stringify(record, null, 2)), 'GO-2020-0001.json'),
    'osv-record',
  );
  assert.equal(detectAdvisoryFormat(jsonBytes(record), 'GO-2020-0001.json'), 'osv-record');
  assert.equal(detectAdvisoryFormat(gzipSync(jsonBytes(record)), 'GO-2020-0001.json.gz'), 'osv-record');
  assert.equal(detectAdvisoryFormat(jsonBytes(record), 'feed.jsonl'), 'osv-jsonl');
  const twoLines = Buffer.from(`${JSON.stringify(record)}\n${JSON.stringify(osvRecord({ id: 'X-2' }))}\n`);
  assert.equal(detectAdvisoryFormat(twoLines, 'feed.json'), 'osv-jsonl');
  assert.equal(detectAdvisoryFormat(Buffer.from(`\uFEFF  ${JSON.stringify(record, null, 1)}`)), 'osv-record');
});

test('a single-line CSAF document is CSAF, not a JSON-lines file', () => {
  const csaf = JSON.parse(readSharedFile('csaf/examples/bsi-2022-0001.json').toString('utf8'));
  assert.equal(detectAdvisoryFormat(jsonBytes(csaf)), 'csaf');
});

test('anything else is VULNS_FORMAT_UNKNOWN (kind unsupported_media)', () => {
  for (const bytes of [
    Buffer.from('[1, 2]'),
    Buffer.from('hello'),
    Buffer.from(''),
    jsonBytes({ bomFormat: 'CycloneDX', specVersion: '1.6' }),
    readSharedFile('sbom/laravel-7.12.0.cdx.json'),
  ]) {
    const error = assertVigilError(() => detectAdvisoryFormat(bytes, 'x.json'), 'VULNS_FORMAT_UNKNOWN');
    assert.equal(error.kind, 'unsupported_media');
  }
});

test('parseAdvisoryFile detects and reads in one step', () => {
  const go = parseAdvisoryFile(readSharedFile(osvFiles.rustsec), 'rustsec.jsonl.gz');
  assert.equal(go.format, 'osv-jsonl');
  assert.equal(go.advisories.length, 1206);
  const csaf = parseAdvisoryFile(readSharedFile('csaf/examples/csaf_vex/2022-evd-uc-08-001.json'));
  assert.equal(csaf.format, 'csaf');
  assert.deepEqual(
    csaf.advisories.map((advisory) => advisory.id),
    ['CVE-2021-44228', 'CVE-2021-45105'],
  );
  const kev = parseAdvisoryFile(readSharedFile('kev/known_exploited_vulnerabilities.json'));
  assert.equal(kev.format === 'kev' && kev.catalogue.entries.length, 1404);
  const record = parseAdvisoryFile(jsonBytes(osvRecord()), 'one.json');
  assert.equal(record.format, 'osv-record');
  assert.equal(record.advisories[0]?.id, 'VIGIL-TEST-0001');
});
