/**
 * The device side of Vigil. It talks to the server only over the wire (the device endpoint, with
 * mutual TLS) and links nothing of the server's modules: it is what a device would run.
 */
export { agentCommands, defaultStateDir } from './commands.ts';
export { attest, type AttestOptions, type AttesterChoice, type TlsFiles } from './attest.ts';
export { DeviceClient, type DeviceClientOptions } from './device-client.ts';
export { DiceAttester } from './dice-attester.ts';
export {
  TpmAttester,
  defaultAkHandle,
  defaultEventLogPath,
  defaultPcrSelection,
  parsePcrSelection,
  parsePersistentHandle,
  parseQuoteOutput,
  type PcrSelection,
} from './tpm-attester.ts';
export { needsFlushing } from './tpm-tools.ts';
export {
  updateDevice,
  type UpdateAttester,
  type UpdateOptions,
  type UpdateOutcome,
  type UpdateStatus,
} from './update.ts';
export {
  runSimulation,
  type SimulatedResult,
  type SimulatedStatus,
  type SimulationOptions,
  type SimulationSummary,
} from './simulate.ts';
export {
  SoftwareDiceDevice,
  createDeviceId,
  encodeDiceTcbInfo,
  issueAliasCertificate,
  type TcbInfo,
} from './software-dice.ts';
export { TufFetcher } from './tuf-fetcher.ts';
export type { AgentErrorCode } from './errors.ts';
export type * from './wire.ts';
