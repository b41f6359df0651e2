import { chmodSync, closeSync, openSync } from 'node:fs';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { PcgError } from '../../proto/errors.js';
import type { Logger } from 'pino';
import { LocalSignals } from './local-signals.js';
import { migrationProvider } from './migrations.js';
import { PostgresSignals } from './postgres-signals.js';
import type { RelaySignals } from './relay-signals.js';
import type { Dialect, RelayDatabase } from './schema.js';

export type { Dialect } from './schema.js';


export interface Database {
  readonly db: Kysely<RelayDatabase>;
  readonly dialect: Dialect;
  /** Wake-ups between relays on this store: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite. */
  createSignals(log: Logger): Promise<RelaySignals>;
  close(): Promise<void>;
}

const INT8_OID = 20;

/**
 * PostgreSQL connections per relay. Job dispatch batches its work (claims, acks and reports each
 * one statement or one transaction per batch, one batch of each at a time), so a relay needs about
 * five at once under load plus API requests and signals; 10 leaves headroom and keeps nine relays
 * under PostgreSQL's default max_connections of 100.
 */
export const DEFAULT_POOL_SIZE = 10;

export interface DatabaseOptions {
  /** PostgreSQL connections held at most (ignored for SQLite). @default DEFAULT_POOL_SIZE */
  readonly poolSize?: number;
}

/**
 * Opens the relay store: `postgres://…` URLs on PostgreSQL, anything else as a SQLite file path.
 * Runs pending migrations before returning, and closes what it opened if they fail.
 */
export async function openDatabase(target: string, options: DatabaseOptions = {}): Promise<Database> {
  const dialect: Dialect = /^postgres(ql)?:\/\//.test(target) ? 'postgres' : 'sqlite';
  const pool = dialect === 'postgres' ? postgresPool(target, options.poolSize ?? DEFAULT_POOL_SIZE) : undefined;
  const db = pool ? new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool }) }) : new Kysely<RelayDatabase>({ dialect: sqliteDialect(target) });
  try {
    const { error, results } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) throw new PcgError('PCG_ERR_INTERNAL', `store migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  } catch (err) {
    await db.destroy();
    if (err instanceof PcgError) throw err;
    throw new PcgError('PCG_ERR_INTERNAL', `cannot open the relay store (${dialect})`, { cause: err });
  }
  let closed = false;
  return {
    db,
    dialect,
    createSignals: async (log) => (pool ? PostgresSignals.create(target, pool, log) : new LocalSignals()),
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/**
 * The store holds keyed hashes of pairing codes and API keys: 0600 like the relay's keys. SQLite
 * gives its -wal and -shm files the mode of the database file, so the database file is made
 * 0600 before SQLite opens it (and an existing one from an older relay is tightened, with its
 * companions).
 */
function restrictStoreFiles(file: string): void {
  if (file === ':memory:' || file === '') return;
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(path, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

function sqliteDialect(file: string): SqliteDialect {
  restrictStoreFiles(file);
  const sqlite = new Sqlite(file);
  // WAL + NORMAL: durable across process crashes, fast enough for a heartbeat per gateway.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return new SqliteDialect({ database: withStatementCache(sqlite) });
}

/**
 * Kysely prepares every statement anew; on the handshake path that is a third of the store's
 * time. Statements are reused per SQL text (parameters bind per run); Kysely runs one query at
 * a time on this connection, so sharing a statement is safe.
 */
function withStatementCache(sqlite: Sqlite.Database, limit = 512): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare: (sql: string) => {
      let statement = cache.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (cache.size >= limit) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

function postgresPool(url: string, max: number): pg.Pool {
  // int8 as number, per pool rather than pg's process-wide type registry.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format ?? 'text') as (v: string) => unknown),
  };
  return new pg.Pool({ connectionString: url, max, types });
}
