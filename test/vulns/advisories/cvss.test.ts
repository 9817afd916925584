import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCsaf,
  scoreCvssVector,
  ratingOfScore,
  highestSeverity,
} from '../../../src/vulns/advisories/index.ts';
import { roundUpCvss3 } from '../../../src/vulns/advisories/cvss.ts';
import { csafExampleFiles, readSharedFile } from './fixtures.ts';

// Base scores as the FIRST CVSS v3.1 calculator and NVD give them.
const knownScores: [string, number][] = [
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
  ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.1],
  ['CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.1],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N', 7.5],
  ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
  ['CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L', 6.1],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
];

for (const [vector, score] of knownScores) {
  test(`computes ${score} for ${vector} (CVSS v3.1 §7.1)`, () => {
    const entry = scoreCvssVector('CVSS_V3', vector);
    assert.equal(entry.baseScore, score);
    assert.equal(entry.baseScoreOrigin, 'computed');
    assert.equal(entry.rating, ratingOfScore(score));
    assert.equal(entry.problem, undefined);
  });
}

test('temporal and environmental metrics do not change the base score', () => {
  assert.equal(
    scoreCvssVector('CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:F/RL:O/RC:C/MC:N/MI:N/MA:N')
      .baseScore,
    10,
  );
});

test('every CVSS v3 score stated in the CSAF examples equals the one computed from its vector', () => {
  let compared = 0;
  for (const file of csafExampleFiles()) {
    for (const advisory of parseCsaf(readSharedFile(file)).advisories) {
      for (const severity of advisory.severity) {
        if (severity.type !== 'CVSS_V3' || severity.vector === undefined) continue;
        assert.equal(
          scoreCvssVector('CVSS_V3', severity.vector).baseScore,
          severity.baseScore,
          `${file} ${severity.vector}`,
        );
        compared++;
      }
    }
  }
  // bsi-2022-0001 1, cisco 1, uc-04 1, uc-06 2, uc-07 2, uc-08 4, uc-09 4.
  assert.equal(compared, 15);
});

test('Appendix A rounding is immune to floating-point error', () => {
  assert.equal(roundUpCvss3(4.000000000000001), 4.0);
  assert.equal(roundUpCvss3(4.02), 4.1);
  assert.equal(roundUpCvss3(4.0), 4.0);
  assert.equal(roundUpCvss3(9.99), 10);
});

test('the rating scale of CVSS v3.1 Table 14', () => {
  assert.deepEqual([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(ratingOfScore), [
    'none',
    'low',
    'low',
    'medium',
    'medium',
    'high',
    'high',
    'critical',
    'critical',
  ]);
});

test('a stated score wins over the computed one; an invalid stated score is ignored', () => {
  assert.equal(
    scoreCvssVector('CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.1).baseScore,
    9.1,
  );
  assert.equal(scoreCvssVector('CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 11).baseScore, 9.8);
});

test('CVSS v4.0 vectors are checked and kept without a computed score', () => {
  const vector = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
  assert.deepEqual(scoreCvssVector('CVSS_V4', vector), { type: 'CVSS_V4', vector });
  assert.deepEqual(scoreCvssVector('CVSS_V4', vector, 9.3), {
    type: 'CVSS_V4',
    vector,
    baseScore: 9.3,
    baseScoreOrigin: 'stated',
    rating: 'critical',
  });
  assert.match(scoreCvssVector('CVSS_V4', 'CVSS:4.0/AV:N/AC:L').problem ?? '', /base metric AT is missing/);
});

test('unreadable vectors are kept with a problem and no score, never thrown', () => {
  const problems = [
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', // A missing
    'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // AV twice
    'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // no such value
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1', // no such metric
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/', // empty part
    'CVSS:9.9/AV:N',
    `CVSS:3.1/${'AV:N/'.repeat(200)}`,
  ];
  for (const vector of problems) {
    const entry = scoreCvssVector('CVSS_V3', vector);
    assert.equal(entry.baseScore, undefined, vector);
    assert.ok(entry.problem !== undefined, vector);
  }
});

test('highestSeverity picks the highest base score, else the first entry', () => {
  const low = scoreCvssVector('CVSS_V3', 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N');
  const high = scoreCvssVector('CVSS_V3', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H');
  const unscored = { type: 'Ubuntu', text: 'medium' };
  assert.equal(highestSeverity([low, unscored, high]), high);
  assert.equal(highestSeverity([unscored]), unscored);
  assert.equal(highestSeverity([]), undefined);
});
