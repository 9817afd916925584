import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

const examples = fileURLToPath(new URL('../../../shared/data/csaf/examples/', import.meta.url));
const files = readdirSync(examples, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((name) => join(examples, name));

describe('the CSAF 2.0 examples of ../shared/data/csaf import through the API', () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(() => t.close());

  const importFile = async (file: string) => {
    const imported = await t.send('POST', `/api/v1/vulns/advisories?name=${basename(file)}`, {
      payload: readFileSync(file),
      contentType: 'application/json',
    });
    assert.equal(imported.status, 200, `${file}: ${imported.text}`);
    return imported.json;
  };

  test('every example (security advisories, informational, csaf_vex) imports whole; again, it changes nothing', async () => {
    assert.ok(files.length >= 19, `${files.length} examples`);
    for (const file of files) {
      const report = await importFile(file);
      assert.equal(report.format, 'csaf', file);
      assert.equal(report.rejected, 0, `${file}: ${JSON.stringify(report.errors)}`);
      // One advisory per vulnerability (an informational advisory may have none); each names its
      // document, so two vendors' statements on one CVE are both kept.
      const vulnerabilities = (JSON.parse(readFileSync(file, 'utf8')).vulnerabilities ?? []).length;
      assert.equal(report.added, vulnerabilities, `${file}: ${JSON.stringify(report)}`);
    }
    for (const file of files) {
      const again = await importFile(file);
      assert.equal(again.added + again.updated, 0, `${file}: ${JSON.stringify(again)}`);
    }
  });
});
