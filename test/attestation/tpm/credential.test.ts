import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isVigilError } from '../../../src/core/index.ts';
import {
  encodeTpm2ToolsCredential,
  makeCredential,
  parsePublicArea,
  parseTpm2ToolsCredential,
  type MadeCredential,
  type RandomBytes,
} from '../../../src/attestation/tpm/index.ts';
import { kdfa, kdfe } from '../../../src/attestation/tpm/credential.ts';
import {
  activateInSoftware,
  ekAttributes,
  publicAreaOf,
  sized,
  symmetric,
  uint16,
} from './activate-fixture.ts';
import { requirePeer } from '../../support/peers.ts';
import { startSwtpm, swtpmAvailable, swtpmHint, type Swtpm, type ToolResult } from '../../support/swtpm.ts';

/** TPMA_OBJECT of `tpm2_createak` (restricted signing). */
const akAttributes = 0x00050072;
const sha256 = 0x000b;
const sha384 = 0x000c;
const sha512 = 0x000d;

/** A deterministic RandomBytes: SHA-256 in counter mode over a seed string. */
function seededRandom(seed: string): RandomBytes {
  let counter = 0;
  return (size) => {
    const blocks: Buffer[] = [];
    for (let length = 0; length < size; length += 32) {
      blocks.push(createHash('sha256').update(`${seed}/${counter++}`).digest());
    }
    return Buffer.concat(blocks).subarray(0, size);
  };
}

function refusedWith(code: string) {
  return (error: unknown) => isVigilError(error, code) && error.kind === 'invalid';
}

const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256Pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384Pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsaEk = publicAreaOf(rsaPair.privateKey);
const p256Ek = publicAreaOf(p256Pair.privateKey);
const p384Ek = publicAreaOf(p384Pair.privateKey, { nameAlg: sha384, symmetric: symmetric(256) });
const akName = Buffer.concat([uint16(sha256), createHash('sha256').update('ak').digest()]);
const otherAkName = Buffer.concat([uint16(sha256), createHash('sha256').update('other ak').digest()]);

