import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { parseEventLog, referenceValuesFromEventLog } from '../../src/attestation/tpm/index.ts';
import {
  buildCertificates,
  encodeDiceTcbInfo,
  sha256Oid,
  type DiceCertificate,
  type TcbInfoFields,
} from '../attestation/dice/fixtures.ts';
import { eventLogDir } from '../attestation/tpm/event-log-fixtures.ts';
import { startIdentityTestbed, type HttpsResponse, type IdentityTestbed } from '../support/identity.ts';
import { requirePeer } from '../support/peers.ts';
import {
  curl,
  enrollWithCurl,
  fetchCaCerts,
  opensslKeyAndCsr,
  readEstResponse,
  requireCommands,
  serialHexOf,
  type EnrolledDevice,
  type PkiWorkspace,
} from '../support/pki-peers.ts';
import { readLedger, runVigil, type CommandResult } from '../support/server-process.ts';
import { startSwtpm, swtpmAvailable, swtpmHint, swtpmLocalCaBundle, type Swtpm } from '../support/swtpm.ts';

/**
 * TPM and DICE attestation end to end with real peers: swtpm as the TPM, tpm2-tools driven by the
 * real `vigil agent attest` CLI as the device, curl + openssl for enrollment, the real
 * `vigil attestation refvalues import` CLI for reference values, and the in-process server.
 * Refusals are made by hand (tpm2-tools + HTTPS), since the agent itself does the honest thing.
 */

const secureBootLog = join(eventLogDir, 'keylime-binary_bios_measurements-secureboot');
const bogusLog = join(eventLogDir, 'keylime-binary_bios_measurements-bogus');
const quotedPcrs = 'sha256:0,1,2,3,4,5,6,7';
const akHandle = '0x81010002';
const release = '2026.1';

const tpmPeers = swtpmAvailable(
  'tpm2_createek',
  'tpm2_createak',
  'tpm2_activatecredential',
  'tpm2_evictcontrol',
  'tpm2_quote',
  'tpm2_pcrextend',
  'tpm2_pcrread',
);

function needTpm(t: TestContext): boolean {
  return requireCommands(t, 'openssl', 'curl') && requirePeer(t, 'swtpm/tpm2-tools', tpmPeers, swtpmHint);
}

/** Extends every measured event of a firmware log into the TPM, as firmware would (EV_NO_ACTION is not extended). */
async function replayIntoTpm(swtpm: Swtpm, log: Buffer): Promise<void> {
  await swtpm.extend(
    parseEventLog(log)
      .events.filter((event) => event.eventTypeName !== 'EV_NO_ACTION')
      .map((event) => {
        const sha256 = event.digests.find((entry) => entry.algorithm === 'sha256');
        assert.ok(sha256, `event ${event.eventNumber} has no sha256 digest`);
        return { pcr: event.pcrIndex, bank: 'sha256', digest: sha256.digest.toString('hex') };
      }),
  );
}

interface AgentRun extends CommandResult {
  record: any;
}

interface AgentSetup {
  testbed: IdentityTestbed;
  ws: PkiWorkspace;
  device: EnrolledDevice;
  swtpm: Swtpm;
  stateDir: string;
}

/** `vigil agent attest` with swtpm as the TPM, as a device runs it (the record is JSON on stdout). */
async function runAgent(setup: AgentSetup, extra: string[] = []): Promise<AgentRun> {
  return parsedRecord(
    await runVigil(
      [
        'agent',
        'attest',
        '--server',
        setup.testbed.deviceUrl,
        '--ca',
        setup.ws.bundleFile,
        '--cert',
        setup.device.certFile,
        '--key',
        setup.device.keyFile,
        '--tpm',
        setup.swtpm.tcti,
        '--event-log',
        secureBootLog,
        '--state',
        setup.stateDir,
        '--pcrs',
        quotedPcrs,
        ...extra,
      ],
      90_000,
    ),
  );
}

/** The device endpoint with the device's own certificate. */
function deviceCall(
  testbed: IdentityTestbed,
  device: EnrolledDevice,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpsResponse> {
  return testbed.device(method, path, {
    cert: device.certPem,
    key: readFileSync(device.keyFile, 'utf8'),
    ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }),
  });
}

function assertRefused(response: HttpsResponse, code: string): void {
  assert.ok(response.status >= 400 && response.status < 500, `${response.status}: ${response.text}`);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(response.json.code, code, response.text);
}

