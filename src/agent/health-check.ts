/**
 * The health check an installed slot must pass before the device switches to it: every file's
 * SHA-256 against the TUF-verified target (a slot written wrong, or changed on disk since the TUF
 * client verified the download, never boots), then the device's own check command, if it has one,
 * then any probe the caller adds (the fleet simulator injects failures this way).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { SlotFile } from './slots.ts';

export interface HealthResult {
  healthy: boolean;
  /** Why not, when not healthy. */
  reason: string | null;
}

export interface SlotUnderCheck {
  dir: string;
  slot: string;
  version: string;
  image: string | null;
  files: SlotFile[];
}

export type HealthProbe = (slot: SlotUnderCheck) => Promise<HealthResult>;

export const healthy: HealthResult = { healthy: true, reason: null };

async function sha256Of(path: string): Promise<{ sha256: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), length };
}

/** Each file of the slot has the length and SHA-256 the verified target metadata named. */
export async function verifySlotFiles(slot: Pick<SlotUnderCheck, 'dir' | 'files'>): Promise<HealthResult> {
  if (slot.files.length === 0) return { healthy: false, reason: 'the slot holds no files' };
  for (const file of slot.files) {
    let found: { sha256: string; length: number };
    try {
      found = await sha256Of(join(slot.dir, file.name));
    } catch (error) {
      return {
        healthy: false,
        reason: `${file.name} cannot be read from the slot (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
    if (found.length !== file.length || found.sha256 !== file.sha256)
      return {
        healthy: false,
        reason: `${file.name} in the slot has SHA-256 ${found.sha256} (${found.length} bytes), not the verified ${file.sha256} (${file.length} bytes)`,
      };
  }
  return healthy;
}

/** How much of a failing command's output a report carries (the server keeps reasons to 1000 characters). */
const outputTail = 300;

/**
 * Runs the device's health-check command with `/bin/sh -c`, told about the slot through the
 * environment (VIGIL_SLOT_DIR, VIGIL_SLOT, VIGIL_VERSION, VIGIL_IMAGE); exit status 0 is healthy.
 * Asynchronous: the agent (and a simulator's server in the same process) keeps running meanwhile.
 */
export function runHealthCommand(
  command: string,
  slot: SlotUnderCheck,
  timeoutMs = 120_000,
): Promise<HealthResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: {
        ...process.env,
        VIGIL_SLOT_DIR: slot.dir,
        VIGIL_SLOT: slot.slot,
        VIGIL_VERSION: slot.version,
        VIGIL_IMAGE: slot.image === null ? '' : join(slot.dir, slot.image),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout stops whatever it started too (not only the shell).
      detached: true,
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-outputTail);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ healthy: false, reason: `the health-check command could not run: ${error.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(healthy);
      const how = signal === 'SIGKILL' ? `was stopped after ${timeoutMs} ms` : `exited ${code ?? signal}`;
      const said = output.trim().replace(/\s+/g, ' ');
      resolve({ healthy: false, reason: `the health-check command ${how}${said === '' ? '' : `: ${said}`}` });
    });
  });
}

export interface HealthCheckOptions {
  command?: string | undefined;
  timeoutMs?: number | undefined;
  probe?: HealthProbe | undefined;
}

/** The whole check, first failure wins: file digests, then the command, then the probe. */
export async function checkSlotHealth(
  slot: SlotUnderCheck,
  options: HealthCheckOptions = {},
): Promise<HealthResult> {
  const files = await verifySlotFiles(slot);
  if (!files.healthy) return files;
  if (options.command !== undefined) {
    const command = await runHealthCommand(options.command, slot, options.timeoutMs);
    if (!command.healthy) return command;
  }
  return options.probe === undefined ? healthy : options.probe(slot);
}
