export { buildAdminServer, buildDeviceServer, loggerOptions, version } from './server.ts';
export { startServer, type RunningServer } from './serve.ts';
export { openPlatform, wireServices, type Platform } from './platform.ts';
export { initInstallation, type InitResult } from './installation.ts';
export { problemOf } from './problem.ts';
