import { VigilError } from '../../core/index.ts';

/**
 * CSAF 2.0 documents of a product, pure: its findings as a `csaf_vex` (the product status of each
 * vulnerability in each release) and a `csaf_security_advisory` (the vulnerabilities it is or was
 * affected by, with their remediation). OASIS CSAF 2.0 §4.4 (profile 4: Security Advisory) and §4.5
 * (profile 5: VEX); the mandatory tests of §6.1 are run by the caller with the BSI validator.
 */

export interface CsafPublisher {
  name: string;
  /** A URL that identifies the publisher (CSAF 2.0 §3.2.1.8.3). */
  namespace: string;
  contact?: string | undefined;
}

export interface CsafFinding {
  vulnerability: string;
  aliases: readonly string[];
  releaseId: string;
  component: string;
  state: 'under_investigation' | 'affected' | 'not_affected' | 'fixed';
  justification: string | null;
  fixedReleaseId: string | null;
}

export interface CsafInput {
  category: 'csaf_vex' | 'csaf_security_advisory';
  publisher: CsafPublisher;
  product: { id: string; name: string };
  releases: readonly { id: string; version: string }[];
  findings: readonly CsafFinding[];
  tracking: {
    id: string;
    version: number;
    initialReleaseDate: string;
    currentReleaseDate: string;
    history: readonly { number: number; date: string; summary: string }[];
  };
  generator: { name: string; version: string };
}

const cvePattern = /^CVE-[0-9]{4}-[0-9]{4,}$/;

/** Which state wins when components of one release differ: what needs action first. */
const precedence: Record<CsafFinding['state'], number> = {
  affected: 3,
  under_investigation: 2,
  not_affected: 1,
  fixed: 0,
};

function productIdOf(releaseId: string): string {
  return `VIGIL-${releaseId}`;
}

