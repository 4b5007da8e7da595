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

/**
 * WAL size at which the checkpointer thread copies it back (checkpointer.ts), and to which the WAL
 * file is truncated after a checkpoint resets it. Every page a batch dirties is written to the WAL,
 * and pages every batch touches (index tails) are copied back once per checkpoint, so a larger WAL
 * means fewer copies. Hub ingest with 4 senders, same-run A/B (2026-11-26, 3 passes of 200,000 after
 * the first, twice each): 64 MiB 47,200–53,300 alerts/s (median 48,400), 192 MiB 49,900–57,300
 * (median 52,000); the checkpointer's CPU per alert 1.9–2.3 → 1.3–1.6 µs. The cost: up to this
 * much disk for the WAL, and about as much to read when a crashed store is opened again.
 */
export const WAL_CHECKPOINT_BYTES = 192 * 1024 * 1024;

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
      // A connection that commits (retention on the store's connection) checkpoints at the same WAL
      // size as the checkpointer thread, not SQLite's 4 MiB: pages that every batch touches (index
      // tails) are copied back once per checkpoint, not once per batch. The WAL file keeps that size.
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_BYTES / pageSize}`);
      db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_BYTES}`);
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
