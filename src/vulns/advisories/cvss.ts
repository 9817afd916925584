import type { SeverityRating, SeverityScore } from './advisory.ts';

/**
 * CVSS vectors from advisories: v3.0/v3.1 base scores computed from the vector (CVSS v3.1 specification
 * §7.1 and Appendix A; the base equations of v3.0 are the same), v4.0 vectors checked and kept (its score
 * needs the MacroVector tables of CVSS v4.0 §8, so a v4 score is taken only when the source states one).
 * Vectors are attacker-controlled: reading one is linear in its length and never throws.
 */

/** Longer than any valid vector with every v3 or v4 metric; bounds the work per vector. */
export const maxVectorLength = 512;

type MetricValues = Readonly<Record<string, readonly string[]>>;

// CVSS v3.1 §2-§4 and Table 15: metric abbreviations and their values ("X" = Not Defined).
const cvss3Base: MetricValues = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
};
const cvss3Other: MetricValues = {
  E: ['X', 'H', 'F', 'P', 'U'],
  RL: ['X', 'U', 'W', 'T', 'O'],
  RC: ['X', 'C', 'R', 'U'],
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'R'],
  MS: ['X', 'U', 'C'],
  MC: ['X', 'H', 'L', 'N'],
  MI: ['X', 'H', 'L', 'N'],
  MA: ['X', 'H', 'L', 'N'],
};

