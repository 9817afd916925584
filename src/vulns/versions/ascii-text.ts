/** Character classes and digit-run arithmetic shared by the comparators; ASCII only, as every scheme's spec is. */

export function isAsciiDigit(char: string | undefined): boolean {
  return char !== undefined && char.length === 1 && char >= '0' && char <= '9';
}

export function isAsciiLowercaseLetter(char: string | undefined): boolean {
  return char !== undefined && char.length === 1 && char >= 'a' && char <= 'z';
}

export function isAsciiLetter(char: string | undefined): boolean {
  return (
    char !== undefined && char.length === 1 && ((char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z'))
  );
}

export function isAsciiAlphanumeric(char: string | undefined): boolean {
  return isAsciiDigit(char) || isAsciiLetter(char);
}

/** Whether every character is a printable ASCII character other than space (0x21-0x7E). */
export function isPrintableAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/** Index just past the run of ASCII digits that starts at `start` (equal to `start` if there is none). */
export function endOfDigits(text: string, start: number): number {
  let end = start;
  while (end < text.length && isAsciiDigit(text[end])) end++;
  return end;
}

/** Index just past the run of ASCII letters that starts at `start`. */
export function endOfLetters(text: string, start: number): number {
  let end = start;
  while (end < text.length && isAsciiLetter(text[end])) end++;
  return end;
}

export function stripLeadingZeros(digits: string): string {
  let start = 0;
  while (start < digits.length - 1 && digits[start] === '0') start++;
  return digits.slice(start);
}

/**
 * Orders two runs of ASCII digits by numeric value, whatever their length: versions carry numbers
 * past 2^53 (date stamps, Maven's BigInteger items), so they are never converted to `number`.
 */
export function compareDecimalStrings(a: string, b: string): -1 | 0 | 1 {
  const left = stripLeadingZeros(a);
  const right = stripLeadingZeros(b);
  if (left.length !== right.length) return left.length < right.length ? -1 : 1;
  return compareCodeUnits(left, right);
}

/** Plain string order by UTF-16 code unit (what C's strcmp gives for ASCII and Java's String.compareTo gives). */
export function compareCodeUnits(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function signOf(value: number): -1 | 0 | 1 {
  return value < 0 ? -1 : value > 0 ? 1 : 0;
}
