import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { createRelease, validProduct } from '../api/helpers.ts';
import { advisory, bom } from './jackson-fixtures.ts';

const jackson = 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0';

/**
 * A supplier's CSAF 2.0 VEX (modelled on the csaf_vex examples in shared/data/csaf/examples, with the
 * product named by purl, CSAF 2.0 §3.1.3.3.5): jackson-databind 2.10.0 is known_not_affected by
 * CVE-2020-25649. `flag: false` leaves the flag out (the impact statement alone still makes a valid
 * csaf_vex, CSAF 2.0 §6.1.27.9).
 */
function supplierVex(revision: number, options: { flag: boolean }): string {
  const date = `2026-11-0${revision}T10:00:00.000Z`;
  return JSON.stringify({
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      publisher: {
        category: 'vendor',
        name: 'Example Parser Maintainers',
        namespace: 'https://parser.example',
      },
      title: 'jackson-databind 2.10.0 and CVE-2020-25649',
      tracking: {
        id: 'EXAMPLE-VEX-2026-001',
        status: 'final',
        version: String(revision),
        initial_release_date: '2026-11-01T10:00:00.000Z',
        current_release_date: date,
        revision_history: Array.from({ length: revision }, (_, index) => ({
          date: `2026-11-0${index + 1}T10:00:00.000Z`,
          number: String(index + 1),
          summary: index === 0 ? 'Initial version.' : 'Justification added.',
        })),
      },
    },
    product_tree: {
      full_product_names: [
        {
          name: 'jackson-databind 2.10.0',
          product_id: 'JACKSON-2.10.0',
          product_identification_helper: { purl: jackson },
        },
      ],
    },
    vulnerabilities: [
      {
        cve: 'CVE-2020-25649',
        product_status: { known_not_affected: ['JACKSON-2.10.0'] },
        ...(options.flag
          ? { flags: [{ label: 'vulnerable_code_not_in_execute_path', product_ids: ['JACKSON-2.10.0'] }] }
          : {}),
        threats: [
          {
            category: 'impact',
            details: 'Entity expansion is disabled in the DOM reader the product uses.',
            product_ids: ['JACKSON-2.10.0'],
          },
        ],
      },
    ],
  });
}

for (const kind of await storeKinds())
  describe(`a supplier's CSAF VEX decides the findings of the package version it names (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;

    async function releaseWith(version: string, sbom: string): Promise<string> {
      const releaseId = await createRelease(t, productId, version);
      const attached = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
        payload: sbom,
        contentType: 'application/vnd.cyclonedx+json',
      });
      assert.equal(attached.status, 200, attached.text);
      return releaseId;
    }
    const importAdvisory = async (document: string, name: string) => {
      const imported = await t.send('POST', `/api/v1/vulns/advisories?name=${name}`, {
        payload: document,
        contentType: 'application/json',
      });
      assert.equal(imported.status, 200, imported.text);
      return imported.json;
    };
    const findingOf = async (releaseId: string) => {
      const findings = (await t.call('GET', `/api/v1/releases/${releaseId}/findings`)).json.findings;
      assert.equal(findings.length, 1, JSON.stringify(findings));
      return findings[0];
    };
    const triageEvents = async (findingId: string) =>
      (await t.platform.ledger.entriesOfSubject(findingId))
        .map((entry) => JSON.parse(entry.leaf.toString('utf8')))
        .filter((event) => event.type === 'finding.triaged');

    let first: string;

    before(async () => {
      t = await startTestPlatform(kind);
      productId = (await t.call('POST', '/api/v1/products', validProduct('Infusion gateway'))).json.id;
      first = await releaseWith('3.1.0', bom);
      await importAdvisory(advisory, 'ghsa.json');
    });
    after(() => t.close());

    test('known_not_affected without a flag decides nothing: why it is not affected must be said', async () => {
      const report = await importAdvisory(supplierVex(1, { flag: false }), 'vex-1.json');
      assert.equal(report.format, 'csaf');
      assert.equal(report.added, 1);
      const finding = await findingOf(first);
      assert.equal(finding.vulnerability, 'CVE-2020-25649');
      assert.equal(finding.state, 'under_investigation');
      assert.deepEqual(await triageEvents(finding.id), []);
    });

    test('with its flag, the statement makes the finding not_affected, recorded with the document as the reason', async () => {
      const report = await importAdvisory(supplierVex(2, { flag: true }), 'vex-2.json');
      assert.equal(report.updated, 1);
      const finding = await findingOf(first);
      assert.equal(finding.state, 'not_affected');
      assert.equal(finding.justification, 'vulnerable_code_not_in_execute_path');
      assert.equal(finding.deadline, null);
      const [event] = await triageEvents(finding.id);
      assert.equal(event.details.from, 'under_investigation');
      assert.equal(event.details.to, 'not_affected');
      assert.equal(
        event.details.reason,
        'CSAF VEX EXAMPLE-VEX-2026-001: known_not_affected (vulnerable_code_not_in_execute_path): ' +
          'Entity expansion is disabled in the DOM reader the product uses.',
      );
    });

    test('a release whose SBOM arrives later is decided as its findings are made', async () => {
      const later = await releaseWith('3.2.0', bom);
      const finding = await findingOf(later);
      assert.equal(finding.state, 'not_affected');
      assert.equal(finding.justification, 'vulnerable_code_not_in_execute_path');
      assert.equal((await triageEvents(finding.id)).length, 1);
    });

    test('another version of the package is not covered by the statement', async () => {
      const patched = await releaseWith('3.3.0', bom.replaceAll('2.10.0', '2.10.2'));
      const finding = await findingOf(patched);
      assert.equal(finding.purl.includes('@2.10.2'), true);
      assert.equal(finding.state, 'under_investigation');
    });

    test("a person's decision stands when the supplier's document changes again", async () => {
      const finding = await findingOf(first);
      const decided = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state: 'affected',
        reason: 'our build enables the vulnerable reader after all',
      });
      assert.equal(decided.status, 200, decided.text);
      const report = await importAdvisory(supplierVex(3, { flag: true }), 'vex-3.json');
      assert.equal(report.updated, 1);
      assert.equal((await findingOf(first)).state, 'affected');
      assert.equal((await triageEvents(finding.id)).length, 2);
    });

    test("an advisory that arrives after the supplier's statement is decided as it is matched", async () => {
      const statement = JSON.parse(supplierVex(1, { flag: true }));
      statement.document.tracking.id = 'EXAMPLE-VEX-2026-002';
      statement.vulnerabilities[0].cve = 'CVE-2099-0042';
      await importAdvisory(JSON.stringify(statement), 'vex-0042.json');
      const later = { ...JSON.parse(advisory), id: 'GHSA-test-0042', aliases: ['CVE-2099-0042'] };
      await importAdvisory(JSON.stringify(later), 'ghsa-0042.json');
      const findings = (await t.call('GET', `/api/v1/releases/${first}/findings`)).json.findings;
      const finding = findings.find((candidate: any) => candidate.vulnerability === 'CVE-2099-0042');
      assert.ok(finding, JSON.stringify(findings));
      assert.equal(finding.state, 'not_affected');
      assert.equal(finding.justification, 'vulnerable_code_not_in_execute_path');
      const [event] = await triageEvents(finding.id);
      assert.match(event.details.reason, /^CSAF VEX EXAMPLE-VEX-2026-002: known_not_affected/);
    });
  });
