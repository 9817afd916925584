// The pure half of the ledger: RFC 9162 Merkle hashing and proofs, C2SP signed notes, checkpoints,
// tiles and proof files, and the offline log audit. No I/O: bytes and strings in, results out.
export type { LedgerVerifyErrorCode } from './errors.ts';
export { HASH_SIZE, leafHash, nodeHash, emptyRoot } from './hashing.ts';
export {
  rootFromInclusionProof,
  verifyInclusionProof,
  verifyConsistencyProof,
  type InclusionProofInput,
  type ConsistencyProofInput,
} from './proofs.ts';
export type { NodeRef, CompleteNode } from './subtrees.ts';
export { inclusionProofPlan, consistencyProofPlan, rootPlan, type ProofPlan } from './proof-plans.ts';
export { TreeBuilder, frontierRefs } from './tree-builder.ts';
export {
  computeKeyId,
  formatVerifierKey,
  parseVerifierKey,
  signNote,
  openNote,
  type VerifierKey,
  type NoteSigner,
} from './note.ts';
export {
  formatCheckpoint,
  parseCheckpoint,
  openCheckpoint,
  type Checkpoint,
  type CheckpointInput,
} from './checkpoint.ts';
export {
  tilePath,
  parseTilePath,
  encodeEntryBundle,
  decodeEntryBundle,
  TILE_WIDTH,
  type TileRef,
} from './tiles.ts';
export {
  formatProofFile,
  parseProofFile,
  verifyProofFile,
  type ProofFile,
  type ProofFileInput,
  type VerifiedProofFile,
} from './proof-file.ts';
export {
  verifyLog,
  LogVerification,
  type LogEntry,
  type LogProblem,
  type LogVerificationInput,
  type LogVerificationResult,
} from './log-verification.ts';
