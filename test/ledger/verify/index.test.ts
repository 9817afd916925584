import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as verify from '../../../src/ledger/verify/index.ts';

test('the public face exports the whole pure ledger API and nothing internal', () => {
  assert.deepEqual(Object.keys(verify).sort(), [
    'HASH_SIZE',
    'LogVerification',
    'TILE_WIDTH',
    'TreeBuilder',
    'computeKeyId',
    'consistencyProofPlan',
    'decodeEntryBundle',
    'emptyRoot',
    'encodeEntryBundle',
    'formatCheckpoint',
    'formatProofFile',
    'formatVerifierKey',
    'frontierRefs',
    'inclusionProofPlan',
    'leafHash',
    'nodeHash',
    'openCheckpoint',
    'openNote',
    'parseCheckpoint',
    'parseProofFile',
    'parseTilePath',
    'parseVerifierKey',
    'rootFromInclusionProof',
    'rootPlan',
    'signNote',
    'tilePath',
    'verifyConsistencyProof',
    'verifyInclusionProof',
    'verifyLog',
    'verifyProofFile',
  ]);
});

test('the module imports no I/O: only node:crypto and core', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const folder = new URL('../../../src/ledger/verify/', import.meta.url);
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(new URL(file, folder), 'utf8');
    for (const [, specifier] of source.matchAll(/from '([^']+)'/g)) {
      assert.ok(
        specifier === 'node:crypto' ||
          specifier === '../../core/index.ts' ||
          /^\.\/[a-z-]+\.ts$/.test(specifier as string),
        `${file} imports ${specifier}`,
      );
    }
  }
});
