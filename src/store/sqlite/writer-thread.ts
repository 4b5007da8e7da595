/**
 * The SQLite store's writer thread: its own connection to the database file, fed encoded rows by
 * {@link SqliteWriter} on the main thread. It commits with **group commit**: every insert request that
 * arrived while the previous transaction ran goes into the next one. A transaction's fixed cost (every
 * index page it dirties is written to the WAL once per commit, whatever the number of rows on it) is
 * then shared by all concurrent requests, so under load batches grow and each alert costs less; at low
 * load a request is committed alone, at once. The main thread meanwhile reads HTTP bodies, parses and
 * validates JSON and serves queries on its own connection (WAL: readers never wait for the writer).
 *
 * Messages in: `{ kind: 'insert', id, params, rows }` (params: {@link ALERT_COLUMNS} values of `rows`
 * rows, flat) and `{ kind: 'close' }`. Messages out: `{ kind: 'ready' }` once open, `{ kind: 'done', id,
 * inserted }` or `{ kind: 'failed', id, message }` per request, `{ kind: 'closed' }`.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { ALERT_COLUMNS } from '../alert-row.js';
import { openSqliteDatabase, type SqliteOptions } from './connection.js';
import { insertSql, ROWS_PER_INSERT } from './sql.js';
import { BLOCK_ROWS, TextIndexer } from './text-index.js';
import { CHECKPOINT_AT_BYTES } from './checkpointer.js';

/** Where a request's answer goes: the main thread, or the sender of a row port. */
interface ReplyTo {
  postMessage(m: WriterReply): void;
}

/** A request waiting for the next transaction. */
interface Pending {
  id: number;
  params: unknown[];
  rows: number;
  replyTo?: ReplyTo;
}

/** An insert: `rows` rows, their {@link ALERT_COLUMNS} values flat in `params`. */
export interface RowInsert {
  kind: 'insert';
  id: number;
  params: unknown[];
  rows: number;
}

export type WriterRequest = RowInsert | { kind: 'port'; port: MessagePort } | { kind: 'close' };
export type WriterReply =
  | { kind: 'ready' }
  | { kind: 'done'; id: number; inserted: number }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'group'; requests: number; rows: number }
  | { kind: 'textIndexError'; message: string }
  | { kind: 'closed' };

const COLS = ALERT_COLUMNS.length;
/**
 * Alerts the text index may fall behind before the writer indexes after every commit even under load
 * (below it, blocks are indexed only when no insert waits). A text filter scans the alerts the index
 * lacks, so this bounds that scan under sustained ingest (~1 s at this size); below it, bursts of
 * ingest do not pay for the index (with 262,144, a second burst of 200,000 alerts right after a first
 * went from 45,000 to 39,000 alerts/s through the hub).
 */
export const TEXT_INDEX_MAX_LAG = 256 * BLOCK_ROWS;
/** The writer connection's page cache. */
const WRITER_CACHE_KIB = 16 * 1024;
/** Quiet time after the last insert before the writer fills the text index. */
const TEXT_INDEX_IDLE_MS = 100;
/** Least pause between two idle text index steps (each holds the write lock for its block). */
const INDEX_STEP_GAP_MS = 10;
/** Wait before trying a failed text index step again. */
const TEXT_INDEX_RETRY_MS = 1000;
const CONTAINER_ID = ALERT_COLUMNS.indexOf('container_id');
const CONTAINER_NAME = ALERT_COLUMNS.indexOf('container_name');

/** Inserts of flat parameter arrays, and the group transaction over them. */
export class GroupWriter {
  private readonly many: Database.Statement;
  private readonly one: Database.Statement;
  private readonly container: Database.Statement;
  private readonly group: Database.Transaction<(reqs: Pending[]) => number[]>;
  private readonly chunk: unknown[] = [];
  /** Fills the text index behind the inserts (see text-index.ts). */
  readonly text: TextIndexer;

