import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { isVigilError } from '../../../src/core/index.ts';
import {
  buildRoot,
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  parseRoot,
  signMetadata,
  tufExpires,
  tufKeyFromSpki,
  verifyRoleSignatures,
  type TufKey,
  type TufSigner,
} from '../../../src/updates/tuf/index.ts';

function keyPair(): { key: TufKey; signer: TufSigner; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = tufKeyFromSpki(publicKey.export({ format: 'der', type: 'spki' }));
  return {
    key,
    privateKey,
    signer: { keyid: key.keyid, sign: async (data) => sign('sha256', data, privateKey) },
  };
}

const expires = new Date('2027-11-26T12:34:56.789Z');

describe('TUF metadata', () => {
  test('key ids are the SHA-256 of the canonical JSON of the key (TUF §4.2)', () => {
    const { key } = keyPair();
    // Canonical JSON written out by hand: keys sorted, no spaces, only " and \\ escaped.
    const canonical = `{"keytype":"ecdsa","keyval":{"public":"${key.public.replace(/\\\\/g, '\\\\\\\\')}"},"scheme":"ecdsa-sha2-nistp256"}`;
    assert.equal(key.keyid, createHash('sha256').update(canonical).digest('hex'));
    assert.match(key.public, /^-----BEGIN PUBLIC KEY-----\n/);
  });

  test('refuses keys that are not P-256', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    assert.throws(
      () => tufKeyFromSpki(publicKey.export({ format: 'der', type: 'spki' })),
      (error) => isVigilError(error, 'TUF_KEY_UNSUPPORTED'),
    );
  });

  test('expires is written in whole seconds, YYYY-MM-DDTHH:MM:SSZ', () => {
    assert.equal(tufExpires(expires), '2027-11-26T12:34:56Z');
  });

  test('a signed root is JSON, verifies with its own keys, and refuses a threshold above its keys', async () => {
    const root = keyPair();
    const targets = [keyPair(), keyPair()];
    const online = keyPair();
    const content = {
      version: 1,
      expires,
      keys: {
        root: [root.key],
        targets: targets.map((pair) => pair.key),
        snapshot: [online.key],
        timestamp: [online.key],
      },
      thresholds: { root: 1, targets: 2, snapshot: 1, timestamp: 1 },
    };
    const document = await signMetadata(buildRoot(content), [root.signer]);
    const parsed = JSON.parse(document);
    assert.equal(parsed.signed._type, 'root');
    assert.equal(parsed.signed.consistent_snapshot, true);
    assert.equal(parsed.signed.expires, '2027-11-26T12:34:56Z');
    assert.deepEqual(parsed.signed.roles.targets, {
      keyids: targets.map((pair) => pair.key.keyid),
      threshold: 2,
    });
    const trusted = parseRoot(document);
    verifyRoleSignatures(trusted, 'root', document);
    assert.throws(
      () => buildRoot({ ...content, thresholds: { ...content.thresholds, targets: 3 } }),
      (error) => isVigilError(error, 'TUF_THRESHOLD_INVALID'),
    );

    // Targets: two of two must sign.
    const description = {
      path: '1.0.0/fw.bin',
      length: 3,
      sha256: 'ab'.repeat(32),
      sha512: 'cd'.repeat(64),
      custom: { version: '1.0.0' },
    };
    const targetsMetadata = buildTargets({ version: 1, expires, targets: [description] });
    const both = await signMetadata(
      targetsMetadata,
      targets.map((pair) => pair.signer),
    );
    verifyRoleSignatures(trusted, 'targets', both);
    const one = await signMetadata(targetsMetadata, [targets[0]!.signer]);
    assert.throws(
      () => verifyRoleSignatures(trusted, 'targets', one),
      (error) => isVigilError(error, 'TUF_SIGNATURE_INVALID'),
    );
    // A changed target no longer matches its signatures.
    const tampered = JSON.parse(both);
    tampered.signed.targets['1.0.0/fw.bin'].length = 4;
    assert.throws(
      () => verifyRoleSignatures(trusted, 'targets', JSON.stringify(tampered)),
      (error) => isVigilError(error, 'TUF_SIGNATURE_INVALID'),
    );
  });

  test('the timestamp names the snapshot by version, length and SHA-256', async () => {
    const online = keyPair();
    const snapshot = await signMetadata(buildSnapshot({ version: 4, expires, targetsVersion: 7 }), [
      online.signer,
    ]);
    assert.deepEqual(JSON.parse(snapshot).signed.meta, { 'targets.json': { version: 7 } });
    const timestamp = JSON.parse(
      await signMetadata(
        buildTimestamp({ version: 9, expires, snapshotVersion: 4, snapshotDocument: snapshot }),
        [online.signer],
      ),
    );
    assert.deepEqual(timestamp.signed.meta['snapshot.json'], {
      version: 4,
      length: Buffer.byteLength(snapshot),
      hashes: { sha256: createHash('sha256').update(snapshot).digest('hex') },
    });
  });
});
