import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.ts';
import { leafHash } from '../../src/ledger/index.ts';
import { loadSqlite } from '../../src/store/index.ts';
import { startServe, type ServerProcess } from '../support/server-process.ts';

const vigil = join(import.meta.dirname, '..', '..', 'bin', 'vigil.js');

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [vigil, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

describe('vigil command line', () => {
  test('every command has help and a description', () => {
    for (const command of allCommands(buildProgram())) {
      assert.ok(command.description().length > 0, `${command.name()} has a description`);
      assert.match(command.helpInformation(), /Usage:/);
    }
    const help = run(['--help']);
    assert.equal(help.status, 0);
    for (const name of ['init', 'serve', 'product', 'token', 'principal', 'access', 'ledger'])
      assert.match(help.stdout, new RegExp(`\\b${name}\\b`));
    const sub = run(['ledger', 'verify', '--help']);
    assert.equal(sub.status, 0);
    assert.match(sub.stdout, /--data <dir>/);
  });

  test('usage errors exit 2', () => {
    assert.equal(run(['init']).status, 2, 'missing --data');
    assert.equal(run(['no-such-command']).status, 2);
    assert.equal(
      run(['serve', '--data', '/nonexistent', '--listen', 'nonsense']).status,
      1,
      'bad value: a failure, named',
    );
  });

  test('init creates the installation with owner-only secrets, and refuses a second time changing nothing', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vigil-cli-')), 'data');
    try {
      const first = run(['init', '--data', dir, '--json']);
      assert.equal(first.status, 0, first.stderr);
      const result = JSON.parse(first.stdout);
      assert.equal(result.adminTokenFile, join(dir, 'admin.token'));
      for (const file of ['ledger.key', 'master.key', 'admin.token', 'vigil.db', 'vigil.json']) {
        assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, `${file} is mode 0600`);
      }
      const snapshot = () =>
        readdirSync(dir).map((file) => [file, readFileSync(join(dir, file)).toString('base64')]);
      const before = snapshot();
      const second = run(['init', '--data', dir]);
      assert.equal(second.status, 1);
      assert.match(second.stderr, /INIT_ALREADY_INITIALIZED/);
      assert.deepEqual(snapshot(), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('vigil against a running server', () => {
  const root = mkdtempSync(join(tmpdir(), 'vigil-cli-serve-'));
  const dir = join(root, 'data');
  let server: ServerProcess | undefined;
  let env: Record<string, string>;

  before(async () => {
    assert.equal(run(['init', '--data', dir]).status, 0);
    server = await startServe(dir, undefined);
    assert.match(server.output(), /admin token: +.*admin\.token/);
    env = { VIGIL_URL: server.url, VIGIL_TOKEN: readFileSync(join(dir, 'admin.token'), 'utf8').trim() };
  });

  after(async () => {
    await server?.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  test('administrative commands talk to the server and print JSON on request', () => {
    const created = run(
      [
        'product',
        'create',
        '--name',
        'Gateway',
        '--model',
        'GW-1',
        '--support-start',
        '2026-01-01',
        '--support-end',
        '2032-01-01',
        '--regime',
        'CRA',
        '--json',
      ],
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    const product = JSON.parse(created.stdout);
    assert.equal(product.name, 'Gateway');
    const ownership = run(['product', 'ownership', product.id], env);
    assert.match(ownership.stdout, /GAP: no accountable owner/);
    const denied = run(['product', 'list'], { ...env, VIGIL_TOKEN: 'vgl_wrong' });
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /ACCESS_TOKEN_INVALID/);
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, env.VIGIL_TOKEN!);
    const viaFile = run(['product', 'list', '--json', '--token-file', tokenFile], {
      VIGIL_URL: env.VIGIL_URL!,
    });
    assert.equal(JSON.parse(viaFile.stdout).products.length, 1);
  });

  test('release create streams artifacts and the SBOM; release publish signs them into the TUF repository', () => {
    const created = run(
      [
        'product',
        'create',
        '--name',
        'Infusion pump',
        '--model',
        'IP-1',
        '--support-start',
        '2026-01-01',
        '--support-end',
        '2032-01-01',
        '--regime',
        'CRA',
        '--hardware-revision',
        'A',
        'B',
        '--json',
      ],
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    const product = JSON.parse(created.stdout);
    const firmware = join(root, 'firmware.bin');
    const bootloader = join(root, 'bootloader.bin');
    const sbom = join(root, 'sbom.cdx.json');
    writeFileSync(firmware, Buffer.alloc(200_000, 7));
    writeFileSync(bootloader, 'bootloader');
    writeFileSync(
      sbom,
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components: [] }),
    );
    const release = run(
      [
        'release',
        'create',
        '--product',
        product.id,
        '--version',
        '2.1.0',
        '--security-version',
        '4',
        '--hardware-revision',
        'A',
        '--artifact',
        firmware,
        bootloader,
        '--security-update',
        '--sbom',
        sbom,
        '--json',
      ],
      env,
    );
    assert.equal(release.status, 0, release.stderr);
    const draft = JSON.parse(release.stdout);
    assert.equal(draft.status, 'draft');
    assert.deepEqual(
      draft.artifacts.map((artifact: { name: string; length: number }) => [artifact.name, artifact.length]),
      [
        ['bootloader.bin', 10],
        ['firmware.bin', 200_000],
      ],
    );
    assert.equal(draft.sbom.mediaType, 'application/vnd.cyclonedx+json');
    // `release sbom` streams the file: a real 740 KB SBOM arrives whole (its digest is the file's).
    const juiceShop = new URL('../../../shared/data/sbom/juice-shop-11.1.2.cdx.json', import.meta.url);
    const attached = run(['release', 'sbom', draft.id, juiceShop.pathname, '--json'], env);
    assert.equal(attached.status, 0, attached.stderr);
    assert.deepEqual(JSON.parse(attached.stdout).sbom, {
      digest: `sha256:${createHash('sha256').update(readFileSync(juiceShop)).digest('hex')}`,
      mediaType: 'application/vnd.cyclonedx+json',
    });
    const missing = run(['release', 'sbom', draft.id, join(root, 'no-such-sbom.json')], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no-such-sbom\.json: ENOENT.*\(CLI_FILE_INVALID\)/);
    const unknownRevision = run(
      [
        'release',
        'create',
        '--product',
        product.id,
        '--version',
        '2.2.0',
        '--security-version',
        '4',
        '--hardware-revision',
        'Z',
        '--artifact',
        firmware,
      ],
      env,
    );
    assert.equal(unknownRevision.status, 1);
    assert.match(unknownRevision.stderr, /RELEASE_HARDWARE_REVISION_UNKNOWN/);
    const published = run(['release', 'publish', draft.id], env);
    assert.equal(published.status, 0, published.stderr);
    assert.match(published.stdout, /2\.1\.0 +published/);
    const status = run(['tuf', 'status', '--product', product.id, '--json'], env);
    assert.equal(status.status, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).roles.targets.version, 2);

    for (const serial of ['IP-CLI-1', 'IP-CLI-2']) {
      const registered = run(
        ['device', 'register', '--serial', serial, '--product', product.id, '--hardware-revision', 'A'],
        env,
      );
      assert.equal(registered.status, 0, registered.stderr);
    }
    const rollout = run(
      [
        'rollout',
        'create',
        '--release',
        draft.id,
        '--waves',
        '50,100',
        '--max-failures',
        '1',
        '--approve-each-wave',
        '--json',
      ],
      env,
    );
    assert.equal(rollout.status, 0, rollout.stderr);
    const started = JSON.parse(rollout.stdout);
    assert.deepEqual(
      started.waves.map((wave: { devices: number; spec: { onSuccess?: string } }) => [
        wave.devices,
        wave.spec.onSuccess ?? 'continue',
      ]),
      [
        [1, 'pause'],
        [1, 'continue'],
      ],
    );
    assert.match(
      run(['rollout', 'pause', started.id, '--reason', 'ward closed'], env).stdout,
      /paused \(paused by an operator: ward closed\)/,
    );
    assert.match(run(['rollout', 'resume', started.id], env).stdout, /active/);
    const shown = run(['rollout', 'show', started.id], env);
    assert.match(shown.stdout, /> wave 1: 1 devices: assigned 1/);
    assert.match(run(['rollout', 'abort', started.id, '--reason', 'superseded'], env).stdout, /aborted/);
    const noReason = run(['rollout', 'pause', started.id], env);
    assert.equal(noReason.status, 2, 'a missing --reason is a usage error');
  });

  test('vulns import reads advisory files and reports what it added; vulns findings lists them', () => {
    const kev = join(
      import.meta.dirname,
      '..',
      '..',
      '..',
      'shared',
      'data',
      'kev',
      'known_exploited_vulnerabilities.json',
    );
    const imported = run(['vulns', 'import', kev], env);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(
      imported.stdout,
      /known_exploited_vulnerabilities\.json: kev: 1404 added, 0 updated, 0 unchanged/,
    );
    const again = run(['vulns', 'import', kev, '--json'], env);
    assert.equal(JSON.parse(again.stdout).files[0].unchanged, 1404);
    const missing = run(['vulns', 'import', join(root, 'no-such-file.json')], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /CLI_FILE_INVALID/);
    const findings = run(['vulns', 'findings', '--json'], env);
    assert.equal(findings.status, 0, findings.stderr);
    assert.deepEqual(JSON.parse(findings.stdout).findings, []);
    // The draft release of the release test carries an SBOM without components: the example VEX
    // names a component it does not list.
    const [release] = JSON.parse(run(['release', 'list', '--json'], env).stdout).releases;
    const vex = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'vex', 'vex.json');
    const applied = run(['vulns', 'vex', release.id, vex], env);
    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /0 applied, 0 unchanged, 0 without a finding, 1 unresolved/);
  });

  test('ledger verify passes on an intact log, over the API and on the data directory', async () => {
    await new Promise((resolve) => setTimeout(resolve, 600)); // one integration round
    const remote = run(['ledger', 'verify', '--json'], env);
    assert.equal(remote.status, 0, remote.stderr + remote.stdout);
    assert.equal(JSON.parse(remote.stdout).ok, true);
    const local = run(['ledger', 'verify', '--data', dir]);
    assert.equal(local.status, 0, local.stderr + local.stdout);
    assert.match(local.stdout, /ledger verified: \d+ entries/);
  });

  test('an evidence file verifies offline, and a forged one does not', () => {
    const proof = run(['ledger', 'proof', '3'], env);
    assert.equal(proof.status, 0, proof.stderr);
    const vkey = run(['ledger', 'verifier-key'], env).stdout.trim();
    const file = join(root, 'entry3.proof');
    writeFileSync(file, proof.stdout);
    const ok = run(['ledger', 'verify-proof', file, '--vkey', vkey]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: entry 3/);
    const lines = proof.stdout.split('\n');
    const forgedLeaf = Buffer.from(
      Buffer.from(lines[1]!.slice('extra '.length), 'base64').toString().replace('"index":3', '"index":3 '),
    );
    writeFileSync(file, [lines[0], `extra ${forgedLeaf.toString('base64')}`, ...lines.slice(2)].join('\n'));
    const forged = run(['ledger', 'verify-proof', file, '--vkey', vkey]);
    assert.equal(forged.status, 1);
    assert.match(forged.stderr, /LEDGER_PROOF_INVALID/);
  });

  test('ledger verify exits 1 and names the first bad index when an entry is altered', () => {
    const Sqlite = loadSqlite();
    const db = new Sqlite(join(dir, 'vigil.db'));
    try {
      const row = db.prepare('select leaf from ledger_entries where idx = 2').get() as { leaf: Buffer };
      const forged = Buffer.from(row.leaf.toString().replace('"type":"', '"type":"x'));
      db.prepare('update ledger_entries set leaf = ?, leaf_hash = ? where idx = 2').run(
        forged,
        leafHash(forged),
      );
    } finally {
      db.close();
    }
    const result = run(['ledger', 'verify', '--data', dir]);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /FAILED at index [0-2]\b/);
  });
});
