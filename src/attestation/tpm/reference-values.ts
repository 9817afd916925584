import type { ReferenceComponent, ReferenceValues } from '../appraisal.ts';
import { hashAlgorithmOfId } from './algorithms.ts';
import { bootComponents, secureBootState } from './boot-state.ts';
import { parseEventLog } from './event-log.ts';

/**
 * Reference values derived from a known-good firmware event log, as a release pipeline would
 * (RFC 9334 Reference Value Provider): each boot component's digest in every bank the log carries,
 * and Secure Boot required when the log shows it on. Facts, not golden whole-PCR values: a device
 * booting the same components in another order, or with another approved set, still matches.
 */
export function referenceValuesFromEventLog(
  bytes: Uint8Array,
  options: { securityVersion?: number | undefined; minimumSecurityVersion?: number | undefined } = {},
): ReferenceValues {
  const log = parseEventLog(bytes);
  const banks = log.specId.algorithms.flatMap(({ algorithmId }) => {
    const name = hashAlgorithmOfId(algorithmId);
    return name === undefined ? [] : [name];
  });
  const byEvent = new Map<number, ReferenceComponent & { kind: 'tpm-event' }>();
  for (const bank of banks) {
    for (const component of bootComponents(log, bank)) {
      const entry = byEvent.get(component.eventNumber) ?? {
        kind: 'tpm-event' as const,
        pcr: component.pcrIndex,
        eventType: component.eventType,
        digests: {},
      };
      entry.digests[bank] = component.digest.toString('hex');
      byEvent.set(component.eventNumber, entry);
    }
  }
  // One entry per distinct measurement: a component measured twice is approved once.
  const seen = new Set<string>();
  const components = [...byEvent.values()].filter((component) => {
    const key = JSON.stringify([component.pcr, component.eventType, component.digests]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    components,
    secureBootRequired: secureBootState(log) === 'enabled',
    ...(options.securityVersion === undefined ? {} : { securityVersion: options.securityVersion }),
    ...(options.minimumSecurityVersion === undefined
      ? {}
      : { minimumSecurityVersion: options.minimumSecurityVersion }),
  };
}
