import { readFileSync } from 'node:fs';
import { AccessService } from '../access/index.ts';
import {
  VigilError,
  ed25519SignerFromPem,
  installationFiles,
  readInstallationConfig,
  resolveDatabase,
  systemClock,
  type Clock,
  type InstallationConfig,
  type InstallationFiles,
} from '../core/index.ts';
import { Ledger } from '../ledger/index.ts';
import { ProductService } from '../products/index.ts';
import { Store } from '../store/index.ts';

/** Every service of one installation, wired together over one store. */
export interface Platform {
  files: InstallationFiles;
  config: InstallationConfig;
  clock: Clock;
  store: Store;
  ledger: Ledger;
  access: AccessService;
  products: ProductService;
  close(): Promise<void>;
}

export interface OpenPlatformOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  clock?: Clock;
}

export function wireServices(options: {
  files: InstallationFiles;
  config: InstallationConfig;
  store: Store;
  clock: Clock;
}): Platform {
  const { files, config, store, clock } = options;
  const signer = ed25519SignerFromPem(readFileSync(files.ledgerKey, 'utf8'));
  const ledger = new Ledger({ store, signer, origin: config.origin, clock });
  return {
    files,
    config,
    clock,
    store,
    ledger,
    access: new AccessService({ store, ledger, clock }),
    products: new ProductService({ store, ledger, clock }),
    close: () => store.close(),
  };
}

/** Opens an initialised installation: reads its files, migrates its store, checks they belong together. */
export async function openPlatform(options: OpenPlatformOptions): Promise<Platform> {
  const files = installationFiles(options.dataDir);
  const config = readInstallationConfig(files);
  const store = Store.open(resolveDatabase(files, config, options.databaseUrl));
  try {
    await store.migrate();
    const row = await store.db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', 'install_id')
      .executeTakeFirst();
    if (row?.value !== config.installId) {
      throw new VigilError(
        'CONFIG_STORE_MISMATCH',
        'invalid',
        `the database at ${store.location} does not belong to installation ${config.installId}`,
      );
    }
    return wireServices({ files, config, store, clock: options.clock ?? systemClock });
  } catch (error) {
    await store.close();
    throw error;
  }
}
