/**
 * A software TPM for tests: swtpm in socket mode with tpm2-tools driving it (PEERS.md recipe).
 * Everything runs asynchronously (execFile): tests run Vigil servers in this same process, and a
 * blocking spawnSync would stall them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  /** The RSA 2048 EK certificate `swtpm_setup --create-ek-cert` wrote at NV 0x01c00002 (DER). */
  ekCertificate(): Promise<Buffer>;
  /** Extends PCRs in order (`tpm2_pcrextend`, many extensions per call). */
  extend(extensions: readonly PcrExtension[]): Promise<void>;
  /** A TPM Reset, as a reboot does: CMD_INIT on the control channel, then TPM2_Startup(CLEAR). */
  reset(): Promise<void>;
  /** Stops swtpm and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Runs a tool and resolves when it exits. Not on 'close': `swtpm --daemon` and swtpm_setup start
 * processes that may inherit the pipes, and waiting for those to close could wait forever. A tool
 * that runs over a minute is killed and reported as failed.
 */
function execute(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(killer);
      const finish = () =>
        resolve({
          status: code,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      // Let the pipes drain what the tool wrote, but never wait on a daemon holding them.
      const grace = setTimeout(finish, 1_000);
      child.once('close', () => {
        clearTimeout(grace);
        finish();
      });
    });
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
      async ekCertificate() {
        await tool(['tpm2_nvread', '-o', 'ek-certificate.der', '0x01c00002']);
        return readFileSync(join(dir, 'ek-certificate.der'));
      },
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

/**
 * The certificates of swtpm's local CA, the issuer of the EK certificates `swtpm_setup
 * --create-ek-cert` makes: its issuing CA and the root above it, as one PEM bundle. The CA is made by
 * the first `swtpm_setup --create-ek-cert` on the machine, so start a TPM before calling this. Where
 * it lives comes from swtpm-localca.conf (the user's own in ~/.config first, as swtpm_localca reads it).
 */
export function swtpmLocalCaBundle(): string {
  const candidates = [
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'swtpm-localca.conf'),
    '/etc/swtpm-localca.conf',
  ];
  const config = candidates.find((file) => existsSync(file));
  if (config === undefined) throw new Error(`no swtpm-localca.conf (looked at ${candidates.join(', ')})`);
  const settings = new Map<string, string>();
  for (const line of readFileSync(config, 'utf8').split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match !== null) settings.set(match[1]!, match[2]!);
  }
  const issuer = settings.get('issuercert') ?? join(settings.get('statedir') ?? '', 'issuercert.pem');
  const root = join(settings.get('statedir') ?? dirname(issuer), 'swtpm-localca-rootca-cert.pem');
  return [issuer, root].map((file) => readFileSync(file, 'utf8')).join('');
}
