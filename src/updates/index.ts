export { Updates, type UpdatesOptions } from './updates.ts';
export { updatesRoutes } from './routes.ts';
export { updatesDeviceRoutes } from './device-routes.ts';
export { updatesCommands } from './commands.ts';
export { defaultTufExpiries, type TufExpiries, type RepositoryStatus } from './repository.ts';
export type { Release, ReleaseInput, ReleaseArtifact, SbomReader, PublicationGate } from './releases.ts';
export type { Fleet } from './fleet.ts';
export * as tuf from './tuf/index.ts';
