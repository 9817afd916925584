import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  parsePcrSelection,
  parsePersistentHandle,
  parseQuoteOutput,
  TpmAttester,
  type DeviceClient,
} from '../../src/agent/index.ts';
import { isVigilError } from '../../src/core/index.ts';
import { requirePeer } from '../support/peers.ts';
import { startSwtpm, swtpmAvailable, swtpmHint, type Swtpm } from '../support/swtpm.ts';

describe('parsePcrSelection', () => {
  it('reads the default selection and several banks, sorting and de-duplicating PCRs', () => {
    const selection = parsePcrSelection('sha256:0,1,2,3,4,5,6,7');
    assert.equal(selection.text, 'sha256:0,1,2,3,4,5,6,7');
    assert.deepEqual([...selection.banks], [['sha256', [0, 1, 2, 3, 4, 5, 6, 7]]]);
    const several = parsePcrSelection('sha256:7,0,7+sha1:23');
    assert.equal(several.text, 'sha256:0,7+sha1:23');
  });

  it('refuses unknown banks, PCRs above 23, a bank named twice and other syntax', () => {
    for (const text of [
      '',
      'sha256',
      'sha256:',
      'md5:0',
      'sha256:24',
      'sha256:0+sha256:1',
      'sha256:0,,1',
      '0,1',
    ]) {
      assert.throws(() => parsePcrSelection(text), Error, text);
    }
  });
});

describe('parsePersistentHandle', () => {
  it('takes persistent handles only (TPM 2.0 Part 2 §7.4)', () => {
    assert.equal(parsePersistentHandle('0x81010002'), 0x81010002);
    assert.equal(parsePersistentHandle('0x81FFFFFF'), 0x81ffffff);
    for (const text of ['81010002', '0x8101000', '0x80000001', '0x01000000', '0x82000000', 'owner']) {
      assert.throws(() => parsePersistentHandle(text), Error, text);
    }
  });
});

// What tpm2_quote -o (tpm2-tools 5.4, swtpm) printed for `-l sha256:0,1,7`.
const quoteStdout = `quoted: ff54434780180022000b657ceebd6784d9bfd14b530792ff6f25c1265e599ed180fa394522f0d48b23ea0002010200000000000011f1000000020000000001201910230016363600000001000b0383000000201c3f5668cdfa9790351e5956630f78d5344b11237f15d5b293f9cd542881a5bc
signature:
  alg: ecdsa
  sig: 3044022066f33df2cedf169140578207a2e343702c5a29a9931e5932883027a47062cadc02203033a81b495b7ec8bf791ff4b4516a7953b25119d7cd1cbb96a4235bb6f6a8e8
pcrs:
  sha256:
    0 : 0x9DEA5804ACA8B476CF8F1EFB4FE41ABAE758CCB238D6656DBC4CA5D40803DC74
    1 : 0x0000000000000000000000000000000000000000000000000000000000000000
    7 : 0x0000000000000000000000000000000000000000000000000000000000000000
calcDigest: 1c3f5668cdfa9790351e5956630f78d5344b11237f15d5b293f9cd542881a5bc
`;

describe('parseQuoteOutput', () => {
  it('reads the quoted PCR values (lower-case hex) and calcDigest from real tpm2_quote output', () => {
    const { pcrs, calcDigest } = parseQuoteOutput(quoteStdout, parsePcrSelection('sha256:0,1,7'));
    assert.deepEqual(pcrs, {
      sha256: {
        '0': '9dea5804aca8b476cf8f1efb4fe41abae758ccb238d6656dbc4ca5d40803dc74',
        '1': '0'.repeat(64),
        '7': '0'.repeat(64),
      },
    });
    assert.equal(
      calcDigest.toString('hex'),
      '1c3f5668cdfa9790351e5956630f78d5344b11237f15d5b293f9cd542881a5bc',
    );
  });

  it('sends exactly the selected PCRs, and refuses output that lacks one or lacks calcDigest', () => {
    assert.deepEqual(Object.keys(parseQuoteOutput(quoteStdout, parsePcrSelection('sha256:7')).pcrs.sha256!), [
      '7',
    ]);
    assert.throws(
      () => parseQuoteOutput(quoteStdout, parsePcrSelection('sha256:0,2')),
      (error: unknown) =>
        isVigilError(error, 'AGENT_TPM_OUTPUT_UNEXPECTED') && /sha256:2/.test(error.message),
    );
    assert.throws(
      () => parseQuoteOutput(quoteStdout, parsePcrSelection('sha1:0')),
      (error: unknown) => isVigilError(error, 'AGENT_TPM_OUTPUT_UNEXPECTED'),
    );
    assert.throws(
      () => parseQuoteOutput(quoteStdout.replace(/^calcDigest.*$/m, ''), parsePcrSelection('sha256:0')),
      (error: unknown) => isVigilError(error, 'AGENT_TPM_OUTPUT_UNEXPECTED'),
    );
  });
});

