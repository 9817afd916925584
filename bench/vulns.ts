// Matching throughput, in milliseconds, on the real advisories of ../shared/data/osv/ (Go, Bitnami,
// crates.io: about 13,000): `vulns.match_sbom` matches a 10,000-component SBOM against all of them,
// `vulns.match_advisory` one new advisory against a portfolio of 1,000 releases of 100 components.
// Beside each, the same run's raw rate of version-comparator calls. `vulns.ingest_sbom`: a
// 10,000-component CycloneDX SBOM attached to a release through the admin API, streamed in 64 KiB
// chunks, end to end (parsed as it arrives, schema-checked, normalised, stored, matched against all
// those advisories, findings written): a typical SBOM (one component in ten named by an advisory)
// as the value, and one whose every component is named (tens of thousands of findings) beside it,
// with the same run's JSON.parse of the same bytes.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parseOsvJsonLines, type Advisory } from '../src/vulns/advisories/index.ts';
import { AdvisoryIndex, ComponentIndex, type MatchableComponent } from '../src/vulns/matching/index.ts';
import { versionSchemeFor } from '../src/vulns/versions/index.ts';
import { startTestPlatform } from '../test/support/platform.ts';
import type { Benchmark } from './run.ts';

const feeds = ['golang-vulndb.jsonl.gz', 'bitnami-vulndb.jsonl.gz', 'rustsec.jsonl.gz'];
const purlTypes: Record<string, string> = { Go: 'golang', 'crates.io': 'cargo', Bitnami: 'bitnami' };

function loadAdvisories(): Advisory[] {
  return feeds.flatMap(
    (feed) =>
      parseOsvJsonLines(readFileSync(new URL(`../../shared/data/osv/${feed}`, import.meta.url))).advisories,
  );
}

