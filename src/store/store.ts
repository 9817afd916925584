import { createRequire } from 'node:module';
import type SQLiteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type Compilable,
  type RawBuilder,
  type Insertable,
  type OnConflictBuilder,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { VigilError } from '../core/index.ts';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

/** A query handle: the database itself or a transaction on it. */
export type Queryable = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface OpenStoreOptions {
  /** `postgres://...` selects PostgreSQL; otherwise `sqlitePath` is used. */
  databaseUrl?: string | undefined;
  sqlitePath?: string | undefined;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

const require = createRequire(import.meta.url);

/** Answers a prepared read keeps per statement while the database is unchanged (then starts afresh). */
const rememberedAnswers = 10_000;

/** How long a writer waits for another process's write lock before failing with SQLITE_BUSY. */
const busyTimeoutMs = 5000;

/**
 * better-sqlite3 12 aborts the process on Node >= 24.19 whenever a garbage-collected statement is
 * finalised outside a JavaScript context (its ObjectWrap destructor; WiseLibs/better-sqlite3#1515),
 * and 13 needs Node >= 22 (it crashes on 20). So Node 20 loads 12 and newer Nodes load 13, which
 * npm installs as the optional alias `better-sqlite3-13` where the engine allows it.
 */
export function loadSqlite(): typeof SQLiteDatabase {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) {
    try {
      return require('better-sqlite3-13') as typeof SQLiteDatabase;
    } catch (error) {
      throw new VigilError(
        'STORE_SQLITE_UNAVAILABLE',
        'internal',
        `Node ${process.versions.node} needs better-sqlite3 13 (the optional dependency better-sqlite3-13); run npm ci on this Node`,
        { cause: error },
      );
    }
  }
  return require('better-sqlite3') as typeof SQLiteDatabase;
}

