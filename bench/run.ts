// `npm run bench [-- PREFIX...]`: runs the benchmarks whose name starts with a given prefix (all
// without one) and prints one JSON object per line: name, value, unit, and where a benchmark has
// one, the same-run baseline and their ratio.
import { attestationBenchmarks } from './attestation.ts';
import { identityBenchmarks } from './identity.ts';
import { keystoreBenchmarks } from './keystore.ts';
import { ledgerBenchmarks } from './ledger.ts';
import { updatesBenchmarks } from './updates.ts';
import { vulnsBenchmarks } from './vulns.ts';

export interface Benchmark {
  name: string;
  run(): Promise<{
    value: number;
    unit: string;
    baseline?: number;
    ratio?: number;
    [extra: string]: unknown;
  }>;
}

const all: Benchmark[] = [
  ...ledgerBenchmarks,
  ...keystoreBenchmarks,
  ...identityBenchmarks,
  ...attestationBenchmarks,
  ...updatesBenchmarks,
  ...vulnsBenchmarks,
];
const prefixes = process.argv.slice(2);
const chosen = all.filter(
  (benchmark) => prefixes.length === 0 || prefixes.some((prefix) => benchmark.name.startsWith(prefix)),
);
if (chosen.length === 0) {
  console.error(
    `no benchmark matches ${prefixes.join(', ')}; known: ${all.map((benchmark) => benchmark.name).join(', ')}`,
  );
  process.exit(2);
}
for (const benchmark of chosen) {
  const result = await benchmark.run();
  console.log(JSON.stringify({ name: benchmark.name, ...result }));
}
