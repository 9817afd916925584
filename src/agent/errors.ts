import { VigilError, type ErrorKind } from '../core/index.ts';

/** The stable codes the device agent itself raises; refusals by the server keep the server's code. */
export type AgentErrorCode =
  | 'AGENT_FILE_UNREADABLE'
  | 'AGENT_STATE_INVALID'
  | 'AGENT_STATE_UNWRITABLE'
  | 'AGENT_TOOL_MISSING'
  | 'AGENT_TPM_UNREACHABLE'
  | 'AGENT_TPM_COMMAND_FAILED'
  | 'AGENT_TPM_OUTPUT_UNEXPECTED'
  | 'AGENT_TPM_HANDLE_IN_USE'
  | 'AGENT_TPM_PCRS_CHANGING'
  | 'AGENT_EVENT_LOG_UNREADABLE'
  | 'AGENT_DICE_CHAIN_INVALID'
  | 'AGENT_DICE_KEY_INVALID'
  | 'AGENT_SERVER_UNREACHABLE'
  | 'AGENT_SERVER_UNTRUSTED'
  | 'AGENT_SERVER_TIMEOUT'
  | 'AGENT_REQUEST_FAILED'
  | 'AGENT_RESPONSE_MALFORMED'
  // The update client, software DICE device and fleet simulator:
  /** No pinned TUF root for the product's repository: give --tuf-root (never trust on first use). */
  | 'AGENT_TUF_ROOT_MISSING'
  /** The pinned root is not a TUF root metadata file, or does not verify by its own keys (TUF §5.2). */
  | 'AGENT_TUF_ROOT_INVALID'
  /** The repository's metadata or a target failed TUF verification (tuf-js refused it). */
  | 'AGENT_TUF_VERIFICATION_FAILED'
  /** The repository could not be reached (network, TLS, HTTP status): nothing was verified or installed. */
  | 'AGENT_TUF_UNREACHABLE'
  /** The slot state file is missing and no initial version was given. */
  | 'AGENT_SLOT_STATE_MISSING'
  /** An update would lower the device's security version (anti-rollback). */
  | 'AGENT_SECURITY_VERSION_ROLLBACK'
  /** The server's update offer does not have the shape the device API documents. */
  | 'AGENT_OFFER_MALFORMED'
  /** EST enrollment answered something that is not a certs-only PKCS#7 with the device certificate. */
  | 'AGENT_ENROLLMENT_FAILED'
  /** A software DICE DeviceID (certificate or key) that cannot act as one. */
  | 'AGENT_DICE_DEVICE_ID_INVALID'
  /** The simulator's work directory belongs to another product or was not written by it. */
  | 'AGENT_SIMULATION_INVALID';

export function agentError(
  code: AgentErrorCode,
  kind: ErrorKind,
  message: string,
  options?: { cause?: unknown; facts?: Record<string, unknown> },
): VigilError {
  return new VigilError(code, kind, message, options);
}
