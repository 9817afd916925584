import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsaf, parseOsvRecord, type Advisory } from '../../../src/vulns/advisories/index.ts';
import { AdvisoryIndex, type Finding } from '../../../src/vulns/matching/index.ts';
import { allOsvAdvisories, osvAdvisories, readSharedFile, realSbom } from './fixtures.ts';

const goIndex = AdvisoryIndex.build(osvAdvisories('golang-vulndb'));
const protonBridge = goIndex.matchSbom(realSbom('proton-bridge-1.6.3.cdx.json'));

function findingsFor(findings: readonly Finding[], modulePath: string): Finding[] {
  return findings.filter((finding) => finding.purl?.startsWith(`pkg:golang/${modulePath}@`));
}

function advisoryIdsFor(findings: readonly Finding[], modulePath: string): string[] {
  return findingsFor(findings, modulePath)
    .flatMap((finding) => finding.advisoryIds)
    .sort();
}

/*
 * Expectations for proton-bridge 1.6.3 (CycloneDX/bom-examples, 201 Go modules) against golang/vulndb
 * @ a752ea54, derived by hand: for each module of the SBOM, the advisories naming it (grep of the
 * export), and for each the SBOM version placed against the advisory's events by SemVer precedence
 * (Go pseudo-versions v0.0.0-<timestamp>-<hash> are pre-releases of 0.0.0, ordered by their timestamp).
 */

test('proton-bridge 1.6.3: gin-gonic/gin v1.4.0 falls in three GO ranges', () => {
  // GO-2020-0001 [0, 1.6.0), GO-2021-0052 [0, 1.7.7), GO-2023-1737 [1.3.1-0.20190301021747-ccb9e902956d, 1.9.1):
  // 1.4.0 is above the pseudo-version 1.3.1-0.2019… (a pre-release of 1.3.1) and below each fix.
  assert.deepEqual(advisoryIdsFor(protonBridge.findings, 'github.com/gin-gonic/gin'), [
    'GO-2020-0001',
    'GO-2021-0052',
    'GO-2023-1737',
  ]);
  const gin = findingsFor(protonBridge.findings, 'github.com/gin-gonic/gin').find((finding) =>
    finding.advisoryIds.includes('GO-2020-0001'),
  );
  assert.equal(gin?.vulnerability, 'CVE-2020-36567');
  assert.deepEqual([...(gin?.aliases ?? [])].sort(), ['GHSA-6vm3-jj99-7229', 'GO-2020-0001']);
  assert.equal(gin?.matchedRange, 'SEMVER >=0 <1.6.0');
  assert.equal(gin?.confidence, 'high');
  assert.equal(gin?.version, 'v1.4.0');
});

test('proton-bridge 1.6.3: golang.org/x/text at pseudo-version v0.3.5-0.2020… is past one fix and before three', () => {
  // GO-2020-0015 fixed 0.3.3 < 0.3.5-0.2020… (not affected); GO-2021-0113 fixed 0.3.7, GO-2022-1059 fixed 0.3.8,
  // GO-2026-5970 fixed 0.39.0 are all above it (affected).
  assert.deepEqual(advisoryIdsFor(protonBridge.findings, 'golang.org/x/text'), [
    'GO-2021-0113',
    'GO-2022-1059',
    'GO-2026-5970',
  ]);
});

test('proton-bridge 1.6.3: golang.org/x/net v0.0.0-20200707034311 — 22 of the 30 advisories naming it', () => {
  const ids = advisoryIdsFor(protonBridge.findings, 'golang.org/x/net');
  assert.equal(ids.length, 22);
  // Fixed by an older pseudo-version (2018-2019 timestamps sort before 20200707…): not affected.
  for (const fixedBefore of [
    'GO-2020-0014',
    'GO-2021-0078',
    'GO-2022-0192',
    'GO-2022-0193',
    'GO-2022-0197',
    'GO-2022-0536',
  ]) {
    assert.ok(!ids.includes(fixedBefore), fixedBefore);
  }
  // Introduced after it: GO-2023-1495 at 0.0.0-20220524…, GO-2026-4559 at 0.50.0.
  assert.ok(!ids.includes('GO-2023-1495'));
  assert.ok(!ids.includes('GO-2026-4559'));
  // Fixed by a later pseudo-version or release: affected (HTTP/2 rapid reset CVE-2023-39325 among them).
  for (const affected of [
    'GO-2021-0238',
    'GO-2022-0236',
    'GO-2022-0288',
    'GO-2022-0969',
    'GO-2022-1144',
    'GO-2023-2102',
    'GO-2024-2687',
  ]) {
    assert.ok(ids.includes(affected), affected);
  }
  const rapidReset = findingsFor(protonBridge.findings, 'golang.org/x/net').find((finding) =>
    finding.advisoryIds.includes('GO-2023-2102'),
  );
  assert.equal(rapidReset?.vulnerability, 'CVE-2023-39325');
});

