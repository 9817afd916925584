import type { Generated } from 'kysely';

/**
 * Every table of the platform. Times are RFC 3339 UTC strings; binary columns are Buffers
 * (BLOB on SQLite, BYTEA on PostgreSQL); ids are UUIDv7 strings.
 */
export interface Database {
  meta: MetaTable;
  ledger_sequence: LedgerSequenceTable;
  ledger_entries: LedgerEntriesTable;
  ledger_nodes: LedgerNodesTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  principals: PrincipalsTable;
  role_bindings: RoleBindingsTable;
  tokens: TokensTable;
  token_scope_usage: TokenScopeUsageTable;
  products: ProductsTable;
  product_owners: ProductOwnersTable;
}

export interface MetaTable {
  key: string;
  value: string;
}

/** Single rows (`name` = 'append', 'integrate') that serialize appenders and the integrator. */
export interface LedgerSequenceTable {
  name: string;
  value: number;
}

export interface LedgerEntriesTable {
  idx: number;
  leaf: Buffer;
  leaf_hash: Buffer;
  type: string;
  subject: string | null;
  at: string;
}

/** Complete Merkle subtree hashes of level >= 1 (level 0 is `ledger_entries.leaf_hash`). */
export interface LedgerNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

export interface LedgerCheckpointsTable {
  size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}

export interface PrincipalsTable {
  id: string;
  kind: 'person' | 'service';
  name: string;
  email: string | null;
  created_at: string;
  disabled_at: string | null;
}

export interface RoleBindingsTable {
  principal_id: string;
  role: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  principal_id: string;
  name: string;
  token_hash: Buffer;
  scopes: string; // JSON array
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface TokenScopeUsageTable {
  token_id: string;
  scope: string;
  last_used_at: string;
}

export interface ProductsTable {
  id: string;
  name: string;
  model: string;
  hardware_revisions: string; // JSON array
  regimes: string; // JSON array
  support_start: string; // YYYY-MM-DD
  support_end: string; // YYYY-MM-DD
  expected_use_justification: string | null;
  created_at: string;
  updated_at: string;
  version: Generated<number>;
}

export interface ProductOwnersTable {
  product_id: string;
  stage: string;
  principal_id: string;
  assigned_at: string;
}
