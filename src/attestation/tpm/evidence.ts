/**
 * The TPM 2.0 evidence format: a quote (`tpm2_quote -m`), its signature (`-s`), the PCR values it
 * covers, and the firmware event log. Verification in the order of trust (module doc of index.ts):
 * signature by a bound AK → magic, type and nonce → PCR digest → event-log replay. Only then are
 * Secure Boot state and boot components read, and only from what the quote covers.
 */
import { createHash } from 'node:crypto';
import type { BoundKey, MeasuredComponent, VerifiedClaims } from '../claims.ts';
import { hashAlgorithmOfId, type TpmHashAlgorithm } from './algorithms.ts';
import { parseAttest, type QuoteAttestation } from './attest.ts';
import { bootComponents, secureBootState, type BootComponent, type SecureBootState } from './boot-state.ts';
import { tpmError } from './errors.ts';
import { replayEventLog } from './event-log-replay.ts';
import { parseEventLog, type EventLog } from './event-log.ts';
import { computePcrDigest, type PcrValues } from './pcr-digest.ts';
import { parseSignature, verifyQuoteSignature } from './signature.ts';

export interface TpmEvidence {
  quote: Buffer;
  signature: Buffer;
  pcrs: PcrValues;
  eventLog: Buffer;
}

/** What a parsed and replayed event log yields; pure in the log bytes, so it may be cached by digest. */
export interface ReplayedLog {
  digest: string;
  bytes: Buffer;
  log: EventLog;
  replayed: Map<TpmHashAlgorithm, Map<number, Buffer>>;
  /** What the log says, read once per log (pure in its bytes): boot components per bank, Secure Boot. */
  readonly facts: {
    components: Map<TpmHashAlgorithm, BootComponent[]>;
    secureBoot?: { state: SecureBootState } | { error: unknown };
  };
}

function componentsOf(replay: ReplayedLog, bank: TpmHashAlgorithm): BootComponent[] {
  let components = replay.facts.components.get(bank);
  if (components === undefined) {
    components = bootComponents(replay.log, bank);
    replay.facts.components.set(bank, components);
  }
  return components;
}

function secureBootOf(replay: ReplayedLog): SecureBootState {
  if (replay.facts.secureBoot === undefined) {
    try {
      replay.facts.secureBoot = { state: secureBootState(replay.log) };
    } catch (error) {
      replay.facts.secureBoot = { error };
    }
  }
  if ('error' in replay.facts.secureBoot) throw replay.facts.secureBoot.error;
  return replay.facts.secureBoot.state;
}

/** Remembers replayed logs by digest: a fleet booting one firmware sends one log many times. */
export interface ReplayCache {
  get(digest: string): ReplayedLog | undefined;
  set(digest: string, value: ReplayedLog): void;
}

/** PCR 7 holds the Secure Boot policy (PFP §3.3.4.8). */
const secureBootPcr = 7;

export function quoteNonce(evidence: TpmEvidence): Buffer {
  return parseAttest(evidence.quote).extraData;
}

/** Parses and replays a log (or takes the cached replay of the same bytes). */
export function replayLog(bytes: Buffer, cache?: ReplayCache, knownDigest?: string): ReplayedLog {
  const digest = knownDigest ?? createHash('sha256').update(bytes).digest('hex');
  const cached = cache?.get(digest);
  if (cached !== undefined) return cached;
  const log = parseEventLog(bytes);
  const replayed = new Map<TpmHashAlgorithm, Map<number, Buffer>>();
  for (const { algorithmId } of log.specId.algorithms) {
    const algorithm = hashAlgorithmOfId(algorithmId);
    if (algorithm !== undefined) replayed.set(algorithm, replayEventLog(log, algorithm));
  }
  const result: ReplayedLog = { digest, bytes, log, replayed, facts: { components: new Map() } };
  cache?.set(digest, result);
  return result;
}

