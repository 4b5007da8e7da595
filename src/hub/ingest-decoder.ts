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
  decode(body: Buffer): Promise<IngestOutcome>;
  close(): Promise<void>;
}

/** Young generation of the ingest thread: room for a few batches' parsed objects at once. */
const INGEST_YOUNG_GENERATION_MB = 64;

/** Decodes on the calling thread. */
export function inlineBatchDecoder(maxBatch: number): BatchDecoder {
  return {
    decode: (body) => {
      try {
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
    decode(body) {
      if (closing) return Promise.reject(new Error('the hub is closing'));
      return calls.call((id) => {
        // A body with a buffer of its own is moved, not copied; a slice of a shared one is copied.
        const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
        const msg: IngestRequest = { kind: 'decode', id, body };
        worker.postMessage(msg, own ? [body.buffer as ArrayBuffer] : []);
      });
    },
    close() {
      closing ??= calls.failed ? Promise.resolve() : worker.terminate().then(() => undefined);
      return closing;
    },
  };
}
