import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkSlotHealth,
  runHealthCommand,
  verifySlotFiles,
  type SlotUnderCheck,
} from '../../src/agent/health-check.ts';

describe('slot health check', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-health-'));
  const firmware = Buffer.from('firmware 1.1.0\n'.repeat(100));
  let slot: SlotUnderCheck;

  before(() => {
    const dir = join(scratch, 'slots', 'b');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'firmware.bin'), firmware);
    slot = {
      dir,
      slot: 'b',
      version: '1.1.0',
      image: 'firmware.bin',
      files: [
        {
          name: 'firmware.bin',
          sha256: createHash('sha256').update(firmware).digest('hex'),
          length: firmware.length,
        },
      ],
    };
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes a slot whose files have the verified SHA-256 and length', async () => {
    assert.deepEqual(await verifySlotFiles(slot), { healthy: true, reason: null });
  });

  it('fails a slot whose file differs from the verified target, or is missing', async () => {
    const wrong = await verifySlotFiles({ ...slot, files: [{ ...slot.files[0]!, sha256: '00'.repeat(32) }] });
    assert.equal(wrong.healthy, false);
    assert.match(
      wrong.reason!,
      /firmware\.bin in the slot has SHA-256 [0-9a-f]{64} \(1500 bytes\), not the verified 0{64}/,
    );
    const missing = await verifySlotFiles({ ...slot, files: [{ ...slot.files[0]!, name: 'kernel.bin' }] });
    assert.match(missing.reason!, /kernel\.bin cannot be read from the slot \(ENOENT\)/);
    assert.equal((await verifySlotFiles({ ...slot, files: [] })).healthy, false);
  });

  it("runs the device's command with the slot in its environment; exit 0 is healthy", async () => {
    const check =
      'test "$VIGIL_SLOT" = b && test "$VIGIL_VERSION" = 1.1.0 && test -s "$VIGIL_IMAGE" && test -d "$VIGIL_SLOT_DIR"';
    assert.deepEqual(await runHealthCommand(check, slot), { healthy: true, reason: null });
    const failing = await runHealthCommand('echo "watchdog did not answer" >&2; exit 3', slot);
    assert.deepEqual(failing, {
      healthy: false,
      reason: 'the health-check command exited 3: watchdog did not answer',
    });
  });

  it('stops a command that hangs', async () => {
    const result = await runHealthCommand('sleep 30', slot, 200);
    assert.equal(result.healthy, false);
    assert.match(result.reason!, /was stopped after 200 ms/);
  });

  it('checks files first, then the command, then the probe: the first failure is the reason', async () => {
    const probed: string[] = [];
    const probe = async (checked: SlotUnderCheck) => {
      probed.push(checked.slot);
      return { healthy: false, reason: 'simulated failure' };
    };
    const corrupted = { ...slot, files: [{ ...slot.files[0]!, length: 1 }] };
    assert.match(
      (await checkSlotHealth(corrupted, { command: 'exit 1', probe })).reason!,
      /not the verified/,
    );
    assert.match((await checkSlotHealth(slot, { command: 'exit 1', probe })).reason!, /exited 1/);
    assert.deepEqual(probed, []);
    assert.deepEqual(await checkSlotHealth(slot, { command: 'true', probe }), {
      healthy: false,
      reason: 'simulated failure',
    });
    assert.deepEqual(await checkSlotHealth(slot), { healthy: true, reason: null });
  });
});
