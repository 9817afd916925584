import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runVigil } from '../support/server-process.ts';

const base = ['agent', 'attest', '--ca', 'ca.pem', '--cert', 'device.pem', '--key', 'device.key'];

describe('vigil agent attest (command line)', () => {
  it('explains itself in --help: both attesters, where the AK is kept, the exit statuses', async () => {
    const help = await runVigil(['agent', 'attest', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      '--tpm <tcti>',
      '--dice-chain <pem>',
      '--ak-handle',
      '0x81010002',
      'binary_bios_measurements',
      'Exit status',
    ])
      assert.ok(help.stdout.includes(text), text);
  });

  it('exits 2 on usage errors: no attester, both attesters, a bad PCR selection or handle, plain http', async () => {
    const server = ['--server', 'https://127.0.0.1:8443'];
    for (const args of [
      [...base, ...server],
      [...base, ...server, '--tpm', 'swtpm', '--dice-chain', 'chain.pem', '--dice-key', 'alias.key'],
      [...base, ...server, '--dice-chain', 'chain.pem'],
      [...base, ...server, '--tpm', 'swtpm', '--pcrs', 'sha256:0,24'],
      [...base, ...server, '--tpm', 'swtpm', '--ak-handle', '0x80000001'],
      [...base, '--server', 'http://127.0.0.1:8443', '--tpm', 'swtpm'],
      [...base, '--tpm', 'swtpm'],
    ]) {
      const run = await runVigil(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
    }
  });

  it('exits 1 with a typed error, and no stack trace, when a file it needs is missing', async () => {
    const run = await runVigil([...base, '--server', 'https://127.0.0.1:8443', '--tpm', 'swtpm']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^vigil: cannot read the CA bundle \(--ca\) ca\.pem: ENOENT \(AGENT_FILE_UNREADABLE\)$/m,
    );
    assert.doesNotMatch(run.stderr, /^\s+at /m);
  });
});