// PostgreSQL returns BIGINT as a string; every 64-bit integer of ours (ledger indices, sizes) fits
// in a double's 53-bit mantissa for any log this platform will hold.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where the data lives, with any password removed: safe to print. */
  readonly location: string;

  /** The SQLite connection under Kysely (SQLite only), for bulk inserts through cached statements. */
  private readonly sqlite: SQLiteDatabase.Database | undefined;
  private readonly insertStatements = new Map<string, SQLiteDatabase.Statement>();
  /** A read-only SQLite connection for prepared hot-path reads (opened on first use). */
  private reader: SQLiteDatabase.Database | undefined;
  private dataVersion: SQLiteDatabase.Statement | undefined;

  private constructor(
    db: Kysely<Database>,
    dialect: Dialect,
    location: string,
    sqlite?: SQLiteDatabase.Database,
  ) {
    this.db = db;
    this.dialect = dialect;
    this.location = location;
    this.sqlite = sqlite;
  }

  static open(options: OpenStoreOptions): Store {
    if (options.databaseUrl !== undefined && /^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
      // An idle client that loses its server must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
      return new Store(db, 'postgres', redactUrl(options.databaseUrl));
    }
    if (options.databaseUrl !== undefined) {
      throw new VigilError(
        'STORE_URL_UNSUPPORTED',
        'invalid',
        'the database URL must start with postgres:// (leave it out to use the embedded SQLite store)',
      );
    }
    if (options.sqlitePath === undefined) {
      throw new VigilError(
        'STORE_URL_UNSUPPORTED',
        'invalid',
        'neither a database URL nor a SQLite path was given',
      );
    }
    const Sqlite = loadSqlite();
    const sqlite = new Sqlite(options.sqlitePath);
    sqlite.pragma('journal_mode = WAL');
    // FULL: an acknowledged write survives power loss, not only a killed process (audit evidence).
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Whatever Kysely runs on the writer connection may be a commit: a later read asks afresh.
    const opened: { store?: Store } = {};
    const dialect = new ImmediateSqliteDialect(sqlite, () => {
      if (opened.store !== undefined) opened.store.heldDataVersion = undefined;
    });
    opened.store = new Store(new Kysely<Database>({ dialect }), 'sqlite', options.sqlitePath, sqlite);
    return opened.store;
  }

  /** Applies every pending migration; safe to call from several processes at once. */
  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect) });
    const { error } = await migrator.migrateToLatest();
    if (error !== undefined) {
      throw new VigilError(
        'STORE_MIGRATION_FAILED',
        'internal',
        'the database schema could not be migrated',
        {
          cause: error,
        },
      );
    }
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /**
   * Inserts many rows of one table inside `tx`: the hot path of ledger appends and of findings. On
   * SQLite a cached single-row statement runs in a loop on the one connection that Kysely's
   * transaction holds (no statement is re-parsed; the loop is synchronous, so nothing interleaves);
   * on PostgreSQL rows go in multi-row INSERTs. With `onConflict`, a row whose `columns` match an
   * existing one updates that row's `update` columns to the new row's values instead; the rows
   * given must not repeat a key (PostgreSQL refuses to update one row twice in a statement).
   */
  async insertMany<T extends keyof Database & string>(
    tx: Tx,
    table: T,
    rows: readonly Insertable<Database[T]>[],
    onConflict?: {
      columns: readonly (keyof Database[T] & string)[];
      update: readonly (keyof Database[T] & string)[];
    },
  ): Promise<void> {
    if (rows.length === 0) return;
    const columns = Object.keys(rows[0] as object);
    if (this.sqlite !== undefined) {
      const conflict =
        onConflict === undefined
          ? ''
          : ` on conflict (${onConflict.columns.map((column) => `"${column}"`).join(', ')}) do update set ${onConflict.update.map((column) => `"${column}" = excluded."${column}"`).join(', ')}`;
      const key = `${table}(${columns.join(',')})${conflict}`;
      let statement = this.insertStatements.get(key);
      if (statement === undefined) {
        statement = this.sqlite.prepare(
          `insert into "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})${conflict}`,
        );
        this.insertStatements.set(key, statement);
      }
      for (const row of rows)
        statement.run(columns.map((column) => (row as Record<string, unknown>)[column]));
      return;
    }
    // PostgreSQL binds at most 65,535 parameters a statement.
    const chunk = Math.max(1, Math.floor(30_000 / columns.length));
    for (let start = 0; start < rows.length; start += chunk) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the row type is checked by this method's signature
      let insert = (tx.insertInto(table) as any).values(rows.slice(start, start + chunk));
      if (onConflict !== undefined) {
        insert = insert.onConflict((builder: OnConflictBuilder<Database, T>) =>
          builder
            .columns(onConflict.columns as never)
            .doUpdateSet(
              (update) =>
                Object.fromEntries(
                  onConflict.update.map((column) => [column, update.ref(`excluded.${column}` as never)]),
                ) as never,
            ),
        );
      }
      await insert.execute();
    }
  }

  /**
   * A read built and compiled once, then run with new values: for hot paths, where building and
   * compiling a join costs more than running it. `build` receives one placeholder per value and
   * must use each exactly where the value goes (as a bound parameter, never in SQL text). On
   * SQLite the statement runs on a read-only connection of its own: WAL lets it read beside the
   * writer, it sees only committed data (never the open transaction of the writer connection),
   * and it skips the queueing of the one connection Kysely serialises everything through. An
   * answer is reused while no connection has committed since (see readerDataVersion).
   */
  prepare<Values extends unknown[], Row>(
    arity: Values['length'],
    build: (db: Kysely<Database>, ...placeholders: unknown[]) => Compilable<Row>,
  ): (...values: Values) => Promise<Row[]> {
    const { sql, bind } = compileOnce(this.db, arity, build, 'SelectQueryNode');
    if (this.sqlite !== undefined && this.location !== ':memory:') {
      let statement: SQLiteDatabase.Statement | undefined;
      // Answers by the values asked with, kept while the database is unchanged.
      const answers = new Map<string, Row[]>();
      let answersVersion: unknown;
      return async (...values) => {
        const version = this.readerDataVersion();
        if (version !== answersVersion) {
          answers.clear();
          answersVersion = version;
        }
        const key = JSON.stringify(values);
        let rows = answers.get(key);
        if (rows === undefined) {
          statement ??= this.readerConnection().prepare(sql);
          rows = statement.all(bind(values)) as Row[];
          if (answers.size >= rememberedAnswers) answers.clear();
          answers.set(key, rows);
        }
        // A caller may change the rows it is given: each gets rows of its own.
        return rows.map((row) => ({ ...row }));
      };
    }
    return async (...values) => (await this.db.executeQuery<Row>(CompiledQuery.raw(sql, bind(values)))).rows;
  }

  /**
   * A statement of any kind built and compiled once, then run inside a transaction with new
   * values: the write path's counterpart of `prepare`, for statements a hot path runs per call
   * (placeholders as for `prepare`). On SQLite it runs as a cached statement on the connection
   * that `tx` holds, without Kysely's per-query building, compiling and queueing; on PostgreSQL
   * the compiled text runs on `tx`. Resolves with the rows (a read, or RETURNING) and the number
   * of rows changed.
   */
  statement<Values extends unknown[], Row = never>(
    arity: Values['length'],
    build: (db: Kysely<Database>, ...placeholders: unknown[]) => Compilable<Row> | RawBuilder<Row>,
  ): (tx: Tx, ...values: Values) => Promise<{ rows: Row[]; changes: number }> {
    const { sql, bind } = compileOnce(this.db, arity, build);
    const sqlite = this.sqlite;
    if (sqlite !== undefined) {
      let statement: SQLiteDatabase.Statement | undefined;
      return async (_tx, ...values) => {
        statement ??= sqlite.prepare(sql);
        if (statement.reader) {
          const rows = statement.all(bind(values)) as Row[];
          return { rows, changes: rows.length };
        }
        return { rows: [], changes: statement.run(bind(values)).changes };
      };
    }
    return async (tx, ...values) => {
      const result = await tx.executeQuery<Row>(CompiledQuery.raw(sql, bind(values)));
      return { rows: result.rows, changes: Number(result.numAffectedRows ?? BigInt(result.rows.length)) };
    };
  }

  private readerConnection(): SQLiteDatabase.Database {
    if (this.reader === undefined) {
      const Sqlite = loadSqlite();
      this.reader = new Sqlite(this.location, { readonly: true, fileMustExist: true });
      this.reader.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
    return this.reader;
  }

  /**
   * SQLite's data_version on the read connection: it changes whenever any other connection, of
   * this process or another, has committed since it was last read. While it stands still, a
   * prepared read's earlier answer is what reading again would give, so hot reads that see no
   * write meanwhile (a fleet checking in with nothing new) are answered without running again.
   */
  private readerDataVersion(): unknown {
    if (this.heldDataVersion === undefined) {
      this.dataVersion ??= this.readerConnection().prepare('pragma data_version').pluck();
      this.heldDataVersion = { value: this.dataVersion.get() };
      queueMicrotask(() => (this.heldDataVersion = undefined));
    }
    return this.heldDataVersion.value;
  }

  /**
   * The data_version read last, held for the rest of the current run of this process's code: reads
   * started together (a Promise.all of lookups) ask SQLite once. Nothing from outside reaches the
   * process until the run ends, so holding it changes no answer another process's commit could;
   * this process's own commits drop it at once (see `open`).
   */
  private heldDataVersion: { value: unknown } | undefined;

  async close(): Promise<void> {
    this.reader?.close();
    await this.db.destroy();
  }
}

