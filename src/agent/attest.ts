/**
 * One attestation round as the device runs it (RFC 9334 §5.1, the Attester's side of the
 * background-check model): fetch a fresh nonce, bind the attestation key if this is the first
 * round, collect evidence answering the nonce, submit it, and return the server's appraisal.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient } from './device-client.ts';
import { DiceAttester } from './dice-attester.ts';
import { agentError } from './errors.ts';
import { AcceptedEventLog } from './event-log-memory.ts';
import { TpmAttester, type PcrSelection } from './tpm-attester.ts';
import type { AttestationRecord, EvidenceSubmission, NonceResponse, TpmQuoteEvidence } from './wire.ts';
import { isVigilError } from '../core/index.ts';

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
    const evidence = await tpm.collectEvidence(nonce);
    const logs = new AcceptedEventLog({
      stateDir: attester.stateDir,
      server: client.server,
      note: options.note,
    });
    return await submitQuote(client, evidence, logs, options.note);
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

/**
 * Sends a quote, naming the event log by its digest when this server accepted the same log before.
 * A server that no longer holds it answers ATTESTATION_EVENT_LOG_UNKNOWN before it looks at the
 * nonce (a cache miss, not a refusal): the same quote then goes once more, with the whole log.
 */
export async function submitQuote(
  client: DeviceClient,
  evidence: TpmQuoteEvidence & { eventLog: string },
  logs: AcceptedEventLog,
  note: (line: string) => void,
): Promise<AttestationRecord> {
  const digest = createHash('sha256').update(Buffer.from(evidence.eventLog, 'base64')).digest('hex');
  let record: AttestationRecord | undefined;
  if (logs.holds(digest)) {
    const { eventLog: _sentBefore, ...quote } = evidence;
    try {
      record = await submit(client, {
        format: 'tpm2-quote',
        evidence: { ...quote, eventLogDigest: `sha256:${digest}` },
      });
    } catch (error) {
      if (!isVigilError(error, 'ATTESTATION_EVENT_LOG_UNKNOWN')) throw error;
      note('the server does not hold the event log sent before: sending it whole');
      logs.forget();
    }
  }
  record ??= await submit(client, { format: 'tpm2-quote', evidence });
  // Every appraisal the server records keeps its log, whatever the verdict.
  logs.accepted(digest);
  return record;
}

async function submit(client: DeviceClient, submission: EvidenceSubmission): Promise<AttestationRecord> {
  const record = await client.post<AttestationRecord>('/device/v1/attestation/evidence', submission);
  if (typeof record.status !== 'string')
    throw agentError('AGENT_RESPONSE_MALFORMED', 'internal', 'the server answered without a status');
  return record;
}
