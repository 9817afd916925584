import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chooseFailing, forEachConcurrently, runSimulation } from '../../src/agent/simulate.ts';
import { isVigilError, type ApiClient } from '../../src/core/index.ts';

const serials = Array.from(
  { length: 100 },
  (_unused, index) => `SIM-TEST-${String(index + 1).padStart(4, '0')}`,
);

describe('fleet simulator', () => {
  it('chooses the failing devices by the hash of their serial: the same ones every run, the share asked', () => {
    const tenth = chooseFailing(serials, 10);
    assert.equal(tenth.size, 10);
    assert.deepEqual(chooseFailing([...serials].reverse(), 10), tenth, 'independent of the order given');
    assert.ok(
      [...chooseFailing(serials, 5)].every((serial) => tenth.has(serial)),
      'a smaller share is a subset',
    );
    assert.equal(chooseFailing(serials, 0).size, 0);
    assert.equal(chooseFailing(serials, 100).size, 100);
    assert.equal(chooseFailing(serials.slice(0, 3), 50).size, 2);
    assert.throws(() => chooseFailing(serials, 101), RangeError);
  });

  it('runs at most the given number of devices at once, each once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachConcurrently(serials, 7, async (_serial, index) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(index);
      running -= 1;
    });
    assert.equal(most, 7);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      serials.map((_serial, index) => index),
    );
    await forEachConcurrently([], 4, async () => assert.fail('no work for no items'));
  });

  it("refuses a work directory holding another product's fleet", async () => {
    const work = mkdtempSync(join(tmpdir(), 'vigil-simulate-'));
    try {
      writeFileSync(join(work, 'ca.pem'), '');
      writeFileSync(
        join(work, 'fleet.json'),
        JSON.stringify({ format: 1, productId: 'another', serialPrefix: 'SIM-X', devices: [] }),
      );
      const admin = {} as ApiClient;
      await assert.rejects(
        runSimulation({
          admin,
          server: new URL('https://127.0.0.1:1'),
          caFile: join(work, 'ca.pem'),
          productId: 'this-one',
          hardwareRevision: 'A',
          devices: 1,
          workDir: work,
        }),
        (error: unknown) =>
          isVigilError(error, 'AGENT_SIMULATION_INVALID') && /belongs to product another/.test(error.message),
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
