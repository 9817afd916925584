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
export type * from './wire.ts';
