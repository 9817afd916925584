// A small, regenerable pair for service tests: a CycloneDX SBOM with one npm component and the OSV
// advisory (shape of GitHub's GHSA-35jh-r3h4-6jhm) that names it.

/** A one-component CycloneDX 1.5 SBOM: lodash at `version`. */
export function lodashSbom(version = '4.17.20'): string {
  return JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    components: [
      { type: 'library', 'bom-ref': 'lodash', name: 'lodash', version, purl: `pkg:npm/lodash@${version}` },
    ],
  });
}

/** Command injection in lodash before 4.17.21 (CVE-2021-23337), as OSV. */
export const lodashAdvisory = JSON.stringify({
  schema_version: '1.6.0',
  id: 'GHSA-35jh-r3h4-6jhm',
  modified: '2024-01-01T00:00:00Z',
  aliases: ['CVE-2021-23337'],
  summary: 'Command injection in lodash',
  affected: [
    {
      package: { ecosystem: 'npm', name: 'lodash' },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
    },
  ],
});
