import { emptyRoot } from './hashing.ts';
import { isTreeCount } from './encoding.ts';
import { ledgerError } from './errors.ts';
import {
  checkNodeHash,
  completeSubtrees,
  composeSubtrees,
  nodeKey,
  splitPoint,
  type LeafRange,
  type NodeRef,
} from './subtrees.ts';

/**
 * Two-phase proof generation: `nodes` lists every distinct complete node the proof needs, so a caller
 * can fetch them in one query; `build` then assembles the proof from them without further lookups.
 */
export interface ProofPlan {
  readonly nodes: readonly NodeRef[];
  build(get: (ref: NodeRef) => Buffer): Buffer[];
}

function failRange(message: string, facts: Record<string, unknown>): never {
  throw ledgerError('LEDGER_PROOF_RANGE', message, { facts });
}

// Each proof element is MTH of one leaf range; ranges on the right edge are not complete and are
// composed from the complete nodes of their binary decomposition.
function planFromRanges(ranges: readonly LeafRange[], buildEmpty?: () => Buffer[]): ProofPlan {
  const decompositions = ranges.map(completeSubtrees);
  const seen = new Set<string>();
  const nodes: NodeRef[] = [];
  for (const ref of decompositions.flat()) {
    const key = nodeKey(ref);
    if (!seen.has(key)) {
      seen.add(key);
      nodes.push(ref);
    }
  }
  return {
    nodes,
    build(get) {
      if (buildEmpty !== undefined) return buildEmpty();
      return decompositions.map((refs) => composeSubtrees(refs.map((ref) => checkNodeHash(ref, get(ref)))));
    },
  };
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]), as leaf ranges, leaf's sibling first. */
function inclusionRanges(index: number, start: number, end: number, into: LeafRange[]): void {
  const n = end - start;
  if (n <= 1) return;
  const k = splitPoint(n);
  if (index < k) {
    inclusionRanges(index, start, start + k, into);
    into.push({ start: start + k, end });
  } else {
    inclusionRanges(index - k, start + k, end, into);
    into.push({ start, end: start + k });
  }
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), as leaf ranges. */
function consistencyRanges(
  m: number,
  start: number,
  end: number,
  complete: boolean,
  into: LeafRange[],
): void {
  const n = end - start;
  if (m === n) {
    if (!complete) into.push({ start, end });
    return;
  }
  const k = splitPoint(n);
  if (m <= k) {
    consistencyRanges(m, start, start + k, complete, into);
    into.push({ start: start + k, end });
  } else {
    consistencyRanges(m - k, start + k, end, false, into);
    into.push({ start, end: start + k });
  }
}

/** Plans the RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size` leaves. */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  if (!isTreeCount(index) || !isTreeCount(size)) {
    failRange('index and size must be whole numbers in [0, 2^53-1]', { index, size });
  }
  if (index >= size) failRange(`leaf index ${index} is not inside a tree of size ${size}`, { index, size });
  const ranges: LeafRange[] = [];
  inclusionRanges(index, 0, size, ranges);
  return planFromRanges(ranges);
}

/** Plans the RFC 9162 §2.1.4.1 consistency proof PROOF(size1, D[size2]); requires 0 < size1 <= size2. */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  if (!isTreeCount(size1) || !isTreeCount(size2)) {
    failRange('tree sizes must be whole numbers in [0, 2^53-1]', { size1, size2 });
  }
  if (size1 === 0) failRange('a consistency proof needs a non-empty first tree', { size1, size2 });
  if (size1 > size2) failRange(`tree size ${size1} is larger than tree size ${size2}`, { size1, size2 });
  const ranges: LeafRange[] = [];
  consistencyRanges(size1, 0, size2, true, ranges);
  return planFromRanges(ranges);
}

/** Plans MTH(D[size]); `build` returns [root]. The empty tree needs no nodes (RFC 9162 §2.1.1). */
export function rootPlan(size: number): ProofPlan {
  if (!isTreeCount(size)) failRange('size must be a whole number in [0, 2^53-1]', { size });
  if (size === 0) return planFromRanges([], () => [emptyRoot()]);
  return planFromRanges([{ start: 0, end: size }]);
}
