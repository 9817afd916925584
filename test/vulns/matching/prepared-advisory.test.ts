import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeAliases, parseOsvRecord } from '../../../src/vulns/advisories/index.ts';
import {
  prepareAdvisory,
  componentVersionOf,
  isShipped,
  cpeKeyOf,
} from '../../../src/vulns/matching/prepared-advisory.ts';
import { parseCpe } from '../../../src/vulns/advisories/index.ts';

const record = parseOsvRecord({
  id: 'GO-2023-2102',
  aliases: ['CVE-2023-39325', 'GHSA-4374-p667-p6c8'],
  modified: '2024-01-01T00:00:00Z',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
  affected: [
    {
      package: { ecosystem: 'Go', name: 'golang.org/x/net' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }],
    },
    {
      package: { ecosystem: 'Go', name: 'stdlib' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }] }],
    },
  ],
  database_specific: {
    cpes: ['cpe:2.3:a:golang:networking:*:*:*:*:*:*:*:*', 'cpe:2.3:a:*:*:*:*:*:*:*:*:*:*'],
  },
});

test('the vulnerability is named by its CVE, from the advisory alone or through the alias groups', () => {
  const alone = prepareAdvisory(record);
  assert.equal(alone.vulnerability, 'CVE-2023-39325');
  assert.deepEqual(alone.aliases, ['GO-2023-2102', 'GHSA-4374-p667-p6c8']);
  const other = parseOsvRecord({
    id: 'BIT-golang-2023-39325',
    aliases: ['CVE-2023-39325', 'CVE-2023-44487'],
    modified: '2024-01-01T00:00:00Z',
  });
  const grouped = prepareAdvisory(record, mergeAliases([record, other]));
  assert.equal(grouped.vulnerability, 'CVE-2023-39325');
  assert.ok(grouped.aliases.includes('CVE-2023-44487'));
});

test('each affected package is keyed by its identity, with the record severity where it has none of its own', () => {
  const prepared = prepareAdvisory(record);
  assert.deepEqual(
    prepared.affected.map((entry) => entry.identity?.key),
    ['go|golang.org/x/net', 'go|stdlib'],
  );
  assert.equal(prepared.affected[0]?.severity?.baseScore, 7.5);
  // A CPE without vendor or product cannot key anything.
  assert.deepEqual(
    prepared.cpes.map((entry) => entry.key),
    ['golang:networking'],
  );
  assert.equal(cpeKeyOf(parseCpe('cpe:2.3:a:*:*:*:*:*:*:*:*:*:*')!), undefined);
});

test("the version to match is the component's own, else its purl's; excluded components do not ship", () => {
  assert.equal(
    componentVersionOf({ ref: 'a', version: '1.0.0', purl: { type: 'npm', name: 'a', version: '2.0.0' } }),
    '1.0.0',
  );
  assert.equal(componentVersionOf({ ref: 'a', purl: { type: 'npm', name: 'a', version: '2.0.0' } }), '2.0.0');
  assert.equal(isShipped({ ref: 'a', scope: 'excluded' }), false);
  assert.equal(isShipped({ ref: 'a', scope: 'optional' }), true);
});
