import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { lodashAdvisory as advisory, lodashSbom } from './lodash-fixtures.ts';
import { ledgerSize, validProduct } from '../api/helpers.ts';

const hour = 3_600_000;

describe('CRA Art. 14 reporting clocks', () => {
  let t: TestPlatform;

  before(async () => {
    t = await startTestPlatform('sqlite', new ManualClock('2026-11-26T08:00:00Z'));
  });
  after(() => t.close());

  async function findingIn(regimes: string[]): Promise<{ productId: string; findingId: string }> {
    const productId = (
      await t.call(
        'POST',
        '/api/v1/products',
        validProduct(`Pump ${regimes.join('-')}`, { regimes, memberStates: ['DE', 'FR', 'NL'] }),
      )
    ).json.id;
    const release = (
      await t.call('POST', '/api/v1/releases', {
        productId,
        version: '1.0.0',
        securityVersion: 1,
        hardwareRevisions: ['rev-a'],
      })
    ).json;
    const attached = await t.send('POST', `/api/v1/releases/${release.id}/sbom`, {
      payload: lodashSbom(),
      contentType: 'application/vnd.cyclonedx+json',
    });
    assert.equal(attached.status, 200, attached.text);
    const findings = (await t.call('GET', `/api/v1/releases/${release.id}/findings`)).json.findings;
    assert.equal(findings.length, 1);
    return { productId, findingId: findings[0].id };
  }

  test('a finding marked actively exploited in a CRA product starts its clock; the final report waits for a corrective measure', async () => {
    const imported = await t.send('POST', '/api/v1/vulns/advisories?name=ghsa.json', {
      payload: advisory,
      contentType: 'application/octet-stream',
    });
    assert.equal(imported.status, 200, imported.text);
    const { findingId } = await findingIn(['CRA']);
    const { findingId: otherId } = await findingIn(['FDA-524B']);
    for (const id of [findingId, otherId]) {
      const marked = await t.call('PATCH', `/api/v1/findings/${id}`, {
        state: 'affected',
        exploited: true,
        reason: 'exploited in the field, per our PSIRT',
      });
      assert.equal(marked.status, 200, marked.text);
    }
    const { clocks } = (await t.call('GET', '/api/v1/vulns/clocks')).json;
    assert.equal(clocks.length, 1, 'only the CRA product has a clock');
    const [clock] = clocks;
    assert.equal(clock.vulnerability, 'CVE-2021-23337');
    assert.deepEqual(
      clock.reports.map((report: any) => [report.report, report.dueAt]),
      [
        ['early-warning', '2026-11-27T08:00:00Z'],
        ['notification', '2026-11-29T08:00:00Z'],
        ['final-report', null],
      ],
    );
    const draft = (await t.call('GET', `/api/v1/vulns/clocks/${clock.id}/reports/early-warning`)).json;
    assert.equal(draft.legalBasis, 'Regulation (EU) 2024/2847 Art. 14(2)');
    assert.deepEqual(draft.subject, { vulnerability: 'CVE-2021-23337' });
    assert.deepEqual(draft.memberStates, ['DE', 'FR', 'NL'], "the product's Member States");

    const early = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/early-warning/sent`, {
      reference: 'ENISA-SRP-0001',
    });
    assert.equal(early.status, 200, early.text);
    await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/notification/sent`, {});
    const tooEarly = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/final-report/sent`, {});
    assert.equal(tooEarly.status, 409);
    assert.equal(tooEarly.json.code, 'CRA_CORRECTIVE_MEASURE_MISSING');
    t.clock.advance(48 * hour);
    const measure = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/corrective-measure`, {
      description: 'release 1.0.1 replaces lodash 4.17.20',
    });
    assert.equal(measure.status, 200, measure.text);
    assert.equal(measure.json.reports[2].dueAt, '2026-12-12T08:00:00Z');
  });

  test('a severe incident: 24 h, 72 h, then a month after the notification; overdue clocks come first; reports go in order', async () => {
    const productId = (
      await t.call('POST', '/api/v1/products', validProduct('Incident pump', { memberStates: ['IT'] }))
    ).json.id;

    const opened = await t.call('POST', '/api/v1/vulns/clocks', {
      productId,
      title: 'Ransomware on the fleet update mirror',
      description: 'The update mirror of a hospital group served tampered files; devices refused them.',
      memberStates: ['DE', 'AT'],
    });
    assert.equal(opened.status, 201, opened.text);
    const clock = opened.json;
    assert.equal(clock.kind, 'severe-incident');
    const size = await ledgerSize(t);
    const outOfOrder = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/notification/sent`, {});
    assert.equal(outOfOrder.status, 409);
    assert.equal(outOfOrder.json.code, 'CRA_REPORT_OUT_OF_ORDER');
    assert.equal(await ledgerSize(t), size);
    t.clock.advance(25 * hour);
    const listed = (await t.call('GET', '/api/v1/vulns/clocks')).json.clocks;
    assert.equal(listed[0].id, clock.id, 'the overdue clock first');
    assert.equal(listed[0].overdue, true);
    assert.equal(listed[0].reports[0].overdue, true);
    await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/early-warning/sent`, {});
    const notified = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/notification/sent`, {
      reference: 'CSIRT-DE-42',
    });
    // Sent at 2026-11-29T09:00Z (after the 48 h and 25 h this suite moved the clock): due a month later.
    assert.equal(notified.json.reports[2].dueAt, '2026-12-29T09:00:00Z');
    const again = await t.call('POST', `/api/v1/vulns/clocks/${clock.id}/reports/notification/sent`, {});
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'CRA_REPORT_ALREADY_SENT');
    const draft = (await t.call('GET', `/api/v1/vulns/clocks/${clock.id}/reports/final-report`)).json;
    assert.deepEqual(draft.memberStates, ['DE', 'AT']);
    assert.deepEqual(
      draft.previousReports.map((report: any) => report.reference),
      [null, 'CSIRT-DE-42'],
    );
    const defaulted = await t.call('POST', '/api/v1/vulns/clocks', {
      productId,
      title: 'Tampered firmware found on a refurbished pump',
      description: 'A pump returned from service ran firmware Vigil never signed.',
    });
    assert.equal(defaulted.status, 201, defaulted.text);
    assert.deepEqual(defaulted.json.memberStates, ['IT'], "by default the product's Member States");
  });
});
