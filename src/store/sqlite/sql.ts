/**
 * The SQLite store's insert SQL and row parameters, shared by the store, its writer thread and the
 * benchmark's raw-driver ceiling.
 */
import { ALERT_COLUMNS, type AlertRow } from '../alert-row.js';

/**
 * Rows per multi-row INSERT: fewer statement executions and parameter bindings per row, well under
 * SQLite's 32766 parameters (13 per row).
 */
export const ROWS_PER_INSERT = 250;

/** Appends a row's values in {@link ALERT_COLUMNS} order. */
export function rowParams(r: AlertRow, out: unknown[]): void {
  out.push(
    r.id,
    r.time,
    r.rule,
    r.priority,
    r.source,
    r.hostname,
    r.containerId,
    r.containerName,
    r.k8sNs,
    r.output,
    r.outputFields,
    r.outputTypes,
    JSON.stringify(r.tags),
  );
}

/** The multi-row INSERT for `rows` rows. */
export function insertSql(rows: number): string {
  const one = `(${ALERT_COLUMNS.map(() => '?').join(', ')})`;
  // OR IGNORE rather than ON CONFLICT (id) DO NOTHING: the same for a known id, but a statement
  // that cannot abort needs no statement journal, so SQLite does not copy every page the statement
  // touches before changing it. (Every other constraint, NOT NULL and the priority CHECK, is already
  // guaranteed by encodeAlert, so nothing else can be ignored; `changes` counts the rows stored.)
  return `INSERT OR IGNORE INTO alerts (${ALERT_COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => one).join(', ')}`;
}
