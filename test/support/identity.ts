import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  statusBaseUrl,
  initInstallation,
  openPlatform,
  startServer,
  type Platform,
  type RunningServer,
} from '../../src/api/index.ts';
import type { Clock } from '../../src/core/index.ts';
import { certificateToPem } from '../../src/identity/index.ts';
import { systemActor } from '../../src/ledger/index.ts';
import { createTestDatabase, type TestDatabase } from './stores.ts';
import { freePort } from './server-process.ts';

/** Real time, shifted by whatever a test moves it (outside peers like OpenSSL use real time too). */
export class ShiftedClock implements Clock {
  private offset = 0;
  now(): Date {
    return new Date(Date.now() + this.offset);
  }
  advance(milliseconds: number): void {
    this.offset += milliseconds;
  }
  reset(): void {
    this.offset = 0;
  }
}

export interface DeviceKeys {
  keyPem: string;
  keyFile: string;
  csrBase64: string;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: any;
}

export interface IdentityTestbed {
  platform: Platform;
  /** The installation's clock: real time at start, moved only by tests that say so (then set back). */
  clock: ShiftedClock;
  server: RunningServer;
  adminUrl: string;
  deviceUrl: string;
  adminToken: string;
  productId: string;
  /** PEM bundle of the root and issuing CAs, as /cacerts returns them. */
  caPem(): Promise<string>;
  dir: string;
  database: TestDatabase;
  /** A new device key and a CSR for `commonName` made by openssl (P-256 unless told). */
  makeKeys(commonName: string, keyArgs?: string[]): DeviceKeys;
  register(serial: string, bootstrap?: unknown): Promise<{ id: string; enrollmentSecret?: string }>;
  /** An HTTPS request to the device endpoint, trusting our root, optionally with a client certificate. */
  device(
    method: string,
    path: string,
    options?: { body?: string | Buffer; contentType?: string; cert?: string; key?: string; basic?: string },
  ): Promise<HttpsResponse>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

/** A running installation (admin and device listeners on free ports) with one product and its issuing CA. */
export async function startIdentityTestbed(kind: 'sqlite' | 'postgres' = 'sqlite'): Promise<IdentityTestbed> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-identity-'));
  const database = await createTestDatabase(kind);
  const clock = new ShiftedClock();
  await initInstallation({ dataDir: join(dir, 'data'), databaseUrl: database.url, clock });
  const product = await (async () => {
    const setup = await openPlatform({ dataDir: join(dir, 'data'), databaseUrl: database.url, clock });
    try {
      const created = await setup.products.create(systemActor, {
        name: 'Infusion pump',
        model: 'IP-200',
        hardwareRevisions: ['A', 'B'],
        regimes: ['MDR'],
        supportStart: '2026-01-01',
        supportEnd: '2036-01-01',
      });
      await setup.identity.createIssuingCa(systemActor, created);
      return created;
    } finally {
      await setup.close();
    }
  })();
  // Ports chosen free can be taken by a concurrent test before we bind them: try again on new ones.
  let started: { platform: Platform; server: RunningServer } | undefined;
  for (let attempt = 0; started === undefined; attempt++) {
    const listen = { host: '127.0.0.1', port: await freePort() };
    const deviceListen = { host: '127.0.0.1', port: await freePort() };
    const statusListen = { host: '127.0.0.1', port: await freePort() };
    const candidate = await openPlatform({
      dataDir: join(dir, 'data'),
      databaseUrl: database.url,
      statusBaseUrl: statusBaseUrl(statusListen),
      clock,
    });
    try {
      started = {
        platform: candidate,
        server: await startServer(candidate, listen, deviceListen, statusListen),
      };
    } catch (error) {
      await candidate.close();
      if (attempt >= 4 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
  const { platform, server } = started;
  const adminToken = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
  let counter = 0;

  const caPem = async () => {
    const certificates = await platform.identity.authorities.trustedCertificates();
    return certificates.map(certificateToPem).join('');
  };

  const testbed: IdentityTestbed = {
    platform,
    clock,
    server,
    adminUrl: server.adminUrl,
    deviceUrl: server.deviceUrl,
    adminToken,
    productId: product.id,
    caPem,
    dir,
    database,
    makeKeys(commonName, keyArgs = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']) {
      const keyFile = join(dir, `device-${++counter}.key`);
      const keyPem = execFileSync('openssl', keyArgs).toString();
      writeFileSync(keyFile, keyPem);
      const csr = execFileSync('openssl', [
        'req',
        '-new',
        '-key',
        keyFile,
        '-subj',
        `/CN=${commonName}`,
        '-outform',
        'DER',
      ]);
      return { keyPem, keyFile, csrBase64: csr.toString('base64') };
    },
    async register(serial, bootstrap = { method: 'secret' }) {
      const response = await testbed.admin('POST', '/api/v1/devices', {
        serial,
        productId: product.id,
        hardwareRevision: 'A',
        bootstrap,
      });
      if (response.status !== 201) throw new Error(`registration failed: ${JSON.stringify(response.json)}`);
      return response.json;
    },
    async device(method, path, options = {}) {
      const ca = await caPem();
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (options.contentType !== undefined) headers['content-type'] = options.contentType;
        if (options.basic !== undefined)
          headers.authorization = `Basic ${Buffer.from(options.basic).toString('base64')}`;
        const request = httpsRequest(
          `${server.deviceUrl}${path}`,
          { method, headers, ca, cert: options.cert, key: options.key, agent: false },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              const body = Buffer.concat(chunks);
              let json: unknown;
              try {
                json = JSON.parse(body.toString('utf8'));
              } catch {
                json = undefined;
              }
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body,
                text: body.toString('utf8'),
                json,
              });
            });
          },
        );
        request.on('error', reject);
        if (options.body !== undefined) request.write(options.body);
        request.end();
      });
    },
    async admin(method, path, body) {
      const response = await fetch(`${server.adminUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
    },
    async close() {
      await server.close();
      await platform.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return testbed;
}

/** The certificates of a base64 certs-only PKCS#7 (what EST answers), as PEM, read by openssl. */
export function pkcs7CertificatesPem(base64Body: string, dir: string): string {
  const file = join(dir, `p7-${Math.random().toString(36).slice(2)}.der`);
  writeFileSync(file, Buffer.from(base64Body.replace(/\s+/g, ''), 'base64'));
  return execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-in', file, '-print_certs']).toString();
}
