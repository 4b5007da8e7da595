/**
 * Decoding one `POST /v1/alerts` body into stored rows: JSON, the batch shape, each alert's wire
 * validation (`alertFromWire`) and its encoding for the store (`encodeAlert`). The hub runs it in its
 * ingest thread (ingest-decoder.ts); the result is the same from either thread.
 *
 * Two outputs: rows for `Store.insertRows` (`decodeAlertBatch`, the general path), and the SQLite
 * writer's row parameters (`decodeAlertParams`: the fast path of alert-params.ts for alerts as agents
 * send them, this general path for any other alert; the same values either way).
 *
 * On the general path each alert is parsed on its own from its bytes (batch-scan.ts) and encoded at
 * once, so a batch's parsed objects die young; bodies of another shape, or invalid ones, are parsed
 * whole, which gives the usual messages.
 */
import { encodeAlert, type AlertRow } from '../store/alert-row.js';
import { rowParams } from '../store/sqlite/sql.js';
import { StoreQueryError } from '../store/store.js';
import { ALERT_PARAMS_USABLE, appendAlertParams } from './alert-params.js';
import { scanAlertBatch, scanBatchEnd, scanBatchStart, skipSpace, skipValue } from './batch-scan.js';
import { alertFromWire, WireError } from './wire.js';

/** Why a request is refused (HTTP status, metric reason, message). */
export type RefusedBatch = {
  ok: false;
  status: 400 | 413;
  reason: 'invalid' | 'too_large';
  message: string;
};

/** A decoded batch, or why the request is refused. */
export type DecodedBatch = { ok: true; rows: AlertRow[] } | RefusedBatch;

/**
 * A batch decoded into the SQLite writer's row parameters (`rowParams` of each row, flat), or why
 * it is refused.
 */
export type ParamsBatch = { ok: true; params: unknown[]; rows: number } | RefusedBatch;

const invalid = (message: string): RefusedBatch => ({ ok: false, status: 400, reason: 'invalid', message });

function tooMany(count: number, maxBatch: number): RefusedBatch {
  return {
    ok: false,
    status: 413,
    reason: 'too_large',
    message: `alerts: ${count} alerts in one request; at most ${maxBatch} per request`,
  };
}

/** One alert's row; the message of a refused one names its index (`alerts[17].time: …`). */
function row(v: unknown, index: number): AlertRow | RefusedBatch {
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

/** The general path into row parameters: the rows of {@link decodeAlertBatch}, then `rowParams`. */
function paramsOfRows(body: Uint8Array, maxBatch: number): ParamsBatch {
  const decoded = decodeAlertBatch(body, maxBatch);
  if (!decoded.ok) return decoded;
  const params: unknown[] = [];
  for (const r of decoded.rows) rowParams(r, params);
  return { ok: true, params, rows: decoded.rows.length };
}

/**
 * Decodes a `{"alerts":[…]}` body of at most `maxBatch` alerts into the SQLite writer's row
 * parameters: the same values as `rowParams` of each row of {@link decodeAlertBatch}, or the same
 * refusal.
 *
 * Alerts in the form agents send go the fast path (alert-params.ts: bytes to parameters, the
 * received `output_fields` text stored as it is); any other alert goes the general path on its own
 * (`JSON.parse` of its bytes, `alertFromWire`, `encodeAlert`). Anything wrong anywhere — the body's
 * shape, JSON syntax, an invalid alert, too many alerts — sends the whole body to the general path,
 * which gives the usual refusal.
 */
export function decodeAlertParams(body: Uint8Array, maxBatch: number): ParamsBatch {
  if (!ALERT_PARAMS_USABLE) return paramsOfRows(body, maxBatch);
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let i = scanBatchStart(buf);
  if (i < 0) return paramsOfRows(body, maxBatch);
  const params: unknown[] = [];
  let rows = 0;
  let fallbacks = 0;
  if (buf[i] === 0x5d) i++;
  else {
    for (;;) {
      if (rows === maxBatch) return paramsOfRows(body, maxBatch);
      const start = i;
      // A body whose first alerts all miss the fast path (pretty-printed, say) stops trying it.
      i = fallbacks < 16 || fallbacks < rows ? appendAlertParams(buf, start, params) : -1;
      if (i < 0) {
        fallbacks++;
        i = skipValue(buf, start);
        if (i < 0) return paramsOfRows(body, maxBatch);
        let v: unknown;
        try {
          v = JSON.parse(buf.toString('utf8', start, i));
        } catch {
          return paramsOfRows(body, maxBatch);
        }
        const r = row(v, rows);
        if ('ok' in r) return paramsOfRows(body, maxBatch);
        rowParams(r, params);
      }
      rows++;
      i = skipSpace(buf, i);
      const c = buf[i];
      if (c === 0x2c) i = skipSpace(buf, i + 1);
      else if (c === 0x5d) {
        i++;
        break;
      } else return paramsOfRows(body, maxBatch);
    }
  }
  return scanBatchEnd(buf, i) ? { ok: true, params, rows } : paramsOfRows(body, maxBatch);
}