// CVSS v4.0 §2 and §7: base metrics (mandatory) and the others (optional).
const cvss4Base: MetricValues = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: ['H', 'L', 'N'],
  VI: ['H', 'L', 'N'],
  VA: ['H', 'L', 'N'],
  SC: ['H', 'L', 'N'],
  SI: ['H', 'L', 'N'],
  SA: ['H', 'L', 'N'],
};
const cvss4Other: MetricValues = {
  E: ['X', 'A', 'P', 'U'],
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MAT: ['X', 'N', 'P'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', 'H', 'L', 'N'],
  MVI: ['X', 'H', 'L', 'N'],
  MVA: ['X', 'H', 'L', 'N'],
  MSC: ['X', 'H', 'L', 'N'],
  MSI: ['X', 'S', 'H', 'L', 'N'],
  MSA: ['X', 'S', 'H', 'L', 'N'],
  S: ['X', 'N', 'P'],
  AU: ['X', 'N', 'Y'],
  R: ['X', 'A', 'U', 'I'],
  V: ['X', 'D', 'C'],
  RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red'],
};

type VectorReading = { metrics: ReadonlyMap<string, string> } | { problem: string };

/** Splits "CVSS:3.1/AV:N/..." after its prefix into metrics, each known, each once, the base ones all present. */
function readMetrics(
  vector: string,
  prefixLength: number,
  base: MetricValues,
  other: MetricValues,
): VectorReading {
  const metrics = new Map<string, string>();
  for (const part of vector.slice(prefixLength).split('/')) {
    const colon = part.indexOf(':');
    if (colon <= 0) return { problem: `"${part.slice(0, 20)}" is not a metric:value pair` };
    const metric = part.slice(0, colon);
    const value = part.slice(colon + 1);
    const allowed = Object.hasOwn(base, metric)
      ? base[metric]
      : Object.hasOwn(other, metric)
        ? other[metric]
        : undefined;
    if (allowed === undefined) return { problem: `unknown metric ${metric.slice(0, 10)}` };
    if (!allowed.includes(value)) return { problem: `${metric} cannot be ${value.slice(0, 10)}` };
    if (metrics.has(metric)) return { problem: `${metric} appears twice` };
    metrics.set(metric, value);
  }
  for (const metric of Object.keys(base)) {
    if (!metrics.has(metric)) return { problem: `the base metric ${metric} is missing` };
  }
  return { metrics };
}

/** CVSS v3.1 Appendix A: round up to one decimal, immune to floating-point representation error. */
export function roundUpCvss3(value: number): number {
  const integer = Math.round(value * 100_000);
  return integer % 10_000 === 0 ? integer / 100_000 : (Math.floor(integer / 10_000) + 1) / 10;
}

/** CVSS v3.1 §7.1 base score from the eight base metrics (Table 16 weights). */
function cvss3BaseScore(metrics: ReadonlyMap<string, string>): number {
  const scopeChanged = metrics.get('S') === 'C';
  const attackVector =
    ({ N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as Record<string, number>)[metrics.get('AV') ?? ''] ?? 0;
  const attackComplexity = metrics.get('AC') === 'L' ? 0.77 : 0.44;
  const privilegesRequired =
    metrics.get('PR') === 'N'
      ? 0.85
      : metrics.get('PR') === 'L'
        ? scopeChanged
          ? 0.68
          : 0.62
        : scopeChanged
          ? 0.5
          : 0.27;
  const userInteraction = metrics.get('UI') === 'N' ? 0.85 : 0.62;
  const impactWeight = (metric: string): number =>
    metrics.get(metric) === 'H' ? 0.56 : metrics.get(metric) === 'L' ? 0.22 : 0;
  const impactSubScore = 1 - (1 - impactWeight('C')) * (1 - impactWeight('I')) * (1 - impactWeight('A'));
  const impact = scopeChanged
    ? 7.52 * (impactSubScore - 0.029) - 3.25 * Math.pow(impactSubScore - 0.02, 15)
    : 6.42 * impactSubScore;
  const exploitability = 8.22 * attackVector * attackComplexity * privilegesRequired * userInteraction;
  if (impact <= 0) return 0;
  return scopeChanged
    ? roundUpCvss3(Math.min(1.08 * (impact + exploitability), 10))
    : roundUpCvss3(Math.min(impact + exploitability, 10));
}

/** CVSS v3.1 §5 Table 14 and CVSS v4.0 §6: the qualitative rating of a score. */
export function ratingOfScore(score: number): SeverityRating {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

function isValidScore(score: number | undefined): score is number {
  return score !== undefined && Number.isFinite(score) && score >= 0 && score <= 10;
}

/**
 * A severity entry for a CVSS vector, with its base score: `statedScore` when the source gives a valid one,
 * else computed for a v3.x vector. An unreadable vector is kept with a `problem` and no score.
 */
export function scoreCvssVector(type: string, vector: string, statedScore?: number): SeverityScore {
  const entry: SeverityScore = { type, vector };
  const stated = (): SeverityScore =>
    isValidScore(statedScore)
      ? { ...entry, baseScore: statedScore, baseScoreOrigin: 'stated', rating: ratingOfScore(statedScore) }
      : entry;
  if (vector.length > maxVectorLength)
    return { ...entry, vector: vector.slice(0, maxVectorLength), problem: 'the vector is too long' };
  if (vector.startsWith('CVSS:3.0/') || vector.startsWith('CVSS:3.1/')) {
    const reading = readMetrics(vector, 'CVSS:3.1/'.length, cvss3Base, cvss3Other);
    if ('problem' in reading) return { ...stated(), problem: reading.problem };
    if (isValidScore(statedScore)) return stated();
    const baseScore = cvss3BaseScore(reading.metrics);
    return { ...entry, baseScore, baseScoreOrigin: 'computed', rating: ratingOfScore(baseScore) };
  }
  if (vector.startsWith('CVSS:4.0/')) {
    const reading = readMetrics(vector, 'CVSS:4.0/'.length, cvss4Base, cvss4Other);
    return 'problem' in reading ? { ...stated(), problem: reading.problem } : stated();
  }
  if (type === 'CVSS_V2') return stated(); // v2 vectors carry no prefix (OSV schema severity types)
  return { ...stated(), problem: 'not a CVSS 3.x or 4.0 vector' };
}

/** The entry with the highest base score (the first on ties); without any score, the first entry. */
export function highestSeverity(entries: readonly SeverityScore[]): SeverityScore | undefined {
  let best: SeverityScore | undefined;
  for (const entry of entries) {
    if (entry.baseScore === undefined) continue;
    if (best?.baseScore === undefined || entry.baseScore > best.baseScore) best = entry;
  }
  return best ?? entries[0];
}
