import { isTreeCount } from './encoding.ts';
import { ledgerError } from './errors.ts';

/** C2SP tlog-tiles §Merkle Tree: a tile of hashes at `level`, or (`'entries'`) an entry bundle. */
export interface TileRef {
  readonly level: number | 'entries';
  readonly index: number;
  /** Present only for partial tiles: 1..255 (§Partial Tiles). */
  readonly width?: number;
}

/** §Merkle Tree: full tiles are 256 hashes wide; so are full entry bundles. */
export const TILE_WIDTH = 256;
const maxLevel = 63;
const maxEntrySize = 0xffff;

function failPath(message: string, facts?: Record<string, unknown>): never {
  throw ledgerError('LEDGER_TILE_PATH_INVALID', message, { facts });
}

function failBundle(message: string, facts?: Record<string, unknown>): never {
  throw ledgerError('LEDGER_ENTRY_BUNDLE_INVALID', message, { facts });
}

function isLevel(level: unknown): level is number {
  return typeof level === 'number' && Number.isInteger(level) && level >= 0 && level <= maxLevel;
}

function isPartialWidth(width: unknown): width is number {
  return typeof width === 'number' && Number.isInteger(width) && width >= 1 && width < TILE_WIDTH;
}

/** §Merkle Tree: `<N>` in zero-padded 3-digit elements, all but the last prefixed with `x` (1234067 → x001/x234/067). */
function encodeTileIndex(index: number): string {
  const groups: string[] = [];
  let rest = index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((group, position) => (position < groups.length - 1 ? `x${group}` : group)).join('/');
}

/** The path of a tile or entry bundle below the log prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. */
export function tilePath(level: number | 'entries', index: number, width?: number): string {
  if (level !== 'entries' && !isLevel(level))
    failPath(`tile level must be 0..${maxLevel} or "entries"`, { level });
  if (!isTreeCount(index)) failPath('tile index must be a whole number in [0, 2^53-1]', { index });
  if (width !== undefined && !isPartialWidth(width)) failPath('a partial tile width is 1..255', { width });
  const suffix = width === undefined ? '' : `.p/${width}`;
  return `tile/${level}/${encodeTileIndex(index)}${suffix}`;
}

/**
 * Parses a tile or entry bundle path (attacker-controlled: it arrives in a URL). Only the one canonical
 * spelling of each tile is accepted, so no two paths name the same resource.
 */
export function parseTilePath(path: string): TileRef {
  if (typeof path !== 'string' || path.length > 128) failPath('not a tile path');
  const segments = path.split('/');
  if (segments.length < 3 || segments[0] !== 'tile')
    failPath('a tile path starts with tile/<L>/ or tile/entries/');
  const levelText = segments[1] as string;
  let level: number | 'entries';
  if (levelText === 'entries') {
    level = 'entries';
  } else {
    // §Merkle Tree: <L> is decimal 0..63 with no leading zeroes.
    if (!/^(?:0|[1-9][0-9]?)$/.test(levelText) || Number(levelText) > maxLevel)
      failPath('tile level is not 0..63');
    level = Number(levelText);
  }
  const indexSegments = segments.slice(2);
  let width: number | undefined;
  const penultimate = indexSegments[indexSegments.length - 2];
  if (penultimate !== undefined && penultimate.endsWith('.p')) {
    const widthText = indexSegments.pop() as string;
    indexSegments[indexSegments.length - 1] = penultimate.slice(0, -2);
    // §Merkle Tree: <W> is decimal 1..255 with no leading zeroes.
    if (!/^[1-9][0-9]{0,2}$/.test(widthText) || Number(widthText) >= TILE_WIDTH)
      failPath('partial tile width is not 1..255');
    width = Number(widthText);
  }
  // 2^53-1 has 16 digits: at most six 3-digit groups.
  if (indexSegments.length > 6) failPath('tile index is too large');
  let index = 0;
  indexSegments.forEach((segment, position) => {
    const last = position === indexSegments.length - 1;
    const pattern = last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/;
    if (!pattern.test(segment))
      failPath('tile index elements are 3 digits, all but the last prefixed with x');
    index = index * 1000 + Number(last ? segment : segment.slice(1));
  });
  if (!Number.isSafeInteger(index)) failPath('tile index is too large');
  // Reject x000/005 and the like: only the canonical encoding names a tile.
  if (encodeTileIndex(index) !== indexSegments.join('/')) failPath('tile index has leading zero groups');
  return width === undefined ? { level, index } : { level, index, width };
}

/** §Log entries: each entry prefixed with its length as a big-endian uint16. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > TILE_WIDTH) {
    failBundle(`an entry bundle holds 1..${TILE_WIDTH} entries`);
  }
  const parts: Buffer[] = [];
  entries.forEach((entry, position) => {
    if (!(entry instanceof Uint8Array) || entry.length > maxEntrySize) {
      failBundle(`entry ${position} is longer than ${maxEntrySize} bytes`, { position });
    }
    const length = Buffer.alloc(2);
    length.writeUInt16BE(entry.length);
    parts.push(length, Buffer.from(entry));
  });
  return Buffer.concat(parts);
}

/** Splits an entry bundle (attacker-controlled bytes from a mirror) into its entries. */
export function decodeEntryBundle(bundle: Uint8Array): Buffer[] {
  if (!(bundle instanceof Uint8Array)) failBundle('an entry bundle is bytes');
  const bytes = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.length);
  const entries: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (entries.length === TILE_WIDTH) failBundle(`an entry bundle holds at most ${TILE_WIDTH} entries`);
    if (offset + 2 > bytes.length) failBundle('the entry bundle ends inside a length prefix', { offset });
    const length = bytes.readUInt16BE(offset);
    offset += 2;
    if (offset + length > bytes.length) failBundle('the entry bundle ends inside an entry', { offset });
    entries.push(Buffer.from(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  // §Partial Tiles: empty tiles are never served.
  if (entries.length === 0) failBundle('an entry bundle is never empty');
  return entries;
}