test('proton-bridge 1.6.3: fixed is exclusive — gopkg.in/yaml.v2 v2.2.8 and gorilla/websocket v1.4.1 are clean', () => {
  // GO-2020-0036 is fixed in exactly 2.2.8 (and GO-2021-0061 in 2.2.3, GO-2022-0956 in 2.2.4); GO-2020-0019 in exactly 1.4.1.
  assert.deepEqual(findingsFor(protonBridge.findings, 'gopkg.in/yaml.v2'), []);
  assert.deepEqual(findingsFor(protonBridge.findings, 'github.com/gorilla/websocket'), []);
  // gopkg.in/yaml.v3 v3.0.0-20200313… is before the fix 3.0.0-20220521… of GO-2022-0603.
  assert.deepEqual(advisoryIdsFor(protonBridge.findings, 'gopkg.in/yaml.v3'), ['GO-2022-0603']);
});

test('proton-bridge 1.6.3: ranges introduced after the SBOM version do not match', () => {
  // nkeys v0.1.0 vs [0.4.0, 0.4.6); klauspost/compress v1.9.7 vs [1.16.0, 1.18.7); resty/v2 v2.3.0 vs [2.10.0, 2.11.0);
  // miekg/dns v1.1.30 is past all three fixes (1.0.4-0.2018…, 1.1.25-0.2019…, 1.0.10).
  for (const modulePath of [
    'github.com/nats-io/nkeys',
    'github.com/klauspost/compress',
    'github.com/go-resty/resty/v2',
    'github.com/miekg/dns',
  ]) {
    assert.deepEqual(findingsFor(protonBridge.findings, modulePath), [], modulePath);
  }
});

test('proton-bridge 1.6.3: a withdrawn advisory never matches (GO-2026-4923, go.etcd.io/bbolt, introduced 0 and never fixed)', () => {
  assert.deepEqual(findingsFor(protonBridge.findings, 'go.etcd.io/bbolt'), []);
  assert.ok(!protonBridge.findings.some((finding) => finding.advisoryIds.includes('GO-2026-4923')));
  assert.equal(goIndex.withdrawnCount, 17);
  assert.ok(
    !goIndex
      .advisoriesNaming({ type: 'golang', namespace: 'go.etcd.io', name: 'bbolt' })
      .some((advisory) => advisory.id === 'GO-2026-4923'),
  );
});

