/**
 * Decoding one `POST /v1/alerts` body into stored rows: JSON, the batch shape, each alert's wire
 * validation (`alertFromWire`) and its encoding for the store (`encodeAlert`). The hub runs it in its
 * ingest thread (ingest-decoder.ts); the result is the same from either thread.
 *
 * Each alert is parsed on its own from its bytes (batch-scan.ts) and encoded at once, so a batch's
 * parsed objects die young; bodies of another shape, or invalid ones, are parsed whole, which gives
 * the usual messages.
 */
import { encodeAlert, type AlertRow } from '../store/alert-row.js';
import { StoreQueryError } from '../store/store.js';
import { scanAlertBatch } from './batch-scan.js';
import { alertFromWire, WireError } from './wire.js';

/** A decoded batch, or why the request is refused (HTTP status, metric reason, message). */
export type DecodedBatch =
  | { ok: true; rows: AlertRow[] }
  | { ok: false; status: 400 | 413; reason: 'invalid' | 'too_large'; message: string };

const invalid = (message: string): DecodedBatch => ({ ok: false, status: 400, reason: 'invalid', message });

function tooMany(count: number, maxBatch: number): DecodedBatch {
  return {
    ok: false,
    status: 413,
    reason: 'too_large',
    message: `alerts: ${count} alerts in one request; at most ${maxBatch} per request`,
  };
}

/** One alert's row; the message of a refused one names its index (`alerts[17].time: …`). */
function row(v: unknown, index: number): AlertRow | DecodedBatch {
  try {
    // The path string is built only for the message of an invalid alert, not for each alert.
    return encodeAlert(alertFromWire(v, 'alerts[]'));
  } catch (e) {
    if (e instanceof WireError) {
      try {
        alertFromWire(v, `alerts[${index}]`);
      } catch (e2) {
        return invalid((e2 as Error).message);
      }
    }
    if (e instanceof StoreQueryError || e instanceof WireError) return invalid(e.message);
    throw e;
  }
}

/** The whole-body path: one JSON.parse, then the same checks. */
function decodeWhole(body: Uint8Array, maxBatch: number): DecodedBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    return invalid(`body is not valid JSON: ${(e as Error).message}`);
  }
  const list =
    typeof parsed === 'object' && parsed !== null ? (parsed as { alerts?: unknown }).alerts : undefined;
  if (!Array.isArray(list)) return invalid('body: must be an object {"alerts":[…]}');
  if (list.length > maxBatch) return tooMany(list.length, maxBatch);
  const rows: AlertRow[] = new Array<AlertRow>(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = row(list[i], i);
    if ('ok' in r) return r;
    rows[i] = r;
  }
  return { ok: true, rows };
}

/** Decodes a `{"alerts":[…]}` body of at most `maxBatch` alerts into rows for `Store.insertRows`. */
export function decodeAlertBatch(body: Uint8Array, maxBatch: number): DecodedBatch {
  const ranges = scanAlertBatch(body);
  if (ranges === undefined) return decodeWhole(body, maxBatch);
  const count = ranges.length / 2;
  if (count > maxBatch) return tooMany(count, maxBatch);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const rows: AlertRow[] = new Array<AlertRow>(count);
  for (let k = 0; k < count; k++) {
    let v: unknown;
    try {
      v = JSON.parse(buf.toString('utf8', ranges[2 * k], ranges[2 * k + 1]));
    } catch {
      // The message JSON.parse gives for the whole body (its position is the body's).
      return decodeWhole(body, maxBatch);
    }
    const r = row(v, k);
    if ('ok' in r) return r;
    rows[k] = r;
  }
  return { ok: true, rows };
}
