/**
 * The SQLite store (better-sqlite3): the embedded default. better-sqlite3 is synchronous, so each
 * method does its work at once and returns a settled promise; one batch is one transaction over
 * prepared statements (many rows per INSERT), which is what makes ingest fast.
 */
import type Database from 'better-sqlite3';
import { ALERT_COLUMNS, decodeAlert, encodeAlert, type AlertRow } from '../alert-row.js';
import { countQuery, deleteOlderQuery, pageQuery, retentionCutoff, toPage, type Dialect } from '../query.js';
import type {
  AlertFilter,
  AlertPage,
  AlertQuery,
  InsertResult,
  RetentionPolicy,
  RetentionResult,
  Store,
  StoredAlert,
} from '../store.js';
import { openSqliteDatabase, type SqliteOptions } from './connection.js';
import { sqliteSchemaVersion } from './migrations.js';

/** Rows per multi-row INSERT: fewer statement executions, well under SQLite's 32766 parameters. */
const ROWS_PER_INSERT = 64;
/** Prepared SELECTs kept per store (filters of different shapes have different SQL). */
const STATEMENT_CACHE_SIZE = 128;

type RawRow = {
  id: string;
  time: bigint;
  rule: string;
  priority: bigint;
  source: string;
  hostname: string;
  output: string;
  output_fields: string;
  output_types: string | null;
  tags: string;
};

/** SQLite's SQL differences (exported for plan tests). */
export class SqliteDialect implements Dialect {
  readonly params: unknown[] = [];
  bind(value: unknown): string {
    this.params.push(value);
    return '?';
  }
  bindTime(value: bigint): string {
    this.params.push(value);
    return '?';
  }
  tagsAnyOf(tags: readonly string[]): string {
    return `EXISTS (SELECT 1 FROM json_each(alerts.tags) WHERE json_each.value IN (${tags.map((t) => this.bind(t)).join(', ')}))`;
  }
  outputContains(likePattern: string): string {
    // LIKE folds ASCII case in SQLite (case_sensitive_like is off).
    return `output LIKE ${this.bind(likePattern)} ESCAPE '\\'`;
  }
  containerHint(values: readonly string[]): string {
    // Ids that ever had one of the names, plus the values taken as ids: the container id index then
    // finds the rows (the exact id-or-name test is applied too). Bound in the order they appear.
    const names = values.map((v) => this.bind(v)).join(', ');
    const ids = values.map((v) => `(${this.bind(v)})`).join(', ');
    return `container_id IN (SELECT container_id FROM alert_containers WHERE container_name IN (${names}) UNION ALL VALUES ${ids})`;
  }
}

