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
 * Messages in: `{ kind: 'port', rowPort }` once, then `{ kind: 'decode', id, chunks, size }` (the
 * request body's chunks, moved here, not copied). Out, per
 * decode: `{ id, result }` (a refused batch, or rows when there is no row port), `{ id, stored }`
 * (the writer's counts), `{ id, storeFailed }` or `{ id, crash }` (a bug).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InsertResult, RowPort } from '../store/store.js';
import { decodeAlertBatch, decodeAlertParams, type DecodedBatch } from './batch-decode.js';

export type IngestRequest =
  { kind: 'decode'; id: number; chunks: Uint8Array[]; size: number } | { kind: 'port'; rowPort: RowPort };
export type IngestReply =
  | { id: number; result: DecodedBatch }
  | { id: number; stored: InsertResult }
  | { id: number; storeFailed: string }
  | { id: number; crash: string };

type WriterAnswer =
  { kind: 'done'; id: number; inserted: number } | { kind: 'failed'; id: number; message: string };

/** Bodies of several chunks are put together here; kept between bodies up to this size. */
const KEEP_ASSEMBLY_BYTES = 16 * 1024 * 1024;
let assembly = Buffer.alloc(0);

/**
 * The body as one buffer: a lone chunk as it is, several copied into a buffer this thread keeps
 * (memory already touched, unlike a new buffer per body). Valid until the next call.
 */
function bodyOf(chunks: Uint8Array[], size: number): Buffer {
  if (chunks.length === 1) {
    const c = chunks[0]!;
    return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
  let out = assembly;
  if (size > out.length) {
    out = Buffer.allocUnsafeSlow(size);
    if (size <= KEEP_ASSEMBLY_BYTES) assembly = out;
  }
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.subarray(0, size);
}

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
      // Nothing decoded keeps a reference to these bytes (strings are copies), so the assembly
      // buffer can take the next body.
      const body = bodyOf(m.chunks, m.size);
      if (!rowPort) {
        port.postMessage({ id: m.id, result: decodeAlertBatch(body, maxBatch) } satisfies IngestReply);
        return;
      }
      // Straight from the body's bytes to the writer's row parameters (batch-decode.ts).
      const result = decodeAlertParams(body, maxBatch);
      if (!result.ok || result.rows === 0) {
        const reply = result.ok ? { ok: true as const, rows: [] } : result;
        port.postMessage({ id: m.id, result: reply } satisfies IngestReply);
        return;
      }
      sent.set(m.id, result.rows);
      rowPort.port.postMessage({ kind: 'insert', id: m.id, params: result.params, rows: result.rows });
    } catch (e) {
      port.postMessage({
        id: m.id,
        crash: e instanceof Error ? (e.stack ?? e.message) : String(e),
      } satisfies IngestReply);
    }
  });
}
