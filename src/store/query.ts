/**
 * Filter, paging and cursor logic written once for both backends. A backend supplies a small
 * {@link Dialect} (how to bind a parameter, how to test tags and text); everything else (which
 * conditions a filter means, the keyset order, the cursor format, limit checks) lives here.
 *
 * Paging is keyset paging on (time, id) descending: a page continues strictly after the last alert
 * of the previous one, so alerts inserted meanwhile never cause gaps or repeats among those already
 * paged over. `id` compares bytewise on both backends (SQLite's BINARY collation, `COLLATE "C"` on
 * PostgreSQL) so both order ties alike.
 */
import { priorityRank } from '../engine/rules/index.js';
import {
  DEFAULT_QUERY_LIMIT,
  MAX_QUERY_LIMIT,
  StoreQueryError,
  type AlertFilter,
  type AlertQuery,
  type OneOrMany,
  type StoredAlert,
} from './store.js';

/** What differs between the SQL of the backends. */
export interface Dialect {
  /** Binds a value and returns its placeholder (`?` or `$n`). */
  bind(value: unknown): string;
  /** Binds a bigint time. */
  bindTime(value: bigint): string;
  /** Condition: the alert has at least one of `tags` (non-empty). */
  tagsAnyOf(tags: readonly string[]): string;
  /** Condition: the output contains `text`, case-insensitively (LIKE pattern bound by the dialect). */
  outputContains(likePattern: string): string;
  /**
   * Optional: a condition implied by "container id or name is one of `values`" that the backend can
   * answer from an index; it is added to (never replaces) the exact condition.
   */
  containerHint?(values: readonly string[]): string;
  /**
   * Optional: what follows `FROM alerts` in page and count queries (an index hint), when the backend
   * knows better than its planner which access path the query needs.
   */
  tableHint?(): string;
  /**
   * Optional condition restricting the rows to those an index of the dialect's own names as
   * possible matches (undefined: none); it never changes the result, only the rows read.
   */
  narrow?(): string | undefined;
}

/** Keyset position: the last alert of a page. */
export interface CursorPosition {
  time: bigint;
  id: string;
}

const CURSOR_VERSION = 'a1';

/** Opaque cursor for the position after `alert`. */
export function encodeCursor(alert: Pick<StoredAlert, 'time' | 'id'>): string {
  return Buffer.from(`${CURSOR_VERSION}:${alert.time}:${alert.id}`, 'utf8').toString('base64url');
}

/** Reads a cursor back; throws StoreQueryError when it is not one this module wrote. */
export function decodeCursor(cursor: string): CursorPosition {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^a1:(-?\d{1,20}):([\s\S]+)$/.exec(text);
  const time = m ? BigInt(m[1]!) : 0n;
  if (
    !m ||
    Buffer.from(text, 'utf8').toString('base64url') !== cursor ||
    time < MIN_TIME ||
    time > MAX_TIME
  ) {
    throw new StoreQueryError(`invalid cursor ${JSON.stringify(cursor)}`);
  }
  return { time, id: m[2]! };
}

/** The page size a query asks for, checked. */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_QUERY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
    throw new StoreQueryError(`limit must be an integer from 1 to ${MAX_QUERY_LIMIT} (got ${limit})`);
  }
  return limit;
}

function list(v: OneOrMany<string>): readonly string[] {
  return typeof v === 'string' ? [v] : v;
}

/** Stored times are int64; bounds beyond that range are answered without binding them. */
export const MIN_TIME = -(2n ** 63n);
export const MAX_TIME = 2n ** 63n - 1n;

/** Condition `time < t`, for any bigint `t`. */
export function olderThan(d: Dialect, t: bigint): string {
  if (t <= MIN_TIME) return 'FALSE';
  if (t > MAX_TIME) return 'TRUE';
  return `time < ${d.bindTime(t)}`;
}

/** Condition `time >= t`, for any bigint `t`. */
function notOlderThan(d: Dialect, t: bigint): string {
  if (t <= MIN_TIME) return 'TRUE';
  if (t > MAX_TIME) return 'FALSE';
  return `time >= ${d.bindTime(t)}`;
}

/** Escapes LIKE wildcards; the backends use `ESCAPE '\'`. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `column = x` or `column IN (…)`; an empty list matches nothing. */
function oneOf(d: Dialect, column: string, values: readonly string[]): string {
  if (values.length === 0) return 'FALSE';
  if (values.length === 1) return `${column} = ${d.bind(values[0])}`;
  return `${column} IN (${values.map((v) => d.bind(v)).join(', ')})`;
}

