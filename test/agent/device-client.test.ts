import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeviceClient } from '../../src/agent/index.ts';
import { isVigilError } from '../../src/core/index.ts';
import { must, requireCommands } from '../support/pki-peers.ts';
import { hasCommand } from '../support/peers.ts';
import { freePort } from '../support/server-process.ts';

/** A self-signed P-256 certificate for 127.0.0.1, made by openssl. */
async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  await must('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

describe('DeviceClient', () => {
  let dir: string;
  let server: Server | undefined;
  let url: URL;
  let identity: { cert: string; key: string };
  let stranger: { cert: string; key: string };
  const seen: { method: string; path: string; body: string; clientCertificate: boolean }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-device-client-'));
    if (!hasCommand('openssl')) return;
    identity = await selfSigned(dir, 'server');
    stranger = await selfSigned(dir, 'stranger');
    server = createServer(
      { ...identity, requestCert: true, rejectUnauthorized: false },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const socket = request.socket as import('node:tls').TLSSocket;
          seen.push({
            method: request.method ?? '',
            path: request.url ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
            clientCertificate: Object.keys(socket.getPeerCertificate()).length > 0,
          });
          if (request.url === '/refuse') {
            response.writeHead(400, { 'content-type': 'application/problem+json' });
            response.end(
              JSON.stringify({
                type: 'about:blank',
                title: 'Bad Request',
                status: 400,
                code: 'ATTESTATION_NONCE_REUSED',
                detail: 'the nonce was already used',
              }),
            );
          } else if (request.url === '/broken') {
            response.writeHead(502, { 'content-type': 'text/html' });
            response.end('<html>bad gateway</html>');
          } else if (request.url === '/not-json') {
            response.writeHead(201, { 'content-type': 'text/plain' });
            response.end('ok');
          } else {
            response.writeHead(201, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ nonce: 'AAAA', expiresAt: '2030-01-01T00:00:00Z' }));
          }
        });
      },
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (ca = identity.cert, server = url) =>
    new DeviceClient({ server, ca, cert: stranger.cert, key: stranger.key, timeoutMs: 5_000 });

  it('posts JSON with the client certificate and returns the JSON answer', async (t) => {
    if (!requireCommands(t, 'openssl')) return;
    const answer = await client().post<{ nonce: string }>('/device/v1/attestation/nonce', { a: 1 });
    assert.equal(answer.nonce, 'AAAA');
    assert.deepEqual(seen.at(-1), {
      method: 'POST',
      path: '/device/v1/attestation/nonce',
      body: '{"a":1}',
      clientCertificate: true,
    });
  });

  it("turns a problem document into a typed error with the server's code and detail", async (t) => {
    if (!requireCommands(t, 'openssl')) return;
    await assert.rejects(
      client().post('/refuse', {}),
      (error: unknown) =>
        isVigilError(error, 'ATTESTATION_NONCE_REUSED') &&
        error.kind === 'invalid' &&
        /the nonce was already used/.test(error.message) &&
        error.facts?.status === 400,
    );
    await assert.rejects(client().get('/broken'), (error: unknown) =>
      isVigilError(error, 'AGENT_REQUEST_FAILED'),
    );
    await assert.rejects(client().get('/not-json'), (error: unknown) =>
      isVigilError(error, 'AGENT_RESPONSE_MALFORMED'),
    );
  });

  it('names an untrusted server certificate and an unreachable server', async (t) => {
    if (!requireCommands(t, 'openssl')) return;
    await assert.rejects(client(stranger.cert).get('/'), (error: unknown) =>
      isVigilError(error, 'AGENT_SERVER_UNTRUSTED'),
    );
    const closed = new URL(`https://127.0.0.1:${await freePort()}`);
    await assert.rejects(
      client(identity.cert, closed).get('/'),
      (error: unknown) =>
        isVigilError(error, 'AGENT_SERVER_UNREACHABLE') && /ECONNREFUSED/.test(error.message),
    );
  });
});