describe('TpmAttester', () => {
  it('refuses a state directory it cannot write before it touches the TPM', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'vigil-agent-state-'));
    try {
      writeFileSync(join(scratch, 'a-file'), '');
      const attester = new TpmAttester({
        // Nothing listens here: reaching the TPM at all would fail with another code.
        tcti: 'swtpm:host=127.0.0.1,port=1',
        stateDir: join(scratch, 'a-file', 'state'),
        workDir: scratch,
        eventLogPath: join(scratch, 'log'),
        pcrs: parsePcrSelection('sha256:0'),
        akHandle: 0x81010002,
        note: () => undefined,
      });
      const server = {
        get: async () => assert.fail('no request'),
        post: async () => assert.fail('no request'),
      };
      await assert.rejects(
        attester.ensureAttestationKey(server as unknown as DeviceClient),
        (error: unknown) => isVigilError(error, 'AGENT_STATE_UNWRITABLE') && /--state/.test(error.message),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('TpmAttester against swtpm', () => {
  const available = swtpmAvailable('tpm2_createek', 'tpm2_createak', 'tpm2_evictcontrol', 'tpm2_getcap');
  let swtpm: Swtpm | undefined;
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'vigil-agent-test-'));
    if (available) swtpm = await startSwtpm('vigil-swtpm-attester-');
  });
  after(async () => {
    await swtpm?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const attester = (stateDir: string, eventLogPath = join(scratch, 'missing.log')) =>
    new TpmAttester({
      tcti: swtpm!.tcti,
      stateDir,
      workDir: mkdtempSync(join(scratch, 'work-')),
      eventLogPath,
      pcrs: parsePcrSelection('sha256:0,1,2,3,4,5,6,7'),
      akHandle: 0x81010003,
      note: () => undefined,
    });

  it('will not use a key at its handle that it did not make and the server has not bound', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available && swtpm !== undefined, swtpmHint)) return;
    const { tool } = swtpm!;
    await tool(['tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    await tool([
      'tpm2_createak',
      '-C',
      'ek.ctx',
      '-c',
      'foreign.ctx',
      '-G',
      'ecc',
      '-g',
      'sha256',
      '-s',
      'ecdsa',
    ]);
    await tool(['tpm2_evictcontrol', '-C', 'o', '-c', 'foreign.ctx', '0x81010003']);
    const server = { get: async () => ({ keys: [] }), post: async () => assert.fail('no binding may start') };
    await assert.rejects(
      attester(join(scratch, 'state')).ensureAttestationKey(server as unknown as DeviceClient),
      (error: unknown) => isVigilError(error, 'AGENT_TPM_HANDLE_IN_USE') && /0x81010003/.test(error.message),
    );
    await tool(['tpm2_evictcontrol', '-C', 'o', '-c', '0x81010003']);
  });

  it('names a missing event log as a typed error', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available && swtpm !== undefined, swtpmHint)) return;
    await assert.rejects(
      attester(join(scratch, 'state')).collectEvidence(Buffer.alloc(32, 1)),
      (error: unknown) =>
        isVigilError(error, 'AGENT_EVENT_LOG_UNREADABLE') && /--event-log/.test(error.message),
    );
  });
});