describe('makeCredential', () => {
  const eks = [
    { label: 'RSA-2048 / SHA-256 / AES-128', ek: rsaEk, privateKey: rsaPair.privateKey },
    { label: 'P-256 / SHA-256 / AES-128', ek: p256Ek, privateKey: p256Pair.privateKey },
    { label: 'P-384 / SHA-384 / AES-256', ek: p384Ek, privateKey: p384Pair.privateKey },
  ];

  it('round-trips through TPM2_ActivateCredential in software for RSA-2048, P-256 and P-384 EKs', () => {
    for (const { label, ek, privateKey } of eks) {
      for (const length of [1, 16, ek.nameAlg === 'sha384' ? 48 : 32]) {
        const secret = createHash('sha512').update(`${label}/${length}`).digest().subarray(0, length);
        const made = makeCredential(ek, akName, secret);
        assert.deepEqual(
          activateInSoftware(ek, privateKey, akName, made),
          secret,
          `${label}, ${length} bytes`,
        );
      }
    }
  });

  it('lays out TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET as Part 2 defines them', () => {
    const secret = Buffer.alloc(16, 7);
    const rsa = makeCredential(rsaEk, akName, secret);
    // TPM2B_ID_OBJECT: size, TPM2B_DIGEST integrityHMAC (32), encIdentity = AES-CFB of a TPM2B (2 + 16).
    assert.equal(rsa.credentialBlob.length, 2 + 2 + 32 + 2 + 16);
    assert.equal(rsa.credentialBlob.readUInt16BE(0), 2 + 32 + 2 + 16);
    assert.equal(rsa.credentialBlob.readUInt16BE(2), 32);
    // TPM2B_ENCRYPTED_SECRET: an RSA-2048 OAEP ciphertext.
    assert.equal(rsa.encryptedSecret.length, 2 + 256);
    assert.equal(rsa.encryptedSecret.readUInt16BE(0), 256);
    // ECC: a TPMS_ECC_POINT of full-length coordinates.
    const p256 = makeCredential(p256Ek, akName, secret);
    assert.deepEqual(p256.encryptedSecret.subarray(0, 4), Buffer.from([0, 68, 0, 32]));
    assert.equal(p256.encryptedSecret.readUInt16BE(4 + 32), 32);
    const p384 = makeCredential(p384Ek, akName, secret);
    assert.equal(p384.encryptedSecret.length, 2 + 2 + 48 + 2 + 48);
    assert.equal(p384.credentialBlob.readUInt16BE(2), 48);
  });

  it('binds the credential to the object Name: under another Name the integrity check fails', () => {
    for (const { label, ek, privateKey } of eks) {
      const made = makeCredential(ek, otherAkName, Buffer.from('secret'));
      assert.throws(() => activateInSoftware(ek, privateKey, akName, made), /integrity/, label);
      const tampered = Buffer.from(made.credentialBlob);
      tampered[tampered.length - 1]! ^= 1;
      assert.throws(
        () => activateInSoftware(ek, privateKey, otherAkName, { ...made, credentialBlob: tampered }),
        /integrity/,
        label,
      );
    }
  });

  it('is deterministic under a pinned random source and fresh otherwise', () => {
    for (const ek of [rsaEk, p256Ek]) {
      const secret = Buffer.from('secret');
      const first = makeCredential(ek, akName, secret, seededRandom('pinned'));
      const second = makeCredential(ek, akName, secret, seededRandom('pinned'));
      // OAEP pads with its own randomness, so only the seed-derived part repeats for RSA.
      assert.deepEqual(first.credentialBlob, second.credentialBlob);
      if (ek.type === 'ecc') assert.deepEqual(first.encryptedSecret, second.encryptedSecret);
      assert.notDeepEqual(makeCredential(ek, akName, secret).credentialBlob, first.credentialBlob);
    }
  });

  it('refuses an EK that is not a restricted decryption key or does not protect with AES-CFB', () => {
    const unsuitable = refusedWith('ATTESTATION_TPM_EK_UNSUITABLE');
    const ak = publicAreaOf(p256Pair.privateKey, { attributes: akAttributes, symmetric: uint16(0x0010) });
    assert.throws(() => makeCredential(ak, akName, Buffer.from('s')), unsuitable);
    const unrestricted = publicAreaOf(rsaPair.privateKey, { attributes: ekAttributes & ~(1 << 16) });
    assert.throws(() => makeCredential(unrestricted, akName, Buffer.from('s')), unsuitable);
    const noSymmetric = publicAreaOf(rsaPair.privateKey, { symmetric: uint16(0x0010) });
    assert.throws(() => makeCredential(noSymmetric, akName, Buffer.from('s')), unsuitable);
    const cbc = publicAreaOf(rsaPair.privateKey, { symmetric: symmetric(128, 0x0042) });
    assert.throws(() => makeCredential(cbc, akName, Buffer.from('s')), unsuitable);
    const aes64 = publicAreaOf(rsaPair.privateKey, { symmetric: symmetric(64) });
    assert.throws(() => makeCredential(aes64, akName, Buffer.from('s')), unsuitable);
    // RSA-1024 with SHA-512: OAEP has no room for a 64-byte seed.
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const smallEk = publicAreaOf(small, { nameAlg: sha512 });
    assert.throws(() => makeCredential(smallEk, akName, Buffer.from('s')), unsuitable);
  });

  it('refuses Names that are not nameAlg || digest, and credentials empty or longer than a digest', () => {
    const invalid = refusedWith('ATTESTATION_TPM_CREDENTIAL_INVALID');
    for (const name of [
      Buffer.alloc(0),
      Buffer.from([0x00]),
      akName.subarray(0, -1),
      Buffer.concat([akName, Buffer.alloc(1)]),
      Buffer.concat([uint16(0x0012), akName.subarray(2)]),
      Buffer.from('40000001', 'hex'),
    ]) {
      assert.throws(() => makeCredential(rsaEk, name, Buffer.from('s')), invalid, name.toString('hex'));
    }
    assert.throws(() => makeCredential(rsaEk, akName, Buffer.alloc(0)), invalid);
    assert.throws(() => makeCredential(rsaEk, akName, Buffer.alloc(33)), invalid);
    assert.throws(() => makeCredential(p384Ek, akName, Buffer.alloc(49)), invalid);
    makeCredential(p384Ek, akName, Buffer.alloc(48));
  });
});

