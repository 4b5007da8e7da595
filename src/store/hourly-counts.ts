/**
 * Hourly alert counts, the part both backends share: which count filters the table
 * `alert_counts (hour, rule, priority, source, hostname) → n` can answer, and the queries whose sum
 * is such a count. Counting a common rule over a week then sums a few thousand rows instead of
 * walking hundreds of thousands of index entries.
 *
 * A count adds the hours wholly inside the filter's window, from the table, and the partial hours
 * at the window's edges, from the alerts (their time index). How the table is kept is the backend's:
 * SQLite's text indexer adds each block as it indexes it (sqlite/counts.ts), PostgreSQL's triggers
 * add and subtract in the statement that inserts or deletes (postgres/migrations.ts).
 */
import { whereClause, type Dialect } from './query.js';
import type { AlertFilter } from './store.js';

export const HOUR_NS = 3_600_000_000_000n;

/** Floor of t / 1 h (BigInt division truncates toward zero). */
export function hourOf(t: bigint): bigint {
  const q = t / HOUR_NS;
  return t < 0n && q * HOUR_NS !== t ? q - 1n : q;
}

/** Filter members the hourly counts have (besides the window). */
const ROLLUP_KEYS: ReadonlySet<string> = new Set([
  'since',
  'until',
  'rule',
  'minPriority',
  'source',
  'hostname',
]);

/**
 * Whether a count filter can use the hourly counts: only members the table has, over a window of at
 * least a few hours (for a short one the time index alone is as fast).
 */
export function rollupApplies(f: AlertFilter): boolean {
  for (const [k, v] of Object.entries(f)) {
    if (v !== undefined && !ROLLUP_KEYS.has(k)) return false;
  }
  if (f.since !== undefined && f.until !== undefined && f.until - f.since < 3n * HOUR_NS) return false;
  // Hour boundaries of far-out bounds could leave int64: those windows are counted the plain way.
  const far = (t: bigint | undefined): boolean => t !== undefined && (t > 2n ** 62n || t < -(2n ** 62n));
  return !far(f.since) && !far(f.until);
}

/** The whole hours inside [since, until): [from, to) in hours, either side open when undefined. */
export function wholeHours(f: AlertFilter): { from?: bigint; to?: bigint } {
  const out: { from?: bigint; to?: bigint } = {};
  if (f.since !== undefined) {
    const h = hourOf(f.since);
    out.from = h * HOUR_NS === f.since ? h : h + 1n;
  }
  if (f.until !== undefined) out.to = hourOf(f.until);
  return out;
}

/** One query of a count made of parts: its SQL (one row, column `n`) and parameters. */
export interface CountPart {
  sql: string;
  params: unknown[];
}

/**
 * The queries whose results add up to the count of `filter` (for which {@link rollupApplies}) over
 * the alerts the hourly counts cover: the sum of the whole hours in the window, and the alerts of
 * the window's partial hours. `covered`, when given, is a condition on `alerts` restricting them to
 * those the counts cover (the caller counts the rest itself); `dialect` makes a fresh dialect per
 * query (placeholders are numbered per statement).
 */
export function rollupCountParts<D extends Dialect & { readonly params: unknown[] }>(
  filter: AlertFilter,
  dialect: () => D,
  covered?: (d: D) => string,
): CountPart[] {
  const { from, to } = wholeHours(filter);
  if (from !== undefined && to !== undefined && from >= to) {
    // No whole hour inside: every alert of the window is counted from the alerts.
    const e = dialect();
    const where = whereClause(e, filter);
    const sql = `SELECT COUNT(*) AS n FROM alerts WHERE ${where}${covered ? ` AND ${covered(e)}` : ''}`;
    return [{ sql, params: e.params }];
  }
  // Only the dimension members: the time window is the hour range.
  const dims: AlertFilter = {};
  if (filter.rule !== undefined) dims.rule = filter.rule;
  if (filter.minPriority !== undefined) dims.minPriority = filter.minPriority;
  if (filter.source !== undefined) dims.source = filter.source;
  if (filter.hostname !== undefined) dims.hostname = filter.hostname;
  const d = dialect();
  const hours = [whereClause(d, dims)];
  if (from !== undefined) hours.push(`hour >= ${d.bindTime(from)}`);
  if (to !== undefined) hours.push(`hour < ${d.bindTime(to)}`);
  const parts: CountPart[] = [
    {
      sql: `SELECT coalesce(sum(n), 0) AS n FROM alert_counts WHERE ${hours.join(' AND ')}`,
      params: d.params,
    },
  ];
  // The partial hours at the window's edges. Placeholders are positional on SQLite: bound in the
  // order they appear in the text.
  if (from !== undefined || to !== undefined) {
    const e = dialect();
    let base = whereClause(e, filter);
    if (covered) base += ` AND ${covered(e)}`;
    const edges: string[] = [];
    if (from !== undefined) edges.push(`time < ${e.bindTime(from * HOUR_NS)}`);
    if (to !== undefined) edges.push(`time >= ${e.bindTime(to * HOUR_NS)}`);
    parts.push({
      sql: `SELECT COUNT(*) AS n FROM alerts WHERE ${base} AND (${edges.join(' OR ')})`,
      params: e.params,
    });
  }
  return parts;
}
