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

describe('vigil agent update (command line)', () => {
  const update = [
    'agent',
    'update',
    '--server',
    'https://127.0.0.1:8443',
    '--ca',
    'ca.pem',
    '--cert',
    'device.pem',
    '--key',
    'device.key',
  ];

  it('explains itself in --help: the pinned root, the slots, the statuses, the exit statuses', async () => {
    const help = await runVigil(['agent', 'update', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      '--tuf-root <file>',
      '--state-dir <dir>',
      '--health-check <command>',
      '--dice-chain <pem>',
      'AGENT_TUF_ROOT_MISSING',
      'up-to-date | validated | installed | waiting | failed',
      'Exit status',
    ])
      assert.ok(help.stdout.includes(text), text);
  });

  it('exits 2 on usage errors: half a DICE identity, DICE and TPM at once, plain http', async () => {
    for (const args of [
      [...update, '--dice-chain', 'device-id.pem'],
      [...update, '--dice-chain', 'device-id.pem', '--dice-key', 'device-id.key', '--tpm', 'swtpm'],
      ['agent', 'update', '--server', 'http://127.0.0.1:8443', '--ca', 'ca.pem', '--cert', 'c', '--key', 'k'],
      [...update, '--health-check-timeout', '0'],
    ]) {
      const run = await runVigil(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
    }
  });

  it('with --json, a typed error is JSON on stdout and exit 1', async () => {
    const run = await runVigil([...update, '--state-dir', '/nonexistent/vigil-agent', '--json']);
    assert.equal(run.code, 1);
    const printed = JSON.parse(run.stdout);
    assert.equal(printed.error.code, 'AGENT_SLOT_STATE_MISSING');
    assert.match(printed.error.message, /--initial-version/);
    assert.doesNotMatch(run.stderr, /^\s+at /m);
  });
});

describe('vigil simulate (command line)', () => {
  it('is a top-level command that explains the rounds and the work directory', async () => {
    const help = await runVigil(['simulate', '--help']);
    assert.equal(help.code, 0);
    for (const text of [
      '--devices <n>',
      '--fail-share <percent>',
      '--rounds <k>',
      '--concurrency <c>',
      '--work-dir <dir>',
      'fleet.json',
    ])
      assert.ok(help.stdout.includes(text), text);
  });

  it('exits 2 on a share that is no percentage or a count that is no whole number', async () => {
    const base = [
      'simulate',
      '--server',
      'https://127.0.0.1:8443',
      '--ca',
      'ca.pem',
      '--product',
      'p',
      '--hardware-revision',
      'A',
    ];
    for (const args of [
      [...base, '--devices', '10', '--fail-share', '101'],
      [...base, '--devices', 'ten'],
      [...base, '--devices', '10', '--concurrency', '0'],
    ]) {
      const run = await runVigil(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
  });
});
