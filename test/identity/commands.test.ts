import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.ts';
import { systemActor } from '../../src/ledger/index.ts';
import { pkcs7CertificatesPem, startIdentityTestbed, type IdentityTestbed } from '../support/identity.ts';

const vigil = join(import.meta.dirname, '..', '..', 'bin', 'vigil.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `vigil` asynchronously (the server under test lives in this process). */
function run(args: string[], env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('VIGIL_')) childEnv[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vigil, ...args], {
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function readCsv(file: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const columns = header!.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((cell, index) => [columns[index], cell])));
}

describe('vigil identity commands against a running installation', () => {
  let t: IdentityTestbed;
  let env: Record<string, string>;
  let dir: string;
  let otherProductId: string;

  const vigilRun = (...args: string[]) => run(args, env);

  before(async () => {
    t = await startIdentityTestbed('sqlite');
    env = { VIGIL_URL: t.adminUrl, VIGIL_TOKEN: t.adminToken };
    dir = mkdtempSync(join(tmpdir(), 'vigil-identity-cli-'));
    const other = await t.platform.products.create(systemActor, {
      name: 'Home gateway',
      model: 'HG-1',
      hardwareRevisions: [],
      regimes: ['CRA'],
      supportStart: '2026-01-01',
      supportEnd: '2031-01-01',
    });
    otherProductId = other.id;
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function bulkCalls(): Promise<number> {
    const response = await fetch(`${t.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    const text = await response.text();
    let total = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('vigil_http_requests_total{') && line.includes('route="/api/v1/devices/bulk"'))
        total += Number(line.split(' ').at(-1));
    return total;
  }

  /** Registers and enrolls a device in process; returns its id and certificate serial. */
  async function enrolledDevice(serial: string): Promise<{ id: string; certificateSerial: string }> {
    const { id, enrollmentSecret } = await t.register(serial);
    const keys = t.makeKeys(serial);
    const response = await t.device('POST', '/.well-known/est/simpleenroll', {
      body: keys.csrBase64,
      contentType: 'application/pkcs10',
      basic: `${serial}:${enrollmentSecret}`,
    });
    assert.equal(response.status, 200, response.text);
    const certificate = new X509Certificate(pkcs7CertificatesPem(response.text, t.dir));
    return { id, certificateSerial: certificate.serialNumber.toLowerCase() };
  }

  test('every identity command has a description and --help that names its options; --help exits 0', async () => {
    const expectations: [string[], RegExp[]][] = [
      [['ca'], [/list/, /create/, /rotate/, /profile/]],
      [
        ['ca', 'list'],
        [/--url/, /--json/],
      ],
      [
        ['ca', 'create'],
        [/--product <id>/, /--algorithm/],
      ],
      [['ca', 'rotate'], [/--product <id>/]],
      [
        ['ca', 'profile'],
        [/--product <id>/, /--validity-days/, /--renewal-window-days/],
      ],
      [['device'], [/register/, /list/, /revoke/, /decommission/, /identity/]],
      [
        ['device', 'register'],
        [/--file <file>/, /--out <file>/, /--serial/, /--idevid-chain/],
      ],
      [
        ['device', 'list'],
        [/--product <id>/, /--status/],
      ],
      [['device', 'show'], [/<id>/]],
      [
        ['device', 'revoke'],
        [/<id>/, /--reason <reason>/],
      ],
      [
        ['device', 'decommission'],
        [/--confirmed-by <who>/, /--method <method>/, /--evidence/],
      ],
      [
        ['device', 'identity'],
        [/<id>/, /--json/],
      ],
      [['certificate'], [/revoke/]],
      [
        ['certificate', 'revoke'],
        [/<serial>/, /--reason <reason>/],
      ],
      [['identity'], [/expiring/]],
      [['identity', 'expiring'], [/--within <period>/]],
    ];
    const program = buildProgram();
    for (const [path, patterns] of expectations) {
      let command: Command | undefined = program;
      for (const name of path) command = command?.commands.find((sub) => sub.name() === name);
      assert.ok(command, `vigil ${path.join(' ')} exists`);
      assert.ok(command.description().length > 0, `vigil ${path.join(' ')} has a description`);
      const help = command.helpInformation();
      assert.match(help, new RegExp(`Usage: vigil ${path.join(' ')}`));
      for (const pattern of patterns) assert.match(help, pattern, `vigil ${path.join(' ')} --help`);
    }
    // The real binary prints that help and exits 0.
    const spawned = [
      ['device', 'register'],
      ['identity', 'expiring'],
    ];
    const runs = await Promise.all(spawned.map((args) => vigilRun(...args, '--help')));
    for (const [index, result] of runs.entries()) {
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Usage: vigil ${spawned[index]!.join(' ')}`));
    }
    assert.match(runs[0]!.stdout, /--out <file>/);
  });

  test('usage errors exit 2 without calling the server', async () => {
    const before = await bulkCalls();
    const cases = [
      ['device', 'register'],
      ['device', 'decommission', '0190b2a0-0000-7000-8000-000000000000', '--confirmed-by', 'operator'],
      ['certificate', 'revoke', '--reason', 'superseded'],
    ];
    const results = await Promise.all(cases.map((args) => vigilRun(...args)));
    for (const [index, result] of results.entries()) {
      assert.equal(result.status, 2, `vigil ${cases[index]!.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /error|give/i);
    }
    assert.match(results[0]!.stderr, /give --file, or --serial, --product and --hardware-revision/);
    assert.equal(await bulkCalls(), before);
  });

  test('ca list shows the root and the product issuing CA', async () => {
    const [human, json] = await Promise.all([vigilRun('ca', 'list'), vigilRun('ca', 'list', '--json')]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /root .*Vigil Root CA/);
    assert.match(human.stdout, /issuing .*Infusion pump Issuing CA 1/);
    const cas = JSON.parse(json.stdout).cas;
    assert.deepEqual(cas.map((ca: { kind: string }) => ca.kind).sort(), ['issuing', 'root']);
    for (const ca of cas) assert.match(ca.certificate, /^-----BEGIN CERTIFICATE-----/);
  });

  test('device register --file CSV registers 1,200 devices in 3 bulk calls, secrets to a 0600 file; a re-run is all existing', async () => {
    const csv = join(dir, 'devices.csv');
    const serials = Array.from({ length: 1200 }, (_, index) => `CLI-${String(index).padStart(4, '0')}`);
    writeFileSync(
      csv,
      ['serial,productId,hardwareRevision', ...serials.map((serial) => `${serial},${t.productId},A`)].join(
        '\n',
      ) + '\n',
    );
    const out = join(dir, 'secrets.csv');
    const callsBefore = await bulkCalls();
    const first = await vigilRun('device', 'register', '--file', csv, '--out', out);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /created 1200, existing 0, rejected 0/);
    assert.doesNotMatch(first.stdout, /CLI-0000/, 'with --out, secrets stay off stdout');
    assert.equal((await bulkCalls()) - callsBefore, 3, '1,200 rows go in three bulk calls');
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const rows = readCsv(out);
    assert.equal(rows.length, 1200);
    assert.deepEqual(
      rows.map((row) => row.serial),
      serials,
    );
    const stored = new Map(
      (
        await t.platform.store.db
          .selectFrom('devices')
          .select(['id', 'serial', 'secret_hash'])
          .where('serial', 'like', 'CLI-%')
          .execute()
      ).map((row) => [row.serial, row]),
    );
    assert.equal(stored.size, 1200);
    for (const row of rows) {
      assert.equal(row.outcome, 'created');
      assert.equal(row.error, '');
      assert.ok(row.enrollmentSecret!.length >= 32);
      const device = stored.get(row.serial!)!;
      assert.equal(row.id, device.id);
      assert.ok(
        Buffer.from(device.secret_hash!).equals(sha256(row.enrollmentSecret!)),
        `${row.serial} secret`,
      );
    }
    assert.equal(new Set(rows.map((row) => row.enrollmentSecret)).size, 1200, 'every secret is different');

    const out2 = join(dir, 'secrets-again.csv');
    const again = await vigilRun('device', 'register', '--file', csv, '--out', out2);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /created 0, existing 1200, rejected 0/);
    const rerun = readCsv(out2);
    assert.equal(rerun.length, 1200);
    for (const [index, row] of rerun.entries()) {
      assert.equal(row.outcome, 'existing');
      assert.equal(row.enrollmentSecret, '', 'no secret on a re-run');
      assert.equal(row.id, rows[index]!.id);
    }
  });

  test('--out tightens an existing world-readable file to 0600 before writing secrets', async () => {
    const out = join(dir, 'preexisting.csv');
    writeFileSync(out, 'old\n', { mode: 0o644 });
    const csv = join(dir, 'one.csv');
    writeFileSync(csv, `serial,productId,hardwareRevision\nCLI-PERM-1,${t.productId},A\n`);
    const result = await vigilRun('device', 'register', '--file', csv, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readCsv(out)[0]!.outcome, 'created');
    assert.equal(statSync(out).mode & 0o777, 0o600, 'secrets never sit in a world-readable file');
  });

  test('device register --file JSON registers devices and prints their secrets with --json', async () => {
    const file = join(dir, 'devices.json');
    writeFileSync(
      file,
      JSON.stringify([
        { serial: 'CLI-JSON-1', productId: t.productId, hardwareRevision: 'B' },
        { serial: 'CLI-JSON-2', productId: otherProductId, hardwareRevision: 'any' },
      ]),
    );
    const result = await vigilRun('device', 'register', '--file', file, '--json');
    assert.equal(result.status, 0, result.stderr);
    const output = JSON.parse(result.stdout);
    assert.deepEqual([output.created, output.existing, output.rejected], [2, 0, 0]);
    assert.deepEqual(
      output.results.map((r: { serial: string; outcome: string }) => [r.serial, r.outcome]),
      [
        ['CLI-JSON-1', 'created'],
        ['CLI-JSON-2', 'created'],
      ],
    );
    for (const r of output.results) assert.ok(r.enrollmentSecret.length >= 32);
    const wrapped = join(dir, 'wrapped.json');
    writeFileSync(
      wrapped,
      JSON.stringify({ devices: [{ serial: 'CLI-JSON-1', productId: t.productId, hardwareRevision: 'B' }] }),
    );
    const again = await vigilRun('device', 'register', '--file', wrapped, '--json');
    assert.equal(again.status, 0, again.stderr);
    const second = JSON.parse(again.stdout);
    assert.equal(second.existing, 1);
    assert.equal(second.results[0].enrollmentSecret, undefined);
  });

  test('a file with a bad row exits 1, names the row and still registers the good ones', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(
      csv,
      [
        'serial,productId,hardwareRevision',
        `CLI-BAD-1,${t.productId},A`,
        `CLI-BAD-2,${t.productId},Z`,
        `CLI-BAD-3,${t.productId},B`,
      ].join('\n'),
    );
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(
      ragged,
      `serial,productId,hardwareRevision\nCLI-RAG-1,${t.productId},A\nCLI-RAG-2,${t.productId}\n`,
    );
    const headless = join(dir, 'headless.csv');
    writeFileSync(headless, `serial,product\nCLI-HEAD-1,${t.productId}\n`);
    const [result, short, noHeader] = await Promise.all([
      vigilRun('device', 'register', '--file', csv),
      vigilRun('device', 'register', '--file', ragged),
      vigilRun('device', 'register', '--file', headless),
    ]);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /CLI-BAD-2,rejected,,,IDENTITY_HARDWARE_REVISION_UNKNOWN/);
    assert.match(result.stdout, /created 2, existing 0, rejected 1/);
    const stored = await t.platform.store.db
      .selectFrom('devices')
      .select('serial')
      .where('serial', 'like', 'CLI-BAD-%')
      .orderBy('serial')
      .execute();
    assert.deepEqual(
      stored.map((row) => row.serial),
      ['CLI-BAD-1', 'CLI-BAD-3'],
    );

    assert.equal(short.status, 1);
    assert.match(short.stderr, /row 3 has 2 cells, expected 3 \(CLI_FILE_INVALID\)/);
    assert.equal(noHeader.status, 1);
    assert.match(noHeader.stderr, /CLI_FILE_INVALID/);
    const none = await t.platform.store.db
      .selectFrom('devices')
      .select('serial')
      .where('serial', 'in', ['CLI-RAG-1', 'CLI-RAG-2', 'CLI-HEAD-1'])
      .execute();
    assert.deepEqual(none, [], 'a malformed file registers nothing');
  });

  test('device list --product lists every device of that product and only those', async () => {
    const [result, human, all] = await Promise.all([
      vigilRun('device', 'list', '--product', otherProductId, '--json'),
      vigilRun('device', 'list', '--product', otherProductId),
      vigilRun('device', 'list', '--product', t.productId, '--json'),
    ]);
    assert.equal(result.status, 0, result.stderr);
    const devices = JSON.parse(result.stdout).devices;
    assert.deepEqual(
      devices.map((device: { serial: string }) => device.serial),
      ['CLI-JSON-2'],
    );
    assert.match(human.stdout, /CLI-JSON-2 {2}registered {2}product /);
    assert.equal(all.status, 0, all.stderr);
    const serials = new Set(
      JSON.parse(all.stdout).devices.map((device: { serial: string }) => device.serial),
    );
    for (const serial of ['CLI-0000', 'CLI-0999', 'CLI-1199', 'CLI-JSON-1', 'CLI-BAD-3'])
      assert.ok(serials.has(serial), `${serial} is listed`);
    assert.ok(!serials.has('CLI-JSON-2'));
    const inProduct = await t.platform.store.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('product_id', '=', t.productId)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(all.stdout).devices.length, Number(inProduct.n), 'past the 1,000-device page');
  });

  test('device revoke, certificate revoke, decommission and identity drive the lifecycle', async () => {
    const [revokedDevice, certificateDevice] = await Promise.all([
      enrolledDevice('CLI-LIFE-1'),
      enrolledDevice('CLI-LIFE-2'),
    ]);
    const [revoke, certificate, unknown] = await Promise.all([
      vigilRun('device', 'revoke', revokedDevice.id, '--reason', 'keyCompromise', '--json'),
      vigilRun('certificate', 'revoke', certificateDevice.certificateSerial, '--reason', 'superseded'),
      vigilRun('certificate', 'revoke', 'abcdef0123', '--reason', 'superseded'),
    ]);
    assert.equal(revoke.status, 0, revoke.stderr);
    const revoked = JSON.parse(revoke.stdout);
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revocationReason, 'keyCompromise');
    const certificates = await t.platform.store.db
      .selectFrom('certificates')
      .select(['device_id', 'status', 'revocation_reason'])
      .where('device_id', 'in', [revokedDevice.id, certificateDevice.id])
      .orderBy('serial')
      .execute();
    assert.deepEqual(
      Object.fromEntries(certificates.map((c) => [c.device_id, [c.status, c.revocation_reason]])),
      {
        [revokedDevice.id]: ['revoked', 'keyCompromise'],
        [certificateDevice.id]: ['revoked', 'superseded'],
      },
    );
    assert.equal(certificate.status, 0, certificate.stderr);
    assert.deepEqual(JSON.parse(certificate.stdout), {
      serial: certificateDevice.certificateSerial,
      status: 'revoked',
      reason: 'superseded',
    });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /IDENTITY_CERTIFICATE_NOT_FOUND/);

    const [badReason, twice, decommission] = await Promise.all([
      vigilRun('device', 'revoke', revokedDevice.id, '--reason', 'because'),
      vigilRun('certificate', 'revoke', certificateDevice.certificateSerial, '--reason', 'superseded'),
      vigilRun(
        'device',
        'decommission',
        certificateDevice.id,
        '--confirmed-by',
        'operator',
        '--method',
        'factory reset',
      ),
    ]);
    assert.equal(badReason.status, 1);
    assert.match(badReason.stderr, /REQUEST_|reason/);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /IDENTITY_CERTIFICATE_REVOKED/);
    assert.equal(decommission.status, 0, decommission.stderr);
    assert.match(decommission.stdout, new RegExp(`${certificateDevice.id} {2}CLI-LIFE-2 {2}decommissioned`));

    await t.platform.ledger.integrate();
    const [again, identity] = await Promise.all([
      vigilRun('device', 'revoke', certificateDevice.id, '--reason', 'keyCompromise'),
      vigilRun('device', 'identity', certificateDevice.id, '--json'),
    ]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /IDENTITY_DEVICE_DECOMMISSIONED/);
    assert.equal(identity.status, 0, identity.stderr);
    const report = JSON.parse(identity.stdout);
    assert.equal(report.device.status, 'decommissioned');
    assert.equal(report.device.wipeConfirmation.confirmedBy, 'operator');
    assert.equal(report.device.wipeConfirmation.method, 'factory reset');
    assert.deepEqual(
      report.certificates.map((c: any) => [c.serial, c.status, c.revocationReason]),
      [[certificateDevice.certificateSerial, 'revoked', 'superseded']],
    );
    assert.deepEqual(
      report.events.map((event: { type: string }) => event.type),
      ['device.registered', 'certificate.issued', 'certificate.revoked', 'device.decommissioned'],
    );
    assert.ok(report.events.every((event: any) => event.inclusionProof !== null));
  });

  test('ca profile changes the validity and identity expiring follows it', async () => {
    const [shown, changed, nothing] = await Promise.all([
      vigilRun('ca', 'profile', '--product', otherProductId),
      vigilRun('ca', 'profile', '--product', t.productId, '--validity-days', '90'),
      vigilRun('identity', 'expiring', '--within', '30d'),
    ]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).validityDays, 365);
    assert.equal(changed.status, 0, changed.stderr);
    const profile = JSON.parse(changed.stdout);
    assert.equal(profile.validityDays, 90);
    assert.equal(profile.renewalWindowDays, 30);
    assert.equal(nothing.status, 0, nothing.stderr);
    assert.equal(nothing.stdout.trim(), 'nothing expiring');

    const fresh = await enrolledDevice('CLI-EXPIRY-1');
    const [soon, stillNothing, invalid] = await Promise.all([
      vigilRun('identity', 'expiring', '--within', '91d'),
      vigilRun('identity', 'expiring', '--within', '30d'),
      vigilRun('identity', 'expiring', '--within', 'soon'),
    ]);
    assert.equal(soon.status, 0, soon.stderr);
    const line = /^CLI-EXPIRY-1 {2}([0-9a-f]+) {2}expires (\S+) {2}renew from (\S+)$/.exec(
      soon.stdout.trim(),
    );
    assert.ok(line, `one line for the new certificate: ${soon.stdout}`);
    assert.equal(line[1], fresh.certificateSerial);
    const certificate = await t.platform.store.db
      .selectFrom('certificates')
      .select(['not_before', 'not_after'])
      .where('serial', '=', fresh.certificateSerial)
      .executeTakeFirstOrThrow();
    assert.equal(
      new Date(certificate.not_after).getTime() - new Date(certificate.not_before).getTime(),
      90 * 86_400_000,
      'the next certificate lives 90 days',
    );
    assert.equal(line[2], certificate.not_after);
    assert.equal(new Date(line[2]!).getTime() - new Date(line[3]!).getTime(), 30 * 86_400_000);
    assert.equal(stillNothing.stdout.trim(), 'nothing expiring');
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /within|REQUEST/);
  });
});