/** Codes of the ledger's events of `type` about `subject`. */
async function ledgerCodes(testbed: IdentityTestbed, type: string, subject: string): Promise<string[]> {
  return (await readLedger(testbed.adminUrl, testbed.adminToken))
    .filter((entry) => entry.document.type === type && entry.document.subject === subject)
    .map((entry) => String(entry.document.details.code));
}

const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function parsedRecord(result: CommandResult): AgentRun {
  let record: unknown;
  try {
    record = JSON.parse(result.stdout);
  } catch {
    record = undefined;
  }
  return { ...result, record };
}

describe('attestation with swtpm, tpm2-tools and `vigil agent attest` against a real server', () => {
  let testbed: IdentityTestbed;
  let ws: PkiWorkspace;
  let device: EnrolledDevice;
  let swtpm: Swtpm | undefined;
  let tokenFile: string;
  let stateDir: string;

  before(async () => {
    testbed = await startIdentityTestbed('sqlite');
    tokenFile = join(testbed.dir, 'data', 'admin.token');
    stateDir = join(testbed.dir, 'agent-state');
  });
  after(async () => {
    await swtpm?.stop();
    await testbed?.close();
  });

  let ready: Promise<void> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      ws = await fetchCaCerts(testbed, testbed.dir);
      device = await enrollWithCurl(testbed, ws, 'SN-TPM-0001');
      swtpm = await startSwtpm('vigil-swtpm-agent-');
      await replayIntoTpm(swtpm, readFileSync(secureBootLog));
    })());

  const agent = (extra: string[] = []): Promise<AgentRun> =>
    runAgent({ testbed, ws, device, swtpm: swtpm!, stateDir }, extra);

  /** The device endpoint with this device's certificate. */
  const asDevice = (method: string, path: string, body?: unknown): Promise<HttpsResponse> =>
    deviceCall(testbed, device, method, path, body);

  const boundKeys = async (): Promise<any[]> => {
    const response = await asDevice('GET', '/device/v1/attestation/keys');
    assert.equal(response.status, 200, response.text);
    return response.json.keys;
  };

  const refusalsInLedger = (deviceId: string): Promise<string[]> =>
    ledgerCodes(testbed, 'attestation.refused', deviceId);

  /** A quote made by hand with tpm2-tools over a fresh nonce, as the wire evidence. */
  const handMadeEvidence = async (ak: string, eventLog: Buffer, given?: Buffer) => {
    let nonce = given;
    if (nonce === undefined) {
      const issued = await asDevice('POST', '/device/v1/attestation/nonce');
      assert.equal(issued.status, 201, issued.text);
      nonce = Buffer.from(issued.json.nonce, 'base64');
    }
    const { tool, file } = swtpm!;
    await tool(
      ['tpm2_quote', '-c', ak, '-l', quotedPcrs, '-q', nonce.toString('hex')].concat([
        '-m',
        'hand.msg',
        '-s',
        'hand.sig',
        '-g',
        'sha256',
      ]),
    );
    const read = await tool(['tpm2_pcrread', quotedPcrs]);
    const sha256: Record<string, string> = {};
    for (const match of read.matchAll(/^\s+(\d+)\s*: 0x([0-9A-Fa-f]+)$/gm))
      sha256[match[1]!] = match[2]!.toLowerCase();
    assert.equal(Object.keys(sha256).length, 8, read);
    return {
      format: 'tpm2-quote',
      evidence: {
        quote: file('hand.msg').toString('base64'),
        signature: file('hand.sig').toString('base64'),
        pcrs: { sha256 },
        eventLog: eventLog.toString('base64'),
      },
    };
  };

  const submit = (submission: unknown) => asDevice('POST', '/device/v1/attestation/evidence', submission);

  test('the real CLI imports reference values derived from the Secure Boot firmware log', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const imported = await runVigil([
      'attestation',
      'refvalues',
      'import',
      '--product',
      testbed.productId,
      '--hardware-revision',
      'A',
      '--release',
      release,
      '--from-event-log',
      secureBootLog,
      '--url',
      testbed.adminUrl,
      '--token-file',
      tokenFile,
      '--json',
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const stored = JSON.parse(imported.stdout);
    assert.equal(stored.release, release);
    assert.equal(stored.source, 'event-log');
    assert.equal(stored.values.secureBootRequired, true);
    assert.deepEqual(stored.values, referenceValuesFromEventLog(readFileSync(secureBootLog)));
    assert.ok(stored.values.components.length > 0);
  });

  let first: any;
  test('on first use the agent binds its AK by credential activation and attests affirming, Secure Boot enabled', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    assert.deepEqual(await boundKeys(), []);
    // No --json: the agent prints the record as JSON on stdout all the same.
    const run = await agent();
    assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
    first = run.record;
    assert.equal(first.status, 'affirming', JSON.stringify(first.findings));
    assert.equal(first.format, 'tpm2-quote');
    assert.equal(first.secureBoot, 'enabled');
    assert.equal(first.measuredRelease, release);
    assert.equal(first.deviceId, device.id);
    assert.match(run.stderr, /bound attestation key/);
    // swtpm_setup --create-ek-cert stored one; this installation trusts no TPM manufacturer, so it
    // is not checked, the key is trusted on first use and no hardware claim is made.
    assert.match(run.stderr, /sending the EK certificate \(NV 0x01c00002/);
    assert.deepEqual(first.trustVector, { 'instance-identity': 2, executables: 3, configuration: 2 });
    assert.equal('hardware' in first.trustVector, false);
    const endorsement = first.findings.find((finding: any) => finding.check === 'endorsement');
    assert.equal(endorsement?.outcome, 'info', JSON.stringify(first.findings));
    assert.equal(typeof first.nextNonce?.nonce, 'string');
    assert.ok(Date.parse(first.nextNonce.expiresAt) > Date.now());
    // Socket mode has no resource manager: the agent left no transient object and no session behind.
    for (const capability of ['handles-transient', 'handles-loaded-session', 'handles-saved-session'])
      assert.equal((await swtpm!.tool(['tpm2_getcap', capability])).trim(), '', capability);

    // The server bound exactly the AK the TPM holds at the persistent handle.
    await swtpm!.tool(['tpm2_readpublic', '-c', akHandle, '-n', 'persisted.name']);
    const akName = swtpm!.file('persisted.name').toString('hex');
    const keys = await boundKeys();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].kind, 'tpm2');
    assert.equal(keys[0].method, 'activate-credential');
    assert.equal(keys[0].akName, akName);
    assert.equal(keys[0].endorsement, 'first-use');
    const listed = await testbed.admin('GET', `/api/v1/devices/${device.id}/attestation-keys`);
    assert.equal(listed.status, 200, JSON.stringify(listed.json));
    assert.deepEqual(
      listed.json.keys.map((key: any) => [key.akName, key.endorsement]),
      [[akName, 'first-use']],
    );
    const state = JSON.parse(readFileSync(join(stateDir, 'tpm-attestation-key.json'), 'utf8'));
    assert.deepEqual(state, { version: 1, akHandle, akName, keyId: keys[0].id });
    // The log the server accepted is remembered, for this server, by its digest.
    const logState = JSON.parse(readFileSync(join(stateDir, 'tpm-event-log.json'), 'utf8'));
    assert.deepEqual(logState, {
      version: 1,
      server: new URL(testbed.deviceUrl).origin,
      eventLogSha256: sha256Hex(readFileSync(secureBootLog)),
    });

    const ledger = await readLedger(testbed.adminUrl, testbed.adminToken);
    const bound = ledger.filter(
      (entry) => entry.document.type === 'attestation.key-bound' && entry.document.subject === device.id,
    );
    assert.equal(bound.length, 1);
    assert.equal(bound[0]!.document.details.akName, akName);
  });

  test('a second run reuses the key and stays affirming; trust, history and EARs (verified against the JWKS) show both', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    assert.ok(first, 'the first run must have happened');
    const run = await agent(['--json']);
    assert.equal(run.code, 0, run.stderr);
    const second = run.record;
    assert.equal(second.status, 'affirming');
    assert.equal(second.rebooted, false);
    assert.doesNotMatch(run.stderr, /bound attestation key|made an attestation key/);
    // The unchanged log went by its digest, and the server had it.
    assert.doesNotMatch(run.stderr, /does not hold the event log/);
    const stored = await testbed.admin('GET', `/api/v1/attestations/${second.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.json.evidence.eventLog, readFileSync(secureBootLog).toString('base64'));
    assert.equal((await boundKeys()).length, 1, 'no second binding');

    const shown = await testbed.admin('GET', `/api/v1/devices/${device.id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.trust.status, 'affirming');
    assert.equal(shown.json.trust.secureBoot, 'enabled');
    assert.equal(shown.json.trust.attestationId, second.id);

    const history = await testbed.admin('GET', `/api/v1/devices/${device.id}/attestations`);
    assert.equal(history.status, 200);
    assert.deepEqual(
      history.json.attestations.map((record: any) => record.id),
      [second.id, first.id],
      'newest first',
    );

    const jwks = await fetch(`${testbed.adminUrl}/api/v1/attestation/ear-keys`).then((response) =>
      response.json(),
    );
    const keySet = createLocalJWKSet(jwks as any);
    for (const record of history.json.attestations) {
      const { payload, protectedHeader } = await jwtVerify(record.ear, keySet);
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.ear_status, 'affirming');
      assert.equal(payload.sub, `urn:vigil:device:${device.id}`);
      assert.equal(payload.eat_nonce, Buffer.from(record.nonce, 'base64').toString('base64url'));
      const submod = (payload.submods as any)['tpm2-quote'];
      assert.equal(submod.ear_verifier_claims['secure-boot'], 'enabled');
    }
  });

  test('the same evidence sent twice: the second is refused as a reused nonce and the ledger records it', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const submission = await handMadeEvidence(akHandle, readFileSync(secureBootLog));
    const accepted = await submit(submission);
    assert.equal(accepted.status, 201, accepted.text);
    assert.equal(accepted.json.status, 'affirming');
    const replayed = await submit(submission);
    assertRefused(replayed, 'ATTESTATION_NONCE_REUSED');
    assert.ok((await refusalsInLedger(device.id)).includes('ATTESTATION_NONCE_REUSED'));
  });

  test("an answer's nextNonce is good for the next quote, once", async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const accepted = await submit(await handMadeEvidence(akHandle, readFileSync(secureBootLog)));
    assert.equal(accepted.status, 201, accepted.text);
    const next = Buffer.from(accepted.json.nextNonce.nonce, 'base64');
    const followUp = await handMadeEvidence(akHandle, readFileSync(secureBootLog), next);
    const answered = await submit(followUp);
    assert.equal(answered.status, 201, answered.text);
    assert.equal(Buffer.from(answered.json.nonce, 'base64').toString('hex'), next.toString('hex'));
    assertRefused(await submit(followUp), 'ATTESTATION_NONCE_REUSED');
  });

  test('evidence may name a log the server holds by its digest; an unknown digest is a cache miss, and the same quote then goes with the log', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const log = readFileSync(secureBootLog);
    const byDigest = await handMadeEvidence(akHandle, log);
    const { eventLog: _held, ...quote } = byDigest.evidence;
    const named = await submit({
      ...byDigest,
      evidence: { ...quote, eventLogDigest: `sha256:${sha256Hex(log)}` },
    });
    assert.equal(named.status, 201, named.text);
    assert.equal(named.json.status, 'affirming', JSON.stringify(named.json.findings));

    const refusalsBefore = await refusalsInLedger(device.id);
    const unheard = await handMadeEvidence(akHandle, log);
    const { eventLog: _unsent, ...unsent } = unheard.evidence;
    const unknown = await submit({
      ...unheard,
      evidence: { ...unsent, eventLogDigest: `sha256:${sha256Hex(Buffer.from('a log nobody sent'))}` },
    });
    assertRefused(unknown, 'ATTESTATION_EVENT_LOG_UNKNOWN');
    assert.deepEqual(await refusalsInLedger(device.id), refusalsBefore, 'a cache miss is not a refusal');
    // The nonce was not spent: the same quote with the whole log is appraised.
    const whole = await submit(unheard);
    assert.equal(whole.status, 201, whole.text);
    assert.equal(whole.json.status, 'affirming');
  });

  test('a quote signed by an AK this device never bound is refused as an invalid signature', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const { tool } = swtpm!;
    await tool(['tpm2_createek', '-c', 'stranger-ek.ctx', '-G', 'rsa', '-u', 'stranger-ek.pub']);
    await tool(
      ['tpm2_createak', '-C', 'stranger-ek.ctx', '-c', 'stranger-ak.ctx', '-G', 'ecc'].concat([
        '-g',
        'sha256',
        '-s',
        'ecdsa',
        '-u',
        'stranger-ak.pub',
      ]),
    );
    const refused = await submit(await handMadeEvidence('stranger-ak.ctx', readFileSync(secureBootLog)));
    assertRefused(refused, 'ATTESTATION_TPM_SIGNATURE_INVALID');
    assert.ok((await refusalsInLedger(device.id)).includes('ATTESTATION_TPM_SIGNATURE_INVALID'));
  });

  test("a truncated event log and keylime's bogus log are refused as malformed, each recorded in the ledger", async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const before = (await refusalsInLedger(device.id)).filter(
      (code) => code === 'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    ).length;
    const log = readFileSync(secureBootLog);
    for (const broken of [log.subarray(0, log.length - 7), log.subarray(0, 20_000), readFileSync(bogusLog)]) {
      const refused = await submit(await handMadeEvidence(akHandle, broken));
      assertRefused(refused, 'ATTESTATION_TPM_EVENT_LOG_MALFORMED');
    }
    const afterwards = (await refusalsInLedger(device.id)).filter(
      (code) => code === 'ATTESTATION_TPM_EVENT_LOG_MALFORMED',
    ).length;
    assert.equal(afterwards - before, 3);
  });

  test('a PCR extended outside the event log makes the agent exit 1 with a contraindicated appraisal', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    // Something measured into PCR 4 (boot manager code) that the log does not name.
    const rogue = createHash('sha256').update('an unlisted bootloader').digest('hex');
    await swtpm!.extend([{ pcr: 4, bank: 'sha256', digest: rogue }]);
    const run = await agent();
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.record.status, 'contraindicated');
    const failure = run.record.findings.find((finding: any) => finding.check === 'measurements-explained');
    assert.equal(failure?.outcome, 'failure');
    assert.match(failure.detail, /sha256:4/);
    const shown = await testbed.admin('GET', `/api/v1/devices/${device.id}`);
    assert.equal(shown.json.trust.status, 'contraindicated');
    assert.equal((await boundKeys()).length, 1);
  });

  test('a TPM reset shows as a reboot: after replaying the log again the agent is affirming with rebooted true', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const history = await testbed.admin('GET', `/api/v1/devices/${device.id}/attestations?limit=1`);
    const previous = history.json.attestations[0].tpmClock.resetCount as number;
    await swtpm!.reset();
    await replayIntoTpm(swtpm!, readFileSync(secureBootLog));
    const run = await agent();
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.record.status, 'affirming', JSON.stringify(run.record.findings));
    assert.equal(run.record.rebooted, true);
    assert.ok(run.record.tpmClock.resetCount > previous, `${run.record.tpmClock.resetCount} > ${previous}`);
    assert.ok(
      run.record.findings.some((finding: any) => /rebooted since the last attestation/.test(finding.detail)),
    );
    assert.equal((await boundKeys()).length, 1, 'the persisted AK survived the reset');
  });

  test('the agent reports failures as typed errors: a refusal with its code, an unreachable server, a usage error', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    // This device has no DICE DeviceID registered: the server refuses, the agent prints code and detail.
    const dir = testbed.dir;
    const made = buildCertificates([
      { name: 'deviceId', subject: '/CN=Unregistered DeviceID', days: 30, ca: true },
      {
        name: 'alias',
        subject: '/CN=Unregistered alias',
        issuer: 'deviceId',
        days: 1,
        ca: false,
        tcbInfo: encodeDiceTcbInfo({
          model: 'x',
          fwids: [{ hashAlgorithm: sha256Oid, digest: Buffer.alloc(32, 1) }],
          flags: [],
        }),
      },
    ]);
    writeFileSync(join(dir, 'unregistered-chain.pem'), pemOf(made.get('alias')!));
    writeFileSync(join(dir, 'unregistered-alias.key'), made.get('alias')!.keyPem);
    const common = [
      'agent',
      'attest',
      '--ca',
      ws.bundleFile,
      '--cert',
      device.certFile,
      '--key',
      device.keyFile,
    ];
    const refused = await runVigil([
      ...common,
      '--server',
      testbed.deviceUrl,
      '--dice-chain',
      join(dir, 'unregistered-chain.pem'),
      '--dice-key',
      join(dir, 'unregistered-alias.key'),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\(ATTESTATION_DICE_CHAIN_UNTRUSTED\)/);
    assert.match(refused.stderr, /no DeviceID is registered/);
    assert.doesNotMatch(refused.stderr, /^\s+at /m, 'no stack trace');
    assert.equal(refused.stdout, '');

    const unreachable = await runVigil(
      [...common, '--server', 'https://127.0.0.1:1', '--tpm', swtpm!.tcti].concat([
        '--state',
        stateDir,
        '--event-log',
        secureBootLog,
      ]),
    );
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the Vigil device endpoint.*\(AGENT_SERVER_UNREACHABLE\)/);
    assert.doesNotMatch(unreachable.stderr, /^\s+at /m);

    const usage = await runVigil([...common, '--server', testbed.deviceUrl]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give --tpm/);
  });
});