/**
 * SQLite transactions that begin IMMEDIATE: they take the write lock at BEGIN instead of at their
 * first write. A deferred transaction that has read and then finds another process committed
 * meanwhile fails at once with SQLITE_BUSY_SNAPSHOT, which no timeout helps; with IMMEDIATE,
 * several `vigil serve` processes (device workers) share one SQLite store safely. Every
 * transaction here writes, so nothing is lost.
 *
 * While another process holds the lock, BEGIN is retried on timers instead of in SQLite's busy
 * handler, which sleeps the whole thread: the event loop goes on verifying, signing and answering
 * meanwhile, so workers sharing one store overlap their work instead of taking turns at it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    settings: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly sqlite: SQLiteDatabase.Database,
  ) {
    super(settings);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const started = Date.now();
    for (let pause = 1; ; pause = Math.min(pause * 2, 8)) {
      this.sqlite.pragma('busy_timeout = 0');
      try {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
        return;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // SQLITE_BUSY, or an extended code of it (SQLITE_BUSY_RECOVERY: another connection is
        // recovering the WAL index): the lock is held for now.
        const busy = typeof code === 'string' && code.startsWith('SQLITE_BUSY');
        if (!busy || Date.now() - started >= busyTimeoutMs) throw error;
      } finally {
        this.sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly settings: ConstructorParameters<typeof SqliteDialect>[0];
  private readonly sqlite: SQLiteDatabase.Database;

  constructor(sqlite: SQLiteDatabase.Database, beforeStatement: () => void) {
    const settings = { database: withStatementCache(sqlite, beforeStatement) };
    super(settings);
    this.settings = settings;
    this.sqlite = sqlite;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings, this.sqlite);
  }
}

/**
 * Compiles `build` once with placeholder objects where its values go, and returns the SQL text
 * and a function that puts values in the placeholders' places among the bound parameters.
 */
