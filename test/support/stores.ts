import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Store } from '../../src/store/index.ts';
import { peersRequired } from './peers.ts';

/** The PostgreSQL server the store suites run against a second time (CI: the machine's own). */
export const postgresAdminUrl =
  process.env.VIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let postgresReachable: Promise<boolean> | undefined;

export function isPostgresReachable(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresReachable;
}

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** For PostgreSQL, the URL of a fresh database; undefined for SQLite. */
  url: string | undefined;
  /** For SQLite, the database file. */
  sqlitePath: string | undefined;
  open(): Store;
  drop(): Promise<void>;
}

/** A fresh, empty database of the given kind, dropped by `drop()`. */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sqlite-'));
    const sqlitePath = join(dir, 'vigil.db');
    return {
      kind,
      url: undefined,
      sqlitePath,
      open: () => Store.open({ sqlitePath }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `vigil_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    sqlitePath: undefined,
    open: () => Store.open({ databaseUrl: url.toString(), poolSize: 5 }),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * The store kinds a suite runs on: SQLite always; PostgreSQL when reachable (and always in CI,
 * where an unreachable server fails the suite rather than skipping it).
 */
export async function storeKinds(): Promise<('sqlite' | 'postgres')[]> {
  if (await isPostgresReachable()) return ['sqlite', 'postgres'];
  if (peersRequired)
    throw new Error(
      `PostgreSQL is not reachable at ${postgresAdminUrl}; VIGIL_REQUIRE_PEERS=1 forbids skipping`,
    );
  console.error(
    `\n*** PEER MISSING: PostgreSQL not reachable at ${postgresAdminUrl}: running SQLite only ***\n`,
  );
  return ['sqlite'];
}
