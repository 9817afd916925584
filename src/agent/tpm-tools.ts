/**
 * tpm2-tools as child processes, asynchronously (never spawnSync: the agent may run next to a
 * server in the same process, in tests). Each command gets TPM2TOOLS_TCTI from `--tpm`.
 */
import { execFile } from 'node:child_process';
import { agentError } from './errors.ts';

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/**
 * A TCTI that talks to the TPM with no resource manager in between (the swtpm/mssim simulator
 * sockets, a raw /dev/tpmN): transient objects stay loaded after a command ends there, and a TPM has
 * only a few slots (TPM_RC_OBJECT_MEMORY, 0x902), so they are flushed after every command.
 */
export function needsFlushing(tcti: string): boolean {
  return /^(swtpm|mssim)(:|$)/.test(tcti) || /^device:\/dev\/tpm\d+$/.test(tcti);
}

const toolTimeoutMs = 120_000;

export class TpmTools {
  readonly tcti: string;
  private readonly workDir: string;
  private readonly flush: boolean;

  constructor(tcti: string, workDir: string) {
    this.tcti = tcti;
    this.workDir = workDir;
    this.flush = needsFlushing(tcti);
  }

  /** Runs one tpm2-tools command in the work directory; flushes transient objects after it. */
  async run(tool: string, args: string[]): Promise<ToolOutput> {
    let output: ToolOutput;
    try {
      output = await this.exec(tool, args);
    } catch (error) {
      // Best effort after a failure: the command's own error is the one worth reporting.
      if (this.flush) await this.flushTransient().catch(() => undefined);
      throw error;
    }
    if (this.flush) await this.flushTransient();
    return output;
  }

  /** `tpm2_flushcontext -t`: transient objects only (saved sessions are flushed by the caller). */
  async flushTransient(): Promise<void> {
    await this.exec('tpm2_flushcontext', ['-t']);
  }

  private exec(tool: string, args: string[]): Promise<ToolOutput> {
    return new Promise((resolve, reject) => {
      execFile(
        tool,
        args,
        {
          cwd: this.workDir,
          env: { ...process.env, TPM2TOOLS_TCTI: this.tcti },
          timeout: toolTimeoutMs,
          maxBuffer: 16 * 1024 * 1024,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ stdout, stderr });
            return;
          }
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(
              agentError(
                'AGENT_TOOL_MISSING',
                'unavailable',
                `${tool} is not installed (or not on PATH): the TPM attester needs tpm2-tools (apt-get install tpm2-tools)`,
                { cause: error },
              ),
            );
            return;
          }
          reject(toolFailure(tool, args, this.tcti, stderr, error));
        },
      );
    });
  }
}

function toolFailure(tool: string, args: string[], tcti: string, stderr: string, error: Error) {
  if (/Could not load tcti|Failed to instantiate TCTI|Cannot connect to/i.test(stderr))
    return agentError(
      'AGENT_TPM_UNREACHABLE',
      'unavailable',
      `cannot reach the TPM through the TCTI "${tcti}" (check --tpm and that the TPM or simulator is running)`,
      { cause: error },
    );
  // tpm2-tools reports its own verdict on lines starting with "ERROR:"; the TSS's lines are noise.
  const lines = stderr.split('\n').map((line) => line.trim());
  const verdict = lines.filter((line) => line.startsWith('ERROR:')).slice(-2);
  const said = (verdict.length > 0 ? verdict : lines.filter((line) => line !== '').slice(-2)).join(' / ');
  const killed = (error as { killed?: boolean }).killed === true ? ' (timed out)' : '';
  return agentError(
    'AGENT_TPM_COMMAND_FAILED',
    'unavailable',
    `${tool} ${args[0] ?? ''}${args.length > 1 ? ' …' : ''} failed${killed}: ${said === '' ? error.message : said}`,
    { cause: error },
  );
}
