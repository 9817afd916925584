// Fixtures for the agent's unit tests: a TLS CA and server certificate for 127.0.0.1 (made with the
// agent's own certificate builder), and a tiny TUF repository signed by hand (canonical JSON and
// Ed25519, TUF specification §4), independent of the server's TUF code. Everything is made in
// memory on each run; nothing is kept on disk.
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { canonicalize } from '@tufjs/canonical-json';
import {
  buildCertificate,
  commonNameOnly,
  extensions,
  generateP256Key,
} from '../../src/agent/certificates.ts';
import { contextTag, sequence, tlv, toPem } from '../../src/agent/der.ts';
import { createDeviceId } from '../../src/agent/software-dice.ts';

export interface TlsFixture {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** A CA, a server certificate for IP 127.0.0.1 and a client certificate, all P-256. */
export function makeTlsFixture(): TlsFixture {
  const ca = createDeviceId('Agent test CA');
  const leaf = (commonName: string, ip: boolean) => {
    const { privateKey, publicKey } = generateP256Key();
    const san = {
      oid: '2.5.29.17',
      critical: false,
      // RFC 5280 §4.2.1.6: iPAddress [7] IMPLICIT OCTET STRING.
      value: sequence(tlv(contextTag(7, false), Buffer.from([127, 0, 0, 1]))),
    };
    const der = buildCertificate(
      {
        serial: Buffer.from(createHash('sha256').update(commonName).digest().subarray(0, 8)),
        issuer: commonNameOnly('Agent test CA'),
        subject: commonNameOnly(commonName),
        notBefore: new Date(Date.now() - 3_600_000),
        notAfter: new Date(Date.now() + 86_400_000),
        publicKey,
        extensions: [
          extensions.basicConstraints(false),
          extensions.keyUsage('digitalSignature'),
          extensions.authorityKeyIdentifier(createPublicKey(ca.privateKey)),
          ...(ip ? [san] : []),
        ],
      },
      ca.privateKey,
    );
    return {
      pem: toPem(der, 'CERTIFICATE'),
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    };
  };
  const server = leaf('127.0.0.1', true);
  const client = leaf('SN-TEST', false);
  return {
    caPem: toPem(ca.certificate, 'CERTIFICATE'),
    serverCertPem: server.pem,
    serverKeyPem: server.key,
    clientCertPem: client.pem,
    clientKeyPem: client.key,
  };
}

/** An HTTPS server on 127.0.0.1 answering from `files` (path → bytes), counting requests. */
export async function serveFiles(
  tls: TlsFixture,
  files: Map<string, Buffer | number>,
  options: { requestCert?: boolean } = {},
): Promise<{ server: Server; url: string; requests: string[]; clientCertificates: boolean[] }> {
  const requests: string[] = [];
  const clientCertificates: boolean[] = [];
  const server = createServer(
    {
      cert: tls.serverCertPem,
      key: tls.serverKeyPem,
      ca: tls.caPem,
      requestCert: options.requestCert ?? false,
      rejectUnauthorized: false,
    },
    (request, response) => {
      requests.push(request.url ?? '');
      const peer = (request.socket as import('node:tls').TLSSocket).getPeerCertificate();
      clientCertificates.push(peer !== null && Object.keys(peer).length > 0);
      const body = files.get(request.url ?? '');
      if (typeof body === 'number') {
        response.writeHead(body).end();
        return;
      }
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-length': body.length }).end(body);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `https://127.0.0.1:${port}`, requests, clientCertificates };
}

// --- a tiny TUF repository -----------------------------------------------------------------

interface TufKey {
  id: string;
  json: { keytype: string; scheme: string; keyval: { public: string } };
  privateKey: KeyObject;
}

function tufKey(): TufKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  // Key IDs: SHA-256 of the key's canonical JSON (as python-tuf computes them).
  return { id: createHash('sha256').update(canonicalize(json)).digest('hex'), json, privateKey };
}

function signed(role: Record<string, unknown>, key: TufKey): Buffer {
  const sig = sign(null, Buffer.from(canonicalize(role)), key.privateKey).toString('hex');
  return Buffer.from(JSON.stringify({ signed: role, signatures: [{ keyid: key.id, sig }] }));
}

/** `YYYY-MM-DDTHH:MM:SSZ`, as TUF wants it. */
function expiresIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface TinyRepository {
  /** Path under the server (`/tuf/<product>/...`) → bytes. */
  files: Map<string, Buffer>;
  root: Buffer;
  productId: string;
  target: { path: string; bytes: Buffer; sha256: string };
}

/**
 * A consistent-snapshot repository with one key for every role and one target
 * (`1.0.0/firmware.bin`) carrying Vigil's custom fields; `timestampExpiresMs` may be negative.
 */
export function tinyRepository(
  options: { timestampExpiresMs?: number; custom?: Record<string, unknown> } = {},
): TinyRepository {
  const productId = '0192f0e4-1111-7000-8000-000000000001';
  const key = tufKey();
  const day = 86_400_000;
  const base = `/tuf/${productId}`;
  const role = { keyids: [key.id], threshold: 1 };
  const root = signed(
    {
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires: expiresIn(365 * day),
      consistent_snapshot: true,
      keys: { [key.id]: key.json },
      roles: { root: role, targets: role, snapshot: role, timestamp: role },
    },
    key,
  );
  const bytes = Buffer.from('tiny firmware 1.0.0\n'.repeat(64));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sha512 = createHash('sha512').update(bytes).digest('hex');
  const targets = signed(
    {
      _type: 'targets',
      spec_version: '1.0.31',
      version: 1,
      expires: expiresIn(90 * day),
      targets: {
        '1.0.0/firmware.bin': {
          length: bytes.length,
          hashes: { sha256, sha512 },
          custom: options.custom ?? {
            releaseId: '0192f0e4-2222-7000-8000-000000000002',
            version: '1.0.0',
            securityVersion: 3,
            hardwareRevisions: ['A'],
            securityUpdate: false,
            sbomDigest: null,
          },
        },
      },
    },
    key,
  );
  const snapshot = signed(
    {
      _type: 'snapshot',
      spec_version: '1.0.31',
      version: 1,
      expires: expiresIn(7 * day),
      meta: { 'targets.json': { version: 1 } },
    },
    key,
  );
  const timestamp = signed(
    {
      _type: 'timestamp',
      spec_version: '1.0.31',
      version: 1,
      expires: expiresIn(options.timestampExpiresMs ?? day),
      meta: { 'snapshot.json': { version: 1 } },
    },
    key,
  );
  const files = new Map<string, Buffer>([
    [`${base}/1.root.json`, root],
    [`${base}/timestamp.json`, timestamp],
    [`${base}/1.snapshot.json`, snapshot],
    [`${base}/1.targets.json`, targets],
    [`${base}/targets/1.0.0/${sha256}.firmware.bin`, bytes],
  ]);
  return { files, root, productId, target: { path: '1.0.0/firmware.bin', bytes, sha256 } };
}
