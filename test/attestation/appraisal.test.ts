import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { isVigilError } from '../../src/core/index.ts';
import { leafHash, verifyInclusionProof } from '../../src/ledger/verify/index.ts';
import { storeKinds } from '../support/stores.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { validProduct } from '../api/helpers.ts';
import { SoftwareTpm, readEventLog } from './software-tpm.ts';

const secureBootLog = readEventLog('keylime-binary_bios_measurements-secureboot');
const plainLog = readEventLog('keylime-binary_bios_measurements');

interface Bed {
  t: TestPlatform;
  productId: string;
  deviceId: string;
  tpm: SoftwareTpm;
}

async function ledgerEvents(t: TestPlatform, type: string): Promise<Record<string, any>[]> {
  const rows = await t.platform.store.db
    .selectFrom('ledger_entries')
    .select(['leaf'])
    .where('type', '=', type)
    .orderBy('idx')
    .execute();
  return rows.map((row) => JSON.parse(row.leaf.toString('utf8')) as Record<string, any>);
}

async function newDevice(
  t: TestPlatform,
  productId: string,
  serial: string,
): Promise<{ deviceId: string; tpm: SoftwareTpm }> {
  const device = await t.call('POST', '/api/v1/devices', {
    serial,
    productId,
    hardwareRevision: 'rev-a',
    bootstrap: { method: 'secret' },
  });
  assert.equal(device.status, 201, device.text);
  const tpm = new SoftwareTpm();
  const key = await t.call('POST', `/api/v1/devices/${device.json.id}/attestation-keys`, {
    kind: 'tpm2',
    akPublic: tpm.akPublic().toString('base64'),
  });
  assert.equal(key.status, 201, key.text);
  assert.equal(key.json.method, 'factory');
  return { deviceId: device.json.id, tpm };
}

async function importRefvalues(t: TestPlatform, productId: string, release: string, values: unknown) {
  const response = await t.call('POST', '/api/v1/attestation/reference-values', {
    productId,
    hardwareRevision: 'rev-a',
    release,
    values,
  });
  assert.equal(response.status, 201, response.text);
  return response.json;
}

/** A fresh nonce from the server and evidence over it, submitted as the device would. */
async function attest(
  bed: Pick<Bed, 't' | 'deviceId' | 'tpm'>,
  log: Buffer,
  tamper: (evidence: Record<string, any>) => void = () => {},
) {
  const { t, deviceId, tpm } = bed;
  const { nonce } = await t.platform.attestation.nonces.issue(deviceId);
  const evidence = tpm.evidence(nonce, log);
  tamper(evidence);
  const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
  return t.platform.attestation.service.submit(row, 'tpm2-quote', evidence);
}

