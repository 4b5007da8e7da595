/**
 * The SQLite store (better-sqlite3): the embedded default. better-sqlite3 is synchronous: queries and
 * retention run at once on this connection and return a settled promise. Inserts are encoded here and
 * written by a writer thread with its own connection (writer.ts), which commits every batch that
 * arrived during its previous transaction together (group commit), over prepared multi-row INSERTs.
 */
import type Database from 'better-sqlite3';
import { decodeAlert, encodeAlert, type AlertRow } from '../alert-row.js';
import { priorityRank } from '../../engine/rules/index.js';
import {
  countQuery,
  decodeCursor,
  MAX_TIME,
  MIN_TIME,
  olderThan,
  pageQuery,
  resolveLimit,
  retentionCutoff,
  SELECT_COLUMNS,
  toPage,
  whereClause,
  type Dialect,
} from '../query.js';
import type {
  AlertFilter,
  AlertPage,
  AlertQuery,
  InsertResult,
  RetentionPolicy,
  RetentionResult,
  RowPort,
  Store,
  StoredAlert,
} from '../store.js';
import { openSqliteDatabase, type SqliteOptions } from './connection.js';
import { sqliteSchemaVersion } from './migrations.js';
import { rowParams } from './sql.js';
import { SqliteWriter, type WriterStats } from './writer.js';
import { GroupWriter } from './writer-thread.js';
import {
  BLOCK_ROWS,
  clampTextIndex,
  dropOldTextIndex,
  TextSearch,
  type IndexQuery,
  type TextCandidates,
} from './text-index.js';
import { addRow, COUNT_COLUMNS, CountDelta, type CountRow } from './counts.js';
import { rollupApplies, rollupCountParts } from '../hourly-counts.js';

export { insertSql, ROWS_PER_INSERT, rowParams } from './sql.js';

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

/**
 * Most index walks one page query may be split into (see {@link SqliteStore.queryAlerts}); more
 * values than this are read with one query instead. Well under SQLite's 500 compound SELECT terms.
 */
const MAX_BRANCHES = 64;
/** Rows deleted per retention transaction. */
const DELETE_CHUNK = 20_000;

/** SQLite's SQL differences (exported for plan tests). */
export class SqliteDialect implements Dialect {
  readonly params: unknown[] = [];
  /**
   * `containerHint` off: the caller splits the query by container id itself. `candidates`: the
   * alerts the text index names for the filter's text and column values, and how far the index
   * reaches (alerts above are tested as they are).
   */
  constructor(
    private readonly hintContainers = true,
    private readonly candidates?: TextCandidates,
  ) {}
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
  tableHint(): string {
    // The index's candidates are few (at most candidateBudget): read by seq and sorted. The
    // planner, expecting LIKE's average selectivity, would rather walk the whole time index.
    // NOT INDEXED leaves it the rowid lookups only.
    return this.candidates ? 'NOT INDEXED' : '';
  }
  outputContains(likePattern: string): string {
    // LIKE folds ASCII case in SQLite (case_sensitive_like is off).
    return `output LIKE ${this.bind(likePattern)} ESCAPE '\\'`;
  }
  narrow(): string | undefined {
    if (!this.candidates) return undefined;
    // The filter's own conditions still decide; the index only says which rows may match, except
    // those it does not cover yet. Bound in the order they appear.
    return `(seq IN (SELECT value FROM json_each(${this.bind(this.candidates.ids)})) OR seq > ${this.bind(this.candidates.indexedSeq)})`;
  }
  containerHint(values: readonly string[]): string {
    if (!this.hintContainers) return '1';
    // Ids that ever had one of the names, plus the values taken as ids: the container id index then
    // finds the rows (the exact id-or-name test is applied too). Bound in the order they appear.
    const names = values.map((v) => this.bind(v)).join(', ');
    const ids = values.map((v) => `(${this.bind(v)})`).join(', ');
    return `container_id IN (SELECT container_id FROM alert_containers WHERE container_name IN (${names}) UNION ALL VALUES ${ids})`;
  }
}

