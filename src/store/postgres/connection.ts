/**
 * Opens a PostgreSQL connection pool for the store and migrates its schema. A store may live in its
 * own schema (`schema` option): each pooled connection then gets that `search_path`, which is how
 * tests give every store a fresh, isolated set of tables in one database.
 */
import pg from 'pg';
import { migratePostgres } from './migrations.js';

export interface PostgresOptions {
  /** Connection URL, e.g. `postgres://user@127.0.0.1:5432/vigil`. */
  url: string;
  /** Schema holding the tables (created when missing); default: the server's search_path. */
  schema?: string;
  /** Pool size (default 4). */
  poolSize?: number;
  /**
   * Alerts (the planner's estimate) from which text filters may go through the terms index
   * (default 200,000; below it the plain condition is as fast). Tests set it low.
   */
  wordSearchMinRows?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates the pool, the schema when asked for, and applies missing migrations. */
export async function openPostgresPool(options: PostgresOptions): Promise<pg.Pool> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`schema name must match ${SCHEMA_NAME.source} (got ${JSON.stringify(schema)})`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle pooled connection that the server drops must not crash the process; the next query
  // gets a fresh connection and reports its own error.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      if (schema !== undefined) {
        // CREATE SCHEMA IF NOT EXISTS is not safe against itself: two openers racing can both try to
        // create it and one fails on the catalog's unique index. Serialise them on an advisory lock.
        await client.query('BEGIN');
        try {
          await client.query(`SELECT pg_advisory_xact_lock(hashtext('vigil_schema:' || $1))`, [schema]);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
      await migratePostgres(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot open PostgreSQL store at ${redactUrl(options.url)}`, { cause: err });
  }
  return pool;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}
