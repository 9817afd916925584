import type { Clock } from '../../core/index.ts';
import { VigilError } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import { defaultPkcs11Module, Pkcs11Keystore } from './pkcs11.ts';
import { loadMasterKey, SoftwareKeystore } from './software.ts';

export type { KeyAlgorithm, KeyRef, Keystore, KeystoreBackend, SignatureHash } from './keystore.ts';
export { SoftwareKeystore, loadMasterKey, type SoftwareKeystoreOptions } from './software.ts';
export { Pkcs11Keystore, defaultPkcs11Module, type Pkcs11KeystoreOptions } from './pkcs11.ts';
export { keyAlgorithms, signatureHashes } from './algorithms.ts';

export type KeystoreConfig =
  | { backend: 'software'; store: Store; masterKey: Buffer; clock?: Clock }
  | { backend: 'pkcs11'; store: Store; modulePath?: string; tokenLabel: string; pin: string; clock?: Clock };

/** Opens the keystore a configuration names; the caller owns it and must `close()` it. */
export function openKeystore(config: KeystoreConfig): SoftwareKeystore | Pkcs11Keystore {
  switch (config.backend) {
    case 'software':
      return new SoftwareKeystore(config);
    case 'pkcs11':
      return new Pkcs11Keystore(config);
    default:
      throw new VigilError(
        'KEYSTORE_CONFIG_INVALID',
        'internal',
        `unknown keystore backend ${JSON.stringify((config as { backend: unknown }).backend)}`,
      );
  }
}

/**
 * The keystore configuration of the environment: `VIGIL_KEYSTORE` (`software`, the default, or
 * `pkcs11`); for PKCS#11 `VIGIL_PKCS11_MODULE` (default SoftHSM2's library), `VIGIL_PKCS11_TOKEN`
 * (token label) and `VIGIL_PKCS11_PIN`; for software the master key from `VIGIL_MASTER_KEY` or the
 * file at `masterKeyPath` (see `loadMasterKey`).
 */
export function keystoreConfigFromEnvironment(options: {
  store: Store;
  masterKeyPath?: string;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}): KeystoreConfig {
  const env = options.env ?? process.env;
  const backend = env.VIGIL_KEYSTORE?.trim() || 'software';
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  if (backend === 'software') {
    return { backend, store: options.store, masterKey: loadMasterKey(options.masterKeyPath, env), ...clock };
  }
  if (backend === 'pkcs11') {
    const tokenLabel = env.VIGIL_PKCS11_TOKEN;
    const pin = env.VIGIL_PKCS11_PIN;
    if (tokenLabel === undefined || tokenLabel === '' || pin === undefined || pin === '') {
      throw new VigilError(
        'KEYSTORE_CONFIG_INVALID',
        'internal',
        'VIGIL_KEYSTORE=pkcs11 needs VIGIL_PKCS11_TOKEN and VIGIL_PKCS11_PIN',
      );
    }
    return {
      backend,
      store: options.store,
      modulePath: env.VIGIL_PKCS11_MODULE || defaultPkcs11Module,
      tokenLabel,
      pin,
      ...clock,
    };
  }
  throw new VigilError(
    'KEYSTORE_CONFIG_INVALID',
    'internal',
    `VIGIL_KEYSTORE must be software or pkcs11, not ${JSON.stringify(backend)}`,
  );
}
