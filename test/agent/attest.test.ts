import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { submitQuote } from '../../src/agent/attest.ts';
import { AcceptedEventLog } from '../../src/agent/event-log-memory.ts';
import type { DeviceClient } from '../../src/agent/index.ts';
import { VigilError, isVigilError } from '../../src/core/index.ts';

const server = 'https://vigil.example:8443';
const log = Buffer.from('a firmware event log, tens of KB on a real device');
const logDigest = createHash('sha256').update(log).digest('hex');
const evidence = {
  quote: Buffer.from('quote').toString('base64'),
  signature: Buffer.from('signature').toString('base64'),
  pcrs: { sha256: { '0': '00'.repeat(32) } },
  eventLog: log.toString('base64'),
};

/** A device endpoint that holds the logs it was sent (or is told it holds), refusing as the server does. */
function fakeServer(options: { holds?: string[]; refuse?: VigilError } = {}) {
  const held = new Set(options.holds ?? []);
  const sent: Record<string, any>[] = [];
  const client = {
    server,
    async post(path: string, body: any) {
      assert.equal(path, '/device/v1/attestation/evidence');
      sent.push(body.evidence);
      if (options.refuse !== undefined) throw options.refuse;
      const { eventLog, eventLogDigest } = body.evidence;
      if (eventLogDigest !== undefined) {
        if (!held.has(eventLogDigest.slice('sha256:'.length)))
          throw new VigilError('ATTESTATION_EVENT_LOG_UNKNOWN', 'invalid', 'the server refused: unknown log');
      } else held.add(createHash('sha256').update(Buffer.from(eventLog, 'base64')).digest('hex'));
      return { id: `record-${sent.length}`, status: 'affirming' };
    },
  };
  return { client: client as unknown as DeviceClient, sent };
}

describe('submitQuote', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-submit-quote-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  let counter = 0;
  const memory = (notes: string[] = []) =>
    new AcceptedEventLog({
      stateDir: join(scratch, `state-${++counter}`),
      server,
      note: (line) => notes.push(line),
    });

  it('sends the whole log first, then names the unchanged log by its SHA-256', async () => {
    const logs = memory();
    const { client, sent } = fakeServer();
    await submitQuote(client, evidence, logs, () => undefined);
    await submitQuote(client, evidence, logs, () => undefined);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]!.eventLog, evidence.eventLog);
    assert.equal(sent[0]!.eventLogDigest, undefined);
    assert.equal(sent[1]!.eventLog, undefined, 'exactly one of eventLog and eventLogDigest');
    assert.equal(sent[1]!.eventLogDigest, `sha256:${logDigest}`);
    assert.equal(sent[1]!.quote, evidence.quote);
  });

  it('a changed log goes whole again', async () => {
    const logs = memory();
    const { client, sent } = fakeServer();
    await submitQuote(client, evidence, logs, () => undefined);
    const changed = { ...evidence, eventLog: Buffer.from('the firmware was updated').toString('base64') };
    await submitQuote(client, changed, logs, () => undefined);
    assert.equal(sent[1]!.eventLog, changed.eventLog);
  });

  it('on ATTESTATION_EVENT_LOG_UNKNOWN sends the same quote once more with the whole log, and remembers it', async () => {
    const logs = memory();
    logs.accepted(logDigest);
    const notes: string[] = [];
    const { client, sent } = fakeServer();
    const record = await submitQuote(client, evidence, logs, (line) => notes.push(line));
    assert.equal(record.status, 'affirming');
    assert.equal(sent.length, 2);
    assert.equal(sent[0]!.eventLogDigest, `sha256:${logDigest}`);
    assert.deepEqual(sent[1], evidence);
    assert.match(notes.join('\n'), /does not hold the event log/);
    assert.equal(logs.holds(logDigest), true);
  });

  it('passes any other refusal on, typed, after one try, and remembers nothing', async () => {
    for (const held of [false, true]) {
      const logs = memory();
      if (held) logs.accepted(logDigest);
      const refusal = new VigilError('ATTESTATION_NONCE_REUSED', 'conflict', 'the server refused: reused');
      const { client, sent } = fakeServer({ refuse: refusal });
      await assert.rejects(
        submitQuote(client, evidence, logs, () => undefined),
        (error: unknown) => isVigilError(error, 'ATTESTATION_NONCE_REUSED'),
      );
      assert.equal(sent.length, 1);
      assert.equal(logs.holds(logDigest), held);
    }
  });
});
