// Matching throughput, in milliseconds, on the real advisories of ../shared/data/osv/ (Go, Bitnami,
// crates.io: about 13,000): `vulns.match_sbom` matches a 10,000-component SBOM against all of them,
// `vulns.match_advisory` one new advisory against a portfolio of 1,000 releases of 100 components.
// Beside each, the same run's raw rate of version-comparator calls.
import { readFileSync } from 'node:fs';
import { parseOsvJsonLines, type Advisory } from '../src/vulns/advisories/index.ts';
import { AdvisoryIndex, ComponentIndex, type MatchableComponent } from '../src/vulns/matching/index.ts';
import { versionSchemeFor } from '../src/vulns/versions/index.ts';
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
];