export function csafDocument(input: CsafInput): Record<string, unknown> {
  if (input.releases.length === 0) {
    throw new VigilError(
      'CSAF_NOTHING_TO_PUBLISH',
      'conflict',
      `product ${input.product.name} has no release to describe`,
    );
  }
  const releases = new Map(input.releases.map((release) => [release.id, release]));
  const byVulnerability = new Map<string, CsafFinding[]>();
  for (const finding of input.findings) {
    if (!releases.has(finding.releaseId)) continue;
    const list = byVulnerability.get(finding.vulnerability) ?? [];
    list.push(finding);
    byVulnerability.set(finding.vulnerability, list);
  }
  const vulnerabilities = [...byVulnerability.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([id, findings]) => {
      // One state per release: the component needing action first decides.
      const stateOf = new Map<string, CsafFinding>();
      for (const finding of findings) {
        const earlier = stateOf.get(finding.releaseId);
        if (earlier === undefined || precedence[finding.state] > precedence[earlier.state])
          stateOf.set(finding.releaseId, finding);
      }
      const ids = (state: CsafFinding['state']) =>
        [...stateOf.values()]
          .filter((finding) => finding.state === state)
          .map((finding) => productIdOf(finding.releaseId))
          .sort();
      const affected = ids('affected');
      if (input.category === 'csaf_security_advisory' && affected.length === 0 && ids('fixed').length === 0)
        return [];
      const productStatus: Record<string, string[]> = {};
      if (affected.length > 0) productStatus.known_affected = affected;
      if (ids('fixed').length > 0) productStatus.fixed = ids('fixed');
      if (input.category === 'csaf_vex') {
        if (ids('not_affected').length > 0) productStatus.known_not_affected = ids('not_affected');
        if (ids('under_investigation').length > 0)
          productStatus.under_investigation = ids('under_investigation');
      }
      const identifiers = [id, ...findings[0]!.aliases];
      const cve = identifiers.find((candidate) => cvePattern.test(candidate));
      const others = identifiers.filter((candidate) => candidate !== cve);
      const components = [...new Set(findings.map((finding) => finding.component))].sort();
      const vulnerability: Record<string, unknown> = {
        ...(cve === undefined ? {} : { cve }),
        ...(others.length === 0
          ? {}
          : { ids: [...new Set(others)].map((text) => ({ system_name: systemOf(text), text })) }),
        notes: [
          {
            category: 'description',
            title: 'Affected components',
            text: `Found in: ${components.join(', ')}.`,
          },
        ],
        product_status: productStatus,
      };
      // §6.1.27.9: each product known not affected carries an impact statement (a flag).
      const flags = new Map<string, string[]>();
      for (const finding of stateOf.values()) {
        if (
          finding.state !== 'not_affected' ||
          finding.justification === null ||
          input.category !== 'csaf_vex'
        )
          continue;
        flags.set(finding.justification, [
          ...(flags.get(finding.justification) ?? []),
          productIdOf(finding.releaseId),
        ]);
      }
      if (flags.size > 0) {
        vulnerability.flags = [...flags.entries()].map(([label, products]) => ({
          label,
          product_ids: products.sort(),
        }));
      }
      // §6.1.27.10: each product known affected carries an action statement.
      const remediations: Record<string, unknown>[] = [];
      for (const finding of stateOf.values()) {
        if (finding.state !== 'affected') continue;
        const fix = findings.find((candidate) => candidate.fixedReleaseId !== null)?.fixedReleaseId;
        const fixedIn = fix === undefined || fix === null ? undefined : releases.get(fix);
        remediations.push(
          fixedIn === undefined
            ? {
                category: 'none_available',
                details: 'No fixed release yet; the manufacturer is remediating.',
                product_ids: [productIdOf(finding.releaseId)],
              }
            : {
                category: 'vendor_fix',
                details: `Update to ${input.product.name} ${fixedIn.version}.`,
                product_ids: [productIdOf(finding.releaseId)],
              },
        );
      }
      if (remediations.length > 0) vulnerability.remediations = remediations;
      return [vulnerability];
    });
  if (vulnerabilities.length === 0) {
    throw new VigilError(
      'CSAF_NOTHING_TO_PUBLISH',
      'conflict',
      `product ${input.product.name} has no finding this document would carry`,
    );
  }
  const profile = input.category === 'csaf_vex' ? 'VEX' : 'Security advisory';
  return {
    document: {
      category: input.category,
      csaf_version: '2.0',
      lang: 'en',
      publisher: {
        category: 'vendor',
        name: input.publisher.name,
        namespace: input.publisher.namespace,
        ...(input.publisher.contact === undefined ? {} : { contact_details: input.publisher.contact }),
      },
      title: `${profile} for ${input.product.name}`,
      notes: [
        {
          category: 'summary',
          title: 'Scope',
          text: `The known vulnerabilities of ${input.product.name} releases ${input.releases.map((release) => release.version).join(', ')}, as ${input.publisher.name} has assessed them.`,
        },
      ],
      tracking: {
        id: input.tracking.id,
        status: 'final',
        version: String(input.tracking.version),
        initial_release_date: input.tracking.initialReleaseDate,
        current_release_date: input.tracking.currentReleaseDate,
        revision_history: input.tracking.history.map((revision) => ({
          number: String(revision.number),
          date: revision.date,
          summary: revision.summary,
        })),
        generator: {
          engine: { name: input.generator.name, version: input.generator.version },
          date: input.tracking.currentReleaseDate,
        },
      },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: input.publisher.name,
          branches: [
            {
              category: 'product_name',
              name: input.product.name,
              branches: input.releases.map((release) => ({
                category: 'product_version',
                name: release.version,
                product: {
                  product_id: productIdOf(release.id),
                  name: `${input.product.name} ${release.version}`,
                },
              })),
            },
          ],
        },
      ],
    },
    vulnerabilities,
  };
}

function systemOf(id: string): string {
  const prefix = /^([A-Z]+)-/.exec(id)?.[1];
  return prefix ?? 'Vigil';
}
