import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAdminServer, initInstallation, openPlatform, type Platform } from '../../src/api/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { createTestDatabase, type TestDatabase } from './stores.ts';

export interface ApiResponse {
  status: number;
  json: any;
  text: string;
  headers: Record<string, unknown>;
}

export interface TestPlatform {
  platform: Platform;
  app: FastifyInstance;
  adminToken: string;
  clock: ManualClock;
  dataDir: string;
  database: TestDatabase;
  /** Sends an authenticated JSON request through the admin server (no socket). */
  call(method: string, url: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** Sends a raw request: any payload and content-type (or none), with the admin token unless told. */
  send(
    method: string,
    url: string,
    options?: {
      payload?: string | Buffer | undefined;
      contentType?: string | undefined;
      token?: string | undefined;
    },
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** A whole installation (init + open + admin server) on a fresh database, driven in-process. */
export async function startTestPlatform(
  kind: 'sqlite' | 'postgres' = 'sqlite',
  clock = new ManualClock('2026-11-26T00:00:00Z'),
): Promise<TestPlatform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-platform-'));
  const database = await createTestDatabase(kind);
  await initInstallation({ dataDir, databaseUrl: database.url, clock });
  const platform = await openPlatform({ dataDir, databaseUrl: database.url, clock });
  const app = await buildAdminServer(platform);
  await app.ready();
  const adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const send: TestPlatform['send'] = async (method, url, options = {}) => {
    const token = options.token ?? adminToken;
    const headers: Record<string, string> = {};
    if (token !== '') headers.authorization = `Bearer ${token}`;
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    const response = await app.inject({ method: method as 'GET', url, headers, payload: options.payload });
    let json: unknown;
    try {
      json = response.json();
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, json, text: response.body, headers: response.headers };
  };
  return {
    platform,
    app,
    adminToken,
    clock,
    dataDir,
    database,
    call(method, url, body, token = adminToken) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      return send(method, url, {
        payload,
        contentType: body === undefined ? undefined : 'application/json',
        token,
      });
    },
    send,
    async close() {
      await app.close();
      await platform.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