/** A deterministic pseudo-random sequence (mulberry32), so every run matches the same components. */
function sequence(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Components named after packages the advisories name, at versions around their ranges. */
function componentsFrom(
  advisories: readonly Advisory[],
  count: number,
  random: () => number,
): MatchableComponent[] {
  // Each package named by an advisory once, as an SBOM lists each component once.
  const names = new Map<string, { type: string; name: string }>();
  for (const advisory of advisories) {
    for (const affected of advisory.affected) {
      const type = purlTypes[affected.ecosystem ?? ''];
      if (type !== undefined && affected.name !== undefined)
        names.set(`${type}/${affected.name}`, { type, name: affected.name });
    }
  }
  const packages = [...names.values()];
  return Array.from({ length: count }, (_, index) => {
    const chosen = packages[Math.floor(random() * packages.length)]!;
    const version = `${chosen.type === 'golang' ? 'v' : ''}${Math.floor(random() * 10)}.${Math.floor(random() * 30)}.${Math.floor(random() * 10)}`;
    const slash = chosen.name.lastIndexOf('/');
    const purl =
      slash < 0
        ? { type: chosen.type, name: chosen.name, version }
        : {
            type: chosen.type,
            namespace: chosen.name.slice(0, slash),
            name: chosen.name.slice(slash + 1),
            version,
          };
    return { ref: `component-${index}`, version, purl };
  });
}

/** Components no advisory names: first-party and unlisted packages. */
function unnamedComponents(count: number, random: () => number): MatchableComponent[] {
  return Array.from({ length: count }, (_, index) => {
    const version = `${Math.floor(random() * 10)}.${Math.floor(random() * 30)}.${Math.floor(random() * 10)}`;
    return {
      ref: `unnamed-${index}`,
      version,
      purl: { type: 'generic', namespace: 'vendor.example', name: `module-${index}`, version },
    };
  });
}

/** A CycloneDX 1.6 SBOM of those components, with what BSI TR-03183-2 asks of each. */
function cycloneDxOf(components: readonly MatchableComponent[]): Buffer {
  const purl = (component: MatchableComponent): string => {
    const { type, namespace, name, version } = component.purl!;
    return `pkg:${type}/${namespace === undefined ? '' : `${namespace}/`}${name}@${version}`;
  };
  const listed = components.map((component) => ({
    type: 'library',
    'bom-ref': component.ref,
    supplier: { name: `Supplier of ${component.purl!.name}` },
    name: component.purl!.name,
    ...(component.purl!.namespace === undefined ? {} : { group: component.purl!.namespace }),
    version: component.version,
    purl: purl(component),
    hashes: [{ alg: 'SHA-256', content: '0'.repeat(64) }],
    licenses: [{ license: { id: 'Apache-2.0' } }],
  }));
  return Buffer.from(
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
      version: 1,
      metadata: {
        timestamp: '2026-11-26T00:00:00Z',
        authors: [{ name: 'Bench build' }],
        component: { type: 'firmware', 'bom-ref': 'firmware', name: 'bench-firmware', version: '1.0.0' },
      },
      components: listed,
      dependencies: [{ ref: 'firmware', dependsOn: listed.map((component) => component['bom-ref']) }],
    }),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed(work: () => void, runs: number): number {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    work();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(samples);
}

/** Raw version comparisons per second (SemVer-style Go versions), the same-run baseline. */
function comparatorRate(): number {
  const go = versionSchemeFor('Go');
  const versions = Array.from({ length: 1000 }, (_, index) => `v${index % 3}.${index % 17}.${index % 11}`);
  let count = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() - started < 1_000_000_000n) {
    for (let index = 1; index < versions.length; index++) go.compare(versions[index - 1]!, versions[index]!);
    count += versions.length - 1;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

let loaded: Advisory[] | undefined;

export const vulnsBenchmarks: Benchmark[] = [
  {
    name: 'vulns.match_sbom',
    async run() {
      loaded ??= loadAdvisories();
      const index = AdvisoryIndex.build(loaded);
      const sbom = { components: componentsFrom(loaded, 10_000, sequence(7)) };
      let findings = 0;
      const ms = timed(() => {
        findings = index.matchSbom(sbom).findings.length;
      }, 7);
      const baseline = comparatorRate();
      return {
        value: Number(ms.toFixed(1)),
        unit: 'ms',
        target: 200,
        components: sbom.components.length,
        advisories: loaded.length,
        findings,
        baseline: Math.round(baseline),
        baselineUnit: 'comparisons/s',
      };
    },
  },
  {
    name: 'vulns.match_advisory',
    async run() {
      loaded ??= loadAdvisories();
      const portfolio = new ComponentIndex();
      const random = sequence(11);
      for (let release = 0; release < 1000; release++) {
        // Every release carries golang.org/x/net, at its own version, beside 99 other packages.
        const version = `v0.${Math.floor(random() * 25)}.0`;
        const net = {
          ref: 'x-net',
          version,
          purl: { type: 'golang', namespace: 'golang.org/x', name: 'net', version },
        };
        portfolio.addRelease(`release-${release}`, [net, ...componentsFrom(loaded, 99, random)]);
      }
      // GO-2023-2102 (HTTP/2 rapid reset): it names golang.org/x/net, which every release carries.
      const advisory = loaded.find((candidate) => candidate.id === 'GO-2023-2102')!;
      let findings = 0;
      const ms = timed(() => {
        findings = portfolio.matchAdvisory(advisory).findings.length;
      }, 21);
      const baseline = comparatorRate();
      return {
        value: Number(ms.toFixed(2)),
        unit: 'ms',
        target: 50,
        releases: 1000,
        components: portfolio.componentCount,
        findings,
        baseline: Math.round(baseline),
        baselineUnit: 'comparisons/s',
      };
    },
  },
  {
    name: 'vulns.ingest_sbom',
    async run() {
      // The server holds its own advisories; the benchmark keeps none beside them.
      const advisories = loaded ?? loadAdvisories();
      loaded = undefined;
      const t = await startTestPlatform();
      try {
        for (const feed of feeds) {
          const imported = await t.send('POST', `/api/v1/vulns/advisories?name=${feed}`, {
            payload: readFileSync(new URL(`../../shared/data/osv/${feed}`, import.meta.url)),
            contentType: 'application/gzip',
          });
          if (imported.status !== 200) throw new Error(`import ${feed}: ${imported.status} ${imported.text}`);
        }
        const product = await t.call('POST', '/api/v1/products', {
          name: 'Bench gateway',
          model: 'G-1',
          hardwareRevisions: ['A'],
          regimes: [],
          supportStart: '2026-01-01',
          supportEnd: '2036-01-01',
        });
        // Typical: one component in ten is a package some advisory names, the rest are packages no
        // advisory names. All named: every component is (the SBOM of vulns.match_sbom).
        const random = sequence(13);
        const typical = cycloneDxOf([
          ...componentsFrom(advisories, 1_000, random),
          ...unnamedComponents(9_000, random),
        ]);
        const allNamed = cycloneDxOf(componentsFrom(advisories, 10_000, sequence(7)));
        const advisoryCount = advisories.length;
        advisories.length = 0;
        let version = 0;
        const ingest = async (document: Buffer) => {
          const samples: number[] = [];
          let findings = 0;
          for (let run = 0; run < 5; run++) {
            const release = await t.call('POST', '/api/v1/releases', {
              productId: product.json.id,
              version: `1.0.${version++}`,
              securityVersion: 1,
              hardwareRevisions: ['A'],
            });
            const chunks = Readable.from(
              (function* () {
                for (let offset = 0; offset < document.length; offset += 65_536)
                  yield document.subarray(offset, offset + 65_536);
              })(),
            );
            const started = process.hrtime.bigint();
            const attached = await t.app.inject({
              method: 'POST',
              url: `/api/v1/releases/${release.json.id}/sbom`,
              headers: {
                authorization: `Bearer ${t.adminToken}`,
                'content-type': 'application/vnd.cyclonedx+json',
              },
              payload: chunks,
            });
            samples.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (attached.statusCode !== 200)
              throw new Error(`attach: ${attached.statusCode} ${attached.body}`);
            const counted = await t.platform.store.db
              .selectFrom('findings')
              .select((eb) => eb.fn.countAll<number>().as('count'))
              .where('release_id', '=', release.json.id)
              .executeTakeFirstOrThrow();
            findings = Number(counted.count);
          }
          return { ms: median(samples), findings };
        };
        const typicalRun = await ingest(typical);
        const allNamedRun = await ingest(allNamed);
        const baseline = timed(() => JSON.parse(typical.toString('utf8')), 5);
        return {
          value: Math.round(typicalRun.ms),
          unit: 'ms',
          target: 1000,
          bytes: typical.length,
          components: 10_000,
          advisories: advisoryCount,
          findings: typicalRun.findings,
          allNamedMs: Math.round(allNamedRun.ms),
          allNamedFindings: allNamedRun.findings,
          baseline: Number(baseline.toFixed(1)),
          baselineUnit: 'ms (JSON.parse of the same bytes)',
        };
      } finally {
        await t.close();
      }
    },
  },
];
