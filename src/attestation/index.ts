export { AttestationNonces, defaultNonceSeconds, type IssuedNonce } from './nonces.ts';
export { attestationDeviceRoutes } from './device-routes.ts';
export * as tpm from './tpm/index.ts';
export * as dice from './dice/index.ts';