function rowParams(r: AlertRow, out: unknown[]): void {
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

function insertSql(rows: number): string {
  const one = `(${ALERT_COLUMNS.map(() => '?').join(', ')})`;
  return `INSERT INTO alerts (${ALERT_COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => one).join(', ')} ON CONFLICT (id) DO NOTHING`;
}

/** The SQLite implementation of {@link Store}. Create it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly insertMany: Database.Statement;
  private readonly insertOne: Database.Statement;
  private readonly insertContainer: Database.Statement;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly insertBatch: Database.Transaction<(rows: AlertRow[]) => number>;
  private closed = false;

  constructor(readonly db: Database.Database) {
    this.insertMany = db.prepare(insertSql(ROWS_PER_INSERT));
    this.insertOne = db.prepare(insertSql(1));
    this.insertContainer = db.prepare(
      'INSERT INTO alert_containers (container_id, container_name) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    const params: unknown[] = [];
    this.insertBatch = db.transaction((rows: AlertRow[]) => {
      let inserted = 0;
      let i = 0;
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
        params.length = 0;
        for (let j = i; j < i + ROWS_PER_INSERT; j++) rowParams(rows[j]!, params);
        inserted += this.insertMany.run(params).changes;
      }
      for (; i < rows.length; i++) {
        params.length = 0;
        rowParams(rows[i]!, params);
        inserted += this.insertOne.run(params).changes;
      }
      // Name → id pairs for the container filter; a batch names few containers.
      const seen = new Set<string>();
      for (const r of rows) {
        if (r.containerId === null || r.containerName === null) continue;
        const key = `${r.containerId}\u0000${r.containerName}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.insertContainer.run(r.containerId, r.containerName);
      }
      return inserted;
    });
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s) {
      // Move to the back: the map's order is least-recently used first.
      this.statements.delete(sql);
    } else {
      s = this.db.prepare(sql).safeIntegers(true);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        this.statements.delete(this.statements.keys().next().value!);
      }
    }
    this.statements.set(sql, s);
    return s;
  }

  insertAlerts(batch: readonly StoredAlert[]): Promise<InsertResult> {
    return settle(() => {
      if (batch.length === 0) return { inserted: 0, duplicates: 0 };
      const rows = batch.map(encodeAlert);
      // IMMEDIATE: take the write lock up front, so another process's writer makes us wait, not fail.
      const inserted = this.insertBatch.immediate(rows);
      return { inserted, duplicates: batch.length - inserted };
    });
  }

  queryAlerts(query: AlertQuery = {}): Promise<AlertPage> {
    return settle(() => {
      const d = new SqliteDialect();
      const { sql, limit } = pageQuery(d, query);
      const raw = this.statement(sql).all(d.params) as RawRow[];
      const alerts = raw.map((r) =>
        decodeAlert({
          id: r.id,
          time: r.time,
          rule: r.rule,
          priority: Number(r.priority),
          source: r.source,
          hostname: r.hostname,
          output: r.output,
          outputFields: JSON.parse(r.output_fields) as Record<string, unknown>,
          outputTypes: r.output_types === null ? null : JSON.parse(r.output_types),
          tags: JSON.parse(r.tags) as string[],
        }),
      );
      return toPage(alerts, limit);
    });
  }

  countAlerts(filter: AlertFilter = {}): Promise<number> {
    return settle(() => {
      const d = new SqliteDialect();
      const sql = countQuery(d, filter);
      return Number((this.statement(sql).get(d.params) as { n: bigint }).n);
    });
  }

  private deleteOlder(timeNs: bigint): number {
    const d = new SqliteDialect();
    return this.db.prepare(deleteOlderQuery(d, timeNs)).run(d.params).changes;
  }

  deleteOlderThan(timeNs: bigint): Promise<number> {
    return settle(() => this.deleteOlder(timeNs));
  }

  enforceRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    return settle(() => {
      const cutoff = retentionCutoff(policy);
      const run = this.db.transaction(() => {
        const deletedByAge = cutoff === undefined ? 0 : this.deleteOlder(cutoff);
        let deletedByRows = 0;
        if (policy.maxRows !== undefined) {
          // The newest alert beyond the limit: it and everything older goes.
          const edge = this.db
            .prepare('SELECT time, id FROM alerts ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?')
            .safeIntegers(true)
            .get(policy.maxRows) as { time: bigint; id: string } | undefined;
          if (edge) {
            deletedByRows = this.db
              .prepare('DELETE FROM alerts WHERE (time, id) <= (?, ?)')
              .run(edge.time, edge.id).changes;
          }
        }
        return { deletedByAge, deletedByRows };
      });
      const result = run.immediate();
      // Retention runs periodically: a good moment to refresh planner statistics when they are stale.
      this.db.pragma('optimize');
      return result;
    });
  }

  schemaVersion(): Promise<number> {
    return settle(() => sqliteSchemaVersion(this.db));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return settle(() => {
      // Lets SQLite refresh planner statistics for the indexes the queries used.
      this.db.pragma('optimize');
      this.db.close();
    });
  }
}

/** Runs synchronous work and reports its outcome as a promise (errors reject, they do not throw). */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Opens (creating and migrating as needed) a SQLite store. */
export function openSqliteStore(options: SqliteOptions): Promise<SqliteStore> {
  return settle(() => new SqliteStore(openSqliteDatabase(options)));
}
