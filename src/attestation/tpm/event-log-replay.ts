import { createHash } from 'node:crypto';
import { digestSizeOf, idOfHashAlgorithm, type TpmHashAlgorithm } from './algorithms.ts';
import { tpmError } from './errors.ts';
import { eventDigest, type EventLog } from './event-log.ts';
import { eventTypes } from './event-types.ts';

const startupLocalitySignature = Buffer.from('StartupLocality\0', 'latin1');

/**
 * Replays the log into the PCR values it claims (Part 3 §22.2 TPM2_PCR_Extend: new = H(old || digest)),
 * for the PCRs the log extends. PCRs start at zero; EV_NO_ACTION events are not extended (PFP §10.4.1),
 * except that a "StartupLocality" EV_NO_ACTION in PCR 0 (PFP §10.4.5.3, TCG_EfiStartupLocalityEvent)
 * sets PCR 0's initial value to the locality in its last byte. Compare the result with a verified
 * quote: only then does the log say anything. Fails closed when an extending event lacks the bank.
 */
export function replayEventLog(log: EventLog, bank: TpmHashAlgorithm): Map<number, Buffer> {
  if (!log.specId.algorithms.some((entry) => entry.algorithmId === idOfHashAlgorithm(bank))) {
    throw tpmError(
      'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING',
      `the event log does not record the ${bank} bank`,
      { bank },
    );
  }
  const size = digestSizeOf(bank);
  const pcrs = new Map<number, Buffer>();
  for (const event of log.events.slice(1)) {
    if (event.eventType === eventTypes.EV_NO_ACTION) {
      const locality = startupLocality(event.pcrIndex, event.eventData);
      if (locality !== undefined) {
        // The locality sets where PCR 0 starts; after PCR 0 was extended it would rewrite history.
        if (pcrs.has(0)) {
          throw tpmError(
            'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
            `event ${event.eventNumber}: StartupLocality after PCR 0 was extended`,
          );
        }
        const initial = Buffer.alloc(size);
        initial[size - 1] = locality;
        pcrs.set(0, initial);
      }
      continue;
    }
    const digest = eventDigest(event, bank);
    if (digest === undefined) {
      throw tpmError(
        'ATTESTATION_TPM_EVENT_LOG_BANK_MISSING',
        `event ${event.eventNumber} has no ${bank} digest`,
        {
          bank,
          eventNumber: event.eventNumber,
        },
      );
    }
    const old = pcrs.get(event.pcrIndex) ?? Buffer.alloc(size);
    pcrs.set(event.pcrIndex, createHash(bank).update(old).update(digest).digest());
  }
  return new Map([...pcrs.entries()].sort(([a], [b]) => a - b));
}

/** PFP §10.4.5.3: Signature "StartupLocality\0" then UINT8 StartupLocality (0 or 3). */
function startupLocality(pcrIndex: number, eventData: Buffer): number | undefined {
  if (pcrIndex !== 0 || eventData.length !== startupLocalitySignature.length + 1) return undefined;
  if (!eventData.subarray(0, startupLocalitySignature.length).equals(startupLocalitySignature))
    return undefined;
  return eventData[startupLocalitySignature.length];
}
