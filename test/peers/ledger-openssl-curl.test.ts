import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasCommand, requirePeer } from '../support/peers.ts';
import { initData, startServe, type ServerProcess } from '../support/server-process.ts';

/**
 * Our ledger formats checked by code we did not write: curl fetches over HTTP, OpenSSL checks the
 * Ed25519 checkpoint signature (C2SP signed-note) and recomputes RFC 9162 leaf and node hashes.
 */
describe('ledger formats against curl and OpenSSL', () => {
  const root = mkdtempSync(join(tmpdir(), 'vigil-peer-ledger-'));
  let server: ServerProcess | undefined;
  let token = '';

  before(async () => {
    token = await initData(join(root, 'data'), undefined);
    server = await startServe(join(root, 'data'), undefined);
  });
  after(async () => {
    await server?.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  function curl(path: string, ...extra: string[]): Buffer {
    return execFileSync('curl', [
      '-sS',
      '--fail-with-body',
      '-H',
      `Authorization: Bearer ${token}`,
      ...extra,
      `${server!.url}${path}`,
    ]);
  }

  test('OpenSSL verifies the signed checkpoint with the published verifier key', async (t) => {
    if (
      !requirePeer(
        t,
        'curl and openssl',
        hasCommand('curl') && hasCommand('openssl'),
        'apt-get install curl openssl',
      )
    )
      return;
    const note = curl('/ledger/checkpoint').toString('utf8');
    const verifierKey = curl('/api/v1/ledger/verifier-key').toString('utf8').trim();

    // C2SP signed-note: the signed message is the text up to and including the blank line's first newline.
    const split = note.indexOf('\n\n');
    const body = note.slice(0, split + 1);
    const signatureLine = note.slice(split + 2).split('\n')[0]!;
    const [dash, name, signatureBase64] = signatureLine.split(' ');
    assert.equal(dash, '\u2014');
    const [keyName, keyIdHex, keyBase64] = [
      verifierKey.slice(0, verifierKey.indexOf('+')),
      ...verifierKey.slice(verifierKey.indexOf('+') + 1).split(/\+(.*)/s),
    ];
    assert.equal(name, keyName);
    const signature = Buffer.from(signatureBase64!, 'base64');
    assert.equal(signature.subarray(0, 4).toString('hex'), keyIdHex, 'signature carries the key id');
    const rawKey = Buffer.from(keyBase64!, 'base64');
    assert.equal(rawKey[0], 0x01, 'Ed25519 key type');

    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), rawKey.subarray(1)]).toString('base64')}\n-----END PUBLIC KEY-----\n`;
    writeFileSync(join(root, 'ledger.pub.pem'), pem);
    writeFileSync(join(root, 'body.txt'), body);
    writeFileSync(join(root, 'sig.bin'), signature.subarray(4));
    const verify = (bodyFile: string) =>
      execFileSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          join(root, 'ledger.pub.pem'),
          '-rawin',
          '-in',
          bodyFile,
          '-sigfile',
          join(root, 'sig.bin'),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ).toString();
    assert.match(verify(join(root, 'body.txt')), /Signature Verified Successfully/);
    writeFileSync(
      join(root, 'forged.txt'),
      body.replace(/\n(\d+)\n/, (_m, size: string) => `\n${Number(size) + 1}\n`),
    );
    assert.throws(
      () => verify(join(root, 'forged.txt')),
      'OpenSSL refuses a checkpoint with an altered size',
    );
  });

  test('OpenSSL recomputes RFC 9162 leaf hashes and the root of a tile from the entry bundle', async (t) => {
    if (
      !requirePeer(
        t,
        'curl and openssl',
        hasCommand('curl') && hasCommand('openssl'),
        'apt-get install curl openssl',
      )
    )
      return;
    const note = curl('/ledger/checkpoint').toString('utf8');
    const [, sizeLine, rootLine] = note.split('\n');
    const size = Number(sizeLine);
    assert.ok(size >= 2 && size < 256, `a small log: ${size}`);

    const bundle = curl(`/ledger/tile/entries/000.p/${size}`);
    const tile = curl(`/ledger/tile/0/000.p/${size}`);
    const sha256 = (file: string) =>
      Buffer.from(execFileSync('openssl', ['dgst', '-sha256', '-binary', file]));
    const leafHashes: Buffer[] = [];
    let offset = 0;
    for (let index = 0; index < size; index++) {
      const length = bundle.readUInt16BE(offset);
      const leaf = bundle.subarray(offset + 2, offset + 2 + length);
      offset += 2 + length;
      assert.equal(JSON.parse(leaf.toString('utf8')).index, index);
      writeFileSync(join(root, 'leaf.bin'), Buffer.concat([Buffer.from([0x00]), leaf]));
      const hash = sha256(join(root, 'leaf.bin'));
      assert.deepEqual(hash, tile.subarray(index * 32, index * 32 + 32), `leaf hash ${index}`);
      leafHashes.push(hash);
    }
    assert.equal(offset, bundle.length);

    // RFC 9162 §2.1.1 MTH, every interior node hashed by OpenSSL.
    const mth = (hashes: Buffer[]): Buffer => {
      if (hashes.length === 1) return hashes[0]!;
      let k = 1;
      while (k * 2 < hashes.length) k *= 2;
      writeFileSync(
        join(root, 'node.bin'),
        Buffer.concat([Buffer.from([0x01]), mth(hashes.slice(0, k)), mth(hashes.slice(k))]),
      );
      return sha256(join(root, 'node.bin'));
    };
    assert.equal(mth(leafHashes).toString('base64'), rootLine);
  });

  test('curl sees problem+json with a stable code and a Bearer challenge on a refused request', (t) => {
    if (!requirePeer(t, 'curl', hasCommand('curl'), 'apt-get install curl')) return;
    const output = execFileSync('curl', ['-sS', '-i', `${server!.url}/api/v1/products`]).toString();
    assert.match(output, /^HTTP\/1\.1 401/);
    assert.match(output, /content-type: application\/problem\+json/i);
    assert.match(output, /www-authenticate: Bearer/i);
    assert.match(output, /"code":"ACCESS_TOKEN_MISSING"/);
  });
});
