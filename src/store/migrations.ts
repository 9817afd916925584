import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import type { Dialect } from './store.ts';

/**
 * One set of migrations for SQLite and PostgreSQL. Column types that differ between the two
 * engines (binary, 64-bit integer) are chosen per dialect here and nowhere else.
 */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const binary = dialect === 'postgres' ? 'bytea' : 'blob';
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before the typed schema exists
  type AnyDb = Kysely<any>;

  const migrations: Record<string, Migration> = {
    '0001_foundation': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('ledger_sequence')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', sql.raw(bigint), (c) => c.notNull())
          .execute();
        await db
          .insertInto('ledger_sequence')
          .values([
            { name: 'append', value: 0 },
            { name: 'integrate', value: 0 },
          ])
          .execute();

        await db.schema
          .createTable('ledger_entries')
          .addColumn('idx', sql.raw(bigint), (c) => c.primaryKey())
          .addColumn('leaf', sql.raw(binary), (c) => c.notNull())
          .addColumn('leaf_hash', sql.raw(binary), (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('subject', 'text')
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('ledger_entries_subject')
          .on('ledger_entries')
          .columns(['subject', 'idx'])
          .execute();

        await db.schema
          .createTable('ledger_nodes')
          .addColumn('level', 'integer', (c) => c.notNull())
          .addColumn('idx', sql.raw(bigint), (c) => c.notNull())
          .addColumn('hash', sql.raw(binary), (c) => c.notNull())
          .addPrimaryKeyConstraint('ledger_nodes_pk', ['level', 'idx'])
          .execute();

        await db.schema
          .createTable('ledger_checkpoints')
          .addColumn('size', sql.raw(bigint), (c) => c.primaryKey())
          .addColumn('root_hash', sql.raw(binary), (c) => c.notNull())
          .addColumn('note', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('principals')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('email', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('disabled_at', 'text')
          .execute();

        await db.schema
          .createTable('role_bindings')
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('role_bindings_pk', ['principal_id', 'role'])
          .execute();

        await db.schema
          .createTable('tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', sql.raw(binary), (c) => c.notNull().unique())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();

        await db.schema
          .createTable('token_scope_usage')
          .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id'))
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('token_scope_usage_pk', ['token_id', 'scope'])
          .execute();

        await db.schema
          .createTable('products')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('hardware_revisions', 'text', (c) => c.notNull())
          .addColumn('regimes', 'text', (c) => c.notNull())
          .addColumn('support_start', 'text', (c) => c.notNull())
          .addColumn('support_end', 'text', (c) => c.notNull())
          .addColumn('expected_use_justification', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .execute();

        await db.schema
          .createTable('product_owners')
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('stage', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
          .addColumn('assigned_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('product_owners_pk', ['product_id', 'stage'])
          .execute();
      },
    },
  };

  return { getMigrations: async () => migrations };
}
