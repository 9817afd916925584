export {
  buildAdminServer,
  buildDeviceServer,
  buildStatusServer,
  deviceTls,
  loggerOptions,
  version,
} from './server.ts';
export { startServer, startDeviceWorker, type RunningServer } from './serve.ts';
export { openPlatform, wireServices, statusBaseUrl, type Platform } from './platform.ts';
export { initInstallation, type InitResult } from './installation.ts';
export { problemOf } from './problem.ts';
