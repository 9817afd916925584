import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, verify } from 'node:crypto';
import assert from 'node:assert/strict';
import { hasCommand } from '../../support/peers.ts';
import { isVigilError } from '../../../src/core/index.ts';
import type { KeyAlgorithm, KeyRef, Keystore, SignatureHash } from '../../../src/identity/keystore/index.ts';

/** Outside peers of the keystore tests: OpenSSL verifies our signatures; SoftHSM2 is the token. */
export const opensslAvailable = hasCommand('openssl');

/** Verifies `signature` over `data` with node:crypto and with `openssl dgst -verify`. */
export function assertSignatureVerifies(
  publicKeyDer: Buffer,
  data: Buffer,
  signature: Buffer,
  hash: SignatureHash,
): void {
  const publicKey = createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  assert.equal(verify(hash, data, publicKey, signature), true, 'node:crypto verifies the signature');
  if (!opensslAvailable) return;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-keystore-openssl-'));
  try {
    writeFileSync(join(dir, 'public.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(dir, 'data'), data);
    writeFileSync(join(dir, 'signature'), signature);
    const result = spawnSync(
      'openssl',
      ['dgst', `-${hash}`, '-verify', 'public.pem', '-signature', 'signature', 'data'],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, `openssl dgst -verify failed: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /Verified OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const softhsmModule = '/usr/lib/softhsm/libsofthsm2.so';
export const softhsmAvailable =
  existsSync(softhsmModule) && hasCommand('softhsm2-util') && hasCommand('pkcs11-tool');
export const softhsmHint = 'apt-get install softhsm2 opensc';

export interface TestToken {
  dir: string;
  label: string;
  pin: string;
  soPin: string;
  /** Environment for pkcs11-tool / softhsm2-util runs against this token. */
  env: NodeJS.ProcessEnv;
  remove(): void;
}

/**
 * A fresh SoftHSM2 token in its own temporary token directory. SoftHSM2 reads SOFTHSM2_CONF when
 * the library is initialized, so the variable is set for this process too.
 */
export function createTestToken(label = `vigil-${process.pid}`): TestToken {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const pin = '246810';
  const soPin = '13579111';
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin],
    { env, stdio: 'pipe' },
  );
  return { dir, label, pin, soPin, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<Error> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: unknown) => (caught = error),
  );
  assert.ok(isVigilError(caught, code), `expected ${code}, got ${String(caught)}`);
  return caught as Error;
}

/**
 * The refusals every keystore owes, with typed errors: a key it does not hold, a reference naming
 * another backend or algorithm, a hash and an algorithm it does not offer.
 */
export async function assertKeystoreRefusals(
  keys: Keystore,
  ref: KeyRef,
  other: { backend: KeyRef['backend']; algorithm: KeyAlgorithm; hash: string; unknownAlgorithm: string },
): Promise<void> {
  const missing: KeyRef = { ...ref, id: '01900000-0000-7000-8000-000000000000' };
  await rejectsWithCode(keys.sign(missing, Buffer.from('x'), 'sha256'), 'KEYSTORE_KEY_NOT_FOUND');
  await rejectsWithCode(
    keys.sign({ ...ref, backend: other.backend }, Buffer.from('x'), 'sha256'),
    'KEYSTORE_BACKEND_MISMATCH',
  );
  await rejectsWithCode(
    keys.sign({ ...ref, algorithm: other.algorithm }, Buffer.from('x'), 'sha256'),
    'KEYSTORE_KEY_ALGORITHM_MISMATCH',
  );
  await rejectsWithCode(
    keys.sign(ref, Buffer.from('x'), other.hash as SignatureHash),
    'KEYSTORE_HASH_UNSUPPORTED',
  );
  await rejectsWithCode(
    keys.generateKey(other.unknownAlgorithm as KeyAlgorithm, 'no'),
    'KEYSTORE_ALGORITHM_UNSUPPORTED',
  );
}
