import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiceAttester } from '../../src/agent/index.ts';
import { isVigilError } from '../../src/core/index.ts';
import {
  aliasTcbInfo,
  encodeDiceTcbInfo,
  firmwareTcbInfo,
  buildCertificates,
  needOpenssl,
  type DiceCertificate,
} from '../attestation/dice/fixtures.ts';
import { hasCommand } from '../support/peers.ts';

const pem = (certificate: DiceCertificate) => new X509Certificate(certificate.der).toString();

describe('DiceAttester', () => {
  let dir: string;
  let made: Map<string, DiceCertificate> | undefined;
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-dice-attester-'));
    if (!hasCommand('openssl')) return;
    made = buildCertificates([
      { name: 'deviceId', subject: '/CN=DeviceID', days: 30, ca: true },
      {
        name: 'firmware',
        subject: '/CN=firmware',
        issuer: 'deviceId',
        days: 30,
        ca: true,
        tcbInfo: encodeDiceTcbInfo(firmwareTcbInfo),
      },
      {
        name: 'alias',
        subject: '/CN=alias',
        issuer: 'firmware',
        days: 1,
        ca: false,
        tcbInfo: encodeDiceTcbInfo(aliasTcbInfo),
      },
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sends the chain in file order as DER and signs the nonce bytes with the Alias key (DER ECDSA, SHA-256)', (t) => {
    if (!needOpenssl(t)) return;
    const chain = ['alias', 'firmware', 'deviceId'].map((name) => made!.get(name)!);
    const attester = new DiceAttester({
      chainFile: file('chain.pem', chain.map(pem).join('\n')),
      keyFile: file('alias.key', made!.get('alias')!.keyPem),
    });
    const nonce = Buffer.alloc(32, 0x5c);
    const evidence = attester.collectEvidence(nonce);
    assert.deepEqual(
      evidence.chain.map((der) => Buffer.from(der, 'base64')),
      chain.map((certificate) => certificate.der),
    );
    assert.equal(evidence.nonce, nonce.toString('base64'));
    const aliasKey = new X509Certificate(made!.get('alias')!.der).publicKey;
    const signature = Buffer.from(evidence.signature, 'base64');
    assert.ok(verify('sha256', nonce, { key: aliasKey, dsaEncoding: 'der' }, signature));
    assert.equal(signature[0], 0x30, 'DER SEQUENCE');
  });

  it("refuses a key that is not the first certificate's, a non-P-256 key, an empty chain and missing files", (t) => {
    if (!needOpenssl(t)) return;
    const chainFile = file('chain2.pem', pem(made!.get('alias')!) + pem(made!.get('firmware')!));
    const refused = (code: string) => (error: unknown) => isVigilError(error, code);
    assert.throws(
      () => new DiceAttester({ chainFile, keyFile: file('firmware.key', made!.get('firmware')!.keyPem) }),
      refused('AGENT_DICE_KEY_INVALID'),
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    assert.throws(
      () => new DiceAttester({ chainFile, keyFile: file('rsa.key', rsa.toString()) }),
      refused('AGENT_DICE_KEY_INVALID'),
    );
    assert.throws(
      () => new DiceAttester({ chainFile, keyFile: file('garbage.key', 'not a key') }),
      refused('AGENT_DICE_KEY_INVALID'),
    );
    const keyFile = file('alias2.key', made!.get('alias')!.keyPem);
    assert.throws(
      () => new DiceAttester({ chainFile: file('empty.pem', 'nothing here'), keyFile }),
      refused('AGENT_DICE_CHAIN_INVALID'),
    );
    assert.throws(
      () => new DiceAttester({ chainFile: join(dir, 'absent.pem'), keyFile }),
      refused('AGENT_FILE_UNREADABLE'),
    );
  });
});
