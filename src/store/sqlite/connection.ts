/**
 * Opens a SQLite database for the store: WAL (readers never block the writer), synchronous=NORMAL
 * (durable at checkpoints; a power cut loses at most the last transactions, never corrupts), a busy
 * timeout so a second process waits instead of failing, and the schema migrated. Page size and
 * checkpoint interval are set for ingest (see the comments below and docs/store.md).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrateSqlite } from './migrations.js';

export interface SqliteOptions {
  /** Database file; `:memory:` for a private in-memory database. */
  path: string;
  /** Page cache in MiB (default 64). */
  cacheMiB?: number;
  /** How long to wait for another process's write lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Write from a separate thread with group commit (default true; `:memory:` never does): the HTTP
   * and JSON work of ingest then runs beside the database writes, and concurrent batches share a
   * transaction. False writes on the calling thread.
   */
  writerThread?: boolean;
}

/** Opens (creating the folder and file when missing), tunes and migrates a database. */
export function openSqliteDatabase(options: SqliteOptions): Database.Database {
  const memory = options.path === ':memory:';
  if (!memory) mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
  try {
    // 16 KiB pages (only takes effect on a new file): a batch dirties a page per distinct key of each
    // index and each page is a write system call, so larger pages mean several times fewer calls.
    db.pragma('page_size = 16384');
    if (!memory) {
      db.pragma('journal_mode = WAL');
      // Checkpoint every 64 MiB of WAL rather than every 4 MiB: pages that every batch touches (index
      // tails) are copied back once per checkpoint, not once per batch. Truncate the WAL back to 64 MiB.
      db.pragma('wal_autocheckpoint = 4096');
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = ${-Math.round((options.cacheMiB ?? 64) * 1024)}`);
    db.pragma('temp_store = MEMORY');
    migrateSqlite(db);
    // Planner statistics for a long-lived connection (cheap: bounded analysis, only when stale). The
    // plans depend on them: e.g. a rare priority is read through its index, a common one in time order.
    db.pragma('optimize = 0x10002');
  } catch (err) {
    db.close();
    throw new Error(`cannot open SQLite store at ${options.path}`, { cause: err });
  }
  return db;
}