describe("TPM endorsement: an installation that trusts swtpm's local CA as a TPM manufacturer", () => {
  let testbed: IdentityTestbed | undefined;
  let ws: PkiWorkspace;
  let device: EnrolledDevice;
  let swtpm: Swtpm | undefined;
  let otherTpm: Swtpm | undefined;
  let scratch: string | undefined;

  after(async () => {
    await swtpm?.stop();
    await otherTpm?.stop();
    await testbed?.close();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  let ready: Promise<void> | undefined;
  const setup = () =>
    (ready ??= (async () => {
      // Made first: swtpm_setup --create-ek-cert creates the local CA on a machine that has none.
      swtpm = await startSwtpm('vigil-swtpm-endorsed-');
      otherTpm = await startSwtpm('vigil-swtpm-other-');
      scratch = mkdtempSync(join(tmpdir(), 'vigil-ek-roots-'));
      const roots = join(scratch, 'tpm-manufacturers.pem');
      writeFileSync(roots, swtpmLocalCaBundle());
      // The platform reads VIGIL_TPM_EK_ROOTS when it opens; other tests must not see it.
      const saved = process.env.VIGIL_TPM_EK_ROOTS;
      process.env.VIGIL_TPM_EK_ROOTS = roots;
      try {
        testbed = await startIdentityTestbed('sqlite');
      } finally {
        if (saved === undefined) delete process.env.VIGIL_TPM_EK_ROOTS;
        else process.env.VIGIL_TPM_EK_ROOTS = saved;
      }
      ws = await fetchCaCerts(testbed, testbed.dir);
      device = await enrollWithCurl(testbed, ws, 'SN-TPM-EK-0001');
      await replayIntoTpm(swtpm, readFileSync(secureBootLog));
      const values = await testbed.admin('POST', '/api/v1/attestation/reference-values', {
        productId: testbed.productId,
        hardwareRevision: 'A',
        release,
        values: referenceValuesFromEventLog(readFileSync(secureBootLog)),
      });
      assert.equal(values.status, 201, JSON.stringify(values.json));
    })());

  /** This TPM's EK and a fresh AK under it, made by hand with tpm2-tools, as the binding request wants them. */
  const handMadeKeys = async () => {
    const { tool, file } = swtpm!;
    await tool(['tpm2_createek', '-c', 'hand-ek.ctx', '-G', 'rsa', '-u', 'hand-ek.pub']);
    await tool(
      ['tpm2_createak', '-C', 'hand-ek.ctx', '-c', 'hand-ak.ctx', '-G', 'ecc', '-g', 'sha256'].concat([
        '-s',
        'ecdsa',
        '-u',
        'hand-ak.pub',
      ]),
    );
    return {
      format: 'tpm2',
      ekPublic: file('hand-ek.pub').toString('base64'),
      akPublic: file('hand-ak.pub').toString('base64'),
    };
  };

  const keyRefusals = () => ledgerCodes(testbed!, 'attestation.key-refused', device.id);

  test('a binding without an EK certificate is refused ATTESTATION_EK_CERTIFICATE_REQUIRED, and recorded', async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const refused = await deviceCall(
      testbed!,
      device,
      'POST',
      '/device/v1/attestation/keys',
      await handMadeKeys(),
    );
    assertRefused(refused, 'ATTESTATION_EK_CERTIFICATE_REQUIRED');
    assert.deepEqual(await keyRefusals(), ['ATTESTATION_EK_CERTIFICATE_REQUIRED']);
  });

  test("another TPM's EK certificate, genuine but for another EK, is refused ATTESTATION_EK_CERTIFICATE_INVALID", async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const foreign = await otherTpm!.ekCertificate();
    // Genuine: issued by the same trusted CA, only for the other TPM's EK.
    assert.equal(
      new X509Certificate(foreign).issuer,
      new X509Certificate(await swtpm!.ekCertificate()).issuer,
    );
    const refused = await deviceCall(testbed!, device, 'POST', '/device/v1/attestation/keys', {
      ...(await handMadeKeys()),
      ekCertificate: foreign.toString('base64'),
    });
    assertRefused(refused, 'ATTESTATION_EK_CERTIFICATE_INVALID');
    assert.match(refused.json.detail, /another key/);
    assert.deepEqual(await keyRefusals(), [
      'ATTESTATION_EK_CERTIFICATE_REQUIRED',
      'ATTESTATION_EK_CERTIFICATE_INVALID',
    ]);
    const keys = await deviceCall(testbed!, device, 'GET', '/device/v1/attestation/keys');
    assert.deepEqual(keys.json.keys, [], 'nothing was bound');
  });

  test("the agent sends the TPM's EK certificate: the key is endorsed ('ek-certificate') and the appraisal claims hardware 2", async (t) => {
    if (!needTpm(t)) return;
    await setup();
    const stateDir = join(testbed!.dir, 'agent-state');
    // The agent remembers this log as accepted by this server, which never stored it (as after a
    // restore): named by digest, the server answers ATTESTATION_EVENT_LOG_UNKNOWN and the agent sends it whole.
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(
      join(stateDir, 'tpm-event-log.json'),
      JSON.stringify({
        version: 1,
        server: new URL(testbed!.deviceUrl).origin,
        eventLogSha256: sha256Hex(readFileSync(secureBootLog)),
      }),
    );
    const run = await runAgent({ testbed: testbed!, ws, device, swtpm: swtpm!, stateDir });
    assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
    assert.match(run.stderr, /sending the EK certificate/);
    assert.match(run.stderr, /does not hold the event log sent before: sending it whole/);
    assert.deepEqual(
      await ledgerCodes(testbed!, 'attestation.refused', device.id),
      [],
      'a cache miss is not a refusal',
    );
    assert.equal(run.record.status, 'affirming', JSON.stringify(run.record.findings));
    assert.equal(run.record.trustVector.hardware, 2);
    assert.deepEqual(run.record.trustVector, {
      'instance-identity': 2,
      hardware: 2,
      executables: 3,
      configuration: 2,
    });
    const listed = await testbed!.admin('GET', `/api/v1/devices/${device.id}/attestation-keys`);
    assert.equal(listed.status, 200, JSON.stringify(listed.json));
    assert.equal(listed.json.keys.length, 1);
    assert.equal(listed.json.keys[0].endorsement, 'ek-certificate');
    assert.equal(listed.json.keys[0].method, 'activate-credential');
    const bound = (await readLedger(testbed!.adminUrl, testbed!.adminToken)).filter(
      (entry) => entry.document.type === 'attestation.key-bound' && entry.document.subject === device.id,
    );
    assert.equal(bound.length, 1);
    assert.equal(bound[0]!.document.details.endorsement, 'ek-certificate');
  });
});

