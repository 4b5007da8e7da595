/**
 * The SQLite store's checkpointer: a small thread with its own connection that copies the WAL back
 * into the database file (`PRAGMA wal_checkpoint(PASSIVE)`) whenever the WAL has grown past
 * {@link CHECKPOINT_AT_BYTES}, so that the writer thread never does it. A checkpoint writes every
 * page changed since the last one into the database file and syncs it; done by the writer (SQLite's
 * automatic checkpoint runs in the commit that crosses the limit) it stalled ingest for that time —
 * over 200,000 benchmark alerts the writer with automatic checkpoints stored 25,000 alerts/s, without
 * them 43,000. PASSIVE never blocks the writer or readers; what it cannot copy yet (frames a reader
 * still needs) is copied the next time. The writer keeps a far higher automatic checkpoint as a
 * backstop, should this thread fail (writer-thread.ts).
 *
 * Messages in: `{ kind: 'close' }` (a last checkpoint, then exit). Out: `{ kind: 'ready' }`,
 * `{ kind: 'checkpoint', frames, ms }` after each, `{ kind: 'error', message }`.
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteDatabase, WAL_CHECKPOINT_BYTES, type SqliteOptions } from './connection.js';

/** WAL size that triggers a checkpoint (the writer's backstop is four times this). */
export const CHECKPOINT_AT_BYTES = WAL_CHECKPOINT_BYTES;
/** How often the WAL's size is looked at. */
const POLL_MS = 100;

export type CheckpointerReply =
  { kind: 'ready' } | { kind: 'checkpoint'; frames: number; ms: number } | { kind: 'error'; message: string };

function main(): void {
  const port = parentPort!;
  const { options } = workerData as { options: SqliteOptions };
  const db = openSqliteDatabase(options);
  const wal = `${options.path}-wal`;
  const checkpoint = (): void => {
    const t0 = performance.now();
    try {
      const r = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      port.postMessage({
        kind: 'checkpoint',
        frames: r[0]?.checkpointed ?? 0,
        ms: performance.now() - t0,
      } satisfies CheckpointerReply);
    } catch (err) {
      port.postMessage({
        kind: 'error',
        message: err instanceof Error ? err.message : String(err),
      } satisfies CheckpointerReply);
    }
  };
  const timer = setInterval(() => {
    let size = 0;
    try {
      size = statSync(wal).size;
    } catch {
      return; // no WAL yet
    }
    if (size >= CHECKPOINT_AT_BYTES) checkpoint();
  }, POLL_MS);
  port.on('message', (m: { kind: 'close' }) => {
    if (m.kind !== 'close') return;
    clearInterval(timer);
    checkpoint();
    db.close();
    port.close();
  });
  port.postMessage({ kind: 'ready' } satisfies CheckpointerReply);
}

if (parentPort && (workerData as { vigilSqliteCheckpointer?: boolean } | null)?.vigilSqliteCheckpointer)
  main();