describe('kdfa and kdfe', () => {
  // Vectors from OpenSSL's own KDFs, which implement the same constructions:
  //   openssl kdf -keylen 16 -kdfopt mac:HMAC -kdfopt digest:SHA256 -kdfopt hexkey:000102..1f \
  //     -kdfopt salt:STORAGE -kdfopt hexinfo:000baaaa..aa KBKDF          (SP 800-108 counter mode)
  //   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:1111..11 \
  //     -kdfopt hexinfo:4944454e5449545900 2222..22 3333..33 SSKDF      (SP 800-56A concatenation)
  const key = Buffer.from([...Array(32).keys()]);
  const name = Buffer.concat([uint16(sha256), Buffer.alloc(32, 0xaa)]);
  const empty = Buffer.alloc(0);

  it('KDFa matches SP 800-108 counter mode with HMAC (label, 0x00, context, bit length)', () => {
    assert.equal(
      kdfa('sha256', key, 'STORAGE', name, empty, 128).toString('hex'),
      '0415b32b6f43896a87e7b29be8f2ac14',
    );
    assert.equal(
      kdfa('sha256', key, 'INTEGRITY', empty, empty, 384).toString('hex'),
      '062b7f39dfd0e1c6b000f9a037b29cf44a3cbbd2316607e04f9761a91fad5a53da3f0f498aaf86d674a9bfb727aaf060',
    );
  });

  it('KDFe matches the SP 800-56A concatenation KDF (Z, label, 0x00, partyU, partyV)', () => {
    const z = Buffer.alloc(32, 0x11);
    const u = Buffer.alloc(32, 0x22);
    const v = Buffer.alloc(32, 0x33);
    assert.equal(
      kdfe('sha256', z, 'IDENTITY', u, v, 256).toString('hex'),
      '349308f14b258cab5f67a14bfd8329ea42365fcdca2f9e7e658bc7504d5d0cb3',
    );
    assert.equal(
      kdfe('sha256', z, 'IDENTITY', u, v, 384).toString('hex'),
      '349308f14b258cab5f67a14bfd8329ea42365fcdca2f9e7e658bc7504d5d0cb3157a112cc50062b74b12276beacc36b7',
    );
  });
});

// `tpm2_makecredential -T none -u ek.pub -s secret.bin -n <AK name> -o cred.bin` (tpm2-tools 5.4), RSA EK.
const realTpm2ToolsCredential = Buffer.from(
  'badcc0de0000000100340020d3171196e8090a15e9dfbbdc115eb5f248da5476fe72ede369564c2ce4a9e99a23e388dd75fa' +
    '83727a0d9e80e312ed4e7d0c01003932da92bb547ddbab0dcb4d92ccce61e4ad6f3ccda65126ece8af2f3d6f18c94fbc26' +
    '7d82130b3ece3a5f8db19ea57ddf89f1019d46ada2e20e0eb6359dfe089a690b298485bdf22361ae05b4fa15ff0188ef1e' +
    '993fe241cfbbdf9021ab2e24e407321bfe75a2cf363567b22d7ca333c4e24c4f09c0ea3c46260933f4ac7931fefe42be22' +
    '410026a8f9a6962263a3366976e07295633bcde847065249afa3419d07ba1faa1ce03db134f87ad6b1482c955e053f93b7' +
    '984350a8bdc7c000a7b619159731fd522bc6cd8cb7d1917afbf6e1cb4cc6a383014b72ca63b6c13200b8a2bee739509eb9' +
    'eadbabfe2dc6c2160f083081f5804c5a32191571309f0c725d',
  'hex',
);

