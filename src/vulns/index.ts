export { Vulns, type VulnsOptions } from './vulns.ts';
export { vulnsRoutes } from './routes.ts';
export { vulnsCommands } from './commands.ts';
export type { StoredSbom } from './sboms.ts';
export type { FindingView, VexState } from './findings.ts';
export type { ImportReport } from './advisory-store.ts';
