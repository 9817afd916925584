import { createHash } from 'node:crypto';
import { verifyEd25519 } from '../../core/index.ts';
import { decodeBase64, hasControlCharacter, isWellFormedText } from './encoding.ts';
import { ledgerError } from './errors.ts';

/** C2SP signed-note §Signature types: 0x01 is Ed25519. */
const ed25519SignatureType = 0x01;
const ed25519PublicKeySize = 32;
const ed25519SignatureSize = 64;
const keyIdSize = 4;

/** C2SP signed-note §Format: signature lines start with an em dash (U+2014) and a space. */
const signaturePrefix = '\u2014 ';

/**
 * C2SP signed-note §Format: verifiers SHOULD cap the number of signatures and MUST accept at least 16.
 * 100 matches Go's golang.org/x/mod/sumdb/note.
 */
const maxSignatures = 100;
/** A defensive cap on the whole note, well above 100 Ed25519 signature lines and any checkpoint. */
const maxNoteBytes = 1 << 20;

/** A trusted Ed25519 note verifier: name, 4-byte key ID and 32-byte public key. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
}

/** What signNote needs: core's Ed25519Signer fits. */
export interface NoteSigner {
  readonly publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

function failNote(message: string, facts?: Record<string, unknown>): never {
  throw ledgerError('LEDGER_NOTE_INVALID', message, { facts });
}

// C2SP signed-note §Format: key names are non-empty with no Unicode spaces and no '+'. Unicode
// White_Space is the set Go's unicode.IsSpace tests, which the reference implementation uses.
const invalidNameCharacter = /[\p{White_Space}+]/u;

function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !invalidNameCharacter.test(name) &&
    !hasControlCharacter(name, false) &&
    isWellFormedText(name)
  );
}

/** C2SP signed-note §Ed25519 signatures: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function computeKeyId(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ed25519SignatureType]))
    .update(publicKey)
    .digest()
    .subarray(0, keyIdSize);
}

/** C2SP signed-note verifier key: `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) {
    throw ledgerError(
      'LEDGER_KEY_INVALID',
      'a key name must be non-empty with no spaces, "+" or control characters',
    );
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ed25519PublicKeySize) {
    throw ledgerError('LEDGER_KEY_INVALID', 'an Ed25519 public key is 32 bytes');
  }
  const encoded = Buffer.concat([Buffer.from([ed25519SignatureType]), publicKey]).toString('base64');
  return `${name}+${computeKeyId(name, publicKey).toString('hex')}+${encoded}`;
}

/** Parses a verifier key string (attacker-controlled when configured from outside); only Ed25519 keys. */
export function parseVerifierKey(text: string): VerifierKey {
  const fail = (message: string): never => {
    throw ledgerError('LEDGER_KEY_INVALID', message);
  };
  if (typeof text !== 'string' || text.length > 4096) fail('a verifier key is a short string');
  // Split at the first two '+' only: names cannot contain '+', but the base64 key material can.
  const firstPlus = text.indexOf('+');
  const secondPlus = text.indexOf('+', firstPlus + 1);
  if (firstPlus < 0 || secondPlus < 0) fail('a verifier key has the form <name>+<hex key ID>+<base64 key>');
  const name = text.slice(0, firstPlus);
  const keyIdHex = text.slice(firstPlus + 1, secondPlus);
  const keyBase64 = text.slice(secondPlus + 1);
  if (!isValidKeyName(name)) fail('the verifier key name is empty or contains spaces or control characters');
  if (!/^[0-9a-fA-F]{8}$/.test(keyIdHex)) fail('the verifier key ID is not 8 hexadecimal digits');
  const key = decodeBase64(keyBase64, 'LEDGER_KEY_INVALID', 'the verifier key');
  if (key[0] !== ed25519SignatureType) fail('the verifier key is not an Ed25519 (type 0x01) key');
  if (key.length !== 1 + ed25519PublicKeySize) fail('the Ed25519 verifier key is not 32 bytes');
  const publicKey = Buffer.from(key.subarray(1));
  const keyId = computeKeyId(name, publicKey);
  // C2SP signed-note §Ed25519 signatures: the ID is derived from name and key, so a mismatch means a typo or tampering.
  if (keyId.toString('hex') !== keyIdHex.toLowerCase())
    fail('the verifier key ID does not match its name and key');
  return { name, keyId, publicKey };
}

