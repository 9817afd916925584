/**
 * Appraisal (RFC 9334 §8.3): verified claims against reference values under a policy, to an AR4SI
 * trustworthiness vector (draft-ietf-rats-ar4si §2.3) and a status. Pure: the same inputs give the
 * same result, which is what makes re-appraising an archived record at its own time meaningful.
 */
import type { MeasuredComponent, SecureBoot, TpmClock, VerifiedClaims } from './claims.ts';

/** A reference component: one approved measurement (RFC 9334 reference value). */
export type ReferenceComponent =
  | {
      kind: 'tpm-event';
      pcr: number;
      eventType?: string | undefined;
      digests: Record<string, string>;
      label?: string | undefined;
    }
  | {
      kind: 'dice-layer';
      vendor?: string | undefined;
      model?: string | undefined;
      digests: Record<string, string>;
      label?: string | undefined;
    };

/** What a release (or an upload) says a good device of one product and hardware revision measures. */
export interface ReferenceValues {
  components: ReferenceComponent[];
  /** The release's own security version (anti-rollback counter), when it is known. */
  securityVersion?: number | undefined;
  /** Devices below this security version are running firmware with known flaws. */
  minimumSecurityVersion?: number | undefined;
  secureBootRequired: boolean;
}

export interface ReferenceValueSet {
  id: string;
  /** null when the set is not tied to a release. */
  release: string | null;
  version: number;
  values: ReferenceValues;
}

export type Outcome = 'failure' | 'warning';

/** An appraisal policy (one version of a product's): which claims are required, what is a warning, what a failure. */
export interface AppraisalPolicy {
  /**
   * PCRs a TPM quote must cover (sha256 or stronger bank) and the event log must reproduce; a quote
   * that leaves one out proves nothing about what it measures, so that is a failure.
   */
  tpmPcrs?: number[] | undefined;
  /** Claims the evidence must establish; one it does not is a failure. */
  requiredClaims: ('secure-boot' | 'security-version' | 'measured-release')[];
  /** Secure Boot not enabled where the reference values require it. */
  secureBootDisabled: Outcome | 'ignore';
  /** A measured component no reference value approves. */
  unrecognizedComponent: Outcome;
  /** A security version below the reference values' minimum. */
  belowMinimumSecurityVersion: Outcome;
  /** No reference values for the device's product and hardware revision: never affirming. */
  missingReferenceValues: Outcome;
  /** Put the device in quarantine when an appraisal is contraindicated. */
  quarantineOnContraindicated: boolean;
}

export const defaultPolicy: AppraisalPolicy = {
  // The PC Client firmware PCRs (TCG PFP §3.3.4): code and configuration up to the boot loader.
  tpmPcrs: [0, 1, 2, 3, 4, 5, 6, 7],
  requiredClaims: ['secure-boot'],
  secureBootDisabled: 'failure',
  unrecognizedComponent: 'failure',
  belowMinimumSecurityVersion: 'failure',
  missingReferenceValues: 'failure',
  quarantineOnContraindicated: false,
};

export type Status = 'affirming' | 'warning' | 'contraindicated' | 'none';

/** AR4SI trustworthiness claims (draft-ietf-rats-ar4si §2.3.4); absent = no claim made. */
export interface TrustVector {
  'instance-identity': number;
  configuration?: number;
  executables: number;
  hardware?: number;
}

export interface Finding {
  check: string;
  outcome: 'pass' | 'warning' | 'failure' | 'info';
  detail: string;
}

export interface Appraisal {
  status: Status;
  trustVector: TrustVector;
  secureBoot: SecureBoot;
  securityVersion: number | null;
  measuredRelease: string | null;
  /** The reference-value set the measurements matched, if any. */
  matched: { id: string; release: string | null; version: number } | null;
  rebooted: boolean | null;
  findings: Finding[];
}

export interface AppraisalInput {
  claims: VerifiedClaims;
  referenceSets: readonly ReferenceValueSet[];
  policy: AppraisalPolicy;
  /** The TPM clock of the previous appraisal with the same key, to see reboots. */
  previousClock?: TpmClock | null | undefined;
}

// AR4SI values used here (§2.3.4): 2 affirming ("approved", "genuine", "trustworthy"),
// executables 3 "approved boot-time", 32 "unsafe", 33 "unrecognized", 96 "contraindicated";
// configuration 2 "approved", 32 "unsafe", 96 "contraindicated".
const approved = 2;
const approvedBoot = 3;
const unsafe = 32;
const unrecognized = 33;
const contraindicated = 96;

/** AR4SI §2.3.2 tiers: -1..1 none, ±2..±31 affirming, ±32..±95 warning, ±96..±128 contraindicated. */
function tier(value: number | undefined): 0 | 1 | 2 | 3 {
  if (value === undefined) return 0;
  const magnitude = value < 0 ? -value - 1 : value;
  if (magnitude <= 1) return 0;
  if (magnitude >= 96) return 3;
  if (magnitude >= 32) return 2;
  return 1;
}

