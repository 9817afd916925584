import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { ledgerSize, validProduct } from '../api/helpers.ts';
import { advisory, bom, vexDir } from './jackson-fixtures.ts';

const vex = readFileSync(new URL('vex.json', vexDir));

describe('a CycloneDX VEX applied to a release decides its findings', () => {
  let t: TestPlatform;
  let releaseId: string;

  const upload = (body: string | Buffer, name = 'vex.json') =>
    t.send('POST', `/api/v1/releases/${releaseId}/vex?name=${name}`, {
      payload: body,
      contentType: 'application/vnd.cyclonedx+json',
    });
  const findings = async () => (await t.call('GET', `/api/v1/releases/${releaseId}/findings`)).json.findings;

  before(async () => {
    t = await startTestPlatform();
    const productId = (await t.call('POST', '/api/v1/products', validProduct('Lab analyser'))).json.id;
    releaseId = (
      await t.call('POST', '/api/v1/releases', {
        productId,
        version: '3.1.0',
        securityVersion: 1,
        hardwareRevisions: ['rev-a'],
      })
    ).json.id;
    const attached = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
      payload: bom,
      contentType: 'application/vnd.cyclonedx+json',
    });
    assert.equal(attached.status, 200, attached.text);
    const imported = await t.send('POST', '/api/v1/vulns/advisories?name=ghsa.json', {
      payload: advisory,
      contentType: 'application/json',
    });
    assert.equal(imported.status, 200, imported.text);
  });
  after(() => t.close());

  test('the real example VEX marks jackson-databind not affected, recorded with the VEX as the reason', async () => {
    const [before] = await findings();
    assert.equal(before.vulnerability, 'CVE-2020-25649');
    assert.equal(before.state, 'under_investigation');
    const size = await ledgerSize(t);

    const applied = await upload(vex);
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(applied.json.applied, [
      {
        findingId: before.id,
        vulnerability: 'CVE-2020-25649',
        componentRef: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
        from: 'under_investigation',
        to: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
      },
    ]);
    assert.equal(applied.json.unchanged, 0);
    const [after] = await findings();
    assert.equal(after.state, 'not_affected');
    assert.equal(after.justification, 'vulnerable_code_not_in_execute_path');
    assert.equal(after.deadline, null, 'not affected: nothing to remediate');
    assert.equal(await ledgerSize(t), size + 1);
    const [event] = (await t.platform.ledger.entriesOfSubject(before.id)).map((entry) =>
      JSON.parse(entry.leaf.toString('utf8')),
    );
    assert.equal(event.type, 'finding.triaged');
    assert.match(event.details.reason, /^VEX vex\.json: not_affected: Automated dataflow analysis/);

    const again = await upload(vex);
    assert.equal(again.json.applied.length, 0);
    assert.equal(again.json.unchanged, 1);
    assert.equal(await ledgerSize(t), size + 1, 'applying the same VEX again records nothing');
  });

  test('statements for vulnerabilities without a finding, or components outside the SBOM, are reported, not applied', async () => {
    const document = JSON.parse(vex.toString('utf8'));
    document.vulnerabilities.push(
      { ...document.vulnerabilities[0], id: 'CVE-2099-0001', references: [] },
      {
        ...document.vulnerabilities[0],
        id: 'CVE-2099-0002',
        references: [],
        affects: [{ ref: 'pkg:maven/org.example/absent@1.0.0' }],
      },
    );
    const report = await upload(JSON.stringify(document), 'mixed.json');
    assert.equal(report.status, 200, report.text);
    assert.deepEqual(report.json.withoutFinding, [
      {
        vulnerability: 'CVE-2099-0001',
        componentRef: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar',
      },
    ]);
    assert.equal(report.json.unresolved.length, 1);
    assert.equal(report.json.unresolved[0].vulnerability, 'CVE-2099-0002');
  });

  test('a not_affected statement without a justification, or a document that is not a VEX, changes nothing', async () => {
    const size = await ledgerSize(t);
    const document = JSON.parse(vex.toString('utf8'));
    document.vulnerabilities[0].analysis = { state: 'not_affected' };
    const refused = await upload(JSON.stringify(document));
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.code, 'VULNS_VEX_JUSTIFICATION_MISSING');
    const notVex = await upload('{"bomFormat":"SPDX"}');
    assert.equal(notVex.status, 400, notVex.text);
    assert.equal(notVex.json.code, 'VULNS_VEX_INVALID');
    const notJson = await upload('{"bomFormat":');
    assert.equal(notJson.status, 400, notJson.text);
    assert.equal(await ledgerSize(t), size);
    assert.equal((await findings())[0].state, 'not_affected');
  });
});