/** The SQLite implementation of {@link Store}. Create it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;

  /** Inserts on this connection, for a store without a writer thread (`:memory:`, `writerThread: false`). */
  private readonly inlineWriter: GroupWriter | undefined;

  /** `writer`: the writer thread inserts go to; without one they run on `db`. */
  constructor(
    readonly db: Database.Database,
    private readonly writer?: SqliteWriter,
  ) {
    this.inlineWriter = writer ? undefined : new GroupWriter(db);
    this.textSearch = new TextSearch(db);
  }

  private readonly textSearch: TextSearch;

  /** The text index's candidates for a filter (undefined: walk an index, testing each row). */
  private candidates(f: AlertFilter, limit: number | 'count'): TextCandidates | undefined {
    const q = indexQuery(f);
    return q ? this.textSearch.candidates(q, limit) : undefined;
  }

  /**
   * Stored alerts the text index does not cover yet: it is filled behind ingest, a block at a time,
   * when the writer is idle (the text filter scans these).
   */
  textIndexLag(): number {
    return this.textSearch.lag();
  }

  openRowPort(): RowPort | undefined {
    return this.writer ? { port: this.writer.openRowPort(), format: 'sqlite-params' } : undefined;
  }

  /** Group-commit figures of the writer thread (undefined without one). */
  get writerStats(): WriterStats | undefined {
    return this.writer?.stats;
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
    let rows: AlertRow[];
    try {
      // Encoded here: invalid alerts are refused before anything is sent to the writer.
      rows = batch.map(encodeAlert);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.insertRows(rows);
  }

  insertRows(rows: readonly AlertRow[]): Promise<InsertResult> {
    if (rows.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0 });
    const params: unknown[] = [];
    for (const r of rows) rowParams(r, params);
    const done = (inserted: number): InsertResult => ({ inserted, duplicates: rows.length - inserted });
    if (this.writer) return this.writer.insert(params, rows.length).then(done);
    const inline = this.inlineWriter!;
    return settle(() => {
      const inserted = inline.commit([{ id: 0, params, rows: rows.length }])[0]!;
      // No thread to index behind ingest: the text index takes every full block at once.
      while (inline.text.step() > 0);
      return done(inserted);
    });
  }

  /**
   * Splits a page query into one ordered index walk per container id, when the filter names
   * containers (names resolved through `alert_containers`). SQLite reads an `IN` list through an
   * index as one range per value and then sorts all their rows, which is slow for a common value;
   * each branch instead walks `(container_id, time)` backwards and stops after a page, and the
   * branches are merged. Undefined: one plain query.
   */
  private branches(q: AlertQuery): { column: string; index: string; values: unknown[] } | undefined {
    if (q.container !== undefined) {
      const asked = typeof q.container === 'string' ? [q.container] : [...q.container];
      if (asked.length === 0) return undefined;
      const ids = new Set<string>(asked);
      const named = this.statement(
        `SELECT container_id AS id FROM alert_containers WHERE container_name IN (${asked.map(() => '?').join(', ')})`,
      ).all(asked) as { id: string }[];
      for (const r of named) ids.add(r.id);
      return ids.size <= MAX_BRANCHES
        ? { column: 'container_id', index: 'alerts_container_id_time', values: [...ids] }
        : undefined;
    }
    return undefined;
  }

  /**
   * A page read from the text index's candidates, newest blocks first (by their time ranges): rows
   * are fetched a few blocks at a time by seq, and reading stops once a page is full and no block
   * left can hold an alert newer than its last. Alerts the index does not cover yet are read by seq
   * too. Each row is tested against the whole filter and cursor, as in the plain query.
   */
  private pageFromCandidates(query: AlertQuery, cand: TextCandidates, limit: number): RawRow[] {
    const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
    const want = limit + 1;
    const rowsWhere = (extra: string, first: unknown): RawRow[] => {
      const d = new SqliteDialect(false);
      const where = whereClause(d, query, after);
      const sql = `SELECT ${SELECT_COLUMNS}, seq FROM alerts NOT INDEXED WHERE ${extra} AND ${where} ORDER BY time DESC, id DESC LIMIT ${want}`;
      return this.statement(sql).all([first, ...d.params]) as RawRow[];
    };
    const newestFirst = (a: RawRow, b: RawRow): number =>
      a.time !== b.time ? (a.time > b.time ? -1 : 1) : a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
    // The alerts above the index (a partly filled block, plus any lag).
    let rows = rowsWhere('seq > ?', cand.indexedSeq);
    const byBlock = new Map<number, number[]>();
    for (const seq of JSON.parse(cand.ids) as number[]) {
      const block = Math.floor(seq / BLOCK_ROWS);
      const list = byBlock.get(block);
      if (list) list.push(seq);
      else byBlock.set(block, [seq]);
    }
    const times = this.textSearch.blockTimes([...byBlock.keys()]);
    const UNKNOWN = { min: MIN_TIME, max: MAX_TIME };
    const range = (b: number): { min: bigint; max: bigint } => times.get(b) ?? UNKNOWN;
    // Blocks that cannot hold a match of the window or below the cursor are not read.
    const blocks = [...byBlock.keys()]
      .filter((b) => {
        const r = range(b);
        if (query.since !== undefined && r.max < query.since) return false;
        if (query.until !== undefined && r.min >= query.until) return false;
        return after === undefined || r.min <= after.time;
      })
      .sort((a, b) => (range(a).max === range(b).max ? b - a : range(a).max > range(b).max ? -1 : 1));
    let i = 0;
    while (i < blocks.length) {
      if (rows.length >= want) {
        rows.sort(newestFirst);
        rows.length = want;
        // The page is full: a block whose newest alert is older than its last cannot change it.
        if (range(blocks[i]!).max < rows[want - 1]!.time) break;
      }
      const seqs: number[] = [];
      while (i < blocks.length && seqs.length < 2 * want) seqs.push(...byBlock.get(blocks[i++]!)!);
      rows = rows.concat(rowsWhere('seq IN (SELECT value FROM json_each(?))', JSON.stringify(seqs)));
    }
    rows.sort(newestFirst);
    rows.length = Math.min(rows.length, want);
    return rows;
  }

  /**
   * A page by walking an index in time order: the time index (or whichever the planner picks), or
   * one walk per container id merged (see {@link branches}).
   */
  private pageByIndex(query: AlertQuery, limit: number): RawRow[] {
    const split = this.branches(query);
    if (split === undefined) {
      const d = new SqliteDialect();
      return this.statement(pageQuery(d, query).sql).all(d.params) as RawRow[];
    }
    const d = new SqliteDialect(false);
    const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
    const arms = split.values.map((v) => {
      // Placeholders are positional: bind in the order they appear in the text.
      const where = whereClause(d, query, after);
      const eq = `${split.column} = ${d.bind(v)}`;
      // INDEXED BY: with statistics the planner would read a rare value's arm by walking the whole
      // time index (it expects the average value's frequency); the arm's own index is always right.
      return `SELECT * FROM (SELECT ${SELECT_COLUMNS} FROM alerts INDEXED BY ${split.index} WHERE ${where} AND ${eq} ORDER BY time DESC, id DESC LIMIT ${d.bind(limit + 1)})`;
    });
    const sql = `${arms.join(' UNION ALL ')} ORDER BY time DESC, id DESC LIMIT ${d.bind(limit + 1)}`;
    return this.statement(sql).all(d.params) as RawRow[];
  }

  queryAlerts(query: AlertQuery = {}): Promise<AlertPage> {
    return settle(() => {
      const limit = resolveLimit(query.limit);
      // Candidates already narrow by container too: they are read rather than each container walked.
      const candidates = this.candidates(query, limit);
      const raw = candidates
        ? this.pageFromCandidates(query, candidates, limit)
        : this.pageByIndex(query, limit);
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
      const rolled = rollupApplies(filter) ? this.countFromRollup(filter) : undefined;
      if (rolled !== undefined) return rolled;
      const exact = this.countFromPostings(filter);
      if (exact !== undefined) return exact;
      const d = new SqliteDialect(true, this.candidates(filter, 'count'));
      const sql = countQuery(d, filter);
      return Number((this.statement(sql).get(d.params) as { n: bigint }).n);
    });
  }

  /**
   * A count of a filter made only of column values (rule, priority, source, host, namespace, over
   * all time) from the text index's postings, plus the alerts not indexed yet. Undefined for any
   * other filter.
   */
  private countFromPostings(filter: AlertFilter): number | undefined {
    for (const [k, v] of Object.entries(filter)) {
      if (v !== undefined && !POSTINGS_COUNT_KEYS.has(k)) return undefined;
    }
    const values = indexQuery(filter)?.values;
    const indexed = values && this.textSearch.countIndexed(values);
    if (!indexed) return undefined;
    const t = new SqliteDialect();
    const tail = `SELECT COUNT(*) AS n FROM alerts NOT INDEXED WHERE ${whereClause(t, filter)} AND seq > ${t.bind(indexed.indexedSeq)}`;
    return indexed.count + Number((this.statement(tail).get(t.params) as { n: bigint }).n);
  }

  /**
   * A count from the hourly counts (../hourly-counts.ts) over the indexed alerts, plus the alerts
   * not yet indexed, counted from the alerts. Undefined when nothing is indexed yet.
   */
  private countFromRollup(filter: AlertFilter): number | undefined {
    const done = this.textSearch.indexedSeq();
    if (done === 0) return undefined;
    const count = (sql: string, params: unknown[]): number =>
      Number((this.statement(sql).get(params) as { n: bigint }).n);
    let total = 0;
    const parts = rollupCountParts(
      filter,
      () => new SqliteDialect(),
      (d) => `seq <= ${d.bind(done)}`,
    );
    for (const p of parts) total += count(p.sql, p.params);
    // Alerts not indexed yet, by seq (NOT INDEXED: a rowid range, not a walk of a dimension's index).
    const t = new SqliteDialect();
    total += count(
      `SELECT COUNT(*) AS n FROM alerts NOT INDEXED WHERE ${whereClause(t, filter)} AND seq > ${t.bind(done)}`,
      t.params,
    );
    return total;
  }

  /**
   * Deletes the alerts matching `where` (oldest first, through the time index) in transactions of
   * {@link DELETE_CHUNK} rows, so a large retention pass neither holds the write lock for long (an
   * insert waits for one chunk, not the whole pass) nor grows the WAL by the whole deletion.
   */
  private deleteInChunks(where: string, params: unknown[]): number {
    // RETURNING: what the deleted alerts took from the hourly counts, when they were indexed.
    const chunk = this.db
      .prepare(
        `DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE ${where} ORDER BY time, id LIMIT ${DELETE_CHUNK}) RETURNING seq, ${COUNT_COLUMNS}`,
      )
      .safeIntegers(true);
    const progress = this.db.prepare('SELECT indexed_seq FROM text_progress').pluck().safeIntegers(true);
    const step = this.db.transaction(() => {
      const done = progress.get() as bigint;
      const counts = new CountDelta();
      let n = 0;
      for (const r of chunk.iterate(params) as Iterable<CountRow & { seq: bigint }>) {
        n++;
        if (r.seq <= done) addRow(counts, r);
      }
      counts.apply(this.db, -1);
      if (n > 0) clampTextIndex(this.db);
      return n;
    });
    let total = 0;
    for (;;) {
      const n = step.immediate();
      total += n;
      if (n < DELETE_CHUNK) break;
    }
    if (total > 0) dropOldTextIndex(this.db);
    return total;
  }

  private deleteOlder(timeNs: bigint): number {
    const d = new SqliteDialect();
    const where = olderThan(d, timeNs);
    if (where === 'FALSE') return 0;
    return this.deleteInChunks(where, d.params);
  }

  deleteOlderThan(timeNs: bigint): Promise<number> {
    return settle(() => this.deleteOlder(timeNs));
  }

  enforceRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    return settle(() => {
      const cutoff = retentionCutoff(policy);
      const deletedByAge = cutoff === undefined ? 0 : this.deleteOlder(cutoff);
      let deletedByRows = 0;
      if (policy.maxRows !== undefined) {
        // The newest alert beyond the limit: it and everything older goes (read from the time index).
        const edge = this.db
          .prepare('SELECT time, id FROM alerts ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?')
          .safeIntegers(true)
          .get(policy.maxRows) as { time: bigint; id: string } | undefined;
        if (edge) deletedByRows = this.deleteInChunks('(time, id) <= (?, ?)', [edge.time, edge.id]);
      }
      // Retention runs periodically: a good moment to refresh planner statistics when they are stale.
      this.db.pragma('optimize');
      return { deletedByAge, deletedByRows };
    });
  }

  schemaVersion(): Promise<number> {
    return settle(() => sqliteSchemaVersion(this.db));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The writer commits what it was sent before the read connection goes.
    await this.writer?.close();
    return settle(() => {
      // Lets SQLite refresh planner statistics for the indexes the queries used.
      this.db.pragma('optimize');
      this.db.close();
    });
  }
}