/** `eventLogDigest`, when the caller already hashed the log, is its SHA-256 hex (saves hashing it again). */
export function verifyTpmEvidence(
  evidence: TpmEvidence,
  keys: readonly BoundKey[],
  cache?: ReplayCache,
  eventLogDigest?: string,
): VerifiedClaims {
  const attest = parseAttest(evidence.quote);
  const signature = parseSignature(evidence.signature);
  const key = keys.find((candidate) => {
    if (candidate.kind !== 'tpm2') return false;
    try {
      verifyQuoteSignature(evidence.quote, signature, candidate.publicKey);
      return true;
    } catch {
      return false;
    }
  });
  if (key === undefined)
    throw tpmError(
      'ATTESTATION_TPM_SIGNATURE_INVALID',
      'the quote is not signed by an attestation key bound to this device',
    );

  const expected = computePcrDigest(attest.pcrSelection, evidence.pcrs, signature.hashAlgorithm);
  if (!expected.equals(attest.pcrDigest))
    throw tpmError(
      'ATTESTATION_TPM_PCR_DIGEST_MISMATCH',
      'the PCR values sent do not hash to the digest the quote signs',
    );

  const replay = replayLog(evidence.eventLog, cache, eventLogDigest);
  const unexplained: string[] = [];
  const quoted: Record<string, Record<string, string>> = {};
  for (const bank of attest.pcrSelection) {
    const bankName = bank.hashAlgorithm;
    if (bankName === undefined) continue; // computePcrDigest refused unsupported banks already
    const replayed = replay.replayed.get(bankName);
    const values = evidence.pcrs[bankName];
    const bankQuoted: Record<string, string> = {};
    for (const pcr of bank.pcrs) {
      const value = Buffer.from(values!.get(pcr)!);
      bankQuoted[String(pcr)] = value.toString('hex');
      // A PCR the log never touches replays to its reset value (zeros); anything else is unexplained.
      const reproduced = replayed?.get(pcr) ?? Buffer.alloc(value.length);
      if (replayed === undefined || !reproduced.equals(value)) unexplained.push(`${bankName}:${pcr}`);
    }
    quoted[bankName] = bankQuoted;
  }

  // Facts are read from one bank only, and only from PCRs that bank's selection quotes and the log
  // reproduces: a PCR the quote does not cover proves nothing, whatever the log says about it.
  const bank = bankOf(attest, replay);
  const covered = new Set(attest.pcrSelection.find((selection) => selection.hashAlgorithm === bank)?.pcrs);
  const explained = (pcr: number): boolean => covered.has(pcr) && !unexplained.includes(`${bank}:${pcr}`);
  const components: MeasuredComponent[] = componentsOf(replay, bank)
    .filter((component) => explained(component.pcrIndex))
    .map((component) => ({
      kind: 'tpm-event',
      pcr: component.pcrIndex,
      eventType: component.eventType,
      digests: { [bank]: component.digest.toString('hex') },
    }));
  const secureBoot = explained(secureBootPcr) ? secureBootOf(replay) : 'unknown';

  return {
    keyId: key.id,
    endorsement: key.endorsement,
    hardware: 'tpm2',
    nonce: attest.extraData,
    components,
    coverage: [...covered].filter(explained).map((pcr) => `pcr:${pcr}`),
    unexplained,
    secureBoot,
    securityVersion: null,
    tpmClock: {
      resetCount: attest.clockInfo.resetCount,
      restartCount: attest.clockInfo.restartCount,
      clock: attest.clockInfo.clock.toString(),
    },
    facts: {
      eventLogDigest: replay.digest,
      eventCount: replay.log.events.length,
      quotedPcrs: quoted,
      firmwareVersion: attest.firmwareVersion.toString(16),
      bank,
    },
  };
}

/** The bank boot components are read from: the strongest bank the quote covers and the log carries. */
function bankOf(attest: QuoteAttestation, replay: ReplayedLog): TpmHashAlgorithm {
  const order: TpmHashAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha1'];
  // A bank listed with no PCRs selected covers nothing.
  const quotedBanks = new Set(
    attest.pcrSelection
      .filter((selection) => selection.pcrs.length > 0)
      .map((selection) => selection.hashAlgorithm),
  );
  const bank = order.find((name) => quotedBanks.has(name) && replay.replayed.has(name));
  if (bank === undefined)
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING',
      'the event log carries no digest bank the quote covers',
    );
  return bank;
}
