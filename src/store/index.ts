export {
  Store,
  loadSqlite,
  isUniqueViolation,
  isForeignKeyViolation,
  type Dialect,
  type Queryable,
  type Tx,
  type OpenStoreOptions,
} from './store.ts';
export type * from './schema.ts';
