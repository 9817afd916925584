import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** CI sets VIGIL_REQUIRE_PEERS=1: there a missing peer fails instead of skipping. */
export const peersRequired = process.env.VIGIL_REQUIRE_PEERS === '1';

/**
 * Skips (loudly) or fails a test whose outside peer is missing. Returns true when the test may go on.
 */
export function requirePeer(t: TestContext, peer: string, available: boolean, hint: string): boolean {
  if (available) return true;
  const reason = `PEER MISSING: ${peer} is not available (${hint})`;
  if (peersRequired) throw new Error(`${reason}; VIGIL_REQUIRE_PEERS=1 forbids skipping`);
  console.error(`\n*** ${reason}: skipping ***\n`);
  t.skip(reason);
  return false;
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
