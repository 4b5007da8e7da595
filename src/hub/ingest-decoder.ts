/**
 * Decoding ingest bodies for the hub, in the ingest thread (ingest-thread.ts) or, for tests and
 * embedding, on the calling thread. Both give the same {@link DecodedBatch}.
 */
import { Worker } from 'node:worker_threads';
import { WorkerCalls } from '../workers/worker-calls.js';
import { compiledWorkerFile } from '../workers/worker-file.js';
import { decodeAlertBatch, type DecodedBatch } from './batch-decode.js';
import type { InsertResult, RowPort } from '../store/store.js';
import type { IngestReply, IngestRequest } from './ingest-thread.js';

/** What became of a body: refused, decoded into rows for `Store.insertRows`, or already stored. */
export type IngestOutcome = DecodedBatch | { ok: true; stored: InsertResult };

/** Turns request bodies into store rows (or stored alerts, given a row port). */
export interface BatchDecoder {
  /**
   * Decodes the body made of `chunks` (`size` bytes in all). The chunks are the decoder's from then
   * on: the ingest thread takes their memory over.
   */
  decode(chunks: readonly Buffer[], size: number): Promise<IngestOutcome>;
  close(): Promise<void>;
}

/** Young generation of the ingest thread: room for a few batches' parsed objects at once. */
export const INGEST_YOUNG_GENERATION_MB = 64;

/** Decodes on the calling thread. */
export function inlineBatchDecoder(maxBatch: number): BatchDecoder {
  return {
    decode: (chunks, size) => {
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        return Promise.resolve(decodeAlertBatch(body, maxBatch));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Starts the ingest thread; with `rowPort` (the store's writer thread) it stores the rows itself and
 * `decode` resolves with the counts. It keeps the process alive only while bodies are in flight.
 */
export function startIngestThread(maxBatch: number, rowPort?: RowPort): BatchDecoder {
  const worker = new Worker(compiledWorkerFile(import.meta.url, 'ingest-thread'), {
    workerData: { vigilIngestThread: true, maxBatch },
    // No inherited node options (some are refused in workers, none are needed).
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: INGEST_YOUNG_GENERATION_MB },
  });
  const calls = new WorkerCalls<IngestOutcome>(
    worker,
    (code) => `the hub's ingest thread exited (code ${code})`,
  );
  if (rowPort) worker.postMessage({ kind: 'port', rowPort } satisfies IngestRequest, [rowPort.port]);
  let closing: Promise<void> | undefined;
  worker.on('message', (m: IngestReply) => {
    if ('result' in m) calls.settle(m.id, { value: m.result });
    else if ('stored' in m) calls.settle(m.id, { value: { ok: true, stored: m.stored } });
    else if ('storeFailed' in m) calls.settle(m.id, { error: new Error(m.storeFailed) });
    else calls.settle(m.id, { error: new Error(`ingest thread: ${m.crash}`) });
  });
  return {
    decode(chunks, size) {
      if (closing) return Promise.reject(new Error('the hub is closing'));
      return calls.call((id) => {
        // Chunks with a buffer of their own (what the socket gives) are moved, not copied: no copy
        // of the body on the event loop at all. Concatenating them here cost more than the rest of
        // the request's handling (a megabyte of freshly mapped memory per request, slow to touch
        // on virtual machines). A view of a shared buffer is copied to one of its own first
        // (posting the view would copy all of the buffer under it).
        const parts = chunks.map((c) =>
          c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : new Uint8Array(c),
        );
        const msg: IngestRequest = { kind: 'decode', id, chunks: parts, size };
        worker.postMessage(
          msg,
          parts.map((c) => c.buffer as ArrayBuffer),
        );
      });
    },
    close() {
      closing ??= calls.failed ? Promise.resolve() : worker.terminate().then(() => undefined);
      return closing;
    },
  };
}
