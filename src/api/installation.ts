import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { systemActor } from '../ledger/index.ts';
import {
  VigilError,
  generateEd25519PrivateKeyPem,
  generateMasterKey,
  installationFiles,
  newId,
  resolveDatabase,
  systemClock,
  toRfc3339,
  type Clock,
  type InstallationConfig,
} from '../core/index.ts';
import { Store } from '../store/index.ts';
import { wireServices, type Platform } from './platform.ts';

export interface InitResult {
  dataDir: string;
  installId: string;
  origin: string;
  verifierKey: string;
  adminTokenFile: string;
  store: string;
}

const adminTokenLifetimeDays = 365;

function writeSecret(path: string, content: string): void {
  // 'wx': never overwrite; mode 0600: readable by the owner only.
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
}

/**
 * Creates an installation: store, ledger signing key, keystore master key (both 0600), and the
 * first admin token in `admin.token` (0600). Refuses, changing nothing, if the directory is
 * already an installation or holds any of its files; `vigil.json` is written last, so a failed
 * run leaves no installation behind.
 */
export async function initInstallation(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  origin?: string | undefined;
  /** The organization named in the root CA's subject. */
  organization?: string | undefined;
  clock?: Clock;
}): Promise<InitResult> {
  const clock = options.clock ?? systemClock;
  const files = installationFiles(options.dataDir);
  const owned = [files.config, files.sqlite, files.ledgerKey, files.masterKey, files.adminToken];
  const present = owned.filter((path) => existsSync(path));
  if (present.length > 0) {
    throw new VigilError(
      'INIT_ALREADY_INITIALIZED',
      'conflict',
      `${files.dir} already holds an installation (${present.join(', ')})`,
    );
  }
  const installId = newId();
  const origin = options.origin ?? `vigil.local/${installId}`;
  if (!/^[\x21-\x7e]+$/.test(origin) || origin.includes('+')) {
    throw new VigilError(
      'INIT_ORIGIN_INVALID',
      'invalid',
      'the origin must be printable ASCII without spaces or "+"',
    );
  }
  const config: InstallationConfig = {
    installId,
    origin,
    store: options.databaseUrl !== undefined || process.env.VIGIL_DATABASE_URL ? 'postgres' : 'sqlite',
    createdAt: toRfc3339(clock.now()),
  };
  const dirExisted = existsSync(files.dir);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  let store: Store | undefined;
  let platform: Platform | undefined;
  try {
    writeSecret(files.ledgerKey, generateEd25519PrivateKeyPem());
    created.push(files.ledgerKey);
    writeSecret(files.masterKey, generateMasterKey());
    created.push(files.masterKey);

    store = Store.open(resolveDatabase(files, config, options.databaseUrl));
    if (store.dialect === 'sqlite') {
      created.push(files.sqlite, `${files.sqlite}-wal`, `${files.sqlite}-shm`);
      // SQLite gives its -wal and -shm files the database file's mode.
      chmodSync(files.sqlite, 0o600);
    }
    await store.migrate();
    await store.transaction(async (tx) => {
      const existing = await tx
        .selectFrom('meta')
        .select('value')
        .where('key', '=', 'install_id')
        .executeTakeFirst();
      if (existing !== undefined) {
        throw new VigilError(
          'INIT_ALREADY_INITIALIZED',
          'conflict',
          `the database already belongs to installation ${existing.value}`,
        );
      }
      await tx
        .insertInto('meta')
        .values([
          { key: 'install_id', value: installId },
          { key: 'origin', value: origin },
        ])
        .execute();
    });

    platform = wireServices({ files, config, store, clock });
    const admin = await platform.access.createPrincipal(systemActor, {
      kind: 'person',
      name: 'admin',
      roles: ['admin'],
    });
    const expiresAt = new Date(clock.now().getTime() + adminTokenLifetimeDays * 86_400_000).toISOString();
    const adminScopes = (await platform.access.scopesOfPrincipal(admin.id)).sort();
    const { secret } = await platform.access.issueToken(systemActor, {
      name: 'first admin token (vigil init)',
      scopes: adminScopes,
      expiresAt,
      principalId: admin.id,
    });
    await platform.identity.authorities.createRoot(systemActor, {
      algorithm: 'ecdsa-p384',
      commonName: `Vigil Root CA ${installId.slice(0, 8)}`,
      organization: options.organization ?? 'Vigil',
    });
    await platform.ledger.integrate();
    writeSecret(files.adminToken, `${secret}\n`);
    created.push(files.adminToken);
    writeSecret(files.config, `${JSON.stringify(config, null, 2)}\n`);
    return {
      dataDir: files.dir,
      installId,
      origin,
      verifierKey: platform.ledger.verifierKey,
      adminTokenFile: files.adminToken,
      store: store.location,
    };
  } catch (error) {
    for (const path of created) rmSync(path, { force: true });
    if (!dirExisted && readdirSync(files.dir).length === 0)
      rmSync(files.dir, { recursive: true, force: true });
    throw error;
  } finally {
    await platform?.close();
    if (platform === undefined) await store?.close();
  }
}
