import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessService } from '../access/index.ts';
import { Attestation, EndorsementRoots, defaultNonceSeconds } from '../attestation/index.ts';
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
import {
  Identity,
  SoftwareKeystore,
  keystoreConfigFromEnvironment,
  loadMasterKey,
  openKeystore,
} from '../identity/index.ts';
import { Ledger } from '../ledger/index.ts';
import { ProductService } from '../products/index.ts';
import { Store } from '../store/index.ts';
import { Updates } from '../updates/index.ts';
import { Vulns } from '../vulns/index.ts';
import { version } from '../core/index.ts';

/** Every service of one installation, wired together over one store. */
export interface Platform {
  files: InstallationFiles;
  config: InstallationConfig;
  clock: Clock;
  store: Store;
  ledger: Ledger;
  access: AccessService;
  products: ProductService;
  identity: Identity;
  attestation: Attestation;
  updates: Updates;
  vulns: Vulns;
  close(): Promise<void>;
}

export interface OpenPlatformOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  clock?: Clock;
  /** Where relying parties reach the status listener (embedded in certificates as CRL and OCSP URLs). */
  statusBaseUrl?: string | undefined;
}

/** The status listener as relying parties reach it: VIGIL_STATUS_URL, else http://<status listener>. */
export function statusBaseUrl(statusListen: { host: string; port: number } | undefined): string {
  const configured = process.env.VIGIL_STATUS_URL;
  if (configured !== undefined && configured !== '') return configured;
  const listen = statusListen ?? { host: '127.0.0.1', port: 8081 };
  const host = listen.host.includes(':')
    ? `[${listen.host}]`
    : listen.host === '0.0.0.0'
      ? '127.0.0.1'
      : listen.host;
  return `http://${host}:${listen.port}`;
}

export function wireServices(options: {
  files: InstallationFiles;
  config: InstallationConfig;
  store: Store;
  clock: Clock;
  statusBaseUrl?: string | undefined;
}): Platform {
  const { files, config, store, clock } = options;
  const signer = ed25519SignerFromPem(readFileSync(files.ledgerKey, 'utf8'));
  const ledger = new Ledger({ store, signer, origin: config.origin, clock });
  // CA keys live where VIGIL_KEYSTORE says; TLS and OCSP keys are always software keys.
  const keystoreConfig = keystoreConfigFromEnvironment({ store, masterKeyPath: files.masterKey, clock });
  const keystore = openKeystore(keystoreConfig);
  const masterKey = loadMasterKey(files.masterKey);
  const softwareKeystore =
    keystore instanceof SoftwareKeystore ? keystore : new SoftwareKeystore({ store, masterKey, clock });
  const identity = new Identity({
    store,
    ledger,
    clock,
    keystore,
    softwareKeystore,
    statusBaseUrl: options.statusBaseUrl ?? statusBaseUrl(undefined),
  });
  const products = new ProductService({ store, ledger, clock });
  const attestation = new Attestation({
    store,
    ledger,
    clock,
    identity,
    softwareKeystore,
    // Every process derives the same nonce MAC key, so any of them can check any nonce.
    nonceKey: Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'vigil attestation nonce MAC', 32)),
    nonceSeconds: Number(process.env.VIGIL_ATTESTATION_NONCE_SECONDS ?? defaultNonceSeconds),
    endorsementRoots:
      process.env.VIGIL_TPM_EK_ROOTS === undefined || process.env.VIGIL_TPM_EK_ROOTS === ''
        ? undefined
        : EndorsementRoots.fromPemFile(process.env.VIGIL_TPM_EK_ROOTS),
    build: version,
  });
  const updates = new Updates({
    store,
    ledger,
    clock,
    products,
    identity,
    referenceValues: attestation.referenceValues,
    keystore,
    onlineKeystore: softwareKeystore,
    artifactDir: process.env.VIGIL_ARTIFACT_DIR || join(files.dir, 'artifacts'),
    artifactMaxBytes:
      process.env.VIGIL_ARTIFACT_MAX_BYTES === undefined || process.env.VIGIL_ARTIFACT_MAX_BYTES === ''
        ? undefined
        : Number(process.env.VIGIL_ARTIFACT_MAX_BYTES),
  });
  return {
    files,
    config,
    clock,
    store,
    ledger,
    access: new AccessService({ store, ledger, clock }),
    products,
    identity,
    attestation,
    updates,
    vulns: new Vulns({ store, ledger, clock, updates, build: version }),
    async close() {
      await keystore.close();
      if (softwareKeystore !== keystore) await softwareKeystore.close();
      await store.close();
    },
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
    return wireServices({
      files,
      config,
      store,
      clock: options.clock ?? systemClock,
      statusBaseUrl: options.statusBaseUrl,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
}
