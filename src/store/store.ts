/**
 * The alert store: one interface, implemented by `sqlite/` (embedded, the default) and `postgres/`
 * (shared by several hubs at scale). Both implementations pass the same contract suite
 * (`test/store/store.contract.ts`), so callers never branch on the backend.
 *
 * Times are nanoseconds since the epoch as `bigint` everywhere: they round-trip exactly.
 */
import type { Alert } from '../engine/engine.js';
import type { Priority } from '../engine/rules/index.js';
import type { MessagePort } from 'node:worker_threads';
import type { AlertRow } from './alert-row.js';

/** An alert as stored: the engine's alert plus a producer-chosen unique id. */
export interface StoredAlert extends Alert {
  /**
   * Idempotency key chosen by the producer (e.g. `<agent>:<boot>:<seq>`): inserting an alert whose id
   * is already stored is a no-op, so at-least-once shipping never duplicates.
   */
  id: string;
}

/** What `insertAlerts` did with a batch. `inserted + duplicates` is the batch length. */
export interface InsertResult {
  inserted: number;
  /** Alerts whose id was already stored (or repeated earlier in the same batch). */
  duplicates: number;
}

/** One value or several (matches any of them). */
export type OneOrMany<T> = T | readonly T[];

/**
 * Which alerts a query or count selects. Every member is optional; members combine with AND, and the
 * values of one member (a list) combine with OR.
 */
export interface AlertFilter {
  /** Earliest event time, inclusive (ns since the epoch). */
  since?: bigint;
  /** Latest event time, exclusive (ns since the epoch). */
  until?: bigint;
  /** Rule name, exact. */
  rule?: OneOrMany<string>;
  /** Minimum priority: keeps alerts at this priority or more severe (`WARNING` keeps ERROR, CRITICAL…). */
  minPriority?: Priority;
  /** Alerts having at least one of these tags. An empty list selects nothing. */
  tags?: readonly string[];
  /** Event source (`syscall`, `k8s_audit`, …), exact. */
  source?: OneOrMany<string>;
  hostname?: OneOrMany<string>;
  /** Container id or container name (`container.id` / `container.name`), exact. */
  container?: OneOrMany<string>;
  /** Kubernetes namespace (`k8s.ns.name`, or `ka.target.namespace` for audit alerts), exact. */
  namespace?: OneOrMany<string>;
  /**
   * Substring of the output text, case-insensitive. ASCII letters fold on both backends; other letters
   * fold on PostgreSQL only (SQLite's LIKE folds ASCII alone).
   */
  text?: string;
}

/** A filter plus paging: what `queryAlerts` takes. */
export interface AlertQuery extends AlertFilter {
  /** Page size: 1 … {@link MAX_QUERY_LIMIT}; default {@link DEFAULT_QUERY_LIMIT}. */
  limit?: number;
  /** `nextCursor` of the previous page; continues after its last alert. */
  cursor?: string;
}

/** One page of alerts, newest first (by time, then id, both descending). */
export interface AlertPage {
  alerts: StoredAlert[];
  /** Present when more alerts may follow; pass it back as `cursor`. Opaque. */
  nextCursor?: string;
}

/** Retention policy: either bound or both. */
export interface RetentionPolicy {
  /** Delete alerts whose event time is older than `now - maxAgeNs`. */
  maxAgeNs?: bigint;
  /** Then keep at most this many alerts (the newest by time, then id). */
  maxRows?: number;
  /** The clock for `maxAgeNs` (ns since the epoch); default: the wall clock. */
  nowNs?: bigint;
}

/** Counted deletions of one `enforceRetention` run. */
export interface RetentionResult {
  deletedByAge: number;
  deletedByRows: number;
}

export type StoreKind = 'sqlite' | 'postgres';

/**
 * A direct line to a store's writer thread. Send `{ kind: 'insert', id, params, rows }` where
 * `params` holds each row's values in `ALERT_COLUMNS` order, flat (`rowParams` of the SQLite store);
 * the answer comes back on the port: `{ kind: 'done', id, inserted }` or `{ kind: 'failed', id,
 * message }`.
 */
export interface RowPort {
  port: MessagePort;
  format: 'sqlite-params';
}

/** The alert store. Every method may be called concurrently; `close` waits for none of them. */
export interface Store {
  readonly kind: StoreKind;
  /** Inserts a batch in one transaction; ids already stored are skipped and counted as duplicates. */
  insertAlerts(batch: readonly StoredAlert[]): Promise<InsertResult>;
  /**
   * The same for alerts already encoded with `encodeAlert` (the hub encodes in its ingest thread).
   * Rows are trusted to come from `encodeAlert`.
   */
  insertRows(rows: readonly AlertRow[]): Promise<InsertResult>;
  /**
   * When the store writes from a thread of its own (SQLite), a port another thread can send encoded
   * rows on directly (see {@link RowPort}); undefined otherwise. Each call makes a new port.
   */
  openRowPort?(): RowPort | undefined;
  /** One page of the alerts matching the query, newest first. */
  queryAlerts(query?: AlertQuery): Promise<AlertPage>;
  /** How many alerts match (limit and cursor do not apply). */
  countAlerts(filter?: AlertFilter): Promise<number>;
  /** Deletes alerts whose event time is before `timeNs`; returns how many. */
  deleteOlderThan(timeNs: bigint): Promise<number>;
  /** Applies an age bound, then a row-count bound; returns what each deleted. */
  enforceRetention(policy: RetentionPolicy): Promise<RetentionResult>;
  /** The schema version the store is at (the highest applied migration). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 10_000;

/**
 * A query the caller got wrong (bad cursor, limit out of range, invalid id). The hub maps it to a
 * 400 response; anything else a store throws is an I/O failure or a bug.
 */
export class StoreQueryError extends Error {
  override readonly name = 'StoreQueryError';
}