  constructor(db: Database.Database) {
    this.text = new TextIndexer(db);
    this.many = db.prepare(insertSql(ROWS_PER_INSERT));
    this.one = db.prepare(insertSql(1));
    this.container = db.prepare(
      'INSERT INTO alert_containers (container_id, container_name) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    this.group = db.transaction((reqs: Pending[]) => {
      const seen = new Set<string>();
      return reqs.map((r) => this.insertOne(r, seen));
    });
  }

  /** One request's rows (inside the group's transaction); returns how many were new. */
  private insertOne(r: Pending, seen: Set<string>): number {
    const p = r.params;
    const chunk = this.chunk;
    let inserted = 0;
    let row = 0;
    for (; row + ROWS_PER_INSERT <= r.rows; row += ROWS_PER_INSERT) {
      chunk.length = 0;
      for (let k = row * COLS, end = (row + ROWS_PER_INSERT) * COLS; k < end; k++) chunk.push(p[k]);
      inserted += this.many.run(chunk).changes;
    }
    for (; row < r.rows; row++) inserted += this.one.run(p.slice(row * COLS, (row + 1) * COLS)).changes;
    // Name → id pairs for the container filter; a batch names few containers.
    for (let k = 0; k < r.rows; k++) {
      const id = p[k * COLS + CONTAINER_ID];
      const name = p[k * COLS + CONTAINER_NAME];
      if (typeof id !== 'string' || typeof name !== 'string') continue;
      const key = `${id}\u0000${name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.container.run(id, name);
    }
    return inserted;
  }

  /** Commits every request in one IMMEDIATE transaction; returns each request's new-row count. */
  commit(reqs: Pending[]): number[] {
    return this.group.immediate(reqs);
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('writer-thread.js runs as a worker thread only');
  const { options } = workerData as { options: SqliteOptions };
  const db = openSqliteDatabase(options);
  // The checkpointer thread copies the WAL back (checkpointer.ts); this automatic checkpoint, at
  // four times its threshold, only acts should that thread fail.
  db.pragma(
    `wal_autocheckpoint = ${(4 * CHECKPOINT_AT_BYTES) / (db.pragma('page_size', { simple: true }) as number)}`,
  );
  // A small page cache for the writer: it works on the tails of the table and indexes, and every
  // page a larger cache adds is fresh memory to touch (slow on virtual machines). Raw inserts of
  // 200,000 benchmark alerts, same run, alternating: 16 MiB 66,000–68,500 alerts/s at 14.6–15.2 µs
  // per alert, 64 MiB 57,700–60,200 at 16.8–17.4 µs, 256 MiB slower still. Queries keep the
  // store's cache (`cacheMiB`) on their own connection.
  db.pragma(`cache_size = ${-WRITER_CACHE_KIB}`);
  const writer = new GroupWriter(db);
  let pending: Pending[] = [];
  let scheduled = false;
  let closing = false;

  const schedule = (): void => {
    // setImmediate runs after the messages already queued are delivered: they join this group.
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  /** Ports other threads send rows on directly (the hub's ingest thread), answered on the same port. */
  const rowPorts: MessagePort[] = [];

  // The text index is filled behind ingest, a block (4,096 alerts) per step: once the writer has had
  // no insert for TEXT_INDEX_IDLE_MS, or after each commit when it lags by more than
  // TEXT_INDEX_MAX_LAG. A failure there (the write lock held by a retention pass, say) is retried
  // at the next step; inserts never depend on it.
  let idleTimer: NodeJS.Timeout | undefined;
  let lastWrite = 0;
  const indexWhenIdle = (): void => {
    idleTimer = undefined;
    if (closing) return;
    const quiet = Date.now() - lastWrite;
    if (pending.length > 0 || quiet < TEXT_INDEX_IDLE_MS) {
      idleTimer = setTimeout(indexWhenIdle, TEXT_INDEX_IDLE_MS - Math.min(quiet, TEXT_INDEX_IDLE_MS - 1));
      return;
    }
    let n: number;
    const t0 = performance.now();
    try {
      n = writer.text.step();
    } catch (err) {
      // Busy (another connection holds the write lock: a retention pass, an index build) or failing:
      // counted, and tried again a little later.
      port.postMessage({
        kind: 'textIndexError',
        message: err instanceof Error ? err.message : String(err),
      } satisfies WriterReply);
      idleTimer = setTimeout(indexWhenIdle, TEXT_INDEX_RETRY_MS);
      return;
    }
    // The next block after a pause as long as this step: other connections waiting for the write
    // lock (a retention pass, another process) poll for it with sleeps of up to 100 ms, and steps
    // back to back would starve them past their busy timeout. Inserts that arrived meanwhile go first.
    if (n > 0) idleTimer = setTimeout(indexWhenIdle, Math.max(INDEX_STEP_GAP_MS, performance.now() - t0));
  };
  const wakeIndexer = (): void => {
    idleTimer ??= setTimeout(indexWhenIdle, TEXT_INDEX_IDLE_MS);
  };

  const flush = (): void => {
    scheduled = false;
    const reqs = pending;
    pending = [];
    if (reqs.length > 0) {
      try {
        const counts = writer.commit(reqs);
        let rows = 0;
        for (const r of reqs) rows += r.rows;
        // Before the replies: whoever awaited an insert then sees it in the figures.
        port.postMessage({ kind: 'group', requests: reqs.length, rows } satisfies WriterReply);
        for (let i = 0; i < reqs.length; i++) {
          const r = reqs[i]!;
          (r.replyTo ?? port).postMessage({ kind: 'done', id: r.id, inserted: counts[i]! });
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        for (const r of reqs) (r.replyTo ?? port).postMessage({ kind: 'failed', id: r.id, message });
      }
      lastWrite = Date.now();
      if (!closing) {
        try {
          // Catch up to the bound: sustained ingest then pays for the index as it goes.
          while (writer.text.lag() > TEXT_INDEX_MAX_LAG && writer.text.step() > 0);
        } catch {
          // retried after the next commit
        }
        wakeIndexer();
      }
    }
    if (closing) {
      if (idleTimer) clearTimeout(idleTimer);
      for (const p of rowPorts) p.close();
      db.close();
      port.postMessage({ kind: 'closed' } satisfies WriterReply);
      port.close();
    }
  };

  port.on('message', (m: WriterRequest) => {
    if (m.kind === 'insert') pending.push(m);
    else if (m.kind === 'port') {
      const rowPort = m.port;
      rowPorts.push(rowPort);
      rowPort.on('message', (r: RowInsert) => {
        if (closing) {
          rowPort.postMessage({ kind: 'failed', id: r.id, message: 'the SQLite store is closed' });
          return;
        }
        pending.push({ id: r.id, params: r.params, rows: r.rows, replyTo: rowPort });
        schedule();
      });
      return;
    } else closing = true;
    schedule();
  });
  port.postMessage({ kind: 'ready' } satisfies WriterReply);
  // Alerts stored before this start (another process, an older version) are indexed when idle.
  wakeIndexer();
}

if (parentPort && (workerData as { vigilSqliteWriter?: boolean } | null)?.vigilSqliteWriter) main();
