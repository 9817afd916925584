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
  | 'AGENT_RESPONSE_MALFORMED';

export function agentError(
  code: AgentErrorCode,
  kind: ErrorKind,
  message: string,
  options?: { cause?: unknown; facts?: Record<string, unknown> },
): VigilError {
  return new VigilError(code, kind, message, options);
}
