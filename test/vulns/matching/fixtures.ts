import { readFileSync } from 'node:fs';
import { parseOsvJsonLines, type Advisory } from '../../../src/vulns/advisories/index.ts';
import { parseSbom, type ParsedSbom } from '../../../src/vulns/sbom/index.ts';

/** shared/data (see its README.md): OSV exports, CycloneDX SBOMs and VEX use cases of CycloneDX/bom-examples @ aaa24717. */
export const sharedData = new URL('../../../../shared/data/', import.meta.url);

export function readSharedFile(path: string): Buffer {
  return readFileSync(new URL(path, sharedData));
}

const advisoriesByFile = new Map<string, Advisory[]>();

/** The advisories of one OSV export ("golang-vulndb", "bitnami-vulndb", "rustsec"), read once per process. */
export function osvAdvisories(name: 'golang-vulndb' | 'bitnami-vulndb' | 'rustsec'): Advisory[] {
  let advisories = advisoriesByFile.get(name);
  if (advisories === undefined) {
    advisories = parseOsvJsonLines(readSharedFile(`osv/${name}.jsonl.gz`)).advisories;
    advisoriesByFile.set(name, advisories);
  }
  return advisories;
}

export function allOsvAdvisories(): Advisory[] {
  return [...osvAdvisories('golang-vulndb'), ...osvAdvisories('bitnami-vulndb'), ...osvAdvisories('rustsec')];
}

export function realSbom(name: string): ParsedSbom {
  return parseSbom(readSharedFile(`sbom/${name}`));
}
