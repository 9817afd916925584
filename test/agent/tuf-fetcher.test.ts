import assert from 'node:assert/strict';
import type { Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { TufFetcher } from '../../src/agent/tuf-fetcher.ts';
import { makeTlsFixture, serveFiles, type TlsFixture } from './fixtures.ts';

describe('TufFetcher (the HTTPS transport under tuf-js)', () => {
  let tls: TlsFixture;
  let server: Server;
  let url: string;
  let clientCertificates: boolean[];
  const files = new Map<string, Buffer | number>([
    ['/tuf/p/timestamp.json', Buffer.from('{"signed":{}}')],
    ['/tuf/p/big.bin', Buffer.alloc(4096, 1)],
    ['/tuf/p/broken.json', 500],
  ]);

  before(async () => {
    tls = makeTlsFixture();
    ({ server, url, clientCertificates } = await serveFiles(tls, files, { requestCert: true }));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('downloads over HTTPS trusting only the given CA, presenting the device certificate when it has one', async () => {
    const fetcher = new TufFetcher({ ca: tls.caPem, cert: tls.clientCertPem, key: tls.clientKeyPem });
    const bytes = await fetcher.downloadBytes(`${url}/tuf/p/timestamp.json`, 1024);
    assert.equal(bytes.toString(), '{"signed":{}}');
    assert.equal(clientCertificates.at(-1), true);
    assert.deepEqual(fetcher.failures, []);
    const anonymous = new TufFetcher({ ca: tls.caPem });
    await anonymous.downloadBytes(`${url}/tuf/p/timestamp.json`, 1024);
    assert.equal(clientCertificates.at(-1), false);
  });

  it('answers a missing next root with DownloadHTTPError 404, which tuf-js reads as "no newer root" (TUF §5.3.3), not a failure', async () => {
    const fetcher = new TufFetcher({ ca: tls.caPem });
    await assert.rejects(
      fetcher.downloadBytes(`${url}/tuf/p/2.root.json`, 1024),
      (error: unknown) => error instanceof DownloadHTTPError && error.statusCode === 404,
    );
    assert.deepEqual(fetcher.failures, []);
  });

  it('records other HTTP errors and unreachable servers as transport failures', async () => {
    const fetcher = new TufFetcher({ ca: tls.caPem });
    await assert.rejects(
      fetcher.downloadBytes(`${url}/tuf/p/broken.json`, 1024),
      (error: unknown) => error instanceof DownloadHTTPError && error.statusCode === 500,
    );
    await assert.rejects(fetcher.downloadBytes(`${url}/tuf/p/1.snapshot.json`, 1024), DownloadHTTPError);
    await assert.rejects(fetcher.downloadBytes('https://127.0.0.1:1/tuf/p/timestamp.json', 1024));
    assert.deepEqual(
      fetcher.failures.map((failure) => failure.status),
      [500, 404, null],
    );
  });

  it('refuses a server whose certificate does not chain to the given CA', async () => {
    const fetcher = new TufFetcher({ ca: makeTlsFixture().caPem });
    await assert.rejects(fetcher.downloadBytes(`${url}/tuf/p/timestamp.json`, 1024));
    assert.equal(fetcher.failures.length, 1);
    assert.match(fetcher.failures[0]!.detail, /certificate|UNABLE_TO|self.signed/i);
  });

  it('stops at the length tuf-js allows (an endless-data attack, TUF §5.4.1)', async () => {
    const fetcher = new TufFetcher({ ca: tls.caPem });
    await assert.rejects(fetcher.downloadBytes(`${url}/tuf/p/big.bin`, 1000), DownloadLengthMismatchError);
  });
});
