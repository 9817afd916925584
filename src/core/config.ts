import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VigilError } from './errors.ts';

/**
 * The data directory of one installation. `vigil init` writes it; every process that serves or
 * verifies the installation reads it.
 */
export interface InstallationFiles {
  dir: string;
  config: string;
  sqlite: string;
  ledgerKey: string;
  masterKey: string;
  adminToken: string;
}

export interface InstallationConfig {
  installId: string;
  origin: string;
  store: 'sqlite' | 'postgres';
  createdAt: string;
}

export function installationFiles(dataDir: string): InstallationFiles {
  const dir = resolve(dataDir);
  return {
    dir,
    config: join(dir, 'vigil.json'),
    sqlite: join(dir, 'vigil.db'),
    ledgerKey: join(dir, 'ledger.key'),
    masterKey: join(dir, 'master.key'),
    adminToken: join(dir, 'admin.token'),
  };
}

export function readInstallationConfig(files: InstallationFiles): InstallationConfig {
  if (!existsSync(files.config)) {
    throw new VigilError(
      'CONFIG_NOT_INITIALIZED',
      'invalid',
      `${files.dir} is not a Vigil data directory (run: vigil init --data ${files.dir})`,
    );
  }
  try {
    const parsed = JSON.parse(readFileSync(files.config, 'utf8')) as Partial<InstallationConfig>;
    if (typeof parsed.installId !== 'string' || typeof parsed.origin !== 'string')
      throw new Error('fields missing');
    return {
      installId: parsed.installId,
      origin: parsed.origin,
      store: parsed.store === 'postgres' ? 'postgres' : 'sqlite',
      createdAt: String(parsed.createdAt ?? ''),
    };
  } catch (error) {
    throw new VigilError('CONFIG_INVALID', 'invalid', `${files.config} is not a valid installation file`, {
      cause: error,
    });
  }
}

/**
 * The database an installation uses: an explicit URL (flag, then VIGIL_DATABASE_URL) wins;
 * otherwise the embedded SQLite file. A PostgreSQL installation without a URL is an error.
 */
export function resolveDatabase(
  files: InstallationFiles,
  config: InstallationConfig | undefined,
  url: string | undefined,
): { databaseUrl?: string; sqlitePath?: string } {
  const chosen = url ?? process.env.VIGIL_DATABASE_URL;
  if (chosen !== undefined && chosen !== '') return { databaseUrl: chosen };
  if (config?.store === 'postgres') {
    throw new VigilError(
      'CONFIG_DATABASE_MISSING',
      'invalid',
      'this installation keeps its data in PostgreSQL: pass --database or set VIGIL_DATABASE_URL',
    );
  }
  return { sqlitePath: files.sqlite };
}

/** `HOST:PORT` as given to --listen and --device-listen. */
export function parseListenAddress(value: string, flag: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw new VigilError('CONFIG_LISTEN_INVALID', 'invalid', `${flag} must be HOST:PORT, got "${value}"`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}
