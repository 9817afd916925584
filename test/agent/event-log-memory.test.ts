import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AcceptedEventLog } from '../../src/agent/event-log-memory.ts';

const server = 'https://vigil.example:8443';
const digest = 'ab'.repeat(32);
const other = 'cd'.repeat(32);

describe('AcceptedEventLog', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-event-log-memory-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  let counter = 0;
  const fresh = () => join(scratch, `state-${++counter}`);

  it('remembers the accepted log per server, across runs, in the state directory', () => {
    const stateDir = fresh();
    const notes: string[] = [];
    const first = new AcceptedEventLog({ stateDir, server, note: (line) => notes.push(line) });
    assert.equal(first.holds(digest), false);
    first.accepted(digest);
    assert.equal(first.holds(digest), true);
    assert.deepEqual(JSON.parse(readFileSync(join(stateDir, 'tpm-event-log.json'), 'utf8')), {
      version: 1,
      server,
      eventLogSha256: digest,
    });
    const next = new AcceptedEventLog({ stateDir, server, note: (line) => notes.push(line) });
    assert.equal(next.holds(digest), true);
    assert.equal(next.holds(other), false, 'a changed log is sent whole');
    const elsewhere = new AcceptedEventLog({
      stateDir,
      server: 'https://other.example:8443',
      note: (line) => notes.push(line),
    });
    assert.equal(elsewhere.holds(digest), false, 'another server holds other logs');
    next.forget();
    assert.equal(next.holds(digest), false);
    assert.deepEqual(notes, []);
  });

  it('treats a damaged record as none, saying so', () => {
    for (const text of [
      'not json',
      '{"version":2}',
      JSON.stringify({ version: 1, server, eventLogSha256: 'xyz' }),
    ]) {
      const stateDir = fresh();
      const notes: string[] = [];
      new AcceptedEventLog({ stateDir, server, note: () => undefined }).accepted(digest);
      writeFileSync(join(stateDir, 'tpm-event-log.json'), text);
      const memory = new AcceptedEventLog({ stateDir, server, note: (line) => notes.push(line) });
      assert.equal(memory.holds(digest), false, text);
      assert.match(notes.join('\n'), /is not the agent's event log record/, text);
    }
  });

  it('only notes a state directory it cannot write: the attestation itself succeeded', (t) => {
    if (process.getuid?.() === 0) {
      // root writes through directory permissions: make the directory a file instead.
      const blocked = join(scratch, 'a-file');
      writeFileSync(blocked, '');
      const notes: string[] = [];
      const memory = new AcceptedEventLog({ stateDir: blocked, server, note: (line) => notes.push(line) });
      memory.accepted(digest);
      assert.equal(memory.holds(digest), false);
      assert.match(notes.join('\n'), /cannot remember the accepted event log/);
      return;
    }
    const stateDir = fresh();
    new AcceptedEventLog({ stateDir, server, note: () => undefined }).accepted(other);
    chmodSync(stateDir, 0o500);
    t.after(() => chmodSync(stateDir, 0o700));
    const notes: string[] = [];
    const memory = new AcceptedEventLog({ stateDir, server, note: (line) => notes.push(line) });
    memory.accepted(digest);
    assert.equal(memory.holds(digest), false);
    assert.match(notes.join('\n'), /cannot remember the accepted event log/);
  });
});
