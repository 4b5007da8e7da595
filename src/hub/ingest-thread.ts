/**
 * The hub's ingest thread: decodes `POST /v1/alerts` bodies (JSON, validation, encoding into store
 * rows; batch-decode.ts) off the event loop. The main thread then only moves bytes and rows, so
 * queries and health checks answer while large batches are parsed, and the thread's own young
 * generation (sized by ingest-decoder.ts) lets each batch's parsed objects die young — on the
 * installed `vigil`, whose main thread runs with small semispaces for the agent's memory, parsing
 * there cost about twice as much CPU.
 *
 * Messages in: `{ id, body }`; out: `{ id, result }` (a DecodedBatch) or `{ id, crash }` (a bug).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeAlertBatch, type DecodedBatch } from './batch-decode.js';

export interface IngestRequest {
  id: number;
  body: Uint8Array;
}
export type IngestReply = { id: number; result: DecodedBatch } | { id: number; crash: string };

const data = workerData as { vigilIngestThread?: boolean; maxBatch: number } | null;
const port = parentPort;
if (port && data?.vigilIngestThread) {
  const { maxBatch } = data;
  port.on('message', (m: IngestRequest) => {
    let reply: IngestReply;
    try {
      reply = { id: m.id, result: decodeAlertBatch(m.body, maxBatch) };
    } catch (e) {
      reply = { id: m.id, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
}
