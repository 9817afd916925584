import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAdminServer, initInstallation, openPlatform, type Platform } from '../../src/api/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { createTestDatabase, type TestDatabase } from './stores.ts';

export interface TestPlatform {
  platform: Platform;
  app: FastifyInstance;
  adminToken: string;
  clock: ManualClock;
  dataDir: string;
  database: TestDatabase;
  /** Sends an authenticated JSON request through the admin server (no socket). */
  call(
    method: string,
    url: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: any; text: string; headers: Record<string, unknown> }>;
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
  return {
    platform,
    app,
    adminToken,
    clock,
    dataDir,
    database,
    async call(method, url, body, token = adminToken) {
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token === '' ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let json: unknown;
      try {
        json = response.json();
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, json, text: response.body, headers: response.headers };
    },
    async close() {
      await app.close();
      await platform.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
