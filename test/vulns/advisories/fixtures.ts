import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { isVigilError, type VigilError } from '../../../src/core/index.ts';

/**
 * The real advisory data in shared/data (see its README.md for provenance): OSV exports of golang/vulndb
 * @ a752ea54, bitnami/vulndb @ 0054d6e3 and rustsec/advisory-db @ 7fa931cb; the OASIS CSAF 2.0 examples
 * @ 27af37f5; the CISA KEV catalogue of 2025-08-25 (cisagov/kev-data @ eacf03ec).
 */
export const sharedData = new URL('../../../../shared/data/', import.meta.url);

export function readSharedFile(path: string): Buffer {
  return readFileSync(new URL(path, sharedData));
}

export const osvFiles = {
  go: 'osv/golang-vulndb.jsonl.gz',
  bitnami: 'osv/bitnami-vulndb.jsonl.gz',
  rustsec: 'osv/rustsec.jsonl.gz',
} as const;

/** Every CSAF example file, relative to shared/data. */
export function csafExampleFiles(): string[] {
  const top = readdirSync(new URL('csaf/examples/', sharedData)).filter((name) => name.endsWith('.json'));
  const vex = readdirSync(new URL('csaf/examples/csaf_vex/', sharedData)).filter((name) =>
    name.endsWith('.json'),
  );
  return [
    ...top.map((name) => `csaf/examples/${name}`),
    ...vex.map((name) => `csaf/examples/csaf_vex/${name}`),
  ].sort();
}

/** A minimal OSV record (OSV schema 1.6) with the given fields added or replaced. */
export function osvRecord(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: '1.6.0',
    id: 'VIGIL-TEST-0001',
    modified: '2025-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'left-pad' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
      },
    ],
    ...fields,
  };
}

export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function gzipJson(value: unknown): Buffer {
  return gzipSync(jsonBytes(value));
}

/** Asserts a VigilError with the code; returns it for further checks. */
export function assertVigilError(run: () => unknown, code: string): VigilError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(isVigilError(caught, code), `expected VigilError ${code}, got ${String(caught)}`);
  return caught;
}
