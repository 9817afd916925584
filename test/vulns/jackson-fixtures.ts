// The jackson-databind pair of CycloneDX/bom-examples `VEX/` (shared/data/vex/README.md), with the
// advisory that makes a finding of it.
import { readFileSync } from 'node:fs';

export const vexDir = new URL('../../../shared/data/vex/', import.meta.url);
/** A BOM listing jackson-databind 2.10.0 (`vex.json` beside it says CVE-2020-25649 does not reach it). */
export const bom = readFileSync(new URL('bom.json', vexDir), 'utf8');

/** The advisory for CVE-2020-25649 as the GitHub Advisory Database publishes it in OSV (ranges abridged to the 2.10 line). */
export const advisory = JSON.stringify({
  schema_version: '1.6.0',
  id: 'GHSA-288c-cq4h-88gq',
  modified: '2024-03-15T00:00:00Z',
  published: '2020-12-03T00:00:00Z',
  aliases: ['CVE-2020-25649'],
  summary: 'XML External Entity (XXE) Injection in Jackson Databind',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N' }],
  affected: [
    {
      package: { ecosystem: 'Maven', name: 'com.fasterxml.jackson.core:jackson-databind' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.10.0' }, { fixed: '2.10.5.1' }] }],
    },
  ],
});
