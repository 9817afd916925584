import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FindingCollector, type Finding } from '../../../src/vulns/matching/finding.ts';

function finding(fields: Partial<Finding>): Finding {
  return {
    vulnerability: 'CVE-2023-39325',
    aliases: ['GO-2023-2102'],
    advisoryIds: ['GO-2023-2102'],
    componentRef: 'x-net',
    version: 'v0.16.0',
    matchedRange: 'SEMVER >=0 <0.17.0',
    matchedBy: 'purl',
    confidence: 'high',
    ...fields,
  };
}

test('one finding per vulnerability and component; later advisories add their ids and aliases', () => {
  const collector = new FindingCollector();
  collector.add(finding({}));
  collector.add(finding({ advisoryIds: ['GHSA-4374-p667-p6c8'], aliases: ['GHSA-4374-p667-p6c8'] }));
  collector.add(finding({ componentRef: 'other' }));
  const findings = collector.sortedFindings();
  assert.equal(findings.length, 2);
  assert.deepEqual(findings.find((candidate) => candidate.componentRef === 'x-net')?.advisoryIds, [
    'GO-2023-2102',
    'GHSA-4374-p667-p6c8',
  ]);
  assert.deepEqual(findings.find((candidate) => candidate.componentRef === 'x-net')?.aliases, [
    'GO-2023-2102',
    'GHSA-4374-p667-p6c8',
  ]);
});

test('a purl match raises a CPE match to high confidence; the highest severity is kept', () => {
  const collector = new FindingCollector();
  collector.add(
    finding({
      matchedBy: 'cpe',
      confidence: 'low',
      matchedRange: 'cpe',
      severity: { type: 'CVSS_V3', baseScore: 5.3 },
    }),
  );
  collector.add(finding({ severity: { type: 'CVSS_V3', baseScore: 7.5 } }));
  collector.add(finding({ severity: { type: 'CVSS_V3', baseScore: 4.0 } }));
  const [merged] = collector.sortedFindings();
  assert.equal(merged?.confidence, 'high');
  assert.equal(merged?.matchedBy, 'purl');
  assert.equal(merged?.matchedRange, 'SEMVER >=0 <0.17.0');
  assert.equal(merged?.severity?.baseScore, 7.5);
});

test('findings are sorted by component, then vulnerability', () => {
  const collector = new FindingCollector();
  collector.add(finding({ componentRef: 'b', vulnerability: 'CVE-2' }));
  collector.add(finding({ componentRef: 'a', vulnerability: 'CVE-3' }));
  collector.add(finding({ componentRef: 'b', vulnerability: 'CVE-1' }));
  assert.deepEqual(
    collector.sortedFindings().map((candidate) => `${candidate.componentRef} ${candidate.vulnerability}`),
    ['a CVE-3', 'b CVE-1', 'b CVE-2'],
  );
});
