export { Identity, type IdentityOptions } from './identity.ts';
export { identityRoutes } from './routes.ts';
export { deviceRoutes, deviceAuthenticationHook, statusRoutes } from './device-routes.ts';
export { identityCommands } from './commands.ts';
export type { Authority } from './authorities.ts';
export type { Device, Registration, RegistrationResult } from './devices.ts';
export {
  SoftwareKeystore,
  Pkcs11Keystore,
  openKeystore,
  keystoreConfigFromEnvironment,
  loadMasterKey,
  type Keystore,
  type KeyAlgorithm,
} from './keystore/index.ts';
export {
  certificateToPem,
  DerReader,
  DerCursor,
  Tag as DerTag,
  contextTag,
  type DerElement,
} from './x509/index.ts';
