import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TufRepository, productIdOfRepository } from '../../src/agent/tuf-repository.ts';
import { isVigilError } from '../../src/core/index.ts';
import {
  makeTlsFixture,
  serveFiles,
  tinyRepository,
  type TlsFixture,
  type TinyRepository,
} from './fixtures.ts';

describe('TufRepository (tuf-js over the agent fetcher, from a pinned root)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-agent-tuf-'));
  let tls: TlsFixture;
  let repository: TinyRepository;
  const files = new Map<string, Buffer | number>();
  let server: Server;
  let url: string;
  let requests: string[];
  let devices = 0;

  before(async () => {
    tls = makeTlsFixture();
    repository = tinyRepository();
    for (const [path, bytes] of repository.files) files.set(path, bytes);
    ({ server, url, requests } = await serveFiles(tls, files));
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(scratch, { recursive: true, force: true });
  });

  const open = (pinnedRoot: Buffer | string | undefined, stateDir = join(scratch, `device-${++devices}`)) =>
    new TufRepository({
      stateDir,
      productId: repository.productId,
      server: new URL(url),
      ca: tls.caPem,
      pinnedRoot,
    });

  it('refuses to start without a pinned root, and never fetches one (no trust on first use)', () => {
    const before = requests.length;
    assert.throws(
      () => open(undefined),
      (error: unknown) => isVigilError(error, 'AGENT_TUF_ROOT_MISSING'),
    );
    assert.equal(requests.length, before);
  });

  it('refuses a pinned root that is not root metadata, or does not verify by its own keys (TUF §5.2), and keeps neither', () => {
    const stateDir = join(scratch, 'bad-roots');
    assert.throws(
      () => open(Buffer.from('{"signed":{"_type":"timestamp"}}'), stateDir),
      (error: unknown) => isVigilError(error, 'AGENT_TUF_ROOT_INVALID'),
    );
    const forged = JSON.parse(repository.root.toString());
    forged.signed.expires = '2099-01-01T00:00:00Z';
    assert.throws(
      () => open(Buffer.from(JSON.stringify(forged)), stateDir),
      (error: unknown) =>
        isVigilError(error, 'AGENT_TUF_ROOT_INVALID') && /does not verify/.test(error.message),
    );
    assert.equal(existsSync(join(stateDir, 'tuf', repository.productId, 'root.json')), false);
  });

  it('refreshes, downloads and verifies a target, then reuses the verified download', async () => {
    const stateDir = join(scratch, 'good');
    const client = open(repository.root, stateDir);
    await client.refresh();
    const fetched = await client.fetchTarget(repository.target.path);
    assert.equal(fetched.cached, false);
    assert.deepEqual(readFileSync(fetched.file), repository.target.bytes);
    assert.equal(fetched.info.custom.securityVersion, 3);
    // The pinned root was copied in; later runs need no --tuf-root.
    const again = open(undefined, stateDir);
    await again.refresh();
    const before = requests.length;
    assert.equal((await again.fetchTarget(repository.target.path)).cached, true);
    assert.equal(
      requests.slice(before).some((path) => path.includes('/targets/')),
      false,
    );
  });

  it('a target altered on the mirror fails verification (TUF §5.7.3), typed as such', async () => {
    const path = `/tuf/${repository.productId}/targets/1.0.0/${repository.target.sha256}.firmware.bin`;
    files.set(path, Buffer.from(repository.target.bytes).fill(0x41, 0, 16));
    try {
      const client = open(repository.root);
      await client.refresh();
      await assert.rejects(client.fetchTarget(repository.target.path), (error: unknown) =>
        isVigilError(error, 'AGENT_TUF_VERIFICATION_FAILED'),
      );
    } finally {
      files.set(path, repository.target.bytes);
    }
  });

  it('expired metadata (a freeze attack, TUF §5.4.4) is a verification failure; an unreachable repository is not', async () => {
    const frozen = tinyRepository({ timestampExpiresMs: -60_000 });
    const timestamp = `/tuf/${repository.productId}/timestamp.json`;
    // Another repository with its own keys, served in place of the first: its root is pinned, so
    // only the lapsed timestamp is wrong.
    const saved = new Map(files);
    for (const [path, bytes] of frozen.files) files.set(path, bytes);
    try {
      const client = open(frozen.root);
      await assert.rejects(
        client.refresh(),
        (error: unknown) =>
          isVigilError(error, 'AGENT_TUF_VERIFICATION_FAILED') &&
          error.facts?.tufError === 'ExpiredMetadataError',
      );
    } finally {
      files.clear();
      for (const [path, bytes] of saved) files.set(path, bytes);
    }
    files.set(timestamp, 503);
    try {
      await assert.rejects(open(repository.root).refresh(), (error: unknown) =>
        isVigilError(error, 'AGENT_TUF_UNREACHABLE'),
      );
    } finally {
      files.set(timestamp, repository.files.get(timestamp)!);
    }
  });

  it('a target the signed metadata does not list is a verification failure', async () => {
    const client = open(repository.root);
    await client.refresh();
    await assert.rejects(
      client.fetchTarget('1.0.0/other.bin'),
      (error: unknown) =>
        isVigilError(error, 'AGENT_TUF_VERIFICATION_FAILED') && error.facts?.tufError === 'TargetNotFound',
    );
  });

  it('takes the product id of an offer only as /tuf/<uuid>/ (it names a directory)', () => {
    assert.equal(productIdOfRepository(`/tuf/${repository.productId}/`), repository.productId);
    for (const bad of [
      '/tuf/../etc/',
      '/tuf/x/',
      `/tuf/${repository.productId}`,
      `tuf/${repository.productId}/`,
      42,
    ])
      assert.throws(
        () => productIdOfRepository(bad),
        (error: unknown) => isVigilError(error, 'AGENT_OFFER_MALFORMED'),
      );
  });

  it('a stored root that no longer verifies is refused, never replaced by the --tuf-root given', () => {
    const stateDir = join(scratch, 'stored');
    const dir = join(stateDir, 'tuf', repository.productId);
    open(repository.root, stateDir);
    writeFileSync(join(dir, 'root.json'), 'not json');
    assert.throws(
      () => open(repository.root, stateDir),
      (error: unknown) => isVigilError(error, 'AGENT_TUF_ROOT_INVALID'),
    );
    assert.equal(readFileSync(join(dir, 'root.json'), 'utf8'), 'not json');
  });
});