/** Filter members {@link SqliteStore.countFromPostings} counts exactly. */
const POSTINGS_COUNT_KEYS: ReadonlySet<string> = new Set([
  'rule',
  'minPriority',
  'source',
  'hostname',
  'namespace',
]);

/** The parts of a filter the text index can narrow (undefined: none). */
function indexQuery(f: AlertFilter): IndexQuery | undefined {
  const q: IndexQuery = {};
  const values: NonNullable<IndexQuery['values']> = {};
  const list = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);
  if (f.text !== undefined && f.text !== '') q.text = f.text;
  if (f.rule !== undefined) values.rule = list(f.rule);
  if (f.minPriority !== undefined) {
    const rank = priorityRank(f.minPriority);
    // Every rank: nothing to narrow.
    if (rank < 7) values.priority = Array.from({ length: rank + 1 }, (_, i) => i);
  }
  if (f.source !== undefined) values.source = list(f.source);
  if (f.hostname !== undefined) values.hostname = list(f.hostname);
  if (f.namespace !== undefined) values.k8s_ns = list(f.namespace);
  if (Object.keys(values).length > 0) q.values = values;
  return q.text !== undefined || q.values ? q : undefined;
}

/** Runs synchronous work and reports its outcome as a promise (errors reject, they do not throw). */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Opens (creating and migrating as needed) a SQLite store. A database file gets a writer thread
 * (unless `writerThread: false`); `:memory:` cannot be shared with one and writes on its connection.
 */
export async function openSqliteStore(options: SqliteOptions): Promise<SqliteStore> {
  const db = await settle(() => openSqliteDatabase(options));
  if (options.path === ':memory:' || options.writerThread === false) return new SqliteStore(db);
  try {
    return new SqliteStore(db, await SqliteWriter.start(options));
  } catch (err) {
    db.close();
    throw new Error(`cannot open SQLite store at ${options.path}`, { cause: err });
  }
}
