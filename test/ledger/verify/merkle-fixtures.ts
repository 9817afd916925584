// Shared test data for the ledger/verify tests: the transparency-dev golden vectors in
// ../shared/data/merkle/, the RFC 6962 reference leaves they were made from, and a naive
// recursive implementation of RFC 9162 §2.1 to compare the real one against.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';

export const vectorRoot = new URL('../../../../shared/data/merkle/', import.meta.url);

export interface InclusionVector {
  readonly name: string;
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: Buffer;
  readonly leafHash: Buffer;
  readonly proof: Buffer[];
  readonly wantErr: boolean;
}

export interface ConsistencyVector {
  readonly name: string;
  readonly size1: number;
  readonly size2: number;
  readonly root1: Buffer;
  readonly root2: Buffer;
  readonly proof: Buffer[];
  readonly wantErr: boolean;
}

function listJsonFiles(directory: URL, prefix = ''): string[] {
  return readdirSync(directory)
    .sort()
    .flatMap((entry) => {
      const url = new URL(entry, directory);
      if (statSync(url).isDirectory())
        return listJsonFiles(new URL(`${entry}/`, directory), `${prefix}${entry}/`);
      return entry.endsWith('.json') ? [`${prefix}${entry}`] : [];
    });
}

function readVectors(kind: 'inclusion' | 'consistency'): { name: string; raw: Record<string, unknown> }[] {
  const directory = new URL(`${kind}/`, vectorRoot);
  return listJsonFiles(directory).map((name) => ({
    name: `${kind}/${name}`,
    // 18446744073709551615 (uint64 -1) parses to a Number above 2^53-1; the API must reject it either way.
    raw: JSON.parse(readFileSync(new URL(name, directory), 'utf8')) as Record<string, unknown>,
  }));
}

const bytes = (value: unknown): Buffer => Buffer.from(String(value), 'base64');
const hashes = (value: unknown): Buffer[] => ((value ?? []) as string[]).map(bytes);

export function loadInclusionVectors(): InclusionVector[] {
  return readVectors('inclusion').map(({ name, raw }) => ({
    name,
    leafIdx: raw.leafIdx as number,
    treeSize: raw.treeSize as number,
    root: bytes(raw.root),
    leafHash: bytes(raw.leafHash),
    proof: hashes(raw.proof),
    wantErr: raw.wantErr === true,
  }));
}

export function loadConsistencyVectors(): ConsistencyVector[] {
  return readVectors('consistency').map(({ name, raw }) => ({
    name,
    size1: raw.size1 as number,
    size2: raw.size2 as number,
    root1: bytes(raw.root1),
    root2: bytes(raw.root2),
    proof: hashes(raw.proof),
    wantErr: raw.wantErr === true,
  }));
}

/** The eight leaves of the RFC 6962 reference tree the golden vectors were generated from. */
export const referenceLeaves: readonly Buffer[] = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((hex) => Buffer.from(hex, 'hex'));

// The naive reference: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 transcribed recursion for recursion,
// written independently of src/ so that the two can disagree.
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export function naiveLeafHash(data: Uint8Array): Buffer {
  return sha256(Buffer.from([0]), data);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes. */
export function naiveRoot(leafHashes: readonly Buffer[]): Buffer {
  if (leafHashes.length === 0) return sha256();
  if (leafHashes.length === 1) return leafHashes[0] as Buffer;
  const k = largestPowerOfTwoBelow(leafHashes.length);
  return sha256(Buffer.from([1]), naiveRoot(leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k)));
}

/** PATH(m, D[n]). */
export function naiveInclusionPath(m: number, leafHashes: readonly Buffer[]): Buffer[] {
  const n = leafHashes.length;
  if (n <= 1) return [];
  const k = largestPowerOfTwoBelow(n);
  if (m < k) return [...naiveInclusionPath(m, leafHashes.slice(0, k)), naiveRoot(leafHashes.slice(k))];
  return [...naiveInclusionPath(m - k, leafHashes.slice(k)), naiveRoot(leafHashes.slice(0, k))];
}

function naiveSubproof(m: number, leafHashes: readonly Buffer[], complete: boolean): Buffer[] {
  const n = leafHashes.length;
  if (m === n) return complete ? [] : [naiveRoot(leafHashes)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...naiveSubproof(m, leafHashes.slice(0, k), complete), naiveRoot(leafHashes.slice(k))];
  return [...naiveSubproof(m - k, leafHashes.slice(k), false), naiveRoot(leafHashes.slice(0, k))];
}

/** PROOF(m, D[n]). */
export function naiveConsistencyProof(m: number, leafHashes: readonly Buffer[]): Buffer[] {
  return naiveSubproof(m, leafHashes, true);
}

/** n distinct leaf hashes. */
export function makeLeafHashes(n: number): Buffer[] {
  return Array.from({ length: n }, (_, index) => naiveLeafHash(Buffer.from(`leaf ${index}`)));
}

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
export function seededRandom(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}
