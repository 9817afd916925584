import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import {
  computePcrDigest,
  parseAttest,
  parseEventLog,
  parseSignature,
  replayEventLog,
  verifyQuoteSignature,
} from '../../../src/attestation/tpm/index.ts';
import { hasCommand, requirePeer } from '../../support/peers.ts';
import { readEventLogFile } from './event-log-fixtures.ts';

const peersAvailable = ['swtpm', 'swtpm_setup', 'tpm2_createek', 'tpm2_quote', 'tpm2_pcrread'].every(
  hasCommand,
);
const hint = 'apt-get install swtpm swtpm-tools tpm2-tools';
const quotedPcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];

function listenable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** The swtpm TCTI talks to the control channel at the server port + 1, so both must be free. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await listenable(0);
    if (port > 0 && port < 65535 && (await listenable(port + 1)) === port + 1) return port;
  }
  throw new Error('no two adjacent free TCP ports');
}

/** A swtpm in a temp dir, its AK, and a quote over PCRs that replayed a real firmware log. */
interface TpmFixture {
  dir: string;
  pidFile: string;
  tcti: string;
  tool(args: string[]): string;
}

let fixture: TpmFixture | undefined;

async function startSwtpm(): Promise<TpmFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-swtpm-'));
  const state = join(dir, 'state');
  const pidFile = join(dir, 'swtpm.pid');
  const server = await freePortPair();
  const control = server + 1;
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string => {
    const result = spawnSync(command, args, { cwd: dir, env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  spawnSync('mkdir', ['-p', state]);
  run('swtpm_setup', ['--tpm2', '--tpmstate', state, '--create-ek-cert', '--overwrite']);
  run('swtpm', [
    'socket',
    '--tpm2',
    '--tpmstate',
    `dir=${state}`,
    '--server',
    `type=tcp,port=${server},bindaddr=127.0.0.1`,
    '--ctrl',
    `type=tcp,port=${control},bindaddr=127.0.0.1`,
    '--flags',
    'not-need-init,startup-clear',
    '--daemon',
    '--pid',
    `file=${pidFile}`,
  ]);
  const tcti = `swtpm:host=127.0.0.1,port=${server}`;
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  // Socket mode has no resource manager: flush transient objects after each command (PEERS.md).
  const tool = (args: string[]): string => {
    const out = run(args[0]!, args.slice(1), env);
    run('tpm2_flushcontext', ['-t'], env);
    return out;
  };
  return { dir, pidFile, tcti, tool };
}

function readPcrs(tool: TpmFixture['tool']): Map<number, Buffer> {
  const out = tool(['tpm2_pcrread', `sha256:${quotedPcrs.join(',')}`]);
  const values = new Map<number, Buffer>();
  for (const match of out.matchAll(/^\s+(\d+)\s*: 0x([0-9A-Fa-f]+)$/gm))
    values.set(Number(match[1]), Buffer.from(match[2]!, 'hex'));
  return values;
}

describe('TPM quote evidence from swtpm + tpm2-tools', () => {
  before(async () => {
    if (peersAvailable) fixture = await startSwtpm();
  });

  after(() => {
    if (fixture === undefined) return;
    try {
      process.kill(Number(readFileSync(fixture.pidFile, 'utf8').trim()));
    } catch {
      // already gone
    }
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  it('verifies a real quote over PCRs replayed from a firmware log, end to end', (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', peersAvailable && fixture !== undefined, hint)) return;
    const { tool, dir } = fixture!;
    tool(['tpm2_createek', '-c', 'ek.ctx', '-G', 'ecc', '-u', 'ek.pub']);
    tool([
      'tpm2_createak',
      '-C',
      'ek.ctx',
      '-c',
      'ak.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'ak.pem',
      '-f',
      'pem',
      '-n',
      'ak.name',
    ]);
    tool([
      'tpm2_createak',
      '-C',
      'ek.ctx',
      '-c',
      'other.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
      '-u',
      'other.pem',
      '-f',
      'pem',
      '-n',
      'other.name',
    ]);

    // Give the PCRs real values: extend each measured event of a real log (EV_NO_ACTION skipped).
    const log = parseEventLog(readEventLogFile('tpm2-tools-event-postcode.bin'));
    for (const event of log.events.slice(1)) {
      if (event.eventTypeName === 'EV_NO_ACTION') continue;
      const digest = event.digests.find((entry) => entry.algorithm === 'sha256')!.digest;
      tool(['tpm2_pcrextend', `${event.pcrIndex}:sha256=${digest.toString('hex')}`]);
    }

    const nonce = randomBytes(16);
    tool([
      'tpm2_quote',
      '-c',
      'ak.ctx',
      '-l',
      `sha256:${quotedPcrs.join(',')}`,
      '-q',
      nonce.toString('hex'),
      '-m',
      'quote.msg',
      '-s',
      'quote.sig',
      '-o',
      'quote.pcrs',
      '-g',
      'sha256',
    ]);
    const attestBytes = readFileSync(join(dir, 'quote.msg'));
    const signatureBytes = readFileSync(join(dir, 'quote.sig'));
    const akPublicKey = createPublicKey(readFileSync(join(dir, 'ak.pem')));

    const attest = parseAttest(attestBytes);
    const signature = parseSignature(signatureBytes);
    verifyQuoteSignature(attestBytes, signature, akPublicKey);
    assert.deepEqual(attest.extraData, nonce);
    assert.deepEqual(attest.pcrSelection, [
      { hashAlgorithmId: 0x000b, hashAlgorithm: 'sha256', pcrs: quotedPcrs },
    ]);

    // The TPM's own PCR values and the log's replay both reproduce the signed pcrDigest.
    const pcrRead = readPcrs(tool);
    assert.deepEqual(
      computePcrDigest(attest.pcrSelection, { sha256: pcrRead }, signature.hashAlgorithm),
      attest.pcrDigest,
    );
    const replayed = replayEventLog(log, 'sha256');
    for (const pcr of quotedPcrs) if (!replayed.has(pcr)) replayed.set(pcr, Buffer.alloc(32));
    assert.deepEqual(computePcrDigest(attest.pcrSelection, { sha256: replayed }, 'sha256'), attest.pcrDigest);

    // Negative paths: one flipped byte, a different AK, a stale PCR set.
    const flipped = Buffer.from(attestBytes);
    flipped[flipped.length - 40]! ^= 0x01;
    assert.throws(
      () => verifyQuoteSignature(flipped, signature, akPublicKey),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
    const otherAk = createPublicKey(readFileSync(join(dir, 'other.pem'))).export({
      format: 'der',
      type: 'spki',
    });
    assert.throws(
      () => verifyQuoteSignature(attestBytes, signature, otherAk),
      (error: unknown) => isVigilError(error, 'ATTESTATION_TPM_SIGNATURE_INVALID'),
    );
    const stale = new Map(pcrRead);
    stale.set(7, Buffer.alloc(32));
    assert.notDeepEqual(computePcrDigest(attest.pcrSelection, { sha256: stale }), attest.pcrDigest);

    // Random corruption of the real quote and signature only ever yields VigilError, never acceptance.
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.option(fc.nat()),
        (mutateQuote, flips, cut) => {
          const original = mutateQuote ? attestBytes : signatureBytes;
          let bytes = Buffer.from(original);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          if (cut !== null) bytes = bytes.subarray(0, cut % bytes.length);
          if (bytes.equals(original)) return;
          try {
            if (mutateQuote) parseAttest(bytes);
            verifyQuoteSignature(
              mutateQuote ? bytes : attestBytes,
              mutateQuote ? signature : parseSignature(bytes),
              akPublicKey,
            );
            assert.fail('a corrupted quote verified');
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
