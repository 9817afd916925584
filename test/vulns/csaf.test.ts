import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js';
import * as mandatoryTests from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js';
import { parseSbom } from '../../src/vulns/sbom/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { lodashAdvisory as advisory, lodashSbom } from './lodash-fixtures.ts';
import { validProduct } from '../api/helpers.ts';

describe('CSAF 2.0 publication, security.txt', () => {
  let t: TestPlatform;
  let productId: string;
  const releases: string[] = [];

  before(async () => {
    t = await startTestPlatform();
    productId = (await t.call('POST', '/api/v1/products', validProduct('Infusion gateway'))).json.id;
    await t.send('POST', '/api/v1/vulns/advisories?name=ghsa.json', {
      payload: advisory,
      contentType: 'application/octet-stream',
    });
    for (const [version, state] of [
      ['2.0.0', 'not_affected'],
      ['2.1.0', 'affected'],
    ] as const) {
      const release = (
        await t.call('POST', '/api/v1/releases', {
          productId,
          version,
          securityVersion: 1,
          hardwareRevisions: ['rev-a'],
        })
      ).json;
      releases.push(release.id);
      await t.send('POST', `/api/v1/releases/${release.id}/sbom`, {
        payload: lodashSbom('4.17.20'),
        contentType: 'application/vnd.cyclonedx+json',
      });
      await t.send('POST', `/api/v1/releases/${release.id}/artifacts?name=fw.bin`, {
        payload: Buffer.from(version),
        contentType: 'application/octet-stream',
      });
      const [finding] = (await t.call('GET', `/api/v1/releases/${release.id}/findings`)).json.findings;
      const triaged = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state,
        ...(state === 'not_affected' ? { justification: 'vulnerable_code_not_in_execute_path' } : {}),
        reason:
          state === 'affected'
            ? 'template() is reachable from the configuration UI'
            : 'template() is never called',
      });
      assert.equal(triaged.status, 200, triaged.text);
      const published = await t.call(
        'POST',
        `/api/v1/releases/${release.id}/publish?override=${encodeURIComponent('known issue, fix in 2.1.1')}`,
      );
      assert.equal(published.status, 200, published.text);
    }
  });
  after(() => t.close());

  test('publishing needs a publisher first', async () => {
    const refused = await t.call('POST', `/api/v1/products/${productId}/csaf`);
    assert.equal(refused.status, 409);
    assert.equal(refused.json.code, 'CSAF_PUBLISHER_MISSING');
    const noTxt = await t.send('GET', '/.well-known/security.txt', { token: '' });
    assert.equal(noTxt.status, 404);
  });

  test('the VEX and the security advisory are published, pass the BSI validator, and are served as a CSAF provider', async () => {
    const publisher = await t.call('PUT', '/api/v1/vulns/publisher', {
      name: 'Vigil Medical GmbH',
      namespace: 'https://vigil-medical.example',
      contact: 'mailto:psirt@vigil-medical.example',
    });
    assert.equal(publisher.status, 200, publisher.text);
    const published = await t.call('POST', `/api/v1/products/${productId}/csaf`);
    assert.equal(published.status, 201, published.text);
    assert.deepEqual(
      published.json.documents.map((document: any) => [document.category, document.version]),
      [
        ['csaf_vex', 1],
        ['csaf_security_advisory', 1],
      ],
    );
    const metadata = await t.send('GET', '/.well-known/csaf/provider-metadata.json', { token: '' });
    assert.equal(metadata.status, 200, metadata.text);
    assert.equal(metadata.json.role, 'csaf_provider');
    assert.equal(metadata.json.publisher.namespace, 'https://vigil-medical.example');
    const index = (await t.send('GET', '/.well-known/csaf/white/index.txt', { token: '' })).text
      .trim()
      .split('\n');
    assert.equal(index.length, 2);
    for (const path of index) {
      const served = await t.send('GET', `/.well-known/csaf/white/${path}`, { token: '' });
      assert.equal(served.status, 200, path);
      // The BSI validator, run here independently of the server's own check.
      const result = await validateStrict([csaf_2_0_strict, ...Object.values(mandatoryTests)], served.json);
      assert.equal(result.isValid, true, JSON.stringify(result.tests.filter((entry) => !entry.isValid)));
      const [vulnerability] = served.json.vulnerabilities;
      assert.equal(vulnerability.cve, 'CVE-2021-23337');
      if (served.json.document.category === 'csaf_vex') {
        assert.equal(vulnerability.product_status.known_not_affected.length, 1);
        assert.equal(vulnerability.flags[0].label, 'vulnerable_code_not_in_execute_path');
      }
      assert.equal(vulnerability.product_status.known_affected.length, 1);
      assert.equal(vulnerability.remediations[0].category, 'none_available');
    }
    const again = await t.call('POST', `/api/v1/products/${productId}/csaf`);
    assert.equal(again.json.documents[0].version, 2);
    const vex = await t.send('GET', `/.well-known/csaf/white/${index.find((path) => path.includes('vex'))}`, {
      token: '',
    });
    assert.deepEqual(
      vex.json.document.tracking.revision_history.map((entry: any) => entry.number),
      ['1', '2'],
    );
  });

  test('security.txt (RFC 9116) names the contact, expires, and points at the CSAF provider', async () => {
    const text = await t.send('GET', '/.well-known/security.txt', { token: '' });
    assert.equal(text.status, 200);
    assert.match(text.text, /^Contact: mailto:psirt@vigil-medical\.example$/m);
    assert.match(text.text, /^Expires: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.match(text.text, /^CSAF: http:\/\/.+\/\.well-known\/csaf\/provider-metadata\.json$/m);
  });

  test('a release VEX exports as CycloneDX 1.6 (valid under its schema) and OpenVEX 0.2.0', async () => {
    const cyclonedx = await t.call('GET', `/api/v1/releases/${releases[1]}/vex`);
    assert.equal(cyclonedx.status, 200, cyclonedx.text);
    const read = parseSbom(cyclonedx.text);
    assert.equal(read.format, 'CycloneDX');
    assert.equal(cyclonedx.json.vulnerabilities[0].id, 'CVE-2021-23337');
    assert.equal(cyclonedx.json.vulnerabilities[0].analysis.state, 'exploitable');
    assert.equal(cyclonedx.json.vulnerabilities[0].affects[0].ref, 'pkg:npm/lodash@4.17.20');
    const openvex = await t.call('GET', `/api/v1/releases/${releases[0]}/vex?format=openvex`);
    assert.equal(openvex.json['@context'], 'https://openvex.dev/ns/v0.2.0');
    assert.deepEqual(openvex.json.statements[0], {
      vulnerability: { name: 'CVE-2021-23337', aliases: ['GHSA-35jh-r3h4-6jhm'] },
      products: [{ '@id': 'pkg:npm/lodash@4.17.20' }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
    });
    const unknownFormat = await t.call('GET', `/api/v1/releases/${releases[0]}/vex?format=spdx`);
    assert.equal(unknownFormat.status, 400);
  });
});