function worse(current: number | undefined, next: number): number {
  return current === undefined || tier(next) > tier(current) ? next : current;
}

export function statusOf(vector: TrustVector): Status {
  const tiers = Object.values(vector).map((value) => tier(value as number));
  if (tiers.includes(3)) return 'contraindicated';
  if (tiers.includes(2)) return 'warning';
  return tiers.includes(1) ? 'affirming' : 'none';
}

function digestsMatch(measured: Record<string, string>, reference: Record<string, string>): boolean {
  return Object.entries(reference).some(
    ([algorithm, hex]) => measured[algorithm] !== undefined && measured[algorithm] === hex.toLowerCase(),
  );
}

function approves(reference: ReferenceComponent, component: MeasuredComponent): boolean {
  if (reference.kind !== component.kind) return false;
  if (reference.kind === 'tpm-event' && component.kind === 'tpm-event') {
    return (
      reference.pcr === component.pcr &&
      (reference.eventType === undefined || reference.eventType === component.eventType) &&
      digestsMatch(component.digests, reference.digests)
    );
  }
  if (reference.kind === 'dice-layer' && component.kind === 'dice-layer') {
    return (
      (reference.vendor === undefined || reference.vendor === component.vendor) &&
      (reference.model === undefined || reference.model === component.model) &&
      digestsMatch(component.digests, reference.digests)
    );
  }
  return false;
}

function describe(component: MeasuredComponent): string {
  const digest = Object.entries(component.digests)
    .map(([algorithm, hex]) => `${algorithm}:${hex.slice(0, 16)}…`)
    .join(' ');
  return component.kind === 'tpm-event'
    ? `PCR ${component.pcr} ${component.eventType} ${digest}`
    : `DICE layer ${component.model ?? '?'} ${digest}`;
}

/** The release whose reference values approve every measurement; the highest security version wins. */
function matchRelease(
  components: readonly MeasuredComponent[],
  sets: readonly ReferenceValueSet[],
): { set: ReferenceValueSet | null; unrecognized: MeasuredComponent[] } {
  let best: { set: ReferenceValueSet; unrecognized: MeasuredComponent[] } | null = null;
  for (const set of sets) {
    const unknown = components.filter(
      (component) => !set.values.components.some((reference) => approves(reference, component)),
    );
    const better =
      best === null ||
      unknown.length < best.unrecognized.length ||
      (unknown.length === best.unrecognized.length &&
        (set.values.securityVersion ?? -1) > (best.set.values.securityVersion ?? -1));
    if (better) best = { set, unrecognized: unknown };
  }
  if (best === null) return { set: null, unrecognized: [...components] };
  return best.unrecognized.length === 0 ? best : { set: null, unrecognized: best.unrecognized };
}

