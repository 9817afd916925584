export { VigilError, isVigilError, httpStatusOfKind, type ErrorKind } from './errors.ts';
export { newId, isId, idPattern } from './ids.ts';
export { systemClock, ManualClock, toRfc3339, type Clock } from './clock.ts';
export { canonicalJson, canonicalJsonBytes } from './canonical-json.ts';
export {
  generateEd25519PrivateKeyPem,
  ed25519SignerFromPem,
  rawEd25519PublicKey,
  verifyEd25519,
  generateMasterKey,
  type Ed25519Signer,
} from './keys.ts';
export { ProblemSchema, withErrors, bearerSecurity, PageQuery, IdParams } from './http.ts';
export type { ApiClient, CommandContext, Progress } from './cli.ts';
export { readArgumentFile, readArgumentJson } from './cli.ts';
export {
  installationFiles,
  readInstallationConfig,
  resolveDatabase,
  parseListenAddress,
  type InstallationFiles,
  type InstallationConfig,
} from './config.ts';
export { runPeriodically } from './upkeep.ts';
export { version } from './version.ts';