test('proton-bridge 1.6.3: 58 findings over 14 modules, all decided', () => {
  const perModule = new Map<string, number>();
  for (const finding of protonBridge.findings) {
    const modulePath = (finding.purl ?? '').replace(/^pkg:golang\//, '').replace(/@.*$/, '');
    perModule.set(modulePath, (perModule.get(modulePath) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries([...perModule].sort()), {
    'github.com/dgrijalva/jwt-go': 1, // GO-2020-0017: introduced 0.0.0-20150717…, never fixed; v3.2.0 is above
    'github.com/gin-gonic/gin': 3,
    'github.com/kataras/iris/v12': 1, // GO-2022-0272: [0, 12.2.0-alpha8)
    'github.com/labstack/echo/v4': 2, // [0, 4.1.18-0.2020…) and [0, 4.9.0)
    'github.com/microcosm-cc/bluemonday': 2, // [0, 1.0.5) and [0, 1.0.16)
    'github.com/nats-io/jwt': 3, // [0, 1.1.0) twice and [0, 1.2.3-0.2021…)
    'github.com/sirupsen/logrus': 1, // GO-2025-4188: first pair [0, 1.8.3) of three
    'github.com/valyala/fasthttp': 2, // [0, 1.34.0) and [0, 1.70.0)
    'golang.org/x/image': 13, // every one [0, ≥0.5.0) against a 2019 pseudo-version of 0.0.0
    'golang.org/x/mod': 2, // [0, 0.40.0) twice
    'golang.org/x/net': 22,
    'golang.org/x/sys': 2, // [0, 0.0.0-20220412…) and [0, 0.44.0)
    'golang.org/x/text': 3,
    'gopkg.in/yaml.v3': 1,
  });
  assert.equal(protonBridge.findings.length, 58);
  assert.deepEqual(protonBridge.unevaluated, []);
  assert.equal(protonBridge.componentsChecked, 201);
  assert.deepEqual(protonBridge.componentsWithoutIdentity, []);
  // A vulnerability without CVE or GHSA keeps its GO id.
  assert.ok(protonBridge.findings.some((finding) => finding.vulnerability === 'GO-2026-4950'));
});

test('juice-shop (npm), dropwizard (Maven) and laravel (Composer) have no findings in the Go, Bitnami and RustSec data', () => {
  // None of the three exports covers npm, Maven or Packagist. Bitnami names a "brotli" package (the C
  // library in its images) and juice-shop has pkg:npm/brotli: different ecosystems, so different packages.
  const index = AdvisoryIndex.build(allOsvAdvisories());
  for (const [file, components] of [
    ['juice-shop-11.1.2.cdx.json', 840],
    ['dropwizard-1.3.15.cdx.json', 167],
    ['laravel-7.12.0.cdx.json', 62],
  ] as const) {
    const report = index.matchSbom(realSbom(file));
    assert.equal(report.componentsChecked, components, file);
    assert.deepEqual(report.findings, [], file);
    assert.deepEqual(report.unevaluated, [], file);
  }
  const juiceShop = realSbom('juice-shop-11.1.2.cdx.json');
  assert.ok(juiceShop.components.some((component) => component.purl?.canonical === 'pkg:npm/brotli@1.3.2'));
  assert.ok(index.advisoriesNaming({ type: 'bitnami', name: 'brotli' }).length > 0);
  assert.equal(index.advisoriesNaming({ type: 'npm', name: 'brotli' }).length, 0);
});

test('the whole set indexes 12,911 live advisories over 2,444 packages; the 30 withdrawn are left out', () => {
  const index = AdvisoryIndex.build(allOsvAdvisories());
  assert.equal(index.advisoryCount, 4291 + 7444 + 1206 - 30);
  assert.equal(index.withdrawnCount, 30);
  assert.equal(index.packageCount, 2444);
});

test('Bitnami and RustSec records match components named by their purls', () => {
  const index = AdvisoryIndex.build(allOsvAdvisories());
  // BIT-activemq-2020-11998: introduced 5.15.12, last_affected 5.15.12.
  const activemq = index.matchComponent({
    ref: 'amq',
    version: '5.15.12',
    purl: { type: 'bitnami', name: 'activemq', canonical: 'pkg:bitnami/activemq@5.15.12' },
  });
  const bit = activemq.findings.find((finding) => finding.advisoryIds.includes('BIT-activemq-2020-11998'));
  assert.equal(bit?.vulnerability, 'CVE-2020-11998');
  assert.equal(bit?.matchedRange, 'SEMVER >=5.15.12 <=5.15.12');
  assert.equal(bit?.severity?.baseScore, 9.8); // CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H, computed
  const later = index.matchComponent({
    ref: 'amq',
    version: '5.15.13',
    purl: { type: 'bitnami', name: 'activemq' },
  });
  assert.ok(!later.findings.some((finding) => finding.advisoryIds.includes('BIT-activemq-2020-11998')));
  // RUSTSEC-2016-0001: openssl crate [0.0.0-0, 0.9.0).
  const openssl = index.matchComponent({
    ref: 'ossl',
    version: '0.8.3',
    purl: { type: 'cargo', name: 'openssl' },
  });
  assert.ok(
    openssl.findings.some(
      (finding) =>
        finding.advisoryIds.includes('RUSTSEC-2016-0001') && finding.vulnerability === 'CVE-2016-10931',
    ),
  );
});

test('CPE is a fallback for components without purl, and its findings are low-confidence', () => {
  const index = AdvisoryIndex.build(osvAdvisories('bitnami-vulndb'));
  const byCpe = index.matchComponent({
    ref: 'broker',
    version: '5.15.12',
    cpe: 'cpe:2.3:a:apache:activemq:5.15.12:*:*:*:*:*:*:*',
  });
  const finding = byCpe.findings.find((candidate) =>
    candidate.advisoryIds.includes('BIT-activemq-2020-11998'),
  );
  assert.equal(finding?.confidence, 'low');
  assert.equal(finding?.matchedBy, 'cpe');
  assert.equal(finding?.matchedRange, 'cpe:2.3:a:apache:activemq:*:*:*:*:*:*:*:* SEMVER >=5.15.12 <=5.15.12');
  // A component with a purl is matched by its purl only, even if its CPE would match.
  const withPurl = index.matchComponent({
    ref: 'broker',
    version: '5.15.12',
    cpe: 'cpe:2.3:a:apache:activemq:5.15.12:*:*:*:*:*:*:*',
    purl: { type: 'npm', name: 'activemq' },
  });
  assert.deepEqual(withPurl.findings, []);
  // The CPE's version stands in for a missing component version; a CPE 2.2 URI reads the same.
  const uri = index.matchComponent({ ref: 'broker', cpe: 'cpe:/a:apache:activemq:5.15.12' });
  assert.ok(uri.findings.some((candidate) => candidate.advisoryIds.includes('BIT-activemq-2020-11998')));
});

test('a CSAF advisory naming products by CPE with a version matches that version only (BSI-2022-0001)', () => {
  const csaf = parseCsaf(readSharedFile('csaf/examples/bsi-2022-0001.json'));
  const index = AdvisoryIndex.build(csaf.advisories);
  const cpe = (version: string) => `cpe:2.3:a:csaf-tools:cvrf-csaf-converter:${version}:*:*:*:*:*:*:*`;
  const rc1 = index.matchComponent({ ref: 'converter', version: '1.0.0-rc1', cpe: cpe('1.0.0-rc1') });
  assert.deepEqual(
    rc1.findings.map((finding) => [finding.vulnerability, finding.confidence, finding.severity?.baseScore]),
    [['CVE-2022-27193', 'low', 6.1]],
  );
  assert.deepEqual(
    index.matchComponent({ ref: 'converter', version: '1.0.0-rc2', cpe: cpe('1.0.0-rc2') }).findings,
    [],
  );
});

function record(id: string, aliases: string[], ecosystem = 'PyPI'): Advisory {
  return parseOsvRecord({
    id,
    aliases,
    modified: '2025-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem, name: 'Django' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '4.2.1' }] }],
      },
    ],
  });
}

test('two advisories of one vulnerability give one finding naming both', () => {
  const index = AdvisoryIndex.build([
    record('PYSEC-2023-1', ['CVE-2023-0001']),
    record('GHSA-aaaa-bbbb-cccc', ['CVE-2023-0001']),
  ]);
  const { findings } = index.matchComponent({
    ref: 'django',
    version: '4.2',
    purl: { type: 'pypi', name: 'django' },
  });
  assert.equal(findings.length, 1);
  assert.equal(findings[0]?.vulnerability, 'CVE-2023-0001');
  assert.deepEqual([...(findings[0]?.advisoryIds ?? [])].sort(), ['GHSA-aaaa-bbbb-cccc', 'PYSEC-2023-1']);
});

test('what cannot be decided is reported, not dropped; excluded components are not matched', () => {
  const index = AdvisoryIndex.build([record('NPM-2023-2', [], 'npm')]);
  const report = index.matchSbom({
    components: [
      { ref: 'no-version', purl: { type: 'npm', name: 'Django' } },
      { ref: 'bad-version', version: 'latest!', purl: { type: 'npm', name: 'django' } },
      { ref: 'excluded', version: '1.0.0', purl: { type: 'npm', name: 'django' }, scope: 'excluded' },
      { ref: 'anonymous', version: '1.0' },
    ],
  });
  assert.deepEqual(report.findings, []);
  assert.deepEqual(
    report.unevaluated.map((match) => [match.componentRef, match.reason]),
    [
      ['no-version', 'the component has no version'],
      ['bad-version', '"latest!" is not a valid npm version'],
    ],
  );
  assert.equal(report.componentsChecked, 3);
  assert.deepEqual(report.componentsWithoutIdentity, ['anonymous']);
});
