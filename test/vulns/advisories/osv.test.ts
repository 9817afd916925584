import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { parseOsvRecord } from '../../../src/vulns/advisories/index.ts';
import { assertVigilError, gzipJson, jsonBytes, osvRecord } from './fixtures.ts';

// The first record of the Go vulnerability database export (golang/vulndb @ a752ea54, data/osv/GO-2020-0001.json).
const go20200001 = {
  schema_version: '1.3.1',
  id: 'GO-2020-0001',
  modified: '0001-01-01T00:00:00Z',
  published: '2021-04-14T20:04:52Z',
  aliases: ['CVE-2020-36567', 'GHSA-6vm3-jj99-7229'],
  summary: 'Arbitrary log line injection in github.com/gin-gonic/gin',
  details:
    'The default Formatter for the Logger middleware (LoggerConfig.Formatter), which is included in the Default engine, allows attackers to inject arbitrary log entries by manipulating the request path.',
  affected: [
    {
      package: { name: 'github.com/gin-gonic/gin', ecosystem: 'Go' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.6.0' }] }],
      ecosystem_specific: { imports: [{ path: 'github.com/gin-gonic/gin', symbols: ['Default', 'Logger'] }] },
    },
  ],
  references: [{ type: 'FIX', url: 'https://github.com/gin-gonic/gin/pull/2237' }],
  database_specific: { url: 'https://pkg.go.dev/vuln/GO-2020-0001', review_status: 'REVIEWED' },
};

test('reads a Go vulnerability database record into the advisory shape', () => {
  const advisory = parseOsvRecord(jsonBytes(go20200001));
  assert.equal(advisory.source, 'osv');
  assert.equal(advisory.id, 'GO-2020-0001');
  assert.deepEqual(advisory.aliases, ['CVE-2020-36567', 'GHSA-6vm3-jj99-7229']);
  assert.deepEqual(advisory.cves, ['CVE-2020-36567']);
  assert.equal(advisory.modified, '0001-01-01T00:00:00Z');
  assert.equal(advisory.published, '2021-04-14T20:04:52Z');
  assert.equal(advisory.withdrawn, undefined);
  assert.deepEqual(advisory.affected, [
    {
      ecosystem: 'Go',
      name: 'github.com/gin-gonic/gin',
      ranges: [
        {
          type: 'SEMVER',
          events: [
            { kind: 'introduced', version: '0' },
            { kind: 'fixed', version: '1.6.0' },
          ],
        },
      ],
      versions: [],
      versRanges: [],
      severity: [],
    },
  ]);
  assert.deepEqual(advisory.references, [{ type: 'FIX', url: 'https://github.com/gin-gonic/gin/pull/2237' }]);
  assert.deepEqual(advisory.statements, []);
});

test('reads gzip bytes, text and parsed JSON alike', () => {
  const fromBytes = parseOsvRecord(jsonBytes(go20200001));
  assert.deepEqual(parseOsvRecord(gzipJson(go20200001)), fromBytes);
  assert.deepEqual(parseOsvRecord(JSON.stringify(go20200001)), fromBytes);
  assert.deepEqual(parseOsvRecord(go20200001), fromBytes);
});

test('scores a CVSS 3.1 vector it is given without a score, and keeps package-level severity apart', () => {
  const advisory = parseOsvRecord(
    osvRecord({
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      affected: [
        {
          package: { ecosystem: 'Bitnami', name: 'activemq', purl: 'pkg:bitnami/activemq' },
          severity: [
            { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
          ],
          ranges: [{ type: 'SEMVER', events: [{ introduced: '5.15.12' }, { last_affected: '5.15.12' }] }],
        },
      ],
    }),
  );
  assert.deepEqual(advisory.severity, [
    {
      type: 'CVSS_V3',
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      baseScore: 9.8,
      baseScoreOrigin: 'computed',
      rating: 'critical',
    },
  ]);
  const [affected] = advisory.affected;
  assert.deepEqual(affected?.severity, [
    { type: 'CVSS_V4', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
  ]);
  assert.deepEqual(affected?.purl, { type: 'bitnami', name: 'activemq' });
});

test('keeps Bitnami database_specific CPEs in CPE 2.3 form', () => {
  const advisory = parseOsvRecord(
    osvRecord({
      database_specific: {
        severity: 'Critical',
        cpes: ['cpe:2.3:a:apache:activemq:*:*:*:*:*:*:*:*', 'not a cpe'],
      },
    }),
  );
  assert.deepEqual(advisory.cpes, ['cpe:2.3:a:apache:activemq:*:*:*:*:*:*:*:*']);
});

test('keeps the withdrawn date, which makes the advisory match nothing downstream', () => {
  const advisory = parseOsvRecord(osvRecord({ withdrawn: '2026-04-08T13:33:56Z' }));
  assert.equal(advisory.withdrawn, '2026-04-08T13:33:56Z');
});

test('upper-cases CVE ids and drops an alias equal to the id', () => {
  const advisory = parseOsvRecord(
    osvRecord({ id: 'cve-2021-44228', aliases: ['CVE-2021-44228', 'GHSA-jfh8-c2jp-5v3q'] }),
  );
  assert.equal(advisory.id, 'CVE-2021-44228');
  assert.deepEqual(advisory.aliases, ['GHSA-jfh8-c2jp-5v3q']);
  assert.deepEqual(advisory.cves, ['CVE-2021-44228']);
});

test('an invalid package purl is left out; the ecosystem and name still identify the package', () => {
  const advisory = parseOsvRecord(
    osvRecord({
      affected: [{ package: { ecosystem: 'npm', name: 'x', purl: 'not a purl' }, versions: ['1.0.0'] }],
    }),
  );
  assert.equal(advisory.affected[0]?.purl, undefined);
  assert.equal(advisory.affected[0]?.name, 'x');
});

const refusals: [string, Record<string, unknown>, string][] = [
  [
    'an event with two kinds',
    {
      affected: [
        {
          package: { ecosystem: 'npm', name: 'x' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.2' }] }],
        },
      ],
    },
    '/affected/0/ranges/0/events/0',
  ],
  [
    'a range without introduced',
    {
      affected: [
        {
          package: { ecosystem: 'npm', name: 'x' },
          ranges: [{ type: 'SEMVER', events: [{ fixed: '1.0.2' }] }],
        },
      ],
    },
    '/affected/0/ranges/0/events',
  ],
  [
    'an unknown range type',
    {
      affected: [
        {
          package: { ecosystem: 'npm', name: 'x' },
          ranges: [{ type: 'CALVER', events: [{ introduced: '0' }] }],
        },
      ],
    },
    '/affected/0/ranges/0/type',
  ],
  [
    'a GIT range without repo',
    { affected: [{ ranges: [{ type: 'GIT', events: [{ introduced: 'a'.repeat(40) }] }] }] },
    '/affected/0/ranges/0/repo',
  ],
  [
    'a package without ecosystem',
    { affected: [{ package: { name: 'x' } }] },
    '/affected/0/package/ecosystem',
  ],
  ['a modified date that is not RFC 3339', { modified: 'yesterday' }, '/modified'],
  ['an id with spaces', { id: 'GO 2020 0001' }, '/id'],
  ['schema version 2', { schema_version: '2.0.0' }, '/schema_version'],
  ['aliases that are not strings', { aliases: [42] }, '/aliases/0'],
  [
    'an empty version in versions',
    { affected: [{ package: { ecosystem: 'npm', name: 'x' }, versions: [''] }] },
    '/affected/0/versions/0',
  ],
];

for (const [what, fields, path] of refusals) {
  test(`refuses ${what} with VULNS_ADVISORY_INVALID at ${path}`, () => {
    const error = assertVigilError(() => parseOsvRecord(osvRecord(fields)), 'VULNS_ADVISORY_INVALID');
    assert.equal(error.facts?.path, path);
    assert.equal(error.kind, 'invalid');
  });
}

test('refuses a record without id or modified, and JSON that is not an object', () => {
  const { id: _id, ...withoutId } = osvRecord();
  assertVigilError(() => parseOsvRecord(withoutId), 'VULNS_ADVISORY_INVALID');
  const { modified: _modified, ...withoutModified } = osvRecord();
  assertVigilError(() => parseOsvRecord(withoutModified), 'VULNS_ADVISORY_INVALID');
  assertVigilError(() => parseOsvRecord('[1,2,3]'), 'VULNS_ADVISORY_INVALID');
});

test('refuses bytes that are not JSON, not UTF-8 or not gzip, with VULNS_ADVISORY_MALFORMED', () => {
  assertVigilError(() => parseOsvRecord(Buffer.from('{"id": ')), 'VULNS_ADVISORY_MALFORMED');
  assertVigilError(() => parseOsvRecord(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'VULNS_ADVISORY_MALFORMED');
  assertVigilError(
    () => parseOsvRecord(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01])),
    'VULNS_ADVISORY_MALFORMED',
  );
});

test('refuses a record larger than 4 MiB, compressed or not, with VULNS_ADVISORY_TOO_LARGE', () => {
  const huge = osvRecord({ details: 'x'.repeat(5 * 1024 * 1024) });
  assertVigilError(() => parseOsvRecord(jsonBytes(huge)), 'VULNS_ADVISORY_TOO_LARGE');
  assertVigilError(() => parseOsvRecord(gzipJson(huge)), 'VULNS_ADVISORY_TOO_LARGE');
});

test('reads "__proto__" keys as data, never as the prototype', () => {
  const text =
    '{"id":"X-1","modified":"2025-01-01T00:00:00Z","__proto__":{"withdrawn":"2025-01-01T00:00:00Z"}}';
  const advisory = parseOsvRecord(text);
  assert.equal(advisory.withdrawn, undefined);
});

test('whatever JSON it is given, parseOsvRecord returns or refuses with a typed VULNS_ADVISORY_* error', () => {
  const fields = fc.constantFrom(
    'id',
    'modified',
    'aliases',
    'affected',
    'severity',
    'withdrawn',
    'references',
    'database_specific',
  );
  const record = fc
    .dictionary(fields, fc.jsonValue(), { maxKeys: 8 })
    .map((overrides) => osvRecord(overrides));
  const affectedEntry = fc.record({
    package: fc.oneof(
      fc.jsonValue(),
      fc.record({ ecosystem: fc.string(), name: fc.string(), purl: fc.string() }),
    ),
    ranges: fc.array(
      fc.record({
        type: fc.constantFrom('SEMVER', 'ECOSYSTEM', 'GIT', 'X'),
        events: fc.array(
          fc.dictionary(
            fc.constantFrom('introduced', 'fixed', 'last_affected', 'limit', 'x'),
            fc.oneof(fc.string(), fc.jsonValue()),
          ),
        ),
      }),
    ),
    versions: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
  });
  const withAffected = fc.array(affectedEntry, { maxLength: 3 }).map((affected) => osvRecord({ affected }));
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), record, withAffected), (value) => {
      try {
        parseOsvRecord(value as object);
      } catch (error) {
        assert.ok(isVigilError(error), String(error));
        assert.notEqual(error.code, 'VULNS_ADVISORY_PARSER_FAILED', error.message);
      }
    }),
    { numRuns: 2000 },
  );
});
