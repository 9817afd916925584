import { randomUUID } from 'node:crypto';
import type { FindingView } from './findings.ts';

/**
 * A release's VEX in the two formats tools read besides CSAF: CycloneDX 1.6 (a BOM with only
 * `vulnerabilities`, each with its `analysis`; CycloneDX 1.6 §vulnerabilities) and OpenVEX 0.2.0.
 * Pure: findings in, documents out.
 */

/** CSAF/OpenVEX justifications → CycloneDX 1.6 `analysis.justification`. */
const cycloneDxJustification: Record<string, string> = {
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
  vulnerable_code_not_in_execute_path: 'code_not_reachable',
  vulnerable_code_cannot_be_controlled_by_adversary: 'protected_by_mitigating_control',
  inline_mitigations_already_exist: 'protected_by_mitigating_control',
};

const cycloneDxState: Record<FindingView['state'], string> = {
  affected: 'exploitable',
  not_affected: 'not_affected',
  fixed: 'resolved',
  under_investigation: 'in_triage',
};

export function cycloneDxVex(
  release: { id: string; version: string; productName: string },
  findings: readonly FindingView[],
  now: string,
): Record<string, unknown> {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: now,
      component: {
        type: 'firmware',
        'bom-ref': `release:${release.id}`,
        name: release.productName,
        version: release.version,
      },
    },
    vulnerabilities: findings.map((finding) => ({
      'bom-ref': finding.id,
      id: finding.vulnerability,
      ...(finding.aliases.length === 0
        ? {}
        : {
            references: finding.aliases.map((alias) => ({
              id: alias,
              source: { name: alias.split('-')[0] },
            })),
          }),
      analysis: {
        state: cycloneDxState[finding.state],
        ...(finding.justification === null
          ? {}
          : { justification: cycloneDxJustification[finding.justification] ?? 'code_not_reachable' }),
        ...(finding.state === 'affected' ? { response: ['update'] } : {}),
      },
      affects: [{ ref: finding.purl ?? finding.component }],
    })),
  };
}

/** OpenVEX 0.2.0: one statement per finding, products named by their purl. */
export function openVex(
  release: { id: string; version: string; productName: string },
  author: string,
  findings: readonly FindingView[],
  now: string,
): Record<string, unknown> {
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `urn:uuid:${randomUUID()}`,
    author,
    timestamp: now,
    version: 1,
    statements: findings.map((finding) => ({
      vulnerability: {
        name: finding.vulnerability,
        ...(finding.aliases.length === 0 ? {} : { aliases: finding.aliases }),
      },
      products: [{ '@id': finding.purl ?? `${release.productName}@${release.version}#${finding.component}` }],
      status: finding.state,
      ...(finding.state === 'not_affected' && finding.justification !== null
        ? { justification: finding.justification }
        : {}),
      // OpenVEX §status: an `affected` statement carries an action statement.
      ...(finding.state === 'affected'
        ? { action_statement: 'Update to a release that fixes it as soon as one is published.' }
        : {}),
    })),
  };
}
