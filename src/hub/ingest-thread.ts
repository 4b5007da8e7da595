/**
 * The hub's ingest thread: decodes `POST /v1/alerts` bodies (JSON, validation, encoding into store
 * rows; batch-decode.ts) off the event loop. With a store that writes from a thread of its own
 * (SQLite), the rows go from here straight to that writer over a row port and only the counts come
 * back: the main thread moves request bytes and small answers, never the alerts. Queries and health
 * checks answer while large batches are parsed, and this thread's own young generation (sized by
 * ingest-decoder.ts) lets each batch's parsed objects die young — on the installed `vigil`, whose
 * main thread runs with small semispaces for the agent's memory, parsing there cost about twice the
 * CPU.
 *
 * Messages in: `{ kind: 'port', rowPort }` once, then `{ kind: 'decode', id, body }`. Out, per
 * decode: `{ id, result }` (a refused batch, or rows when there is no row port), `{ id, stored }`
 * (the writer's counts), `{ id, storeFailed }` or `{ id, crash }` (a bug).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InsertResult, RowPort } from '../store/store.js';
import { rowParams } from '../store/sqlite/sql.js';
import { decodeAlertBatch, type DecodedBatch } from './batch-decode.js';

export type IngestRequest =
  { kind: 'decode'; id: number; body: Uint8Array } | { kind: 'port'; rowPort: RowPort };
export type IngestReply =
  | { id: number; result: DecodedBatch }
  | { id: number; stored: InsertResult }
  | { id: number; storeFailed: string }
  | { id: number; crash: string };

type WriterAnswer =
  { kind: 'done'; id: number; inserted: number } | { kind: 'failed'; id: number; message: string };

const data = workerData as { vigilIngestThread?: boolean; maxBatch: number } | null;
const port = parentPort;
if (port && data?.vigilIngestThread) {
  const { maxBatch } = data;
  let rowPort: RowPort | undefined;
  /** Rows of each decode sent to the writer and not yet answered, by id. */
  const sent = new Map<number, number>();
  const onWriter = (a: WriterAnswer): void => {
    const rows = sent.get(a.id);
    if (rows === undefined) return;
    sent.delete(a.id);
    port.postMessage(
      a.kind === 'done'
        ? ({
            id: a.id,
            stored: { inserted: a.inserted, duplicates: rows - a.inserted },
          } satisfies IngestReply)
        : ({ id: a.id, storeFailed: a.message } satisfies IngestReply),
    );
  };
  port.on('message', (m: IngestRequest) => {
    if (m.kind === 'port') {
      rowPort = m.rowPort;
      rowPort.port.on('message', onWriter);
      return;
    }
    try {
      const result = decodeAlertBatch(m.body, maxBatch);
      if (!result.ok || !rowPort || result.rows.length === 0) {
        port.postMessage({ id: m.id, result } satisfies IngestReply);
        return;
      }
      const params: unknown[] = [];
      for (const r of result.rows) rowParams(r, params);
      sent.set(m.id, result.rows.length);
      rowPort.port.postMessage({ kind: 'insert', id: m.id, params, rows: result.rows.length });
    } catch (e) {
      port.postMessage({
        id: m.id,
        crash: e instanceof Error ? (e.stack ?? e.message) : String(e),
      } satisfies IngestReply);
    }
  });
}
