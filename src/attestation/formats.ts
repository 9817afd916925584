/**
 * The evidence format registry. Each format is one folder of pure code (`tpm/`, `dice/`, later
 * `psa/`) plus one entry here that says how its evidence travels as JSON, where its nonce is, and
 * which verifier turns it into claims. Adding a format adds an entry; it touches no other format,
 * and appraisal only ever sees the claims. A format that is not registered has no verifier, so its
 * evidence is refused (fail closed).
 */
import { createHash } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { VigilError } from '../core/index.ts';
import type { BoundKey, VerifiedClaims } from './claims.ts';
import { Base64 } from './schemas.ts';
import { verifyDiceEvidence } from './dice/index.ts';
import { quoteNonce, verifyTpmEvidence, type ReplayCache, type TpmHashAlgorithm } from './tpm/index.ts';

export interface VerifyContext {
  keys: readonly BoundKey[];
  /** The evidence's own time: certificates in it are judged valid or not at this instant. */
  at: Date;
  replayCache?: ReplayCache | undefined;
}

/** Evidence decoded once: its claimed nonce, its verifier, and the form it is stored in. */
export interface DecodedEvidence {
  /** The nonce the evidence claims to answer (not yet authenticated). */
  nonce: Buffer;
  verify(context: VerifyContext): VerifiedClaims;
  /** The wire form as stored: large parts replaced by `sha256:<hex>` of their content. */
  stored: unknown;
  /** A large content-addressed part (an event log), kept once however many records cite it. */
  blob?: { content: Buffer; digest: string } | undefined;
}

export interface EvidenceFormat<Wire = unknown> {
  id: string;
  summary: string;
  /** The JSON shape of the evidence (documented in OpenAPI, checked before anything is decoded). */
  schema: TSchema;
  /** What kind of bound key verifies it. */
  keyKind: BoundKey['kind'];
  /**
   * The SHA-256 (hex) of a large part the evidence names instead of carrying (an event log this
   * server stored before); the caller looks its bytes up and hands them to `decode`.
   */
  references?(wire: Wire): string | undefined;
  /** Decodes checked wire evidence (with the bytes of the part it references); typed errors only. */
  decode(wire: Wire, referenced?: Buffer): DecodedEvidence;
  /** Puts a stored record's large part back, giving the evidence exactly as the device sent it. */
  attach?(stored: Wire, blob: Buffer): Wire;
}

const base64 = (maxLength: number, description: string) => Base64(maxLength, description, 0);

/**
 * Decodes standard base64 strictly without a regular expression (event logs are tens of kilobytes):
 * node:crypto skips characters outside the alphabet, so a length that does not add up means some
 * were there; the URL-safe alphabet, which Node would accept, is refused.
 */
function strictBase64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (
    text.length % 4 !== 0 ||
    bytes.length !== (text.length / 4) * 3 - padding ||
    text.includes('-') ||
    text.includes('_')
  )
    throw new VigilError('ATTESTATION_EVIDENCE_MALFORMED', 'invalid', `${what} is not standard base64`);
  return bytes;
}

/** Event logs above this are refused; real firmware logs are tens of kilobytes. */
export const maxEventLogBytes = 2 * 1024 * 1024;

const pcrBank = Type.Record(
  Type.String({ pattern: '^([0-9]|1[0-9]|2[0-3])$' }),
  Type.String({ pattern: '^[0-9a-fA-F]{40,128}$' }),
);