function pemOf(certificate: DiceCertificate): string {
  return new X509Certificate(certificate.der).toString();
}

describe('DICE attestation with an openssl-made chain and `vigil agent attest --dice-chain`', () => {
  let testbed: IdentityTestbed;
  let ws: PkiWorkspace | undefined;

  before(async () => {
    testbed = await startIdentityTestbed('sqlite');
  });
  after(async () => {
    await testbed?.close();
  });

  /** Registered for hardware revision B, then enrolled with curl + openssl (PEERS.md recipe). */
  async function enrollRevisionB(serial: string): Promise<EnrolledDevice> {
    ws ??= await fetchCaCerts(testbed, testbed.dir);
    const { dir, deviceUrl, bundleFile } = ws;
    const registered = await testbed.admin('POST', '/api/v1/devices', {
      serial,
      productId: testbed.productId,
      hardwareRevision: 'B',
      bootstrap: { method: 'secret' },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.json));
    const { keyFile, csrFile } = await opensslKeyAndCsr(dir, serial, serial);
    const response = await curl(dir, `${deviceUrl}/.well-known/est/simpleenroll`, [
      '--cacert',
      bundleFile,
      '-u',
      `${serial}:${registered.json.enrollmentSecret}`,
      '-H',
      'Content-Type: application/pkcs10',
      '--data-binary',
      `@${csrFile}`,
    ]);
    assert.equal(response.status, 200, response.body.toString('utf8'));
    const certPem = await readEstResponse(dir, serial, response.body);
    const certFile = join(dir, `${serial}.pem`);
    writeFileSync(certFile, certPem);
    return {
      serial,
      id: registered.json.id,
      keyFile,
      certFile,
      certPem,
      serialHex: await serialHexOf(certFile),
    };
  }

  const firmwareFwid = Buffer.alloc(32, 0xb0);
  const aliasFwid = Buffer.alloc(32, 0xa7);
  // OperationalFlags present with no bit set: not notSecure, not debug, not recovery (§6.1.1).
  const firmware: TcbInfoFields = {
    vendor: 'Vigil Medical',
    model: 'IP-7 bootloader',
    svn: 300,
    layer: 0,
    fwids: [{ hashAlgorithm: sha256Oid, digest: firmwareFwid }],
    flags: [],
  };
  const alias: TcbInfoFields = {
    vendor: 'Vigil Medical',
    model: 'IP-7 application',
    version: '4.2.1',
    svn: 7,
    layer: 1,
    fwids: [{ hashAlgorithm: sha256Oid, digest: aliasFwid }],
    flags: [],
  };

  test('a registered DeviceID, reference values for the layer FWIDs and a clean chain: affirming; a debug layer is not', async (t) => {
    if (!requireCommands(t, 'openssl', 'curl')) return;
    const device = await enrollRevisionB('SN-DICE-0001');
    const made = buildCertificates([
      { name: 'deviceId', subject: '/CN=DeviceID IP-7 0001', days: 3650, ca: true },
      {
        name: 'firmware',
        subject: '/CN=IP-7 firmware layer',
        issuer: 'deviceId',
        days: 30,
        ca: true,
        tcbInfo: encodeDiceTcbInfo(firmware),
      },
      {
        name: 'alias',
        subject: '/CN=IP-7 alias',
        issuer: 'firmware',
        days: 1,
        ca: false,
        tcbInfo: encodeDiceTcbInfo(alias),
      },
      {
        name: 'debugAlias',
        subject: '/CN=IP-7 alias (debug)',
        issuer: 'firmware',
        days: 1,
        ca: false,
        tcbInfo: encodeDiceTcbInfo({ ...alias, flags: [3] }),
      },
    ]);
    const registered = await testbed.admin('POST', `/api/v1/devices/${device.id}/attestation-keys`, {
      kind: 'dice',
      deviceIdCertificate: pemOf(made.get('deviceId')!),
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.json));
    assert.equal(registered.json.kind, 'dice');

    const values = await testbed.admin('POST', '/api/v1/attestation/reference-values', {
      productId: testbed.productId,
      hardwareRevision: 'B',
      release: 'ip7-4.2.1',
      values: {
        components: [
          { kind: 'dice-layer', digests: { sha256: firmwareFwid.toString('hex') }, label: 'bootloader' },
          { kind: 'dice-layer', digests: { sha256: aliasFwid.toString('hex') }, label: 'application' },
        ],
        secureBootRequired: true,
      },
    });
    assert.equal(values.status, 201, JSON.stringify(values.json));

    const attestWith = async (aliasName: 'alias' | 'debugAlias') => {
      const chainFile = join(testbed.dir, `${aliasName}-chain.pem`);
      const keyFile = join(testbed.dir, `${aliasName}.key`);
      // Alias first, then the firmware layer, then the DeviceID itself.
      writeFileSync(
        chainFile,
        [aliasName, 'firmware', 'deviceId'].map((name) => pemOf(made.get(name)!)).join(''),
      );
      writeFileSync(keyFile, made.get(aliasName)!.keyPem, { mode: 0o600 });
      return parsedRecord(
        await runVigil([
          'agent',
          'attest',
          '--server',
          testbed.deviceUrl,
          '--ca',
          ws!.bundleFile,
          '--cert',
          device.certFile,
          '--key',
          device.keyFile,
          '--dice-chain',
          chainFile,
          '--dice-key',
          keyFile,
          '--json',
        ]),
      );
    };

    const clean = await attestWith('alias');
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.record.status, 'affirming', JSON.stringify(clean.record.findings));
    assert.equal(clean.record.format, 'dice-chain');
    assert.equal(clean.record.secureBoot, 'enabled');
    assert.equal(clean.record.measuredRelease, 'ip7-4.2.1');
    assert.equal(clean.record.tpmClock, null);

    const debug = await attestWith('debugAlias');
    assert.equal(debug.code, 1, debug.stderr);
    assert.equal(debug.record.secureBoot, 'disabled');
    assert.notEqual(debug.record.status, 'affirming');

    const history = await testbed.admin('GET', `/api/v1/devices/${device.id}/attestations`);
    assert.deepEqual(
      history.json.attestations.map((record: any) => record.id),
      [debug.record.id, clean.record.id],
    );
  });
});
