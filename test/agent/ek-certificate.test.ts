import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  derCertificatePrefix,
  ekCertificateIndexes,
  parseNvReadPublic,
  readEkCertificate,
} from '../../src/agent/ek-certificate.ts';
import { TpmTools } from '../../src/agent/tpm-tools.ts';
import { parsePublicArea } from '../../src/attestation/tpm/index.ts';
import { requirePeer } from '../support/peers.ts';
import { startSwtpm, swtpmAvailable, swtpmHint, type Swtpm } from '../support/swtpm.ts';

// What tpm2_nvreadpublic 0x1c00002 (tpm2-tools 5.4) printed for swtpm_setup's EK certificate index.
const nvReadPublicStdout = `0x1c00002:
  name: 000b03f3ac4467316d2d26a0ac4bbaf1236a9cae50fb1f70cf2e42e422cd2108b5d2
  hash algorithm:
    friendly: sha256
    value: 0xB
  attributes:
    friendly: ppwrite|writedefine|ppread|ownerread|authread|no_da|written|platformcreate
    value: 0x62072001
  size: 1016

`;

describe('parseNvReadPublic', () => {
  it('reads the size and the written attribute (TPMA_NV_WRITTEN) from real tpm2_nvreadpublic output', () => {
    assert.deepEqual(parseNvReadPublic(nvReadPublicStdout), { size: 1016, written: true });
    const unwritten = nvReadPublicStdout.replace('|written|', '|').replace('0x62072001', '0x42072001');
    assert.deepEqual(parseNvReadPublic(unwritten), { size: 1016, written: false });
  });

  it('gives undefined for output without a size or attributes', () => {
    assert.equal(parseNvReadPublic(''), undefined);
    assert.equal(parseNvReadPublic(nvReadPublicStdout.replace(/ {2}size: 1016\n/, '')), undefined);
    assert.equal(parseNvReadPublic(nvReadPublicStdout.replace(/ {4}value: 0x62072001\n/, '')), undefined);
  });
});

describe('derCertificatePrefix', () => {
  const sequence = (length: number): Buffer => {
    const body = Buffer.alloc(length, 0x5a);
    if (length < 0x80) return Buffer.concat([Buffer.from([0x30, length]), body]);
    if (length < 0x100) return Buffer.concat([Buffer.from([0x30, 0x81, length]), body]);
    return Buffer.concat([Buffer.from([0x30, 0x82, length >> 8, length & 0xff]), body]);
  };

  it('cuts the outer SEQUENCE out of padded NV contents (short, one- and two-octet lengths)', () => {
    for (const length of [5, 0x7f, 0x80, 0xff, 0x100, 1012]) {
      const der = sequence(length);
      for (const padding of [Buffer.alloc(0), Buffer.alloc(100), Buffer.alloc(7, 0xff)]) {
        assert.deepEqual(derCertificatePrefix(Buffer.concat([der, padding])), der, `${length}`);
      }
    }
  });

  it('refuses what is not a DER SEQUENCE that fits: erased NV, a truncated certificate, an indefinite length', () => {
    assert.equal(derCertificatePrefix(Buffer.alloc(0)), undefined);
    assert.equal(derCertificatePrefix(Buffer.alloc(64)), undefined);
    assert.equal(derCertificatePrefix(Buffer.alloc(64, 0xff)), undefined);
    assert.equal(derCertificatePrefix(sequence(1012).subarray(0, 900)), undefined);
    assert.equal(derCertificatePrefix(Buffer.from([0x30, 0x80, 0x00, 0x00])), undefined);
    assert.equal(derCertificatePrefix(Buffer.from([0x30, 0x84, 0, 0, 0, 1, 0])), undefined);
    assert.equal(derCertificatePrefix(Buffer.from([0x30, 0x82, 0x01])), undefined);
  });
});

