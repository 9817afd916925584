import {
  compareCodeUnits,
  compareDecimalStrings,
  isAsciiDigit,
  isPrintableAscii,
  stripLeadingZeros,
} from './ascii-text.ts';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/**
 * Maven's version order: a port of org.apache.maven.artifact.versioning.ComparableVersion as shipped in
 * maven-artifact 3.6-3.8 (the "Version Order Specification" of the POM reference), the behaviour the
 * vers-spec Maven tests and OSV's Maven data encode (see normalizeList for the one deviation). Items are
 * numbers, qualifiers and sub-lists; a "-" or a transition between digits and letters opens a sub-list.
 * Recursion in the comparison is bounded by the nesting, at most maxVersionLength / 2 deep.
 */
export type MavenItem =
  | { readonly kind: 'number'; readonly digits: string } // leading zeros stripped
  | { readonly kind: 'qualifier'; readonly value: string } // aliases applied: a1 → alpha, cr → rc, ga → ""
  | { readonly kind: 'list'; readonly items: MavenItem[] };
type MavenList = Extract<MavenItem, { kind: 'list' }>;

// Known qualifiers in order; unknown ones sort after them, lexically (StringItem.QUALIFIERS).
const qualifierOrder = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const releaseIndex = String(qualifierOrder.indexOf(''));
const aliases: ReadonlyMap<string, string> = new Map([
  ['ga', ''],
  ['final', ''],
  ['release', ''],
  ['cr', 'rc'],
]);

const zero: MavenItem = { kind: 'number', digits: '0' };

function numberItem(digits: string): MavenItem {
  return { kind: 'number', digits: stripLeadingZeros(digits) };
}

function qualifierItem(value: string, followedByDigit: boolean): MavenItem {
  let name = value;
  if (followedByDigit && name.length === 1) {
    // "a1" = alpha-1, "b1" = beta-1, "m1" = milestone-1
    name = name === 'a' ? 'alpha' : name === 'b' ? 'beta' : name === 'm' ? 'milestone' : name;
  }
  return { kind: 'qualifier', value: aliases.get(name) ?? name };
}

function parseItem(isDigit: boolean, text: string): MavenItem {
  return isDigit ? numberItem(text) : qualifierItem(text, false);
}

function isNullItem(item: MavenItem): boolean {
  switch (item.kind) {
    case 'number':
      return item.digits === '0';
    case 'qualifier':
      return item.value === '';
    case 'list':
      return item.items.length === 0;
  }
}

/**
 * ListItem.normalize(): drop trailing null items (0, "", empty list), looking past trailing sub-lists.
 * One addition: a sub-list left holding only another sub-list ("1-ga-1", "1-0-1") becomes that
 * sub-list, as the POM reference trims null values "at each remaining hyphen", so 1-ga-1 = 1-1 (OSV's
 * Maven data says so; ComparableVersion 3.8 alone would order 1-ga-1 below 1-1).
 */
function normalizeList(list: MavenList, isRoot: boolean): void {
  const items = list.items;
  for (let index = items.length - 1; index >= 0; index--) {
    const item = items[index] as MavenItem;
    if (isNullItem(item)) items.splice(index, 1);
    else if (item.kind !== 'list') break;
  }
  const only = items[0];
  if (!isRoot && items.length === 1 && only !== undefined && only.kind === 'list')
    items.splice(0, 1, ...only.items);
}

/** ComparableVersion.parseVersion, character for character. */
export function parseMavenVersion(version: string): MavenList {
  checkVersionText('maven', version);
  // Java lowercases with Locale.ENGLISH; ASCII only keeps that and the digit test exact.
  if (!isPrintableAscii(version)) throw invalidVersion('maven', version, 'it contains a non-ASCII character');
  const text = version.toLowerCase();
  const root: MavenList = { kind: 'list', items: [] };
  let list = root;
  const opened: MavenList[] = [root];
  const openSubList = (): void => {
    const sub: MavenList = { kind: 'list', items: [] };
    list.items.push(sub);
    list = sub;
    opened.push(sub);
  };
  let isDigit = false;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (char === '.') {
      list.items.push(index === start ? zero : parseItem(isDigit, text.slice(start, index)));
      start = index + 1;
    } else if (char === '-') {
      list.items.push(index === start ? zero : parseItem(isDigit, text.slice(start, index)));
      start = index + 1;
      openSubList();
    } else if (isAsciiDigit(char)) {
      if (!isDigit && index > start) {
        // "X1": the qualifier ends, the number opens a sub-list
        list.items.push(qualifierItem(text.slice(start, index), true));
        start = index;
        openSubList();
      }
      isDigit = true;
    } else {
      if (isDigit && index > start) {
        // "1X": the number ends, the qualifier opens a sub-list
        list.items.push(parseItem(true, text.slice(start, index)));
        start = index;
        openSubList();
      }
      isDigit = false;
    }
  }
  if (text.length > start) list.items.push(parseItem(isDigit, text.slice(start)));
  for (let index = opened.length - 1; index >= 0; index--)
    normalizeList(opened[index] as MavenList, index === 0);
  return root;
}

function comparableQualifier(value: string): string {
  const index = qualifierOrder.indexOf(value);
  return index === -1 ? `${qualifierOrder.length}-${value}` : String(index);
}

/** Item.compareTo(other), where `undefined` is Java's null: the shorter list's missing item. */
function compareItem(item: MavenItem, other: MavenItem | undefined): -1 | 0 | 1 {
  switch (item.kind) {
    case 'number':
      if (other === undefined) return item.digits === '0' ? 0 : 1; // 1.0 == 1, 1.1 > 1
      return other.kind === 'number' ? compareDecimalStrings(item.digits, other.digits) : 1; // 1.1 > 1-sp, 1.1 > 1-1
    case 'qualifier':
      if (other === undefined) return compareCodeUnits(comparableQualifier(item.value), releaseIndex); // 1-rc < 1, 1-sp > 1
      if (other.kind === 'qualifier') {
        return compareCodeUnits(comparableQualifier(item.value), comparableQualifier(other.value));
      }
      return -1; // 1.any < 1.1, 1.any < 1-1
    case 'list': {
      if (other === undefined) {
        // MNG-6964: the whole list is compared with null, not just its first item.
        for (const member of item.items) {
          const order = compareItem(member, undefined);
          if (order !== 0) return order;
        }
        return 0;
      }
      if (other.kind === 'number') return -1; // 1-1 < 1.0.x
      if (other.kind === 'qualifier') return 1; // 1-1 > 1-sp
      const length = Math.max(item.items.length, other.items.length);
      for (let index = 0; index < length; index++) {
        const left = item.items[index];
        const right = other.items[index];
        let order: -1 | 0 | 1 = 0;
        if (left !== undefined) order = compareItem(left, right);
        else if (right !== undefined)
          order = compareItem(right, undefined) === 1 ? -1 : compareItem(right, undefined) === -1 ? 1 : 0;
        if (order !== 0) return order;
      }
      return 0;
    }
  }
}

export function compareMavenVersions(a: MavenList, b: MavenList): -1 | 0 | 1 {
  return compareItem(a, b);
}

export const mavenScheme = defineVersionScheme('maven', parseMavenVersion, compareMavenVersions);