/**
 * The WHERE conditions of a filter (joined with AND; `TRUE` when there are none). Column names are
 * those of the `alerts` table, unqualified.
 */
export function whereClause(d: Dialect, f: AlertFilter, after?: CursorPosition): string {
  const c: string[] = [];
  if (f.since !== undefined) c.push(notOlderThan(d, f.since));
  if (f.until !== undefined) c.push(olderThan(d, f.until));
  if (f.rule !== undefined) c.push(oneOf(d, 'rule', list(f.rule)));
  if (f.minPriority !== undefined) c.push(`priority <= ${d.bind(priorityRank(f.minPriority))}`);
  if (f.tags !== undefined) c.push(f.tags.length === 0 ? 'FALSE' : d.tagsAnyOf(f.tags));
  if (f.source !== undefined) c.push(oneOf(d, 'source', list(f.source)));
  if (f.hostname !== undefined) c.push(oneOf(d, 'hostname', list(f.hostname)));
  if (f.container !== undefined) {
    const values = list(f.container);
    if (values.length === 0) {
      c.push('FALSE');
    } else {
      c.push(`(${oneOf(d, 'container_id', values)} OR ${oneOf(d, 'container_name', values)})`);
      if (d.containerHint) c.push(d.containerHint(values));
    }
  }
  if (f.namespace !== undefined) c.push(oneOf(d, 'k8s_ns', list(f.namespace)));
  if (f.text !== undefined && f.text !== '') c.push(d.outputContains(likeContains(f.text)));
  const narrowed = d.narrow?.();
  if (narrowed !== undefined) c.push(narrowed);
  if (after) {
    // Row-value comparison: both backends walk the (time, id) index backwards from here.
    c.push(`(time, id) < (${d.bindTime(after.time)}, ${d.bind(after.id)})`);
  }
  return c.length ? c.join(' AND ') : 'TRUE';
}

/** Columns a page reads, in the order {@link ReadRow} builders expect. */
export const SELECT_COLUMNS =
  'id, time, rule, priority, source, hostname, output, output_fields, output_types, tags';

/** The dialect's table hint, with its leading space. */
function hint(d: Dialect): string {
  const h = d.tableHint?.();
  return h ? ` ${h}` : '';
}

/** SQL for one page (fetches one extra row to know whether another page follows). */
export function pageQuery(d: Dialect, q: AlertQuery): { sql: string; limit: number } {
  const limit = resolveLimit(q.limit);
  const after = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
  const where = whereClause(d, q, after);
  const sql = `SELECT ${SELECT_COLUMNS} FROM alerts${hint(d)} WHERE ${where} ORDER BY time DESC, id DESC LIMIT ${d.bind(limit + 1)}`;
  return { sql, limit };
}

/** Turns the rows of {@link pageQuery} into a page. */
export function toPage(alerts: StoredAlert[], limit: number): { alerts: StoredAlert[]; nextCursor?: string } {
  if (alerts.length <= limit) return { alerts };
  alerts.length = limit;
  return { alerts, nextCursor: encodeCursor(alerts[limit - 1]!) };
}

/** SQL counting the alerts of a filter. */
export function countQuery(d: Dialect, f: AlertFilter): string {
  return `SELECT COUNT(*) AS n FROM alerts${hint(d)} WHERE ${whereClause(d, f)}`;
}

/** SQL deleting the alerts older than `t` (any bigint). */
export function deleteOlderQuery(d: Dialect, t: bigint): string {
  return `DELETE FROM alerts WHERE ${olderThan(d, t)}`;
}

/** Checks a retention policy; returns the age cutoff (ns) when there is one. */
export function retentionCutoff(p: {
  maxAgeNs?: bigint;
  maxRows?: number;
  nowNs?: bigint;
}): bigint | undefined {
  if (p.maxRows !== undefined && (!Number.isInteger(p.maxRows) || p.maxRows < 0)) {
    throw new StoreQueryError(`maxRows must be a non-negative integer (got ${p.maxRows})`);
  }
  if (p.maxAgeNs === undefined) return undefined;
  if (p.maxAgeNs < 0n) throw new StoreQueryError(`maxAgeNs must not be negative (got ${p.maxAgeNs})`);
  const now = p.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  return now - p.maxAgeNs;
}
