import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { ledgerSize, validProduct } from '../api/helpers.ts';

const sbomDir = new URL('../../../shared/data/sbom/', import.meta.url);

describe('release SBOMs are read when attached', () => {
  let t: TestPlatform;
  let releaseId: string;

  before(async () => {
    t = await startTestPlatform();
    const productId = (await t.call('POST', '/api/v1/products', validProduct('Bridge gateway'))).json.id;
    const release = await t.call('POST', '/api/v1/releases', {
      productId,
      version: '1.6.3',
      securityVersion: 1,
      hardwareRevisions: ['rev-a'],
    });
    releaseId = release.json.id;
  });
  after(() => t.close());

  test('a real CycloneDX SBOM is parsed, kept normalised, and reported against NTIA and BSI TR-03183-2', async () => {
    const document = readFileSync(new URL('proton-bridge-1.6.3.cdx.json', sbomDir), 'utf8');
    const attached = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
      payload: document,
      contentType: 'application/vnd.cyclonedx+json',
    });
    assert.equal(attached.status, 200, attached.text);
    const report = await t.call('GET', `/api/v1/releases/${releaseId}/sbom/completeness`);
    assert.equal(report.status, 200, report.text);
    assert.equal(report.json.format, 'CycloneDX');
    assert.equal(
      report.json.components,
      (JSON.parse(document) as { components: unknown[] }).components.length,
    );
    assert.equal(typeof report.json.completeness, 'object');
  });

  test('a schema-invalid SBOM is refused with its violations listed, and nothing is stored', async () => {
    const before = await ledgerSize(t);
    const stored = await t.call('GET', `/api/v1/releases/${releaseId}`);
    const invalid = JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 1,
      components: [{ type: 'library', version: '1.0.0' }],
    });
    const refused = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
      payload: invalid,
      contentType: 'application/vnd.cyclonedx+json',
    });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.code, 'SBOM_INVALID');
    assert.ok(Array.isArray(refused.json.errors) && refused.json.errors.length > 0);
    assert.match(refused.json.errors[0].path, /^\/components\/0/);
    const unknown = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
      payload: JSON.stringify({ hello: 'world' }),
      contentType: 'application/json',
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.code, 'SBOM_FORMAT_UNKNOWN');
    assert.equal(await ledgerSize(t), before);
    assert.deepEqual((await t.call('GET', `/api/v1/releases/${releaseId}`)).json.sbom, stored.json.sbom);
  });

  test('an SBOM streamed without a length is read as it arrives, and refused once past 32 MiB with nothing stored', async () => {
    const document = readFileSync(new URL('proton-bridge-1.6.3.cdx.json', sbomDir));
    const inChunks = (bytes: Buffer, size: number) =>
      Readable.from(
        (function* () {
          for (let offset = 0; offset < bytes.length; offset += size)
            yield bytes.subarray(offset, offset + size);
        })(),
      );
    const streamed = await t.app.inject({
      method: 'POST',
      url: `/api/v1/releases/${releaseId}/sbom`,
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/vnd.cyclonedx+json' },
      payload: inChunks(document, 1000),
    });
    assert.equal(streamed.statusCode, 200, streamed.body);
    assert.equal(
      streamed.json().sbom.digest,
      `sha256:${createHash('sha256').update(document).digest('hex')}`,
    );

    const before = await ledgerSize(t);
    const stored = await t.call('GET', `/api/v1/releases/${releaseId}`);
    // A valid start, then a string that never ends: only the size limit stops it.
    const endless = Buffer.concat([
      Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"'),
      Buffer.alloc(33 * 1024 * 1024, 'a'),
    ]);
    const refused = await t.app.inject({
      method: 'POST',
      url: `/api/v1/releases/${releaseId}/sbom`,
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/vnd.cyclonedx+json' },
      payload: inChunks(endless, 1024 * 1024),
    });
    assert.equal(refused.statusCode, 413, refused.body);
    assert.equal(refused.json().code, 'REQUEST_TOO_LARGE');
    assert.equal(await ledgerSize(t), before);
    assert.deepEqual((await t.call('GET', `/api/v1/releases/${releaseId}`)).json.sbom, stored.json.sbom);
  });
});