describe('tpm2-tools credential files', () => {
  it('reads a real tpm2_makecredential file: header, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET', () => {
    const parsed = parseTpm2ToolsCredential(realTpm2ToolsCredential);
    assert.equal(parsed.credentialBlob.length, 2 + 0x34);
    assert.equal(parsed.encryptedSecret.length, 2 + 256);
    assert.deepEqual(encodeTpm2ToolsCredential(parsed), realTpm2ToolsCredential);
  });

  it('writes the same header and layout as tpm2_makecredential', () => {
    const made = makeCredential(rsaEk, akName, Buffer.alloc(16, 1));
    const file = encodeTpm2ToolsCredential(made);
    assert.deepEqual(file.subarray(0, 8), Buffer.from('badcc0de00000001', 'hex'));
    assert.equal(file.length, realTpm2ToolsCredential.length);
    assert.deepEqual(parseTpm2ToolsCredential(file), made);
  });

  it('refuses a wrong magic or version, truncations and trailing bytes', () => {
    const malformed = refusedWith('ATTESTATION_TPM_CREDENTIAL_MALFORMED');
    const badMagic = Buffer.from(realTpm2ToolsCredential);
    badMagic[0] = 0;
    assert.throws(() => parseTpm2ToolsCredential(badMagic), malformed);
    const badVersion = Buffer.from(realTpm2ToolsCredential);
    badVersion.writeUInt32BE(2, 4);
    assert.throws(() => parseTpm2ToolsCredential(badVersion), malformed);
    for (let length = 0; length < realTpm2ToolsCredential.length; length += 1) {
      assert.throws(() => parseTpm2ToolsCredential(realTpm2ToolsCredential.subarray(0, length)), malformed);
    }
    assert.throws(
      () => parseTpm2ToolsCredential(Buffer.concat([realTpm2ToolsCredential, Buffer.alloc(1)])),
      malformed,
    );
    // An ID object larger than sizeof(TPMS_ID_OBJECT).
    const huge = Buffer.concat([
      realTpm2ToolsCredential.subarray(0, 8),
      sized(Buffer.alloc(200)),
      sized(Buffer.alloc(1)),
    ]);
    assert.throws(() => parseTpm2ToolsCredential(huge), malformed);
  });

  it('only ever throws VigilError on random flips, truncations and garbage', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
        (flips, cut) => {
          const bytes = Buffer.from(realTpm2ToolsCredential);
          for (const [position, mask] of flips) bytes[position % bytes.length]! ^= mask;
          try {
            parseTpm2ToolsCredential(cut === null ? bytes : bytes.subarray(0, cut % bytes.length));
          } catch (error) {
            if (!isVigilError(error)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          parseTpm2ToolsCredential(bytes);
        } catch (error) {
          if (!isVigilError(error)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});

// Real peers: swtpm + tpm2-tools (PEERS.md). Skips loudly locally, fails in CI (VIGIL_REQUIRE_PEERS=1).

const peersAvailable = swtpmAvailable(
  'tpm2_createek',
  'tpm2_createak',
  'tpm2_makecredential',
  'tpm2_activatecredential',
);

describe('credentials activated by swtpm + tpm2-tools', () => {
  let swtpm: Swtpm | undefined;
  const available = () => peersAvailable && swtpm !== undefined;
  const file = (name: string) => swtpm!.file(name);

  before(async () => {
    if (!peersAvailable) return;
    swtpm = await startSwtpm('vigil-swtpm-credential-');
    const { tool } = swtpm;
    await tool(['tpm2_createek', '-c', 'ek-rsa.ctx', '-G', 'rsa', '-u', 'ek-rsa.pub']);
    await tool(['tpm2_createek', '-c', 'ek-ecc.ctx', '-G', 'ecc', '-u', 'ek-ecc.pub']);
    for (const ak of ['ak', 'other-ak']) {
      await tool(
        [
          'tpm2_createak',
          '-C',
          'ek-rsa.ctx',
          '-c',
          `${ak}.ctx`,
          '-G',
          'ecc',
          '-g',
          'sha256',
          '-s',
          'ecdsa',
        ].concat(['-u', `${ak}.pub`, '-n', `${ak}.name`]),
      );
    }
  });

  after(async () => {
    await swtpm?.stop();
  });

  /**
   * `tpm2_activatecredential` with our credential file, under the EK's policy (PolicySecret of the
   * endorsement hierarchy, TCG EK Credential Profile) for a TCG-template EK; with plain password
   * authorization for a persistent EK handle whose userWithAuth is set.
   */
  async function activate(made: MadeCredential, ak: string, ek: string, policy = true): Promise<ToolResult> {
    const { dir, tool, attempt } = swtpm!;
    writeFileSync(join(dir, 'cred.bin'), encodeTpm2ToolsCredential(made));
    rmSync(join(dir, 'out.bin'), { force: true });
    const activation = [
      'tpm2_activatecredential',
      '-c',
      `${ak}.ctx`,
      '-C',
      ek,
      '-i',
      'cred.bin',
      '-o',
      'out.bin',
    ];
    if (!policy) return attempt(activation);
    await tool(['tpm2_startauthsession', '--policy-session', '-S', 'session.ctx']);
    try {
      await tool(['tpm2_policysecret', '-S', 'session.ctx', '-c', 'e']);
      return await attempt([...activation, '-P', 'session:session.ctx']);
    } finally {
      await tool(['tpm2_flushcontext', 'session.ctx']);
    }
  }

  it('a credential made here for an RSA-2048 EK activates in the TPM and yields exactly the secret', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available(), swtpmHint)) return;
    const ek = parsePublicArea(file('ek-rsa.pub'));
    for (const secret of [
      Buffer.from([0x5a]),
      Buffer.from('sixteen byte key'),
      createHash('sha256').update('32').digest(),
    ]) {
      const result = await activate(makeCredential(ek, file('ak.name'), secret), 'ak', 'ek-rsa.ctx');
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(file('out.bin'), secret);
    }
  });

  it('a credential made here for an ECC P-256 EK activates in the TPM and yields exactly the secret', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available(), swtpmHint)) return;
    const ek = parsePublicArea(file('ek-ecc.pub'));
    const secret = Buffer.from('an ECC-protected secret');
    const result = await activate(makeCredential(ek, file('ak.name'), secret), 'ak', 'ek-ecc.ctx');
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(file('out.bin'), secret);

    // An ephemeral point whose x starts with a zero byte, sent full-length: the TPM hashes it as sent.
    for (let attempt = 0; attempt < 5000; attempt += 1) {
      const random = seededRandom(`leading zero ${attempt}`);
      const made = makeCredential(ek, file('ak.name'), secret, random);
      if (made.encryptedSecret[4] !== 0) continue;
      const edge = await activate(made, 'ak', 'ek-ecc.ctx');
      assert.equal(edge.status, 0, edge.stderr);
      assert.deepEqual(file('out.bin'), secret);
      return;
    }
    assert.fail('no ephemeral x with a leading zero in 5000 tries');
  });

  it("a credential for swtpm_setup's persistent P-384 EK (SHA-384, AES-256) activates too", async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available(), swtpmHint)) return;
    await swtpm!.tool(['tpm2_readpublic', '-c', '0x81010016', '-o', 'ek-p384.pub']);
    const ek = parsePublicArea(file('ek-p384.pub'));
    assert.equal(ek.type === 'ecc' && ek.parameters.curve, 'P-384');
    assert.equal(ek.objectAttributes.userWithAuth, true);
    const secret = createHash('sha384').update('48 bytes').digest();
    const result = await activate(makeCredential(ek, file('ak.name'), secret), 'ak', '0x81010016', false);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(file('out.bin'), secret);
  });

  it("a credential made for another AK's Name, or tampered with, fails activation", async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available(), swtpmHint)) return;
    for (const ekName of ['rsa', 'ecc']) {
      const ek = parsePublicArea(file(`ek-${ekName}.pub`));
      const secret = Buffer.from('not for this AK');
      const forOther = makeCredential(ek, file('other-ak.name'), secret);
      const wrongAk = await activate(forOther, 'ak', `ek-${ekName}.ctx`);
      assert.notEqual(wrongAk.status, 0, `${ekName}: activated for the wrong AK`);
      assert.match(wrongAk.stderr, /integrity check failed/);
      // The right AK still activates it, so the refusal above is the Name binding at work.
      const rightAk = await activate(forOther, 'other-ak', `ek-${ekName}.ctx`);
      assert.equal(rightAk.status, 0, rightAk.stderr);
      assert.deepEqual(file('out.bin'), secret);

      const tampered = Buffer.from(forOther.credentialBlob);
      tampered[tampered.length - 1]! ^= 1;
      const result = await activate(
        { ...forOther, credentialBlob: tampered },
        'other-ak',
        `ek-${ekName}.ctx`,
      );
      assert.notEqual(result.status, 0, `${ekName}: a tampered credential activated`);
    }
  });

  it('writes files with the layout of tpm2_makecredential -T none, for RSA and ECC EKs', async (t) => {
    if (!requirePeer(t, 'swtpm/tpm2-tools', available(), swtpmHint)) return;
    const { dir, attempt } = swtpm!;
    const secret = Buffer.from('sixteen byte key');
    writeFileSync(join(dir, 'secret.bin'), secret);
    for (const ekName of ['rsa', 'ecc']) {
      const nameHex = file('ak.name').toString('hex');
      const made = await attempt(
        ['tpm2_makecredential', '-T', 'none', '-u', `ek-${ekName}.pub`, '-s', 'secret.bin'].concat([
          '-n',
          nameHex,
          '-o',
          'theirs.bin',
        ]),
      );
      assert.equal(made.status, 0, made.stderr);
      const theirsFile = file('theirs.bin');
      const ours = makeCredential(parsePublicArea(file(`ek-${ekName}.pub`)), file('ak.name'), secret);
      const oursFile = encodeTpm2ToolsCredential(ours);
      const theirs = parseTpm2ToolsCredential(theirsFile);
      assert.deepEqual(oursFile.subarray(0, 8), theirsFile.subarray(0, 8), 'header');
      assert.equal(ours.credentialBlob.length, theirs.credentialBlob.length);
      assert.deepEqual(
        ours.credentialBlob.subarray(0, 4),
        theirs.credentialBlob.subarray(0, 4),
        'ID object sizes',
      );
      // RSA: the ciphertext size; ECC: also the sizes of x and y inside the TPMS_ECC_POINT.
      const sizeFields = (secret: Buffer) =>
        ekName === 'rsa'
          ? [secret.readUInt16BE(0)]
          : [secret.readUInt16BE(0), secret.readUInt16BE(2), secret.readUInt16BE(4 + secret.readUInt16BE(2))];
      const [theirsSize, ...theirsCoordinates] = sizeFields(theirs.encryptedSecret);
      // tpm2-tools drops leading zero bytes from the ephemeral point's coordinates (about one
      // run in 128); we always write the whole field, which the TPM takes too (tested above).
      const stripped = theirsCoordinates.reduce((sum, size) => sum + (32 - size), 0);
      assert.deepEqual(
        sizeFields(ours.encryptedSecret),
        ekName === 'rsa' ? [256] : [68, 32, 32],
        `${ekName}: secret sizes`,
      );
      for (const size of theirsCoordinates)
        assert.ok(size <= 32 && size >= 30, `${ekName}: their coordinate size ${size}`);
      assert.equal(theirsSize, ekName === 'rsa' ? 256 : 68 - stripped, `${ekName}: their secret size`);
      assert.equal(ours.encryptedSecret.length, theirs.encryptedSecret.length + stripped);
      assert.equal(oursFile.length, theirsFile.length + stripped, `${ekName}: file size`);
      // Theirs activates as ours does: both are what the TPM expects.
      const activated = await activate(theirs, 'ak', `ek-${ekName}.ctx`);
      assert.equal(activated.status, 0, activated.stderr);
      assert.deepEqual(file('out.bin'), secret);
    }
  });
});