const TpmQuoteWire = Type.Object(
  {
    quote: base64(4096, 'TPMS_ATTEST as written by tpm2_quote -m, base64'),
    signature: base64(2048, 'TPMT_SIGNATURE as written by tpm2_quote -s, base64'),
    pcrs: Type.Object(
      {
        sha1: Type.Optional(pcrBank),
        sha256: Type.Optional(pcrBank),
        sha384: Type.Optional(pcrBank),
        sha512: Type.Optional(pcrBank),
      },
      { additionalProperties: false, description: 'The quoted PCR values per bank, PCR index → hex' },
    ),
    eventLog: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: Math.ceil((maxEventLogBytes * 4) / 3) + 4,
        description: 'binary_bios_measurements, base64',
      }),
    ),
    eventLogDigest: Type.Optional(
      Type.String({
        pattern: '^sha256:[0-9a-f]{64}$',
        description:
          'Instead of eventLog: sha256:<hex> of a log this server already holds (a fleet boots few distinct logs). An unknown digest is refused with ATTESTATION_EVENT_LOG_UNKNOWN: send the log.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Exactly one of eventLog and eventLogDigest' },
);
type TpmQuoteWire = Static<typeof TpmQuoteWire>;

const DiceChainWire = Type.Object(
  {
    chain: Type.Array(base64(90_000, 'DER certificate, base64'), {
      minItems: 1,
      maxItems: 16,
      description: 'Alias certificate first, up to or through the registered DeviceID',
    }),
    nonce: base64(400, 'the nonce the Alias key signed, base64'),
    signature: base64(200, 'DER ECDSA P-256/SHA-256 signature over the nonce, base64'),
  },
  { additionalProperties: false },
);
type DiceChainWire = Static<typeof DiceChainWire>;

function pcrValues(wire: TpmQuoteWire['pcrs']): Partial<Record<TpmHashAlgorithm, Map<number, Buffer>>> {
  const values: Partial<Record<TpmHashAlgorithm, Map<number, Buffer>>> = {};
  for (const [bank, entries] of Object.entries(wire) as [TpmHashAlgorithm, Record<string, string>][]) {
    values[bank] = new Map(
      Object.entries(entries).map(([pcr, hex]) => [Number(pcr), Buffer.from(hex, 'hex')]),
    );
  }
  return values;
}

export const tpmQuoteFormat: EvidenceFormat<TpmQuoteWire> = {
  id: 'tpm2-quote',
  summary: 'TPM 2.0 quote (tpm2_quote -m/-s), quoted PCR values and the TCG firmware event log',
  schema: TpmQuoteWire,
  keyKind: 'tpm2',
  references: (wire) => wire.eventLogDigest?.slice('sha256:'.length),
  decode(wire, referenced) {
    if ((wire.eventLog === undefined) === (wire.eventLogDigest === undefined))
      throw new VigilError(
        'ATTESTATION_EVIDENCE_MALFORMED',
        'invalid',
        'the tpm2-quote evidence carries exactly one of eventLog and eventLogDigest',
      );
    const eventLog = wire.eventLog !== undefined ? strictBase64(wire.eventLog, 'eventLog') : referenced;
    if (eventLog === undefined)
      throw new VigilError('ATTESTATION_EVENT_LOG_UNKNOWN', 'invalid', 'the evidence carries no event log');
    const evidence = {
      quote: Buffer.from(wire.quote, 'base64'),
      signature: Buffer.from(wire.signature, 'base64'),
      pcrs: pcrValues(wire.pcrs),
      eventLog,
    };
    const digest =
      wire.eventLogDigest?.slice('sha256:'.length) ?? createHash('sha256').update(eventLog).digest('hex');
    // One stored shape whichever way the log came: the log named by its digest.
    const { eventLogDigest: _named, ...rest } = wire;
    return {
      nonce: quoteNonce(evidence),
      verify: (context) => verifyTpmEvidence(evidence, context.keys, context.replayCache, digest),
      stored: { ...rest, eventLog: `sha256:${digest}` },
      blob: { content: eventLog, digest },
    };
  },
  attach: (stored, blob) => ({ ...stored, eventLog: blob.toString('base64') }),
};

export const diceChainFormat: EvidenceFormat<DiceChainWire> = {
  id: 'dice-chain',
  summary:
    'DICE certificate chain (Alias → … → DeviceID, TCG DiceTcbInfo) and the Alias key signature over the nonce',
  schema: DiceChainWire,
  keyKind: 'dice',
  decode(wire) {
    const evidence = {
      chain: wire.chain.map((der) => Buffer.from(der, 'base64')),
      nonce: Buffer.from(wire.nonce, 'base64'),
      signature: Buffer.from(wire.signature, 'base64'),
    };
    return {
      nonce: evidence.nonce,
      verify: (context) => verifyDiceEvidence(evidence, context.keys, context.at),
      stored: wire,
    };
  },
};

/** Every format this verifier can appraise; the order is the order OpenAPI lists them in. */
export const evidenceFormats: readonly EvidenceFormat[] = [
  tpmQuoteFormat as EvidenceFormat,
  diceChainFormat as EvidenceFormat,
];

const checkers = new Map(evidenceFormats.map((format) => [format.id, TypeCompiler.Compile(format.schema)]));

/** The registered format of that id, or a refusal: evidence nobody can verify is never appraised. */
export function formatOf(id: string): EvidenceFormat {
  const format = evidenceFormats.find((candidate) => candidate.id === id);
  if (format === undefined)
    throw new VigilError(
      'ATTESTATION_FORMAT_UNSUPPORTED',
      'invalid',
      `no verifier for evidence format "${id}"; this server appraises ${evidenceFormats.map((f) => f.id).join(', ')}`,
    );
  return format;
}

/** Checks wire evidence against its format's schema, listing every problem. */
export function checkWire(format: EvidenceFormat, wire: unknown): void {
  const checker = checkers.get(format.id)!;
  if (checker.Check(wire)) return;
  const errors = [...checker.Errors(wire)].slice(0, 20).map((error) => ({
    path: `body/evidence${error.path}`,
    message: error.message,
  }));
  throw new VigilError(
    'ATTESTATION_EVIDENCE_MALFORMED',
    'invalid',
    `the ${format.id} evidence is malformed: ${errors[0]?.path ?? 'body/evidence'} ${errors[0]?.message ?? ''}`.trim(),
    { facts: { errors } },
  );
}