async function refused(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isVigilError(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

for (const kind of await storeKinds()) {
  describe(`TPM appraisal against reference values (${kind})`, () => {
    let bed: Bed;

    before(async () => {
      const t = await startTestPlatform(kind);
      const product = await t.call('POST', '/api/v1/products', validProduct('Infusion pump'));
      assert.equal(product.status, 201, product.text);
      const { deviceId, tpm } = await newDevice(t, product.json.id, 'IP-0001');
      bed = { t, productId: product.json.id, deviceId, tpm };
    });
    after(async () => bed?.t.close());

    test('without reference values no appraisal is affirming (fail closed)', async () => {
      bed.tpm.boot(secureBootLog);
      const record = await attest(bed, secureBootLog);
      assert.equal(record.status, 'contraindicated');
      assert.equal(record.trustVector.executables, 96);
      assert.ok(record.findings.some((f) => f.check === 'reference-values' && f.outcome === 'failure'));
    });

    test('a device booting what the release pipeline measured is affirming with Secure Boot on; the EAR verifies against the JWKS', async () => {
      const { t } = bed;
      // The release pipeline's reference values, derived from the known-good log.
      const imported = await t.platform.attestation.referenceValues.add(
        { principal: 'release-pipeline' },
        {
          productId: bed.productId,
          hardwareRevision: 'rev-a',
          release: '4.2.0',
          values: (await import('../../src/attestation/tpm/index.ts')).referenceValuesFromEventLog(
            secureBootLog,
            {
              securityVersion: 3,
            },
          ),
          source: 'event-log',
        },
      );
      assert.equal(imported.values.secureBootRequired, true);
      assert.ok(imported.values.components.length >= 6);

      bed.tpm.boot(secureBootLog);
      const record = await attest(bed, secureBootLog);
      assert.equal(record.status, 'affirming', JSON.stringify(record.findings));
      assert.equal(record.secureBoot, 'enabled');
      assert.equal(record.measuredRelease, '4.2.0');
      assert.deepEqual(record.trustVector, {
        'instance-identity': 2,
        hardware: 2,
        executables: 3,
        configuration: 2,
      });
      assert.deepEqual(record.referenceValues, [{ id: imported.id, release: '4.2.0', version: 1 }]);
      assert.equal(record.policy.id, 'urn:vigil:attestation-policy:default:1');

      const jwks = await t.call('GET', '/api/v1/attestation/ear-keys', undefined, '');
      assert.equal(jwks.status, 200, 'the JWKS is public');
      const { payload, protectedHeader } = await jwtVerify(record.ear, createLocalJWKSet(jwks.json));
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.eat_profile, 'tag:ietf.org,2026:rats/ear#04');
      assert.equal(payload.ear_status, 'affirming');
      assert.equal(payload.sub, `urn:vigil:device:${bed.deviceId}`);
      assert.equal(Buffer.from(String(payload.eat_nonce), 'base64url').toString('base64'), record.nonce);
      const submod = (payload.submods as Record<string, any>)['tpm2-quote'];
      assert.equal(submod.ear_status, 'affirming');
      assert.deepEqual(submod.ear_trustworthiness_vector, record.trustVector);
      assert.deepEqual(submod.ear_appraisal_policy_ids, [record.policy.id]);
      assert.equal(submod.ear_verifier_claims['secure-boot'], 'enabled');

      const [appraised] = (await ledgerEvents(t, 'attestation.appraised')).filter(
        (e) => e.subject === record.id,
      );
      assert.equal(appraised?.details.recordDigest, record.recordDigest);
      assert.equal(appraised?.details.status, 'affirming');

      const device = await t.call('GET', `/api/v1/devices/${bed.deviceId}`);
      assert.deepEqual(device.json.trust, {
        status: 'affirming',
        appraisedAt: record.receivedAt,
        secureBoot: 'enabled',
        measuredRelease: '4.2.0',
        attestationId: record.id,
      });
      const fleet = await t.call('GET', '/api/v1/devices?trust=affirming');
      assert.deepEqual(
        fleet.json.devices.map((d: { id: string }) => d.id),
        [bed.deviceId],
      );
    });

    test('the history is newest first, each record with its EAR and an RFC 9162 inclusion proof of its ledger entry', async () => {
      const { t } = bed;
      bed.tpm.boot(secureBootLog);
      const latest = await attest(bed, secureBootLog);
      await t.platform.ledger.integrate();
      const checkpoint = (await t.platform.ledger.latestCheckpoint())!;
      const history = await t.call('GET', `/api/v1/devices/${bed.deviceId}/attestations?limit=2`);
      assert.equal(history.status, 200, history.text);
      const [first, second] = history.json.attestations;
      assert.equal(first.id, latest.id);
      assert.ok(first.id > second.id, 'newest first');
      assert.ok(history.json.nextCursor !== null, 'a third, older record follows');
      for (const record of history.json.attestations) {
        const entry = await t.platform.store.db
          .selectFrom('ledger_entries')
          .select(['leaf', 'idx'])
          .where('subject', '=', record.id)
          .executeTakeFirstOrThrow();
        assert.equal(record.ledger.index, Number(entry.idx));
        assert.equal(record.ledger.inclusionProof.treeSize, checkpoint.size);
        verifyInclusionProof({
          leafHash: leafHash(entry.leaf),
          index: record.ledger.index,
          size: checkpoint.size,
          proof: record.ledger.inclusionProof.hashes.map((h: string) => Buffer.from(h, 'base64')),
          root: checkpoint.rootHash,
        });
        assert.equal(typeof record.ear, 'string');
      }
      const shown = await t.call('GET', `/api/v1/attestations/${latest.id}`);
      assert.equal(
        shown.json.evidence.eventLog,
        secureBootLog.toString('base64'),
        'the raw evidence, event log included',
      );
      const stored = await t.platform.store.db
        .selectFrom('attestation_event_logs')
        .select('digest')
        .execute();
      assert.equal(stored.length, 1, 'one stored copy of a log however many records cite it');
    });

    test('a PCR extended outside the log is contraindicated, raises an alert, and quarantines when the policy says so', async () => {
      const { t } = bed;
      bed.tpm.boot(secureBootLog);
      bed.tpm.extend(4, Buffer.alloc(32, 0xee));
      const record = await attest(bed, secureBootLog);
      assert.equal(record.status, 'contraindicated');
      assert.equal(record.trustVector.executables, 96);
      assert.match(record.findings.find((f) => f.check === 'measurements-explained')!.detail, /sha256:4/);
      const alerts = (await ledgerEvents(t, 'alert.raised')).filter(
        (e) => e.details.attestationId === record.id,
      );
      assert.equal(alerts.length, 1);
      assert.equal(
        (await t.call('GET', `/api/v1/devices/${bed.deviceId}`)).json.quarantine,
        null,
        'default policy: no quarantine',
      );

      const policy = await t.call('POST', '/api/v1/attestation/policies', {
        productId: bed.productId,
        policy: {
          requiredClaims: ['secure-boot', 'measured-release'],
          secureBootDisabled: 'failure',
          unrecognizedComponent: 'failure',
          belowMinimumSecurityVersion: 'failure',
          missingReferenceValues: 'failure',
          quarantineOnContraindicated: true,
        },
      });
      assert.equal(policy.status, 201, policy.text);
      assert.equal(policy.json.version, 1);
      const again = await attest(bed, secureBootLog);
      assert.equal(again.status, 'contraindicated');
      assert.equal(again.policy.id, policy.json.id);
      const device = await t.call('GET', `/api/v1/devices/${bed.deviceId}`);
      assert.match(device.json.quarantine.reason, new RegExp(again.id));
      assert.equal(device.json.trust.status, 'contraindicated');
      assert.equal((await ledgerEvents(t, 'device.quarantined')).length, 1);
      const quarantined = await t.call('GET', '/api/v1/devices?quarantined=true');
      assert.deepEqual(
        quarantined.json.devices.map((d: { id: string }) => d.id),
        [bed.deviceId],
      );

      // A clean boot attests affirming again; release is an explicit, recorded decision.
      bed.tpm.boot(secureBootLog);
      assert.equal((await attest(bed, secureBootLog)).status, 'affirming');
      const released = await t.call('POST', `/api/v1/devices/${bed.deviceId}/quarantine/release`, {
        reason: 'clean boot attested',
      });
      assert.equal(released.status, 200, released.text);
      assert.equal(released.json.quarantine, null);
    });

    test('components no reference value approves are contraindicated, or a warning where the policy says so', async () => {
      const { t } = bed;
      bed.tpm.boot(plainLog);
      const record = await attest(bed, plainLog);
      assert.equal(record.status, 'contraindicated');
      assert.ok(record.findings.some((f) => f.check === 'components' && f.outcome === 'failure'));
      assert.equal(record.measuredRelease, null);
      assert.equal(record.secureBoot, 'disabled');
      assert.equal(record.trustVector.configuration, 96, 'Secure Boot off where required');

      await t.call('POST', '/api/v1/attestation/policies', {
        productId: bed.productId,
        policy: {
          requiredClaims: [],
          secureBootDisabled: 'warning',
          unrecognizedComponent: 'warning',
          belowMinimumSecurityVersion: 'failure',
          missingReferenceValues: 'failure',
          quarantineOnContraindicated: false,
        },
      });
      const warned = await attest(bed, plainLog);
      assert.equal(warned.status, 'warning', JSON.stringify(warned.findings));
      assert.equal(warned.trustVector.executables, 33);
      assert.equal(warned.trustVector.configuration, 32);
    });

    test('a second release adds approved digests; a device running it is measured as that release', async () => {
      const { t } = bed;
      const { referenceValuesFromEventLog } = await import('../../src/attestation/tpm/index.ts');
      await importRefvalues(t, bed.productId, '4.3.0', {
        ...referenceValuesFromEventLog(plainLog, { securityVersion: 4 }),
        secureBootRequired: false,
      });
      bed.tpm.boot(plainLog);
      const record = await attest(bed, plainLog);
      assert.equal(record.measuredRelease, '4.3.0');
      assert.equal(record.status, 'affirming', JSON.stringify(record.findings));
      assert.equal(
        record.trustVector.configuration,
        undefined,
        'no Secure Boot claim where the release does not need it',
      );
    });

    test('a quote that leaves out firmware PCRs proves nothing about them: no release is inferred, contraindicated', async () => {
      // PCR 0 and 4 run code the log does not name, and the quote covers only PCR 7 (Secure Boot).
      bed.tpm.boot(secureBootLog);
      bed.tpm.extend(0, Buffer.alloc(32, 0x66));
      bed.tpm.extend(4, Buffer.alloc(32, 0x66));
      const { t, deviceId, tpm } = bed;
      const { nonce } = t.platform.attestation.nonces.issue(deviceId);
      const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
      const record = await t.platform.attestation.service.submit(
        row,
        'tpm2-quote',
        tpm.evidence(nonce, secureBootLog, [7]),
      );
      assert.equal(record.status, 'contraindicated');
      assert.equal(record.measuredRelease, null, 'no release is matched on nothing');
      assert.match(record.findings.find((f) => f.check === 'coverage')!.detail, /PCR 0, 1, 2, 3, 4, 5, 6/);
      assert.equal(record.findings.find((f) => f.check === 'components')!.outcome, 'failure');
    });

    test('a log the server holds can be named by its digest; an unknown digest asks for the log and is no refusal', async () => {
      const { t, deviceId, tpm } = bed;
      tpm.boot(secureBootLog);
      const digest = `sha256:${createHash('sha256').update(secureBootLog).digest('hex')}`;
      const named = await attest(bed, secureBootLog, (evidence) => {
        delete evidence.eventLog;
        evidence.eventLogDigest = digest;
      });
      assert.equal(named.status, 'affirming', JSON.stringify(named.findings));
      const shown = await t.call('GET', `/api/v1/attestations/${named.id}`);
      assert.equal(
        shown.json.evidence.eventLog,
        secureBootLog.toString('base64'),
        'the record holds the log itself',
      );

      const refusalsBefore = (await ledgerEvents(t, 'attestation.refused')).length;
      await refused(
        attest(bed, secureBootLog, (evidence) => {
          delete evidence.eventLog;
          evidence.eventLogDigest = `sha256:${'0'.repeat(64)}`;
        }),
        'ATTESTATION_EVENT_LOG_UNKNOWN',
      );
      assert.equal((await ledgerEvents(t, 'attestation.refused')).length, refusalsBefore);
      await refused(
        attest(bed, secureBootLog, (evidence) => {
          evidence.eventLogDigest = digest;
        }),
        'ATTESTATION_EVIDENCE_MALFORMED',
      );
      // The nonce of a refused submission was never spent.
      const { nonce } = t.platform.attestation.nonces.issue(deviceId);
      const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
      const evidence = tpm.evidence(nonce, secureBootLog);
      await refused(
        t.platform.attestation.service.submit(row, 'tpm2-quote', { ...evidence, eventLogDigest: digest }),
        'ATTESTATION_EVIDENCE_MALFORMED',
      );
      assert.equal(
        (await t.platform.attestation.service.submit(row, 'tpm2-quote', evidence)).status,
        'affirming',
      );
    });

    test('a reboot is visible: resetCount moved since the last quote of this AK', async () => {
      bed.tpm.boot(secureBootLog);
      const before = await attest(bed, secureBootLog);
      bed.tpm.resetCount += 1;
      bed.tpm.boot(secureBootLog);
      const rebooted = await attest(bed, secureBootLog);
      assert.equal(rebooted.rebooted, true);
      assert.equal(rebooted.tpmClock!.resetCount, before.tpmClock!.resetCount + 1);
      const same = await attest(bed, secureBootLog);
      assert.equal(same.rebooted, false);
    });

    test('re-appraising archived records at their own time gives the recorded results, whatever changed since', async () => {
      const { t } = bed;
      const history = await t.call('GET', `/api/v1/devices/${bed.deviceId}/attestations?limit=1000`);
      assert.ok(history.json.attestations.length >= 8);
      // Later changes: new reference values and a new policy, and time moves on.
      await importRefvalues(t, bed.productId, '4.2.0', { components: [], secureBootRequired: true });
      await t.call('POST', '/api/v1/attestation/policies', {
        productId: bed.productId,
        policy: {
          requiredClaims: ['security-version'],
          secureBootDisabled: 'ignore',
          unrecognizedComponent: 'warning',
          belowMinimumSecurityVersion: 'warning',
          missingReferenceValues: 'warning',
          quarantineOnContraindicated: false,
        },
      });
      const now = t.clock.now();
      t.clock.advance(30 * 86_400_000);
      for (const record of history.json.attestations) {
        const result = await t.call('POST', `/api/v1/attestations/${record.id}/reappraise`);
        assert.equal(result.status, 200, result.text);
        assert.equal(result.json.matches, true, `${record.id}: ${JSON.stringify(result.json)}`);
        assert.equal(result.json.recordIntact, true);
        assert.equal(result.json.reappraised.status, record.status);
        assert.deepEqual(result.json.reappraised.trustVector, record.trustVector);
      }
      t.clock.set(now);
    });

    test('a tampered archive is detected on re-appraisal', async () => {
      const { t } = bed;
      bed.tpm.boot(secureBootLog);
      const record = await attest(bed, secureBootLog);
      // Someone rewrites the stored status: the EAR and a fresh appraisal both disagree with it.
      const forged = record.status === 'warning' ? 'affirming' : 'warning';
      await t.platform.store.db
        .updateTable('attestations')
        .set({ status: forged })
        .where('id', '=', record.id)
        .execute();
      const result = await t.call('POST', `/api/v1/attestations/${record.id}/reappraise`);
      assert.equal(result.json.recorded.status, forged);
      assert.equal(result.json.reappraised.status, record.status);
      assert.equal(result.json.matches, false);
      assert.equal(result.json.recordIntact, false, 'the record no longer hashes to its ledger digest');
      assert.equal(
        decodeJwt(record.ear).ear_status,
        record.status,
        'the signed result still says what was decided',
      );
      await t.platform.store.db
        .updateTable('attestations')
        .set({ status: record.status })
        .where('id', '=', record.id)
        .execute();
    });

    describe('refusals: typed, recorded in the ledger, nothing else changes', () => {
      async function expectRefusal(code: string, run: () => Promise<unknown>): Promise<void> {
        const { t } = bed;
        const countBefore = (await t.platform.store.db.selectFrom('attestations').select('id').execute())
          .length;
        const trustBefore = (await t.call('GET', `/api/v1/devices/${bed.deviceId}`)).json.trust;
        const refusalsBefore = (await ledgerEvents(t, 'attestation.refused')).length;
        await refused(run(), code);
        assert.equal(
          (await t.platform.store.db.selectFrom('attestations').select('id').execute()).length,
          countBefore,
        );
        assert.deepEqual((await t.call('GET', `/api/v1/devices/${bed.deviceId}`)).json.trust, trustBefore);
        const refusals = await ledgerEvents(t, 'attestation.refused');
        assert.equal(refusals.length, refusalsBefore + 1, `${code} is recorded`);
        assert.equal(refusals.at(-1)!.details.code, code);
      }

      test('a reused nonce', async () => {
        const { t, deviceId, tpm } = bed;
        tpm.boot(secureBootLog);
        const { nonce } = await t.platform.attestation.nonces.issue(deviceId);
        const evidence = tpm.evidence(nonce, secureBootLog);
        const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
        await t.platform.attestation.service.submit(row, 'tpm2-quote', evidence);
        await expectRefusal('ATTESTATION_NONCE_REUSED', () =>
          t.platform.attestation.service.submit(row, 'tpm2-quote', evidence),
        );
      });

      test('a nonce the server never issued, and one issued to another device', async () => {
        const { t } = bed;
        await expectRefusal('ATTESTATION_NONCE_UNKNOWN', () =>
          attest(bed, secureBootLog, (evidence) => {
            const other = new SoftwareTpm(bed.tpm.ak);
            other.boot(secureBootLog);
            Object.assign(evidence, other.evidence(Buffer.alloc(32, 7), secureBootLog));
          }),
        );
        const other = await newDevice(t, bed.productId, 'IP-0002');
        const { nonce } = await t.platform.attestation.nonces.issue(other.deviceId);
        await expectRefusal('ATTESTATION_NONCE_FOREIGN', () =>
          attest(bed, secureBootLog, (evidence) =>
            Object.assign(evidence, bed.tpm.evidence(nonce, secureBootLog)),
          ),
        );
      });

      test('a quote signed by an AK not bound to this device', async () => {
        const stranger = new SoftwareTpm();
        stranger.boot(secureBootLog);
        await expectRefusal('ATTESTATION_TPM_SIGNATURE_INVALID', () =>
          attest({ ...bed, tpm: stranger }, secureBootLog),
        );
      });

      test('PCR values that do not hash to the quoted digest', async () => {
        bed.tpm.boot(secureBootLog);
        await expectRefusal('ATTESTATION_TPM_PCR_DIGEST_MISMATCH', () =>
          attest(bed, secureBootLog, (evidence) => {
            evidence.pcrs.sha256['7'] = '00'.repeat(32);
          }),
        );
      });

      test('a truncated event log, the bogus keylime log, and an empty one', async () => {
        await expectRefusal('ATTESTATION_EVIDENCE_MALFORMED', () =>
          attest(bed, secureBootLog, (evidence) => {
            evidence.eventLog = '';
          }),
        );
        bed.tpm.boot(secureBootLog);
        await expectRefusal('ATTESTATION_TPM_EVENT_LOG_MALFORMED', () =>
          attest(bed, secureBootLog, (evidence) => {
            evidence.eventLog = secureBootLog.subarray(0, secureBootLog.length - 7).toString('base64');
          }),
        );
        await expectRefusal('ATTESTATION_TPM_EVENT_LOG_MALFORMED', () =>
          attest(bed, secureBootLog, (evidence) => {
            evidence.eventLog = readEventLog('keylime-binary_bios_measurements-bogus').toString('base64');
          }),
        );
      });

      test('an unknown evidence format and malformed evidence are refused', async () => {
        const { t, deviceId } = bed;
        const row = await t.platform.identity.devices.requireRow(t.platform.store.db, deviceId);
        await expectRefusal('ATTESTATION_FORMAT_UNSUPPORTED', () =>
          t.platform.attestation.service.submit(row, 'psa-token', { token: 'x' }),
        );
        await expectRefusal('ATTESTATION_EVIDENCE_MALFORMED', () =>
          t.platform.attestation.service.submit(row, 'tpm2-quote', { quote: 'AAAA', pcrs: {} }),
        );
        await expectRefusal('ATTESTATION_TPM_ATTEST_MALFORMED', () =>
          t.platform.attestation.service.submit(row, 'tpm2-quote', {
            quote: 'AAAA',
            signature: 'AAAA',
            pcrs: {},
            eventLog: 'AAAA',
          }),
        );
      });
    });
  });
}
