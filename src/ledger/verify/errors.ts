import { VigilError, type ErrorKind } from '../../core/index.ts';

/** The stable codes `ledger/verify` throws. */
export type LedgerVerifyErrorCode =
  | 'LEDGER_PROOF_INVALID' // an inclusion or consistency proof does not verify or is malformed
  | 'LEDGER_PROOF_RANGE' // a proof or root was requested for an index or size outside the tree
  | 'LEDGER_HASH_INVALID' // a stored node or leaf hash has the wrong length
  | 'LEDGER_NOTE_INVALID' // a signed note is malformed (C2SP signed-note)
  | 'LEDGER_SIGNATURE_INVALID' // a signed note has no valid signature by the trusted key
  | 'LEDGER_KEY_INVALID' // a verifier key string is malformed or names an unsupported algorithm
  | 'LEDGER_CHECKPOINT_INVALID' // a checkpoint body is malformed (C2SP tlog-checkpoint)
  | 'LEDGER_TILE_PATH_INVALID' // a tile or entry bundle path is malformed (C2SP tlog-tiles)
  | 'LEDGER_ENTRY_BUNDLE_INVALID' // an entry bundle is malformed (C2SP tlog-tiles)
  | 'LEDGER_PROOF_FILE_INVALID' // a proof file is malformed (C2SP tlog-proof)
  | 'LEDGER_LOG_INVALID'; // verifyLog was handed something that is not a list of entries or checkpoints

/** Kind 'invalid' unless told otherwise: almost everything here judges input from outside. */
export function ledgerError(
  code: LedgerVerifyErrorCode,
  message: string,
  options?: { facts?: Record<string, unknown>; cause?: unknown; kind?: ErrorKind },
): VigilError {
  return new VigilError(code, options?.kind ?? 'invalid', message, {
    facts: options?.facts,
    cause: options?.cause,
  });
}
