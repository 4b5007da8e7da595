/**
 * Hourly alert counts for the SQLite store: `alert_counts (hour, rule, priority, source, hostname) →
 * n`, so that counting a common rule over a week sums a few hundred rows instead of walking
 * hundreds of thousands of index entries.
 *
 * The text indexer (text-index.ts) adds each block's alerts when it indexes the block, so the counts
 * cover exactly the alerts at or below `text_progress.indexed_seq`; retention subtracts what it
 * deletes there. A count then adds the parts of ../hourly-counts.ts over the covered alerts and
 * the alerts not yet indexed (by seq).
 */
import type Database from 'better-sqlite3';
import { hourOf } from '../hourly-counts.js';

/** Counts by (hour, rule, priority, source, hostname), built in memory then applied. */
export class CountDelta {
  private readonly groups = new Map<string, [bigint, string, number, string, string, number]>();

  add(time: bigint, rule: string, priority: number, source: string, hostname: string, n = 1): void {
    const hour = hourOf(time);
    const key = `${hour}\u0000${rule}\u0000${priority}\u0000${source}\u0000${hostname}`;
    const g = this.groups.get(key);
    if (g) g[5] += n;
    else this.groups.set(key, [hour, rule, priority, source, hostname, n]);
  }

  get size(): number {
    return this.groups.size;
  }

  /** Adds (sign 1) or subtracts (sign -1) the counts, inside the caller's transaction. */
  apply(db: Database.Database, sign: 1 | -1): void {
    if (this.groups.size === 0) return;
    const upsert = db.prepare(
      'INSERT INTO alert_counts (hour, rule, priority, source, hostname, n) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT DO UPDATE SET n = n + excluded.n',
    );
    for (const [hour, rule, priority, source, hostname, n] of this.groups.values()) {
      upsert.run(hour, rule, priority, source, hostname, sign * n);
    }
  }
}

/** Alert columns a {@link CountDelta} needs, for SELECT and RETURNING lists. */
export const COUNT_COLUMNS = 'time, rule, priority, source, hostname';

export interface CountRow {
  time: bigint;
  rule: string;
  priority: number | bigint;
  source: string;
  hostname: string;
}

export function addRow(d: CountDelta, r: CountRow): void {
  d.add(r.time, r.rule, Number(r.priority), r.source, r.hostname);
}

/** Subtracts the alerts with from < seq <= to from the hourly counts (the index forgets them). */
export function clampCountsRows(db: Database.Database, from: number, to: number): void {
  const d = new CountDelta();
  const rows = db
    .prepare(`SELECT ${COUNT_COLUMNS} FROM alerts WHERE seq > ? AND seq <= ?`)
    .safeIntegers(true)
    .iterate(from, to) as Iterable<CountRow>;
  for (const r of rows) addRow(d, r);
  d.apply(db, -1);
}