function checkNoteText(text: string, what: string, fail: (message: string) => never): void {
  if (!isWellFormedText(text)) fail(`${what} is not valid UTF-8 text`);
  if (hasControlCharacter(text, true)) fail(`${what} contains control characters other than newline`);
}

/**
 * Signs `text` (which must end in a newline) and returns the signed note: text, a blank line and one
 * signature line (C2SP signed-note §Format).
 */
export function signNote(text: string, name: string, signer: NoteSigner): string {
  const fail = (message: string): never => failNote(message);
  if (typeof text !== 'string' || text.length === 0 || !text.endsWith('\n'))
    fail('note text must end in a newline');
  checkNoteText(text, 'the note text', fail);
  if (!isValidKeyName(name)) fail('a key name must be non-empty with no spaces, "+" or control characters');
  if (signer.publicKey.length !== ed25519PublicKeySize) fail('the signer does not hold an Ed25519 key');
  const signature = signer.sign(Buffer.from(text, 'utf8'));
  if (signature.length !== ed25519SignatureSize) fail('the signer did not return an Ed25519 signature');
  const encoded = Buffer.concat([computeKeyId(name, signer.publicKey), signature]).toString('base64');
  return `${text}\n${signaturePrefix}${name} ${encoded}\n`;
}

function toNoteString(note: string | Uint8Array): string {
  if (typeof note === 'string') {
    if (note.length > maxNoteBytes) failNote('the note is too large');
    return note;
  }
  if (!(note instanceof Uint8Array)) failNote('a note is text');
  if (note.length > maxNoteBytes) failNote('the note is too large');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch (error) {
    throw ledgerError('LEDGER_NOTE_INVALID', 'the note is not valid UTF-8', { cause: error });
  }
}

/**
 * Verifies a signed note against one trusted key and returns its text (C2SP signed-note §Signatures).
 * The note is attacker-controlled: malformed notes throw LEDGER_NOTE_INVALID; a failing signature by
 * the trusted key, or no signature by it at all, throws LEDGER_SIGNATURE_INVALID. Signatures by other
 * keys are ignored, as the spec requires.
 */
export function openNote(note: string | Uint8Array, verifierKey: string | VerifierKey): string {
  const key = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const message = toNoteString(note);
  const fail = (reason: string): never => failNote(reason);
  checkNoteText(message, 'the note', fail);
  if (!message.endsWith('\n')) fail('a signed note ends in a newline');
  // §Format: the text is separated from the signatures by the last empty line.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) fail('the note has no blank line before its signatures');
  const text = message.slice(0, split + 1);
  const lines = message.slice(split + 2, -1).split('\n');
  if (lines.length > maxSignatures) fail(`the note has more than ${maxSignatures} signatures`);

  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(signaturePrefix))
      fail('a signature line does not start with an em dash and a space');
    const body = line.slice(signaturePrefix.length);
    const space = body.indexOf(' ');
    if (space < 0) fail('a signature line has no space between key name and signature');
    const name = body.slice(0, space);
    if (!isValidKeyName(name)) fail('a signature line has an invalid key name');
    const signature = decodeBase64(body.slice(space + 1), 'LEDGER_NOTE_INVALID', 'a note signature');
    // §Format: 4 bytes of key ID followed by at least one byte of signature.
    if (signature.length <= keyIdSize) fail('a note signature is too short');
    // §Signatures: only the (name, key ID) pair identifies a known key; anything else is ignored.
    if (name !== key.name || !signature.subarray(0, keyIdSize).equals(key.keyId)) continue;
    const bytes = signature.subarray(keyIdSize);
    let valid = false;
    try {
      valid = verifyEd25519(key.publicKey, Buffer.from(text, 'utf8'), bytes);
    } catch {
      valid = false;
    }
    // §Signatures: a failing signature from a known key SHOULD reject the whole note; we do.
    if (!valid) {
      throw ledgerError('LEDGER_SIGNATURE_INVALID', `the signature by ${key.name} does not verify`, {
        facts: { keyName: key.name },
      });
    }
    verified = true;
  }
  if (!verified) {
    throw ledgerError('LEDGER_SIGNATURE_INVALID', `the note carries no signature by ${key.name}`, {
      facts: { keyName: key.name },
    });
  }
  return text;
}
