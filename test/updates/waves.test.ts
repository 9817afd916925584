import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../src/core/index.ts';
import { checkWaves, evaluateWave, planWaves, type WaveSpec } from '../../src/updates/waves.ts';

const ids = (count: number) => Array.from({ length: count }, (_, index) => `device-${index}`);

describe('wave planning', () => {
  test('listed devices go first, then cumulative shares of the rest, the remainder to the last wave', () => {
    const devices = ids(100);
    const plan = planWaves('rollout-1', devices, [
      { devices: ['device-7', 'device-8'] },
      { share: 1 },
      { share: 10 },
      { share: 50 },
      { share: 100 },
    ]);
    const sizes = [0, 1, 2, 3, 4].map(
      (wave) => [...plan.values()].filter((assigned) => assigned === wave).length,
    );
    assert.deepEqual(sizes, [2, 1, 9, 39, 49]);
    assert.equal(plan.get('device-7'), 0);
    assert.equal(plan.size, 100);
  });

  test('the order is a stable hash of rollout and device: the same in every process, different per rollout', () => {
    const devices = ids(50);
    const waves = [{ share: 10 }, { share: 100 }];
    assert.deepEqual(
      planWaves('rollout-a', devices, waves),
      planWaves('rollout-a', [...devices].reverse(), waves),
    );
    const first = (plan: Map<string, number>) =>
      [...plan]
        .filter(([, wave]) => wave === 0)
        .map(([device]) => device)
        .sort();
    assert.notDeepEqual(
      first(planWaves('rollout-a', devices, waves)),
      first(planWaves('rollout-b', devices, waves)),
    );
  });

  test('devices beyond the last share land in the last wave; listed devices outside the selection are ignored', () => {
    const plan = planWaves('r', ids(10), [{ devices: ['elsewhere'], share: 20 }, { share: 50 }]);
    assert.equal(plan.has('elsewhere'), false);
    assert.deepEqual(
      [0, 1].map((wave) => [...plan.values()].filter((assigned) => assigned === wave).length),
      [2, 8],
    );
  });

  test('every selected device is planned exactly once, whatever the plan', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
        (count, shares) => {
          const waves = [...shares].sort((a, b) => a - b).map((share) => ({ share }));
          const plan = planWaves('r', ids(count), waves);
          assert.equal(plan.size, count);
          for (const wave of plan.values()) assert.ok(wave >= 0 && wave < waves.length);
        },
      ),
    );
  });

  test('refuses plans without waves, falling shares, waves with neither share nor devices, percentages out of range', () => {
    for (const waves of [
      [],
      [{ share: 50 }, { share: 20 }],
      [{ name: 'empty' }],
      [{ share: 0 }],
      [{ share: 101 }],
      [{ share: 100, success: { validatedShare: 0 } }],
      [{ share: 100, failure: { share: 150 } }],
      Array.from({ length: 21 }, () => ({ share: 100 })),
    ] as WaveSpec[][]) {
      assert.throws(
        () => checkWaves(waves),
        (error) => isVigilError(error, 'ROLLOUT_WAVES_INVALID'),
        JSON.stringify(waves),
      );
    }
    checkWaves([{ devices: ['a'] }, { share: 10 }, { share: 100 }]);
  });
});

describe('wave evaluation', () => {
  const wave: WaveSpec = {
    share: 10,
    success: { validatedShare: 90 },
    failure: { count: 3, share: 20, minimumSample: 10 },
  };

  test('waits while neither condition holds', () => {
    assert.equal(evaluateWave(wave, { devices: 100, validated: 50, failed: 2 }), 'wait');
  });

  test('succeeds at the validated share and continues, or pauses for approval when told', () => {
    assert.equal(evaluateWave(wave, { devices: 100, validated: 90, failed: 0 }), 'continue');
    assert.equal(
      evaluateWave({ ...wave, onSuccess: 'pause' }, { devices: 100, validated: 95, failed: 0 }),
      'pause-for-approval',
    );
    assert.equal(
      evaluateWave({ share: 100 }, { devices: 4, validated: 3, failed: 0 }),
      'wait',
      'default: every device validated',
    );
    assert.equal(
      evaluateWave({ share: 100 }, { devices: 0, validated: 0, failed: 0 }),
      'continue',
      'an empty wave is done',
    );
  });

  test('fails at the failure count, or at the failure share once the minimum sample finished', () => {
    assert.equal(evaluateWave(wave, { devices: 100, validated: 0, failed: 3 }), 'pause-on-failure');
    assert.equal(
      evaluateWave(
        { share: 10, failure: { share: 20, minimumSample: 10 } },
        { devices: 100, validated: 3, failed: 2 },
      ),
      'wait',
      'below the sample',
    );
    assert.equal(
      evaluateWave(
        { share: 10, failure: { share: 20, minimumSample: 10 } },
        { devices: 100, validated: 8, failed: 2 },
      ),
      'pause-on-failure',
    );
    assert.equal(
      evaluateWave({ ...wave, onFailure: 'abort' }, { devices: 100, validated: 0, failed: 5 }),
      'abort',
    );
  });

  test('a wave that meets both conditions fails: failure is judged first', () => {
    assert.equal(evaluateWave(wave, { devices: 10, validated: 9, failed: 3 }), 'pause-on-failure');
  });
});