function compileOnce(
  db: Kysely<Database>,
  arity: number,
  build: (db: Kysely<Database>, ...placeholders: unknown[]) => Compilable<unknown> | RawBuilder<unknown>,
  kind?: 'SelectQueryNode',
): { sql: string; bind: (values: unknown[]) => unknown[] } {
  const placeholders = Array.from({ length: arity }, (_, index) => ({ placeholder: index }));
  const query = build(db, ...placeholders);
  // A raw builder (sql`...`) compiles against the database; a query builder on its own.
  const compiled = 'isRawBuilder' in query ? query.compile(db) : query.compile();
  if (kind !== undefined && compiled.query.kind !== kind) {
    throw new VigilError('STORE_QUERY_INVALID', 'internal', 'only reads are prepared');
  }
  const slots = compiled.parameters.map((parameter) => placeholders.indexOf(parameter as never));
  if (placeholders.some((placeholder) => !compiled.parameters.includes(placeholder))) {
    throw new VigilError('STORE_QUERY_INVALID', 'internal', 'a compiled query must bind every placeholder');
  }
  return {
    sql: compiled.sql,
    bind: (values) =>
      compiled.parameters.map((parameter, index) => (slots[index]! >= 0 ? values[slots[index]!] : parameter)),
  };
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable)';
  }
}

/**
 * Kysely prepares every statement anew; on SQLite that parse is a large part of a small query's
 * cost. This hands Kysely the same prepared statement for the same SQL text (least recently used
 * out beyond `size`). Safe because the driver runs one statement at a time on its one connection.
 * `beforeStatement` is called as Kysely asks for each statement, just before running it.
 */
function withStatementCache(
  sqlite: SQLiteDatabase.Database,
  beforeStatement: () => void,
  size = 512,
): SQLiteDatabase.Database {
  const cache = new Map<string, SQLiteDatabase.Statement>();
  const prepare = (source: string): SQLiteDatabase.Statement => {
    beforeStatement();
    let statement = cache.get(source);
    if (statement !== undefined) {
      cache.delete(source);
    } else {
      statement = sqlite.prepare(source);
      if (cache.size >= size) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, statement);
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** True when a database error is a unique or primary-key violation, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when a database error is a foreign-key violation, on either engine. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