export function appraise(input: AppraisalInput): Appraisal {
  const { claims, referenceSets, policy } = input;
  const findings: Finding[] = [];
  const outcomeValue = (outcome: Outcome, warningValue: number): number =>
    outcome === 'failure' ? contraindicated : warningValue;

  // The key bound to this device signed evidence over a nonce issued to it and not expired (it is
  // spent with the record), and
  // that key is rooted in the device's hardware (EK-activated or factory-registered AK, DICE DeviceID).
  const vector: TrustVector = { 'instance-identity': approved, executables: approvedBoot };
  // Hardware is genuine only as far as someone vouches for the key: a TPM manufacturer's EK
  // certificate or the factory. A key trusted on first use makes no hardware claim.
  if (claims.endorsement === 'first-use')
    findings.push({
      check: 'endorsement',
      outcome: 'info',
      detail: 'the attestation key was bound on first use; no EK certificate vouches for the TPM',
    });
  else {
    vector.hardware = approved;
    findings.push({
      check: 'endorsement',
      outcome: 'pass',
      detail: `the key is endorsed (${claims.endorsement})`,
    });
  }

  if (claims.unexplained.length > 0) {
    vector.executables = worse(vector.executables, contraindicated);
    findings.push({
      check: 'measurements-explained',
      outcome: 'failure',
      detail: `the event log does not reproduce quoted PCRs ${claims.unexplained.join(', ')}: something was measured that the log does not name`,
    });
  } else
    findings.push({
      check: 'measurements-explained',
      outcome: 'pass',
      detail: 'every quoted PCR replays from the log',
    });

  if (claims.hardware === 'tpm2') {
    const required = policy.tpmPcrs ?? defaultPolicy.tpmPcrs!;
    const missing = required.filter((pcr) => !claims.coverage.includes(`pcr:${pcr}`));
    if (missing.length > 0) {
      vector.executables = worse(vector.executables, contraindicated);
      findings.push({
        check: 'coverage',
        outcome: 'failure',
        detail: `the quote does not cover, or the log does not reproduce, PCR ${missing.join(', ')}: what they measure is unproven`,
      });
    } else
      findings.push({
        check: 'coverage',
        outcome: 'pass',
        detail: `PCR ${required.join(', ')} quoted and reproduced`,
      });
  }

  let matched: ReferenceValueSet | null = null;
  if (claims.components.length === 0) {
    // Nothing measured proves nothing: no release is inferred, no security version either.
    vector.executables = worse(vector.executables, contraindicated);
    findings.push({
      check: 'components',
      outcome: 'failure',
      detail: 'the evidence proves no measured component',
    });
  } else if (referenceSets.length === 0) {
    vector.executables = worse(vector.executables, outcomeValue(policy.missingReferenceValues, unrecognized));
    findings.push({
      check: 'reference-values',
      outcome: policy.missingReferenceValues,
      detail: 'no reference values for this product and hardware revision',
    });
  } else {
    const match = matchRelease(claims.components, referenceSets);
    matched = match.set;
    if (match.unrecognized.length > 0) {
      vector.executables = worse(
        vector.executables,
        outcomeValue(policy.unrecognizedComponent, unrecognized),
      );
      findings.push({
        check: 'components',
        outcome: policy.unrecognizedComponent,
        detail: `${match.unrecognized.length} measured component(s) no reference value approves: ${match.unrecognized
          .slice(0, 5)
          .map(describe)
          .join('; ')}`,
      });
    } else
      findings.push({
        check: 'components',
        outcome: 'pass',
        detail: `all ${claims.components.length} measured components approved by ${matched?.release ?? 'reference values'} v${matched?.version ?? 0}`,
      });
  }

  const securityVersion = claims.securityVersion ?? matched?.values.securityVersion ?? null;
  const minimum = Math.max(...referenceSets.map((set) => set.values.minimumSecurityVersion ?? -Infinity));
  if (Number.isFinite(minimum)) {
    if (securityVersion === null || securityVersion < minimum) {
      const outcome = policy.belowMinimumSecurityVersion;
      vector.executables = worse(vector.executables, outcomeValue(outcome, unsafe));
      findings.push({
        check: 'security-version',
        outcome,
        detail:
          securityVersion === null
            ? `the evidence establishes no security version; the minimum is ${minimum}`
            : `security version ${securityVersion} is below the minimum ${minimum}`,
      });
    } else
      findings.push({
        check: 'security-version',
        outcome: 'pass',
        detail: `security version ${securityVersion} ≥ ${minimum}`,
      });
  }

  const secureBootRequired =
    matched !== null
      ? matched.values.secureBootRequired
      : referenceSets.some((set) => set.values.secureBootRequired);
  if (claims.secureBoot === 'enabled') {
    vector.configuration = approved;
    findings.push({ check: 'secure-boot', outcome: 'pass', detail: 'Secure Boot is enabled' });
  } else if (secureBootRequired && policy.secureBootDisabled !== 'ignore') {
    vector.configuration = outcomeValue(policy.secureBootDisabled, unsafe);
    findings.push({
      check: 'secure-boot',
      outcome: policy.secureBootDisabled,
      detail: `Secure Boot is ${claims.secureBoot} where the reference values require it`,
    });
  }

  for (const claim of policy.requiredClaims) {
    const missing =
      (claim === 'secure-boot' && claims.secureBoot === 'unknown') ||
      (claim === 'security-version' && securityVersion === null) ||
      (claim === 'measured-release' && matched === null);
    if (!missing) continue;
    if (claim === 'secure-boot') vector.configuration = worse(vector.configuration, contraindicated);
    else vector.executables = worse(vector.executables, contraindicated);
    findings.push({
      check: `required-claim:${claim}`,
      outcome: 'failure',
      detail: `the policy requires ${claim} and the evidence does not establish it`,
    });
  }

  let rebooted: boolean | null = null;
  if (claims.tpmClock !== null && input.previousClock !== undefined && input.previousClock !== null) {
    const previous = input.previousClock;
    rebooted = claims.tpmClock.resetCount !== previous.resetCount;
    findings.push({
      check: 'tpm-clock',
      outcome: 'info',
      detail: rebooted
        ? `the platform rebooted since the last attestation (resetCount ${previous.resetCount} → ${claims.tpmClock.resetCount})`
        : claims.tpmClock.restartCount !== previous.restartCount
          ? `the platform resumed from suspend (restartCount ${previous.restartCount} → ${claims.tpmClock.restartCount})`
          : 'no reboot since the last attestation',
    });
  }

  return {
    status: statusOf(vector),
    trustVector: vector,
    secureBoot: claims.secureBoot,
    securityVersion,
    measuredRelease: matched?.release ?? null,
    matched: matched === null ? null : { id: matched.id, release: matched.release, version: matched.version },
    rebooted,
    findings,
  };
}
