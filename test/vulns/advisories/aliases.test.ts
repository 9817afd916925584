import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mergeAliases,
  parseOsvJsonLines,
  parseOsvRecord,
  type Advisory,
} from '../../../src/vulns/advisories/index.ts';
import { osvFiles, osvRecord, readSharedFile } from './fixtures.ts';

function advisory(id: string, aliases: string[], withdrawn?: string): Advisory {
  return parseOsvRecord(osvRecord({ id, aliases, ...(withdrawn === undefined ? {} : { withdrawn }) }));
}

test('groups ids transitively and names the group by its CVE', () => {
  const aliases = mergeAliases([
    advisory('GO-2021-0052', ['CVE-2020-28483', 'GHSA-h395-qcrw-5vmq']),
    advisory('GHSA-h395-qcrw-5vmq', ['CVE-2020-28483']),
    advisory('BIT-gin-2020-28483', ['CVE-2020-28483']),
    advisory('RUSTSEC-2016-0001', ['GHSA-34p9-f4q3-c4r7']),
  ]);
  const gin = aliases.groupOf('GO-2021-0052');
  assert.equal(gin?.canonicalId, 'CVE-2020-28483');
  assert.deepEqual(gin?.ids, ['CVE-2020-28483', 'GHSA-h395-qcrw-5vmq', 'BIT-gin-2020-28483', 'GO-2021-0052']);
  assert.deepEqual(gin?.advisoryIds, ['GHSA-h395-qcrw-5vmq', 'BIT-gin-2020-28483', 'GO-2021-0052']);
  assert.equal(aliases.groupOf('BIT-gin-2020-28483'), gin);
  // Without a CVE the GHSA names the group.
  assert.equal(aliases.groupOf('RUSTSEC-2016-0001')?.canonicalId, 'GHSA-34p9-f4q3-c4r7');
  assert.equal(aliases.groups.length, 2);
});

test('a group with two CVEs is named by the earliest', () => {
  const aliases = mergeAliases([
    advisory('GO-2022-0197', ['CVE-2018-17848', 'CVE-2018-17847', 'GHSA-4r78-hx75-jjj2']),
  ]);
  assert.equal(aliases.groupOf('GO-2022-0197')?.canonicalId, 'CVE-2018-17847');
  const numeric = mergeAliases([advisory('X-1', ['CVE-2021-100000', 'CVE-2021-9999'])]);
  assert.equal(numeric.groupOf('X-1')?.canonicalId, 'CVE-2021-9999');
});

test('withdrawn advisories stay in their group but are listed apart', () => {
  const aliases = mergeAliases([
    advisory('GO-2026-4923', ['CVE-2026-33817'], '2026-04-08T13:33:56Z'),
    advisory('GHSA-6jwv-w5xf-7j27', ['CVE-2026-33817']),
  ]);
  const group = aliases.groupOf('CVE-2026-33817');
  assert.deepEqual(group?.withdrawnAdvisoryIds, ['GO-2026-4923']);
  assert.deepEqual(group?.advisoryIds, ['GHSA-6jwv-w5xf-7j27']);
});

test('related and upstream ids are not merged', () => {
  const record = parseOsvRecord(
    osvRecord({ id: 'DSA-1', related: ['CVE-2020-1'], upstream: ['CVE-2020-2'] }),
  );
  const aliases = mergeAliases([record]);
  assert.equal(aliases.groupOf('CVE-2020-1'), undefined);
  assert.deepEqual(aliases.groupOf('DSA-1')?.ids, ['DSA-1']);
});

test('the three real OSV exports merge into groups where GO-, BIT-, RUSTSEC- and GHSA ids meet at their CVE', () => {
  const advisories = Object.values(osvFiles).flatMap(
    (file) => parseOsvJsonLines(readSharedFile(file)).advisories,
  );
  const aliases = mergeAliases(advisories);
  // GO-2020-0001 aliases CVE-2020-36567 and GHSA-6vm3-jj99-7229 (its record).
  const gin = aliases.groupOf('GO-2020-0001');
  assert.equal(gin?.canonicalId, 'CVE-2020-36567');
  assert.ok(gin?.ids.includes('GHSA-6vm3-jj99-7229'));
  // RUSTSEC-2016-0001 aliases CVE-2016-10931 and GHSA-34p9-f4q3-c4r7.
  assert.equal(aliases.groupOf('RUSTSEC-2016-0001')?.canonicalId, 'CVE-2016-10931');
  assert.equal(aliases.groupOf('BIT-activemq-2020-11998')?.canonicalId, 'CVE-2020-11998');
  assert.ok(aliases.groups.length < advisories.length);
});
