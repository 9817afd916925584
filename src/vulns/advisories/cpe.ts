/**
 * CPE names (NISTIR 7695, CPE 2.3 Naming) in both bindings advisories use: the 2.3 formatted string
 * ("cpe:2.3:a:apache:activemq:5.15.12:*:*:*:*:*:*:*", §6.2) and the 2.2 URI ("cpe:/a:redhat:openshift:4.6::el8",
 * §6.1). Names come from advisories and SBOMs (attacker-controlled): reading one is linear in its length,
 * bounded, and answers undefined rather than throwing.
 */

/** NISTIR 7695 §5.2: ANY is "*", NA is "-"; every other value is kept lower-cased and unquoted. */
export interface Cpe {
  part: string;
  vendor: string;
  product: string;
  version: string;
  update: string;
  edition: string;
  language: string;
  swEdition: string;
  targetSw: string;
  targetHw: string;
  other: string;
}

export const maxCpeLength = 1024;

const attributeOrder = [
  'part',
  'vendor',
  'product',
  'version',
  'update',
  'edition',
  'language',
  'swEdition',
  'targetSw',
  'targetHw',
  'other',
] as const satisfies readonly (keyof Cpe)[];

const any = '*';

function isPrintableAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/** §6.2: 11 attributes after "cpe:2.3:", split at colons not quoted by a backslash, quotes removed. */
function parseFormattedString(text: string): Cpe | undefined {
  const values: string[] = [];
  let current = '';
  for (let index = 'cpe:2.3:'.length; index < text.length; index++) {
    const char = text[index] as string;
    if (char === '\\') {
      const next = text[index + 1];
      if (next === undefined) return undefined;
      current += next;
      index++;
    } else if (char === ':') {
      values.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  values.push(current);
  if (values.length !== attributeOrder.length || values.some((value) => value.length === 0)) return undefined;
  return cpeFromValues(values);
}

function percentDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** §6.1: "cpe:/" and up to seven colon-separated components, empty = ANY, percent-encoded, edition maybe packed with "~". */
function parseUri(text: string): Cpe | undefined {
  const components = text.slice('cpe:/'.length).split(':');
  if (components.length > 7) return undefined;
  const decoded: string[] = [];
  for (const component of components) {
    const value = percentDecode(component);
    if (value === undefined) return undefined;
    decoded.push(value);
  }
  const [part = '', vendor = '', product = '', version = '', update = '', edition = '', language = ''] =
    decoded;
  let packed = [edition, '', '', '', ''];
  if (edition.startsWith('~')) {
    // §6.1.3.2: "~edition~sw_edition~target_sw~target_hw~other".
    const unpacked = edition.slice(1).split('~');
    if (unpacked.length !== 5) return undefined;
    packed = unpacked;
  }
  const [packedEdition = '', swEdition = '', targetSw = '', targetHw = '', other = ''] = packed;
  const values = [
    part,
    vendor,
    product,
    version,
    update,
    packedEdition,
    language,
    swEdition,
    targetSw,
    targetHw,
    other,
  ];
  return cpeFromValues(values.map((value) => (value === '' ? any : value)));
}

function cpeFromValues(values: readonly string[]): Cpe | undefined {
  const lowered = values.map((value) => value.toLowerCase());
  const part = lowered[0];
  if (part !== 'a' && part !== 'o' && part !== 'h' && part !== any) return undefined;
  const cpe = {} as Record<keyof Cpe, string>;
  attributeOrder.forEach((attribute, index) => {
    cpe[attribute] = lowered[index] ?? any;
  });
  return cpe;
}

/** Reads a CPE in either binding; undefined when it is neither. */
export function parseCpe(text: string): Cpe | undefined {
  if (text.length > maxCpeLength || !isPrintableAscii(text)) return undefined;
  const lower = text.toLowerCase();
  if (lower.startsWith('cpe:2.3:')) return parseFormattedString(text);
  if (lower.startsWith('cpe:/')) return parseUri(text);
  return undefined;
}

/** §6.2.2: in a formatted string every character but letters, digits, "_", "." and "-" is quoted (wildcards left alone). */
function quoteValue(value: string): string {
  if (value === any || value === '-') return value;
  let quoted = '';
  for (const char of value) quoted += /[a-z0-9_.\-*?]/.test(char) ? char : `\\${char}`;
  return quoted;
}

/** The CPE 2.3 formatted string of a name. */
export function formatCpe(cpe: Cpe): string {
  return `cpe:2.3:${attributeOrder.map((attribute) => quoteValue(cpe[attribute])).join(':')}`;
}

/** ANY ("*") and NA ("-") say nothing about a version. */
export function isSpecificCpeValue(value: string): boolean {
  return value !== any && value !== '-' && value !== '';
}