describe('readEkCertificate against swtpm', () => {
  const available = swtpmAvailable(
    'tpm2_createek',
    'tpm2_getcap',
    'tpm2_nvread',
    'tpm2_nvreadpublic',
    'tpm2_nvdefine',
    'tpm2_nvundefine',
    'tpm2_nvwrite',
  );
  let swtpm: Swtpm | undefined;
  let scratch: string;
  const rsaIndex = '0x01c00002';

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'vigil-ek-certificate-'));
    if (available) swtpm = await startSwtpm('vigil-swtpm-ek-certificate-');
  });
  after(async () => {
    await swtpm?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const read = async (): Promise<{ certificate: Buffer | undefined; notes: string[] }> => {
    const workDir = mkdtempSync(join(scratch, 'work-'));
    const notes: string[] = [];
    const certificate = await readEkCertificate(
      new TpmTools(swtpm!.tcti, workDir),
      workDir,
      ekCertificateIndexes.rsa2048,
      (line) => notes.push(line),
    );
    return { certificate, notes };
  };

  /** Replaces the EK certificate index (platform hierarchy, as a manufacturer provisions it). */
  const redefine = async (size: number, contents?: Buffer, password?: string): Promise<void> => {
    const { tool, dir } = swtpm!;
    await tool(['tpm2_nvundefine', '-C', 'p', rsaIndex]);
    await tool(
      ['tpm2_nvdefine', rsaIndex, '-C', 'p', '-s', String(size)].concat(
        ['-a', 'ppwrite|ppread|ownerread|authread|no_da|platformcreate'],
        password === undefined ? [] : ['-p', password],
      ),
    );
    if (contents !== undefined) {
      writeFileSync(join(dir, 'nv-contents.bin'), contents);
      await tool(['tpm2_nvwrite', '-C', 'p', '-i', 'nv-contents.bin', rsaIndex]);
    }
  };

  let genuine: Buffer | undefined;

  it("reads swtpm_setup's certificate for exactly the EK tpm2_createek -G rsa makes", async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available && swtpm !== undefined, swtpmHint)) return;
    const { certificate, notes } = await read();
    assert.ok(certificate !== undefined, notes.join('\n'));
    assert.deepEqual(notes, []);
    genuine = certificate;
    await swtpm!.tool(['tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    const ek = parsePublicArea(swtpm!.file('ek.pub'));
    const spki = (key: X509Certificate['publicKey']) => key.export({ format: 'der', type: 'spki' });
    assert.deepEqual(spki(new X509Certificate(certificate).publicKey), spki(ek.publicKey));
  });

  it('takes the certificate out of an index larger than it, padded with zeros or 0xff', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available && swtpm !== undefined, swtpmHint)) return;
    assert.ok(genuine, 'the first test read the certificate');
    for (const fill of [0x00, 0xff]) {
      await redefine(genuine.length + 500, Buffer.concat([genuine, Buffer.alloc(500, fill)]));
      const { certificate, notes } = await read();
      assert.deepEqual(certificate, genuine, notes.join('\n'));
    }
  });

  it('binds without a certificate, saying why, when the index is missing, never written, not DER, or refused', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available && swtpm !== undefined, swtpmHint)) return;
    await redefine(1024);
    let result = await read();
    assert.equal(result.certificate, undefined);
    assert.match(result.notes.join('\n'), /0x01c00002 is empty/);

    await redefine(64, Buffer.alloc(64, 0xff));
    result = await read();
    assert.equal(result.certificate, undefined);
    assert.match(result.notes.join('\n'), /does not hold a DER certificate/);

    // An index whose read needs an authorization the agent does not have: the TPM refuses.
    await redefine(genuine?.length ?? 64, genuine ?? Buffer.alloc(64), 'not-empty');
    result = await read();
    assert.equal(result.certificate, undefined);
    assert.match(result.notes.join('\n'), /cannot read the EK certificate at 0x01c00002 \(tpm2_nvread/);

    await swtpm!.tool(['tpm2_nvundefine', '-C', 'p', rsaIndex]);
    result = await read();
    assert.equal(result.certificate, undefined);
    assert.match(result.notes.join('\n'), /no EK certificate \(NV 0x01c00002 is not defined\)/);
  });
});
