export {
  AccessService,
  actorOf,
  type Caller,
  type Principal,
  type TokenInfo,
  type AccessReport,
} from './service.ts';
export { authenticationHook, usageHook, callerOf } from './http.ts';
export { accessRoutes } from './routes.ts';
export { accessCommands } from './commands.ts';
export {
  roles,
  findRole,
  grants,
  isScope,
  allScopes,
  scopePattern,
  lifecycleStages,
  type Scope,
  type LifecycleStage,
} from './scopes.ts';
