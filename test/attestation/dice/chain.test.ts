import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import { verifyDiceChain } from '../../../src/attestation/dice/index.ts';
import { certificate, day, needOpenssl, sha256Oid, sha384Oid, standardChains } from './fixtures.ts';

function throwsCode(run: () => unknown, code: string): void {
  assert.throws(run, (error: unknown) => {
    if (!isVigilError(error, code)) assert.fail(`expected ${code}, got ${String(error)}`);
    return true;
  });
}

function der(name: string): Buffer {
  return certificate(standardChains(), name).der;
}

/** Verifying the named chain (Alias first) against the named DeviceID fails with `code`. */
function refuses(chain: string[], code: string, options: { anchor?: string; at?: Date } = {}): void {
  throwsCode(
    () =>
      verifyDiceChain({
        chain: chain.map(der),
        deviceIdCertificate: der(options.anchor ?? 'deviceId'),
        at: options.at ?? new Date(),
      }),
    code,
  );
}

describe('verifyDiceChain', () => {
  it('accepts an Alias issued by the registered DeviceID and returns its TcbInfo and key', (t) => {
    if (!needOpenssl(t)) return;
    const result = verifyDiceChain({
      chain: [der('alias'), der('deviceId')],
      deviceIdCertificate: der('deviceId'),
      at: new Date(),
    });
    assert.equal(result.layers.length, 1);
    const [layer] = result.layers;
    assert.equal(layer?.subject, 'CN=IP-7 alias');
    assert.equal(layer?.tcbInfo.vendor, 'Vigil Medical');
    assert.equal(layer?.tcbInfo.model, 'Infusion Pump IP-7');
    assert.equal(layer?.tcbInfo.svn, 7);
    assert.deepEqual(layer?.tcbInfo.fwids, [{ hashAlgorithm: sha256Oid, digest: Buffer.alloc(32, 0xa1) }]);
    assert.deepEqual(layer?.tcbInfo.flags, {
      notConfigured: false,
      notSecure: false,
      recovery: false,
      debug: true,
      setBits: [3],
    });
    assert.equal(result.aliasPublicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('accepts a chain that stops at the layer the registered DeviceID issued', (t) => {
    if (!needOpenssl(t)) return;
    const result = verifyDiceChain({
      chain: [der('alias')],
      deviceIdCertificate: der('deviceId'),
      at: new Date(),
    });
    assert.equal(result.layers.length, 1);
  });

  it('extracts the TcbInfo of every layer of a chain with an intermediate firmware layer', (t) => {
    if (!needOpenssl(t)) return;
    const result = verifyDiceChain({
      chain: [der('aliasUnderFirmware'), der('firmware'), der('deviceId')],
      deviceIdCertificate: der('deviceId'),
      at: new Date(),
    });
    assert.deepEqual(
      result.layers.map((layer) => layer.subject),
      ['CN=IP-7 alias', 'CN=IP-7 firmware layer'],
    );
    assert.equal(result.layers[1]?.tcbInfo.svn, 300);
    assert.deepEqual(
      result.layers[1]?.tcbInfo.fwids?.map((fwid) => fwid.hashAlgorithm),
      [sha256Oid, sha384Oid],
    );
  });

  it('rejects an Alias signed by another DeviceID with the same name as not issued by it', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['aliasOfOther', 'deviceId'], 'ATTESTATION_DICE_CHAIN_BROKEN');
  });

  it('rejects a chain that ends at a DeviceID other than the registered one', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['aliasOfOther', 'otherDeviceId'], 'ATTESTATION_DICE_CHAIN_UNTRUSTED');
    refuses(['aliasUnderFirmware'], 'ATTESTATION_DICE_CHAIN_UNTRUSTED');
  });

  it('rejects a chain whose certificates do not link', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['alias', 'firmware', 'deviceId'], 'ATTESTATION_DICE_CHAIN_BROKEN');
  });

  it('rejects a layer issued by a certificate that is not a CA', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['aliasUnderLeaf', 'leafIssuer'], 'ATTESTATION_DICE_CHAIN_BROKEN');
  });

  it('rejects an Alias whose signature was altered', (t) => {
    if (!needOpenssl(t)) return;
    const tampered = Buffer.from(der('alias'));
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
    throwsCode(
      () =>
        verifyDiceChain({
          chain: [tampered, der('deviceId')],
          deviceIdCertificate: der('deviceId'),
          at: new Date(),
        }),
      'ATTESTATION_DICE_SIGNATURE_INVALID',
    );
    // Without the DeviceID in the chain, the broken link is the one to the anchor.
    throwsCode(
      () => verifyDiceChain({ chain: [tampered], deviceIdCertificate: der('deviceId'), at: new Date() }),
      'ATTESTATION_DICE_CHAIN_UNTRUSTED',
    );
  });

  it('rejects an expired Alias', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['alias'], 'ATTESTATION_DICE_CERTIFICATE_EXPIRED', { at: new Date(Date.now() + 2 * day) });
  });

  it('rejects an Alias that is not yet valid', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['alias'], 'ATTESTATION_DICE_CERTIFICATE_NOT_YET_VALID', { at: new Date(Date.now() - day) });
  });

  it('rejects a layer without a DiceTcbInfo extension', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['aliasWithoutTcbInfo'], 'ATTESTATION_DICE_TCB_INFO_MISSING');
  });

  it('rejects a layer whose DiceTcbInfo extension is corrupted', (t) => {
    if (!needOpenssl(t)) return;
    refuses(['aliasWithCorruptTcbInfo'], 'ATTESTATION_DICE_TCB_INFO_MALFORMED');
  });

  it('rejects an empty chain, a chain of only the DeviceID and non-certificate bytes', (t) => {
    if (!needOpenssl(t)) return;
    const at = new Date();
    throwsCode(
      () => verifyDiceChain({ chain: [], deviceIdCertificate: der('deviceId'), at }),
      'ATTESTATION_DICE_CHAIN_MALFORMED',
    );
    throwsCode(
      () => verifyDiceChain({ chain: [der('deviceId')], deviceIdCertificate: der('deviceId'), at }),
      'ATTESTATION_DICE_CHAIN_MALFORMED',
    );
    throwsCode(
      () =>
        verifyDiceChain({
          chain: [der('deviceId'), der('deviceId')],
          deviceIdCertificate: der('deviceId'),
          at,
        }),
      'ATTESTATION_DICE_CHAIN_MALFORMED',
    );
    throwsCode(
      () =>
        verifyDiceChain({
          chain: [Buffer.from('not a certificate')],
          deviceIdCertificate: der('deviceId'),
          at,
        }),
      'ATTESTATION_DICE_CERTIFICATE_MALFORMED',
    );
    throwsCode(
      () =>
        verifyDiceChain({
          chain: [Buffer.concat([der('alias'), Buffer.from([0])])],
          deviceIdCertificate: der('deviceId'),
          at,
        }),
      'ATTESTATION_DICE_CERTIFICATE_MALFORMED',
    );
  });

  it('only ever accepts or throws VigilError on byte-flipped Alias certificates', (t) => {
    if (!needOpenssl(t)) return;
    const alias = der('alias');
    const deviceId = der('deviceId');
    const at = new Date();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: alias.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (position, value) => {
          const mutated = Buffer.from(alias);
          mutated[position] = value;
          try {
            verifyDiceChain({ chain: [mutated], deviceIdCertificate: deviceId, at });
          } catch (error) {
            if (!isVigilError(error) || !error.code.startsWith('ATTESTATION_DICE_')) throw error;
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
