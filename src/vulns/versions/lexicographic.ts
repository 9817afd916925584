import { checkVersionText, defineVersionScheme } from './scheme.ts';

/**
 * The vers-spec "lexicographic" type: plain byte order of the UTF-8 encodings, no Unicode
 * normalisation ("e\u0301" < "é"); a shorter prefix sorts first.
 */
export function parseLexicographicVersion(version: string): Buffer {
  checkVersionText('lexicographic', version, { allowNonAscii: true });
  return Buffer.from(version, 'utf8');
}

export const lexicographicScheme = defineVersionScheme('lexicographic', parseLexicographicVersion, (a, b) =>
  Buffer.compare(a, b),
);
