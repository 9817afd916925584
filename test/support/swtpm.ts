/**
 * A software TPM for tests: swtpm in socket mode with tpm2-tools driving it (PEERS.md recipe).
 * Everything runs asynchronously (execFile): tests run Vigil servers in this same process, and a
 * blocking spawnSync would stall them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from './peers.ts';

export const swtpmHint = 'apt-get install swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0';

/** True when swtpm, swtpm_setup, swtpm_ioctl and tpm2-tools (plus any `tools` named) are installed. */
export function swtpmAvailable(...tools: string[]): boolean {
  return ['swtpm', 'swtpm_setup', 'swtpm_ioctl', 'tpm2_startup', 'tpm2_flushcontext', ...tools].every(
    hasCommand,
  );
}

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface PcrExtension {
  pcr: number;
  bank: string;
  /** Hex. */
  digest: string;
}

export interface Swtpm {
  /** The working directory of every tool run (files they write land here). */
  dir: string;
  /** The absolute TPM state directory (swtpm --daemon changes directory, PEERS.md). */
  stateDir: string;
  port: number;
  /** The control channel: always port + 1, where the swtpm TCTI expects it. */
  controlPort: number;
  /** What TPM2TOOLS_TCTI (and `vigil agent attest --tpm`) takes. */
  tcti: string;
  env: NodeJS.ProcessEnv;
  file(name: string): Buffer;
  /** Runs a command against this TPM; throws with its stderr on failure; flushes transient objects after. */
  tool(args: string[]): Promise<string>;
  /** Like `tool`, but returns the result whatever the exit status. */
  attempt(args: string[]): Promise<ToolResult>;
  /** Extends PCRs in order (`tpm2_pcrextend`, many extensions per call). */
  extend(extensions: readonly PcrExtension[]): Promise<void>;
  /** A TPM Reset, as a reboot does: CMD_INIT on the control channel, then TPM2_Startup(CLEAR). */
  reset(): Promise<void>;
  /** Stops swtpm and removes its directory. */
  stop(): Promise<void>;
}

function execute(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number' && !error.killed) {
          reject(error);
          return;
        }
        resolve({
          status: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        });
      },
    );
  });
}

function listenable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The swtpm TCTI talks to the control channel at the server port + 1, so both must be free. */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await listenable(0);
    if (port > 0 && port < 65535 && (await listenable(port + 1)) === port + 1) return port;
  }
  throw new Error('no two adjacent free TCP ports');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a fresh TPM (`swtpm_setup --create-ek-cert`: EK certificates in NV, persistent RSA and
 * P-384 EKs) and runs it as a daemon on free ports. A port taken between choosing and binding it
 * is retried on new ones.
 */
export async function startSwtpm(prefix = 'vigil-swtpm-'): Promise<Swtpm> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const stateDir = join(dir, 'state');
  const pidFile = join(dir, 'swtpm.pid');
  mkdirSync(stateDir);
  const must = async (command: string, args: string[], env: NodeJS.ProcessEnv) => {
    const result = await execute(command, args, dir, env);
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
    return result.stdout;
  };
  try {
    await must(
      'swtpm_setup',
      ['--tpm2', '--tpmstate', stateDir, '--create-ek-cert', '--overwrite'],
      process.env,
    );
    let port = 0;
    for (let attempt = 0; port === 0; attempt += 1) {
      const candidate = await freePortPair();
      const started = await execute(
        'swtpm',
        [
          'socket',
          '--tpm2',
          '--tpmstate',
          `dir=${stateDir}`,
          '--server',
          `type=tcp,port=${candidate},bindaddr=127.0.0.1`,
          '--ctrl',
          `type=tcp,port=${candidate + 1},bindaddr=127.0.0.1`,
          '--flags',
          'not-need-init,startup-clear',
          '--daemon',
          '--pid',
          `file=${pidFile}`,
        ],
        dir,
        process.env,
      );
      if (started.status === 0) port = candidate;
      else if (attempt >= 4) throw new Error(`swtpm did not start: ${started.stderr}`);
    }
    const tcti = `swtpm:host=127.0.0.1,port=${port}`;
    const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
    // Socket mode has no resource manager: flush transient objects after each command (PEERS.md).
    const attempt = async (args: string[]): Promise<ToolResult> => {
      try {
        return await execute(args[0]!, args.slice(1), dir, env);
      } finally {
        await execute('tpm2_flushcontext', ['-t'], dir, env);
      }
    };
    const tool = async (args: string[]): Promise<string> => {
      const result = await attempt(args);
      if (result.status !== 0)
        throw new Error(`${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
      return result.stdout;
    };
    const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
    return {
      dir,
      stateDir,
      port,
      controlPort: port + 1,
      tcti,
      env,
      file: (name) => readFileSync(join(dir, name)),
      tool,
      attempt,
      async extend(extensions) {
        for (let start = 0; start < extensions.length; start += 32) {
          const specs = extensions
            .slice(start, start + 32)
            .map(({ pcr, bank, digest }) => `${pcr}:${bank}=${digest}`);
          await must('tpm2_pcrextend', specs, env);
        }
      },
      async reset() {
        await must('swtpm_ioctl', ['-i', '--tcp', `127.0.0.1:${port + 1}`], env);
        await must('tpm2_startup', ['-c'], env);
      },
      async stop() {
        let daemon: number | undefined;
        try {
          daemon = pid();
          process.kill(daemon, 'SIGTERM');
        } catch {
          // never started, or already gone
        }
        for (let wait = 0; daemon !== undefined && wait < 100 && alive(daemon); wait += 1)
          await new Promise((wake) => setTimeout(wake, 20));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
