/**
 * One attestation round as the device runs it (RFC 9334 §5.1, the Attester's side of the
 * background-check model): fetch a fresh nonce, bind the attestation key if this is the first
 * round, collect evidence answering the nonce, submit it, and return the server's appraisal.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient } from './device-client.ts';
import { DiceAttester } from './dice-attester.ts';
import { agentError } from './errors.ts';
import { TpmAttester, type PcrSelection } from './tpm-attester.ts';
import type { AttestationRecord, EvidenceSubmission, NonceResponse } from './wire.ts';

export interface TlsFiles {
  server: URL;
  ca: string;
  cert: string;
  key: string;
}

export type AttesterChoice =
  | {
      kind: 'tpm';
      tcti: string;
      eventLog: string;
      stateDir: string;
      pcrs: PcrSelection;
      akHandle: number;
    }
  | { kind: 'dice'; chainFile: string; keyFile: string };

export interface AttestOptions {
  tls: TlsFiles;
  attester: AttesterChoice;
  note(line: string): void;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw agentError(
      'AGENT_FILE_UNREADABLE',
      'invalid',
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

export function deviceClientOf(tls: TlsFiles): DeviceClient {
  return new DeviceClient({
    server: tls.server,
    ca: readFile(tls.ca, 'the CA bundle (--ca)'),
    cert: readFile(tls.cert, 'the device certificate (--cert)'),
    key: readFile(tls.key, 'the device key (--key)'),
  });
}

/** Runs one attestation and returns the server's record of it (whatever its status). */
export async function attest(options: AttestOptions): Promise<AttestationRecord> {
  const client = deviceClientOf(options.tls);
  const { attester } = options;
  if (attester.kind === 'dice') {
    // Read and check the chain and key before asking for a nonce: a bad file is the caller's error.
    const dice = new DiceAttester({ chainFile: attester.chainFile, keyFile: attester.keyFile });
    const nonce = await freshNonce(client);
    return submit(client, { format: 'dice-chain', evidence: dice.collectEvidence(nonce) });
  }
  const workDir = mkdtempSync(join(tmpdir(), 'vigil-agent-'));
  try {
    const tpm = new TpmAttester({
      tcti: attester.tcti,
      stateDir: attester.stateDir,
      workDir,
      eventLogPath: attester.eventLog,
      pcrs: attester.pcrs,
      akHandle: attester.akHandle,
      note: options.note,
    });
    await tpm.ensureAttestationKey(client);
    const nonce = await freshNonce(client);
    return await submit(client, { format: 'tpm2-quote', evidence: await tpm.collectEvidence(nonce) });
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function freshNonce(client: DeviceClient): Promise<Buffer> {
  const issued = await client.post<NonceResponse>('/device/v1/attestation/nonce');
  const nonce = typeof issued.nonce === 'string' ? Buffer.from(issued.nonce, 'base64') : Buffer.alloc(0);
  if (nonce.length === 0 || nonce.length > 64)
    throw agentError('AGENT_RESPONSE_MALFORMED', 'internal', 'the server sent no usable nonce');
  return nonce;
}

async function submit(client: DeviceClient, submission: EvidenceSubmission): Promise<AttestationRecord> {
  const record = await client.post<AttestationRecord>('/device/v1/attestation/evidence', submission);
  if (typeof record.status !== 'string')
    throw agentError('AGENT_RESPONSE_MALFORMED', 'internal', 'the server answered without a status');
  return record;
}
