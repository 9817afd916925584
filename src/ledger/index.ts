export { Ledger, systemActor, type Actor, type LedgerEvent, type StoredCheckpoint } from './ledger.ts';
export { verifyStoredLog } from './audit.ts';
export { ledgerRoutes } from './routes.ts';
export { ledgerCommands } from './commands.ts';
export {
  formatVerifierKey,
  verifyProofFile,
  verifyInclusionProof,
  verifyConsistencyProof,
  openCheckpoint,
  leafHash,
  type LogVerificationResult,
} from './verify/index.ts';
