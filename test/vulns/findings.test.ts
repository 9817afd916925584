import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { verifyStoredLog } from '../../src/ledger/index.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { storeKinds } from '../support/stores.ts';
import { createRelease, ledgerSize, validProduct } from '../api/helpers.ts';

const data = new URL('../../../shared/data/', import.meta.url);
const goVulnDb = readFileSync(new URL('osv/golang-vulndb.jsonl.gz', data));
const kev = readFileSync(new URL('kev/known_exploited_vulnerabilities.json', data));
const protonBridge = readFileSync(new URL('sbom/proton-bridge-1.6.3.cdx.json', data), 'utf8');

/** Real advisories (the Go vulnerability database, CISA KEV) against a real SBOM (proton-bridge 1.6.3). */
for (const kind of await storeKinds())
  describe(`findings from real advisories and SBOMs (${kind})`, () => {
    let t: TestPlatform;
    let productId: string;
    let early: string;
    let late: string;

    const release = (version: string) => createRelease(t, productId, version);

    async function attachSbom(releaseId: string) {
      const attached = await t.send('POST', `/api/v1/releases/${releaseId}/sbom`, {
        payload: protonBridge,
        contentType: 'application/vnd.cyclonedx+json',
      });
      assert.equal(attached.status, 200, attached.text);
    }

    async function importFile(bytes: Buffer, name: string) {
      const imported = await t.send('POST', `/api/v1/vulns/advisories?name=${name}`, {
        payload: bytes,
        contentType: 'application/octet-stream',
      });
      assert.equal(imported.status, 200, imported.text);
      return imported.json;
    }

    const findingsOf = async (releaseId: string) =>
      (await t.call('GET', `/api/v1/releases/${releaseId}/findings?limit=1000`)).json.findings as any[];

    before(async () => {
      t = await startTestPlatform(kind);
      productId = (await t.call('POST', '/api/v1/products', validProduct('Mail bridge appliance'))).json.id;
      early = await release('1.6.3');
      await attachSbom(early); // before any advisory: matched when the advisories arrive
    });
    after(() => t.close());

    test('a new advisory feed is matched against the release components it names', async () => {
      const report = await importFile(goVulnDb, 'golang-vulndb.jsonl.gz');
      assert.equal(report.format, 'osv-jsonl');
      assert.equal(report.rejected, 0);
      assert.ok(report.added > 4000, `added ${report.added}`);
      const findings = await findingsOf(early);
      assert.ok(findings.length > 0);
      assert.ok(findings.every((finding) => finding.purl?.startsWith('pkg:golang/')));
      assert.ok(
        findings.every((finding) => finding.state === 'under_investigation' && finding.deadline !== null),
      );
      // golang.org/x/net before 0.17.0 lets a client reset HTTP/2 streams to exhaust the server
      // (GO-2023-2102, CVE-2023-39325); proton-bridge 1.6.3 ships an x/net from 2021.
      const rapidReset = findings.find((finding) => finding.vulnerability === 'CVE-2023-39325');
      assert.ok(rapidReset, JSON.stringify(findings.map((finding) => finding.vulnerability)));
      assert.ok(rapidReset.advisories.includes('GO-2023-2102'));
      assert.match(rapidReset.purl, /^pkg:golang\/golang\.org\/x\/net@/);
      assert.equal(rapidReset.confidence, 'high');
    });

    test('re-importing the same feed changes nothing but records the import', async () => {
      const before = await findingsOf(early);
      const size = await ledgerSize(t);
      const again = await importFile(goVulnDb, 'golang-vulndb.jsonl.gz');
      assert.equal(again.added, 0);
      assert.equal(again.updated, 0);
      assert.ok(again.unchanged > 4000);
      assert.deepEqual(await findingsOf(early), before);
      assert.equal(await ledgerSize(t), size + 1);
    });

    test('a new SBOM is matched against every advisory at once, with the same findings', async () => {
      late = await release('1.6.3-rebuild');
      await attachSbom(late);
      const strip = (findings: any[]) =>
        findings.map((finding) => `${finding.vulnerability} ${finding.purl}`).sort();
      assert.deepEqual(strip(await findingsOf(late)), strip(await findingsOf(early)));
    });

    test("a finding's exposure counts the devices in the field still running its release", async () => {
      const device = async (serial: string) => {
        const created = await t.call('POST', '/api/v1/devices', {
          serial,
          productId,
          hardwareRevision: 'rev-a',
          bootstrap: { method: 'secret' },
        });
        assert.equal(created.status, 201, created.text);
        return t.platform.store.db
          .selectFrom('devices')
          .selectAll()
          .where('id', '=', created.json.id)
          .executeTakeFirstOrThrow();
      };
      const checkin = async (row: Awaited<ReturnType<typeof device>>, version: string) =>
        t.platform.updates.devices.checkin(row, { version });
      assert.ok((await findingsOf(early)).every((finding) => finding.exposure === 0));
      // Two report 1.6.3 at check-in; one reports 1.6.2 but its last appraisal measured 1.6.3; one runs
      // the rebuild; one ran 1.6.3 until it was decommissioned.
      await checkin(await device('MB-1'), '1.6.3');
      await checkin(await device('MB-2'), '1.6.3');
      const measured = await device('MB-3');
      await checkin(measured, '1.6.2');
      await t.platform.store.transaction((tx) =>
        t.platform.identity.devices.recordTrust(tx, measured.id, {
          status: 'affirming',
          appraisedAt: t.clock.now().toISOString(),
          secureBoot: 'enabled',
          measuredRelease: '1.6.3',
          attestationId: '01970000-0000-7000-8000-000000000001',
        }),
      );
      await checkin(await device('MB-4'), '1.6.3-rebuild');
      const retired = await device('MB-5');
      await checkin(retired, '1.6.3');
      const decommissioned = await t.call('POST', `/api/v1/devices/${retired.id}/decommission`, {});
      assert.ok(decommissioned.status < 300, decommissioned.text);
      const exposures = (await findingsOf(early)).map((finding) => finding.exposure);
      assert.ok(exposures.length > 0 && exposures.every((exposure) => exposure === 3), String(exposures));
      const [first] = await findingsOf(late);
      assert.equal(first.exposure, 1);
    });

    test('the KEV catalogue marks actively exploited findings, which then fall due within days', async () => {
      // GitHub's advisory for the generic HTTP/2 rapid reset CVE, as OSV (shape of GHSA-qppj-fm5r-hxr3):
      // the Go database names the Go-specific CVE, CISA's catalogue the generic one.
      const ghsa = {
        schema_version: '1.6.0',
        id: 'GHSA-qppj-fm5r-hxr3',
        modified: '2024-04-10T00:00:00Z',
        published: '2023-10-10T00:00:00Z',
        aliases: ['CVE-2023-44487'],
        summary: 'HTTP/2 Stream Cancellation Attack',
        affected: [
          {
            package: { ecosystem: 'Go', name: 'golang.org/x/net' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }],
          },
        ],
      };
      const record = await importFile(Buffer.from(JSON.stringify(ghsa)), 'GHSA-qppj-fm5r-hxr3.json');
      assert.deepEqual([record.format, record.added, record.findings], ['osv-record', 1, 2]);
      const before = (await findingsOf(early)).find((finding) => finding.vulnerability === 'CVE-2023-44487');
      assert.equal(before.exploited, false);
      const report = await importFile(kev, 'known_exploited_vulnerabilities.json');
      assert.equal(report.format, 'kev');
      assert.equal(report.added, 1404);
      assert.equal(report.exploited, 2, 'the finding in each release');
      const after = (await findingsOf(early)).find((finding) => finding.vulnerability === 'CVE-2023-44487');
      assert.equal(after.exploited, true);
      assert.ok(Date.parse(after.deadline) < Date.parse(before.deadline));
      assert.ok(Date.parse(after.deadline) - t.clock.now().getTime() <= 7 * 86_400_000);
    });

    test('triage records VEX decisions with their reasons; an incomplete decision is refused', async () => {
      const finding = (await findingsOf(early)).find(
        (candidate) => candidate.vulnerability === 'CVE-2023-39325',
      );
      const size = await ledgerSize(t);
      const noJustification = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state: 'not_affected',
        reason: 'not reachable',
      });
      assert.equal(noJustification.status, 400);
      assert.equal(noJustification.json.code, 'FINDING_JUSTIFICATION_MISSING');
      const noFix = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state: 'fixed',
        reason: 'patched',
      });
      assert.equal(noFix.status, 400);
      assert.equal(noFix.json.code, 'FINDING_FIX_MISSING');
      assert.equal(await ledgerSize(t), size);
      const decided = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
        reason: 'the bridge never serves HTTP/2 to untrusted peers',
      });
      assert.equal(decided.status, 200, decided.text);
      assert.equal(decided.json.state, 'not_affected');
      assert.equal(decided.json.deadline, null);
      assert.equal(await ledgerSize(t), size + 1);
      const entry = await t.platform.store.db
        .selectFrom('ledger_entries')
        .select('leaf')
        .orderBy('idx', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      const leaf = Buffer.from(entry.leaf).toString('utf8');
      assert.match(leaf, /"type":"finding\.triaged"/);
      assert.match(leaf, /"justification":"vulnerable_code_not_in_execute_path"/);
      assert.match(leaf, /"reason":"the bridge never serves HTTP\/2 to untrusted peers"/);
    });

    test('a release with an exploited, unjustified finding is published only with a recorded override', async () => {
      const uploaded = await t.send('POST', `/api/v1/releases/${late}/artifacts?name=bridge.bin`, {
        payload: Buffer.from('bridge'),
        contentType: 'application/octet-stream',
      });
      assert.equal(uploaded.status, 201, uploaded.text);
      const blocked = await t.call('POST', `/api/v1/releases/${late}/publish`);
      assert.equal(blocked.status, 409, blocked.text);
      assert.equal(blocked.json.code, 'RELEASE_GATE_BLOCKED');
      assert.ok(
        blocked.json.blockers.some((blocker: string) =>
          /^CVE-2023-44487 in pkg:golang\/golang\.org\/x\/net@.*actively exploited/.test(blocker),
        ),
      );
      assert.equal((await t.call('GET', `/api/v1/releases/${late}`)).json.status, 'draft');
      const published = await t.call(
        'POST',
        `/api/v1/releases/${late}/publish?override=${encodeURIComponent('field-safety corrective action shipping in 1.6.4')}`,
      );
      assert.equal(published.status, 200, published.text);
      const overridden = await t.platform.store.db
        .selectFrom('ledger_entries')
        .select('leaf')
        .orderBy('idx', 'desc')
        .limit(2)
        .execute();
      assert.ok(
        overridden.some((row) =>
          /"type":"release\.gate-overridden"/.test(Buffer.from(row.leaf).toString('utf8')),
        ),
      );
      const result = await verifyStoredLog(t.platform.store, t.platform.ledger.verifierKey);
      assert.equal(result.ok, true);
    });

    test('deadlines follow the product policy by severity, and a person may override the severity (recorded)', async () => {
      const finding = (await findingsOf(late)).find(
        (candidate) => candidate.vulnerability === 'CVE-2023-39325',
      );
      const invalid = await t.call('PUT', `/api/v1/products/${productId}/remediation-policy`, {
        critical: 5,
        high: 10,
        medium: 20,
        low: 40,
        unknown: 20,
        exploited: 30,
      });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.json.code, 'REMEDIATION_POLICY_INVALID');
      const policy = await t.call('PUT', `/api/v1/products/${productId}/remediation-policy`, {
        critical: 5,
        high: 10,
        medium: 20,
        low: 40,
        unknown: 20,
        exploited: 2,
      });
      assert.equal(policy.status, 200, policy.text);
      const overridden = await t.call('PATCH', `/api/v1/findings/${finding.id}`, {
        state: 'affected',
        severity: { rating: 'critical', score: 9.1 },
        reason: 'reachable from the hospital network without authentication',
      });
      assert.equal(overridden.status, 200, overridden.text);
      assert.deepEqual(overridden.json.severity, {
        score: 9.1,
        rating: 'critical',
        vector: null,
        overridden: true,
      });
      assert.equal(
        Date.parse(overridden.json.deadline) - Date.parse(overridden.json.createdAt),
        5 * 86_400_000,
      );
    });
  });
