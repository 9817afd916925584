import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  SlotStore,
  abandonInstall,
  commitInstall,
  inactiveSlot,
  initialSlotState,
  parseSlotState,
  stageInstall,
  type SlotContents,
} from '../../src/agent/slots.ts';
import { isVigilError } from '../../src/core/index.ts';

const release = (version: string, securityVersion: number): SlotContents => ({
  version,
  securityVersion,
  image: 'firmware.bin',
  files: [{ name: 'firmware.bin', sha256: 'ab'.repeat(32), length: 10 }],
  rolloutId: null,
  installedAt: '2026-11-26T10:00:00.000Z',
});

describe('A/B slot state machine', () => {
  it('installs into the inactive slot and switches only on commit', () => {
    const start = initialSlotState('1.0.0', 2, release('1.0.0', 2));
    assert.equal(inactiveSlot(start), 'b');
    const staged = stageInstall(start, release('1.1.0', 3));
    assert.equal(staged.active, 'a', 'staging never changes what runs');
    assert.equal(staged.version, '1.0.0');
    assert.equal(staged.slots.b, null, 'the slot being written is not bootable');
    const committed = commitInstall(staged);
    assert.equal(committed.active, 'b');
    assert.equal(committed.version, '1.1.0');
    assert.equal(committed.securityVersion, 3);
    assert.equal(committed.slots.b?.version, '1.1.0');
    assert.equal(committed.slots.a?.version, '1.0.0', 'the old slot stays for a fallback');
    assert.equal(committed.staged, null);
    // The next install goes into a.
    assert.equal(inactiveSlot(committed), 'a');
    assert.equal(commitInstall(stageInstall(committed, release('1.2.0', 3))).active, 'a');
  });

  it('a failed health check abandons the install and keeps the running slot', () => {
    const start = initialSlotState('1.0.0', 2, release('1.0.0', 2));
    const abandoned = abandonInstall(stageInstall(start, release('1.1.0', 3)));
    assert.deepEqual(abandoned, start);
  });

  it('never lowers the security version: a lower release is refused, an equal one kept', () => {
    const start = initialSlotState('2.0.0', 5);
    assert.throws(
      () => stageInstall(start, release('1.9.0', 4)),
      (error: unknown) => isVigilError(error, 'AGENT_SECURITY_VERSION_ROLLBACK'),
    );
    assert.equal(commitInstall(stageInstall(start, release('2.0.1', 5))).securityVersion, 5);
  });

  it('commits only what was staged', () => {
    assert.throws(
      () => commitInstall(initialSlotState('1.0.0', 0)),
      (error: unknown) => isVigilError(error, 'AGENT_STATE_INVALID'),
    );
  });

  it('reads back what it wrote, and refuses a state file it does not understand', () => {
    const state = commitInstall(
      stageInstall(initialSlotState('1.0.0', 1, release('1.0.0', 1)), release('1.1.0', 2)),
    );
    assert.deepEqual(parseSlotState(JSON.parse(JSON.stringify(state)), 'state'), state);
    for (const broken of [
      null,
      { ...state, format: 2 },
      { ...state, active: 'c' },
      { ...state, version: '../1' },
      { ...state, securityVersion: -1 },
      {
        ...state,
        slots: {
          a: {
            ...release('1.0.0', 1),
            files: [{ name: '../../etc/passwd', sha256: 'ab'.repeat(32), length: 1 }],
          },
        },
      },
      { ...state, slots: { a: { ...release('1.0.0', 1), image: 'other.bin' } } },
    ])
      assert.throws(
        () => parseSlotState(broken, 'state'),
        (error: unknown) => isVigilError(error, 'AGENT_STATE_INVALID'),
        JSON.stringify(broken),
      );
  });
});

describe('SlotStore', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-slots-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('keeps the state in slot-state.json, written by rename (no temporary file left)', () => {
    const store = new SlotStore(join(scratch, 'device'));
    assert.equal(store.read(), null);
    const state = initialSlotState('0.0.0', 0);
    store.write(state);
    assert.deepEqual(store.read(), state);
    assert.deepEqual(readdirSync(join(scratch, 'device')), ['slot-state.json']);
  });

  it('fills a slot with copies of the verified files, emptying it first', () => {
    const store = new SlotStore(join(scratch, 'fill'));
    const source = join(scratch, 'download.bin');
    writeFileSync(source, 'new firmware');
    store.fill('b', [{ name: 'stale.bin', source }]);
    store.fill('b', [{ name: 'firmware.bin', source }]);
    assert.deepEqual(readdirSync(store.slotDir('b')), ['firmware.bin']);
    assert.equal(readFileSync(join(store.slotDir('b'), 'firmware.bin'), 'utf8'), 'new firmware');
    assert.throws(
      () => store.fill('a', [{ name: '../escape.bin', source }]),
      (error: unknown) => isVigilError(error, 'AGENT_STATE_UNWRITABLE'),
    );
  });

  it('a corrupt state file is an error, never a fresh start', () => {
    const dir = join(scratch, 'corrupt');
    const store = new SlotStore(dir);
    store.write(initialSlotState('1.0.0', 0));
    writeFileSync(store.stateFile, '{"format":1,');
    assert.throws(
      () => store.read(),
      (error: unknown) => isVigilError(error, 'AGENT_STATE_INVALID'),
    );
  });
});
