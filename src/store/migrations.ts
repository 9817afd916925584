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
    '0002_identity': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('keystore_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('backend', 'text', (c) => c.notNull())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('public_key', sql.raw(binary), (c) => c.notNull())
          .addColumn('wrapped_key', sql.raw(binary))
          .addColumn('token_key_id', sql.raw(binary))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('certificate_authorities')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.references('products.id'))
          .addColumn('parent_id', 'text', (c) => c.references('certificate_authorities.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull().references('keystore_keys.id'))
          .addColumn('certificate', sql.raw(binary), (c) => c.notNull())
          .addColumn('serial', 'text', (c) => c.notNull())
          .addColumn('not_before', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('certificate_authorities_product')
          .on('certificate_authorities')
          .columns(['product_id', 'kind', 'status'])
          .execute();

        await db.schema
          .createTable('certificate_profiles')
          .addColumn('product_id', 'text', (c) => c.primaryKey().references('products.id'))
          .addColumn('profile', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('serial', 'text', (c) => c.notNull().unique())
          .addColumn('hardware_revision', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('bootstrap_method', 'text', (c) => c.notNull())
          .addColumn('secret_hash', sql.raw(binary))
          .addColumn('secret_expires_at', 'text')
          .addColumn('secret_used_at', 'text')
          .addColumn('idevid_chain', 'text')
          .addColumn('idevid_fingerprint', 'text')
          .addColumn('registered_at', 'text', (c) => c.notNull())
          .addColumn('enrolled_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('revocation_reason', 'text')
          .addColumn('decommissioned_at', 'text')
          .addColumn('wipe_confirmation', 'text')
          .execute();
        await db.schema.createIndex('devices_product').on('devices').columns(['product_id', 'id']).execute();
        await db.schema.createIndex('devices_idevid').on('devices').column('idevid_fingerprint').execute();

        await db.schema
          .createTable('certificates')
          .addColumn('serial', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('ca_id', 'text', (c) => c.notNull().references('certificate_authorities.id'))
          .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
          .addColumn('der', sql.raw(binary), (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('not_before', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('revocation_reason', 'text')
          .addColumn('issued_via', 'text', (c) => c.notNull())
          .addColumn('bootstrap_method', 'text', (c) => c.notNull())
          .addColumn('ledger_index', sql.raw(bigint))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('certificates_device')
          .on('certificates')
          .columns(['device_id', 'created_at'])
          .execute();
        await db.schema
          .createIndex('certificates_ca_status')
          .on('certificates')
          .columns(['ca_id', 'status'])
          .execute();
        await db.schema
          .createIndex('certificates_not_after')
          .on('certificates')
          .columns(['status', 'not_after'])
          .execute();

        await db.schema
          .createTable('crls')
          .addColumn('ca_id', 'text', (c) => c.notNull().references('certificate_authorities.id'))
          .addColumn('crl_number', sql.raw(bigint), (c) => c.notNull())
          .addColumn('der', sql.raw(binary), (c) => c.notNull())
          .addColumn('this_update', 'text', (c) => c.notNull())
          .addColumn('next_update', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('crls_pk', ['ca_id', 'crl_number'])
          .execute();

        // Counters bumped on changes other processes must notice quickly (revocations: within a second).
        await db.schema
          .createTable('change_counters')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', sql.raw(bigint), (c) => c.notNull())
          .execute();
        await db.insertInto('change_counters').values({ name: 'revocations', value: 0 }).execute();
      },
    },
    '0003_attestation_nonces': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('attestation_nonces')
          .addColumn('nonce', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('issued_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .execute();
        await db.schema
          .createIndex('attestation_nonces_expiry')
          .on('attestation_nonces')
          .column('expires_at')
          .execute();
      },
    },
    '0004_attestation': {
      async up(db: AnyDb) {
        // Nonces are now issued statelessly (MAC'd); only spent ones are stored, with the appraisal.
        await db.schema.dropTable('attestation_nonces').execute();
        await db.schema
          .createTable('attestation_spent_nonces')
          .addColumn('nonce', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('attestation_spent_nonces_expiry')
          .on('attestation_spent_nonces')
          .column('expires_at')
          .execute();
        // Attestation keys bound to a device: TPM AKs (activated against the EK, or registered at
        // the factory) and DICE DeviceIDs. Rows are never deleted, so old evidence stays checkable.
        await db.schema
          .createTable('attestation_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('public_key', sql.raw(binary), (c) => c.notNull())
          .addColumn('tpm_public', sql.raw(binary))
          .addColumn('tpm_name', 'text')
          .addColumn('ek_public', sql.raw(binary))
          .addColumn('endorsement', 'text', (c) => c.notNull())
          .addColumn('ek_certificate', sql.raw(binary))
          .addColumn('certificate', sql.raw(binary))
          .addColumn('bound_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .execute();
        await db.schema
          .createIndex('attestation_keys_device')
          .on('attestation_keys')
          .columns(['device_id', 'kind'])
          .execute();
        await db.schema
          .createTable('attestation_credential_challenges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('ak_public', sql.raw(binary), (c) => c.notNull())
          .addColumn('ek_public', sql.raw(binary), (c) => c.notNull())
          .addColumn('endorsement', 'text', (c) => c.notNull())
          .addColumn('ek_certificate', sql.raw(binary))
          .addColumn('secret_hash', sql.raw(binary), (c) => c.notNull())
          .addColumn('issued_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .execute();
        await db.schema
          .createTable('attestation_reference_values')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('hardware_revision', 'text', (c) => c.notNull())
          .addColumn('release', 'text', (c) => c.notNull()) // '' when not tied to a release
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('attestation_reference_values_version', [
            'product_id',
            'hardware_revision',
            'release',
            'version',
          ])
          .execute();
        await db.schema
          .createTable('attestation_policies')
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('attestation_policies_pk', ['product_id', 'version'])
          .execute();
        // Event logs are content-addressed: a fleet booting one firmware shares one stored log.
        await db.schema
          .createTable('attestation_event_logs')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('content', sql.raw(binary), (c) => c.notNull())
          .addColumn('first_seen_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('attestations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull().references('attestation_keys.id'))
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('evidence_digest', 'text', (c) => c.notNull())
          .addColumn('event_log_digest', 'text', (c) => c.references('attestation_event_logs.digest'))
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('verifier_version', 'text', (c) => c.notNull())
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('reference_values', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('secure_boot', 'text', (c) => c.notNull())
          .addColumn('measured_release', 'text')
          .addColumn('trust_vector', 'text', (c) => c.notNull())
          .addColumn('appraisal', 'text', (c) => c.notNull())
          .addColumn('reset_count', sql.raw(bigint))
          .addColumn('restart_count', sql.raw(bigint))
          .addColumn('ear', 'text', (c) => c.notNull())
          .addColumn('record_digest', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('attestations_device')
          .on('attestations')
          .columns(['device_id', 'id'])
          .execute();
        await db.schema
          .createTable('attestation_signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('public_key', sql.raw(binary), (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .execute();
        // The device's trust state and quarantine, shown on the device and fleet APIs.
        for (const column of [
          'trust_status',
          'trust_appraised_at',
          'trust_secure_boot',
          'trust_release',
          'trust_attestation_id',
          'quarantined_at',
          'quarantine_reason',
        ]) {
          await db.schema.alterTable('devices').addColumn(column, 'text').execute();
        }
      },
    },
    '0005_updates': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('artifacts')
          .addColumn('sha256', 'text', (c) => c.primaryKey())
          .addColumn('sha512', 'text', (c) => c.notNull())
          .addColumn('length', sql.raw(bigint), (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('releases')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('security_version', sql.raw(bigint), (c) => c.notNull())
          .addColumn('hardware_revisions', 'text', (c) => c.notNull())
          .addColumn('notes', 'text', (c) => c.notNull())
          .addColumn('security_update', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('sbom', 'text')
          .addColumn('sbom_media_type', 'text')
          .addColumn('sbom_digest', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('published_at', 'text')
          .addColumn('targets_version', 'integer')
          .addUniqueConstraint('releases_product_version', ['product_id', 'version'])
          .execute();
        await db.schema
          .createTable('release_artifacts')
          .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull().references('artifacts.sha256'))
          .addColumn('added_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('release_artifacts_pk', ['release_id', 'name'])
          .execute();
        await db.schema
          .createTable('release_approvals')
          .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
          .addColumn('keyid', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text', (c) => c.notNull())
          .addColumn('approved_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('release_approvals_pk', ['release_id', 'keyid'])
          .execute();
        await db.schema
          .createTable('tuf_repositories')
          .addColumn('product_id', 'text', (c) => c.primaryKey().references('products.id'))
          .addColumn('root_threshold', 'integer', (c) => c.notNull())
          .addColumn('targets_threshold', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('tuf_keys')
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('keyid', 'text', (c) => c.notNull())
          .addColumn('keystore_key_id', 'text', (c) => c.notNull())
          .addColumn('keystore_backend', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('principal_id', 'text')
          .addColumn('added_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .addPrimaryKeyConstraint('tuf_keys_pk', ['product_id', 'role', 'keyid'])
          .execute();
        await db.schema
          .createTable('tuf_metadata')
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('tuf_metadata_pk', ['product_id', 'role', 'version'])
          .execute();
        await db.schema
          .createTable('sites')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('maintenance_window', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('device_sites')
          .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
          .addColumn('site_id', 'text', (c) => c.notNull().references('sites.id'))
          .addColumn('assigned_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('device_sites_site').on('device_sites').column('site_id').execute();
        await db.schema
          .createTable('device_filters')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('filter', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('update_policies')
          .addColumn('product_id', 'text', (c) => c.primaryKey().references('products.id'))
          .addColumn('postpone_limit', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('device_update_states')
          .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('security_floor', sql.raw(bigint), (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('reported_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('rollouts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('selection', 'text', (c) => c.notNull())
          .addColumn('waves', 'text', (c) => c.notNull())
          .addColumn('validation_minutes', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('pause_reason', 'text')
          .addColumn('current_wave', 'integer', (c) => c.notNull())
          .addColumn('wave_started_at', 'text', (c) => c.notNull())
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema
          .createIndex('rollouts_product_status')
          .on('rollouts')
          .columns(['product_id', 'status'])
          .execute();
        await db.schema
          .createTable('rollout_devices')
          .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('wave', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('state_at', 'text', (c) => c.notNull())
          .addColumn('offered_at', 'text')
          .addColumn('installed_at', 'text')
          .addColumn('deadline_at', 'text')
          .addColumn('reason', 'text')
          .addColumn('postponements', 'integer', (c) => c.notNull())
          .addColumn('postponed_until', 'text')
          .addColumn('attestation_id', 'text')
          .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
          .execute();
        await db.schema
          .createIndex('rollout_devices_device')
          .on('rollout_devices')
          .columns(['device_id', 'rollout_id'])
          .execute();
        await db.schema
          .createIndex('rollout_devices_wave')
          .on('rollout_devices')
          .columns(['rollout_id', 'wave', 'state'])
          .execute();
        await db.schema
          .createTable('update_reports')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
          .addColumn('step', 'text', (c) => c.notNull())
          .addColumn('version', 'text')
          .addColumn('reason', 'text')
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('update_reports_device')
          .on('update_reports')
          .columns(['rollout_id', 'device_id'])
          .execute();
      },
    },
    '0006_vulns': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('release_sboms')
          .addColumn('release_id', 'text', (c) => c.primaryKey().references('releases.id'))
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('spec_version', 'text', (c) => c.notNull())
          .addColumn('components', 'integer', (c) => c.notNull())
          .addColumn('parsed', 'text', (c) => c.notNull())
          .addColumn('completeness', 'text', (c) => c.notNull())
          .addColumn('parsed_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('advisories')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('vulnerability_id', 'text', (c) => c.notNull())
          .addColumn('aliases', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('modified', 'text')
          .addColumn('withdrawn', 'integer', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('imported_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('advisories_vulnerability')
          .on('advisories')
          .column('vulnerability_id')
          .execute();
        await db.schema
          .createTable('kev_entries')
          .addColumn('cve', 'text', (c) => c.primaryKey())
          .addColumn('date_added', 'text', (c) => c.notNull())
          .addColumn('due_date', 'text')
          .addColumn('ransomware', 'text')
          .addColumn('vendor', 'text')
          .addColumn('product', 'text')
          .execute();
        await db.schema
          .createTable('findings')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('component_ref', 'text', (c) => c.notNull())
          .addColumn('purl', 'text')
          .addColumn('component_version', 'text')
          .addColumn('vulnerability_id', 'text', (c) => c.notNull())
          .addColumn('aliases', 'text', (c) => c.notNull())
          .addColumn('advisory_ids', 'text', (c) => c.notNull())
          .addColumn('confidence', 'text', (c) => c.notNull())
          .addColumn('severity', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('justification', 'text')
          .addColumn('fixed_release_id', 'text')
          .addColumn('exploited', 'integer', (c) => c.notNull())
          .addColumn('exploited_since', 'text')
          .addColumn('withdrawn', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('findings_release_component_vulnerability', [
            'release_id',
            'component_ref',
            'vulnerability_id',
          ])
          .execute();
        await db.schema
          .createIndex('findings_product')
          .on('findings')
          .columns(['product_id', 'state'])
          .execute();
        await db.schema
          .createIndex('findings_vulnerability')
          .on('findings')
          .column('vulnerability_id')
          .execute();
        await db.schema
          .createTable('cra_clocks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('vulnerability_id', 'text')
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('member_states', 'text', (c) => c.notNull())
          .addColumn('aware_at', 'text', (c) => c.notNull())
          .addColumn('corrective_measure_at', 'text')
          .addColumn('corrective_measure', 'text')
          .addColumn('early_warning_sent_at', 'text')
          .addColumn('early_warning_reference', 'text')
          .addColumn('notification_sent_at', 'text')
          .addColumn('notification_reference', 'text')
          .addColumn('final_report_sent_at', 'text')
          .addColumn('final_report_reference', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('cra_clocks_product_vulnerability', ['product_id', 'vulnerability_id'])
          .execute();
        await db.schema
          .createTable('csaf_documents')
          .addColumn('tracking_id', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('document', 'text', (c) => c.notNull())
          .addColumn('published_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('csaf_documents_pk', ['tracking_id', 'version'])
          .execute();
        await db.schema
          .createTable('remediation_policies')
          .addColumn('product_id', 'text', (c) => c.primaryKey().references('products.id'))
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0007_product_markets': {
      async up(db: AnyDb) {
        // Where each product is made available: the Member States a CRA Art. 14 report names.
        await db.schema
          .alterTable('products')
          .addColumn('member_states', 'text', (c) => c.notNull().defaultTo('[]'))
          .execute();
      },
    },
    '0008_attestation_key_clock': {
      async up(db: AnyDb) {
        // Each appraisal compares the TPM clock with the key's previous appraisal: kept on the key
        // row (written only when it changes), so no appraisal searches the attestation history.
        await db.schema
          .alterTable('attestation_keys')
          .addColumn('last_reset_count', sql.raw(bigint))
          .execute();
        await db.schema
          .alterTable('attestation_keys')
          .addColumn('last_restart_count', sql.raw(bigint))
          .execute();
        for (const column of ['reset_count', 'restart_count'] as const) {
          await sql`update attestation_keys set ${sql.ref(`last_${column}`)} = (
              select ${sql.ref(column)} from attestations
              where attestations.key_id = attestation_keys.id
              order by attestations.id desc limit 1)`.execute(db);
        }
      },
    },
  };

  return { getMigrations: async () => migrations };
}
