import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKevCatalogue } from '../../../src/vulns/advisories/index.ts';
import { assertVigilError, readSharedFile } from './fixtures.ts';

const kevFile = 'kev/known_exploited_vulnerabilities.json';

test('reads the CISA KEV catalogue of 2025-08-25: 1,404 entries', () => {
  const catalogue = parseKevCatalogue(readSharedFile(kevFile));
  assert.equal(catalogue.entries.length, 1404);
  assert.equal(catalogue.catalogVersion, '2025.08.25');
  assert.equal(catalogue.title, 'CISA Catalog of Known Exploited Vulnerabilities');
  assert.equal(new Set(catalogue.entries.map((entry) => entry.cveId)).size, 1404);
  // Counted in the file: 293 entries say ransomware campaigns are known to use them.
  assert.equal(catalogue.entries.filter((entry) => entry.knownRansomwareCampaignUse === 'Known').length, 293);
  const log4shell = catalogue.entries.find((entry) => entry.cveId === 'CVE-2021-44228');
  assert.equal(log4shell?.vendorProject, 'Apache');
  assert.equal(log4shell?.product, 'Log4j2');
  assert.equal(log4shell?.dateAdded, '2021-12-10');
  assert.equal(log4shell?.dueDate, '2021-12-24');
  const first = catalogue.entries[0];
  assert.deepEqual(
    first && { cveId: first.cveId, dateAdded: first.dateAdded, dueDate: first.dueDate, cwes: first.cwes },
    {
      cveId: 'CVE-2025-48384',
      dateAdded: '2025-08-25',
      dueDate: '2025-09-15',
      cwes: ['CWE-59', 'CWE-436'],
    },
  );
});

const entry = {
  cveID: 'CVE-2021-44228',
  vendorProject: 'Apache',
  product: 'Log4j2',
  vulnerabilityName: 'Apache Log4j2 Remote Code Execution Vulnerability',
  dateAdded: '2021-12-10',
  shortDescription: 'JNDI',
  requiredAction: 'Apply updates per vendor instructions.',
  dueDate: '2021-12-24',
  knownRansomwareCampaignUse: 'Known',
  notes: '',
  cwes: ['CWE-20'],
};
const catalogue = (entries: unknown[], count: number = entries.length) => ({
  title: 't',
  catalogVersion: '1',
  dateReleased: '2025-01-01T00:00:00Z',
  count,
  vulnerabilities: entries,
});

test('refuses a count that disagrees with the entries, a bad date, a non-CVE id, an unknown ransomware value', () => {
  assertVigilError(() => parseKevCatalogue(catalogue([entry], 2)), 'VULNS_ADVISORY_INVALID');
  assertVigilError(
    () => parseKevCatalogue(catalogue([{ ...entry, dueDate: '24/12/2021' }])),
    'VULNS_ADVISORY_INVALID',
  );
  assertVigilError(
    () => parseKevCatalogue(catalogue([{ ...entry, cveID: 'GHSA-jfh8-c2jp-5v3q' }])),
    'VULNS_ADVISORY_INVALID',
  );
  assertVigilError(
    () => parseKevCatalogue(catalogue([{ ...entry, knownRansomwareCampaignUse: 'Maybe' }])),
    'VULNS_ADVISORY_INVALID',
  );
  assertVigilError(() => parseKevCatalogue({ catalogVersion: '1' }), 'VULNS_ADVISORY_INVALID');
});
