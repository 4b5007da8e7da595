/**
 * The PostgreSQL store (`pg` with a pool): for several hubs sharing one database. A batch is one
 * `INSERT … SELECT FROM unnest(…) ON CONFLICT (id) DO NOTHING` statement: fourteen array parameters
 * whatever the batch size, one round trip, atomic, and the server skips known ids itself.
 */
import type pg from 'pg';
import { decodeAlert, encodeAlert, type AlertRow } from '../alert-row.js';
import {
  countQuery,
  decodeCursor,
  deleteOlderQuery,
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
  Store,
  StoredAlert,
} from '../store.js';
import { rollupApplies, rollupCountParts } from '../hourly-counts.js';
import { outputPrefixes, planTextWords, SAMPLE_SIZE, WordSample } from './text-plan.js';
import { openPostgresPool, type PostgresOptions } from './connection.js';
import { postgresSchemaVersion } from './migrations.js';

/** Rows per INSERT statement: bounds the size of one message and of one statement's memory. */
const ROWS_PER_INSERT = 5000;

/** The batch INSERT (exported for the benchmark's raw-driver ceiling). */
export const INSERT_SQL = `
  INSERT INTO alerts (id, time, rule, priority, source, hostname, container_id, container_name, k8s_ns,
                      output, output_fields, output_types, tags, output_prefixes)
  SELECT u.id, u.time, u.rule, u.priority, u.source, u.hostname, u.container_id, u.container_name, u.k8s_ns,
         u.output, u.output_fields::jsonb, u.output_types::jsonb, u.tags::text[], u.output_prefixes
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
      AS u(id, time, rule, priority, source, hostname, container_id, container_name, k8s_ns,
           output, output_fields, output_types, tags, output_prefixes)
  ON CONFLICT (id) DO NOTHING`;

type RawRow = {
  id: string;
  /** int8 arrives as text (exact). */
  time: string;
  rule: string;
  priority: number;
  source: string;
  hostname: string;
  output: string;
  output_fields: Record<string, unknown>;
  output_types: unknown;
  tags: string[];
};

class PostgresDialect implements Dialect {
  readonly params: unknown[] = [];
  /** `words`: a tsquery of terms every output holding the searched text has (text-plan.ts). */
  constructor(private readonly words?: string) {}
  bind(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  bindTime(value: bigint): string {
    this.params.push(value.toString());
    return `$${this.params.length}::bigint`;
  }
  tagsAnyOf(tags: readonly string[]): string {
    return `tags && ${this.bind(tags)}::text[]`;
  }
  outputContains(likePattern: string): string {
    if (this.words === undefined) return `output ILIKE ${this.bind(likePattern)} ESCAPE '\\'`;
    // The terms through their index; the whole text tested on what they find (`output || ''` so
    // that the trigram index is not read as well: its lists are the cost avoided).
    return `(alert_output_terms(output, output_prefixes) @@ ${this.bind(this.words)}::tsquery AND (output || '') ILIKE ${this.bind(likePattern)} ESCAPE '\\')`;
  }
}

/** How long a sample of outputs serves rare-text searches before another is taken. */
const SAMPLE_MAX_AGE_MS = 5 * 60_000;
/** Below this many alerts (the planner's estimate) text searches keep the plain condition. */
const SAMPLE_MIN_ROWS = 200_000;

/** work_mem for a query through the terms index (more when the server's setting is larger). */
const WORDS_WORK_MEM = '64MB';

/** Container values a page query splits into arms (more: one plain query). */
const MAX_CONTAINER_ARMS = 16;

/**
 * A page of a filter naming containers, as one arm per value and column merged: each arm walks
 * `(container_id, time)` or `(container_name, time)` backwards from the window's end and stops after
 * a page. The plain query ORs the two columns, which the planner answers with a bitmap of every
 * matching row of the window, read from the heap and sorted: 3,000 rows for one container over a
 * day of 10M alerts (165 ms). Name arms leave out alerts the id arms return. Undefined when the
 * filter names no container or too many.
 */
function containerPageQuery(d: PostgresDialect, q: AlertQuery): { sql: string; limit: number } | undefined {
  if (q.container === undefined) return undefined;
  const values = typeof q.container === 'string' ? [q.container] : [...new Set(q.container)];
  if (values.length === 0 || values.length > MAX_CONTAINER_ARMS) return undefined;
  const limit = resolveLimit(q.limit);
  const after = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
  // One WHERE text for every arm: placeholders are numbered, so the arms share its parameters. The
  // container condition is each arm's own (with the OR of both columns as well the planner expected
  // 17 rows where a container has thousands in a day, and read them all through a bitmap).
  const where = whereClause(d, { ...q, container: undefined }, after);
  const all = `${d.bind(values)}::text[]`;
  const n = d.bind(limit + 1);
  const arm = (cond: string): string =>
    `(SELECT ${SELECT_COLUMNS} FROM alerts WHERE ${where} AND ${cond} ORDER BY time DESC, id DESC LIMIT ${n})`;
  const arms: string[] = [];
  for (const v of values) {
    const p = d.bind(v);
    arms.push(arm(`container_id = ${p}`));
    arms.push(arm(`container_name = ${p} AND NOT coalesce(container_id = ANY(${all}), false)`));
  }
  return { sql: `${arms.join(' UNION ALL ')} ORDER BY time DESC, id DESC LIMIT ${n}`, limit };
}

/** A PostgreSQL array literal of text values (one row's tags), for the `text[]` cast. */
function textArrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/** Column arrays of a chunk of rows, in INSERT_SQL's parameter order. */
export function columnArrays(rows: readonly AlertRow[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 14 }, () => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    cols[0]![i] = r.id;
    cols[1]![i] = r.time.toString();
    cols[2]![i] = r.rule;
    cols[3]![i] = r.priority;
    cols[4]![i] = r.source;
    cols[5]![i] = r.hostname;
    cols[6]![i] = r.containerId;
    cols[7]![i] = r.containerName;
    cols[8]![i] = r.k8sNs;
    cols[9]![i] = r.output;
    cols[10]![i] = r.outputFields;
    cols[11]![i] = r.outputTypes;
    cols[12]![i] = textArrayLiteral(r.tags);
    cols[13]![i] = outputPrefixes(r.output);
  }
  return cols;
}

/** The PostgreSQL implementation of {@link Store}. Create it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;
  /** Word frequencies of sampled outputs, for rare-text searches (text-plan.ts). */
  private sample: WordSample | undefined;
  private sampling: Promise<WordSample> | undefined;

  constructor(
    readonly pool: pg.Pool,
    private readonly wordSearchMinRows = SAMPLE_MIN_ROWS,
  ) {}

  /** Runs `work` in one transaction on one pooled connection. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  async insertAlerts(batch: readonly StoredAlert[]): Promise<InsertResult> {
    return this.insertRows(batch.map(encodeAlert));
  }

  async insertRows(encoded: readonly AlertRow[]): Promise<InsertResult> {
    if (encoded.length === 0) return { inserted: 0, duplicates: 0 };
    // Sorted by id so that concurrent batches sharing ids take their row locks in one order (no deadlock).
    const rows = [...encoded].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let inserted = 0;
    if (rows.length <= ROWS_PER_INSERT) {
      // One statement is atomic on its own: no BEGIN/COMMIT round trips.
      inserted = (await this.pool.query(INSERT_SQL, columnArrays(rows))).rowCount ?? 0;
    } else {
      inserted = await this.transaction(async (client) => {
        let n = 0;
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          n +=
            (await client.query(INSERT_SQL, columnArrays(rows.slice(i, i + ROWS_PER_INSERT)))).rowCount ?? 0;
        }
        return n;
      });
    }
    return { inserted, duplicates: rows.length - inserted };
  }

  async queryAlerts(query: AlertQuery = {}): Promise<AlertPage> {
    const words = await this.textWords(query.text);
    const d = new PostgresDialect(words);
    const { sql, limit } = containerPageQuery(d, query) ?? pageQuery(d, query);
    const result = await this.read<RawRow>(sql, d.params, words !== undefined);
    const alerts = result.rows.map((r) =>
      decodeAlert({
        id: r.id,
        time: BigInt(r.time),
        rule: r.rule,
        priority: r.priority,
        source: r.source,
        hostname: r.hostname,
        output: r.output,
        outputFields: r.output_fields,
        outputTypes: r.output_types,
        tags: r.tags,
      }),
    );
    return toPage(alerts, limit);
  }

  async countAlerts(filter: AlertFilter = {}): Promise<number> {
    if (rollupApplies(filter)) {
      // The hourly counts (kept by triggers, so exact) plus the window's partial hours, in one
      // statement (one snapshot: a concurrent insert is counted in both parts or in neither). One
      // dialect numbers the placeholders of every part.
      const shared = new PostgresDialect();
      const parts = rollupCountParts(filter, () => shared);
      return this.countOne(`SELECT ${parts.map((p) => `(${p.sql})`).join(' + ')} AS n`, shared.params);
    }
    const words = await this.textWords(filter.text);
    const d = new PostgresDialect(words);
    const r = await this.read<{ n: string }>(countQuery(d, filter), d.params, words !== undefined);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Runs a query; `bitmaps`: it reads the terms index, whose prefix queries (`'a':*`; schema
   * version 4 used one for every text ending inside a word) build a bitmap of every alert with such
   * a word (72,000 for a pod-name suffix over 10M alerts). With PostgreSQL's default 4 MB of work_mem
   * that bitmap turns lossy: whole pages come back, half the rows then fail the recheck, and the
   * query read 1,000 heap pages in 140 ms instead of 215 in 27 ms. So such a query gets at least
   * {@link WORDS_WORK_MEM} for its transaction alone.
   */
  private async read<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[],
    bitmaps: boolean,
  ): Promise<pg.QueryResult<R>> {
    if (!bitmaps) return this.pool.query<R>(sql, params);
    return this.transaction(async (client) => {
      await client.query(
        `SELECT set_config('work_mem', $1, true) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes($1)`,
        [WORDS_WORK_MEM],
      );
      return client.query<R>(sql, params);
    });
  }

  /**
   * The terms of a searched text worth reading from the terms index (text-plan.ts), judged by a
   * sample of outputs taken at most {@link SAMPLE_MAX_AGE_MS} ago, as a tsquery; undefined: the
   * plain condition. Public for tests and diagnostics.
   */
  async textWords(text: string | undefined): Promise<string | undefined> {
    if (text === undefined || text === '') return undefined;
    const sample = await this.wordSample();
    return sample && planTextWords(text, sample);
  }

  /** The current sample, taken again when old (one taking at a time; the old one serves meanwhile). */
  private async wordSample(): Promise<WordSample | undefined> {
    const s = this.sample;
    if (s && Date.now() - s.takenAt < SAMPLE_MAX_AGE_MS) return s;
    this.sampling ??= this.takeSample().finally(() => {
      this.sampling = undefined;
    });
    return s ?? this.sampling;
  }

  /** A new sample; when it cannot be taken, an empty one (the plain condition until the next try). */
  private async takeSample(): Promise<WordSample> {
    try {
      this.sample = await this.readSample();
    } catch {
      this.sample = new WordSample([], 0);
    }
    return this.sample;
  }

  private async readSample(): Promise<WordSample> {
    const est = await this.pool.query<{ rows: number }>(
      `SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'alerts'::regclass`,
    );
    const rows = Number(est.rows[0]?.rows ?? 0);
    // A small (or never analysed) table: the plain condition is fast. Looked at again later.
    if (!(rows >= this.wordSearchMinRows)) return new WordSample([], rows);
    // SYSTEM sampling reads whole pages picked at random: about twice the rows wanted, then a limit.
    const percent = Math.min(100, (100 * 2 * SAMPLE_SIZE) / rows);
    const r = await this.pool.query<{ output: string }>(
      `SELECT output FROM alerts TABLESAMPLE SYSTEM (${percent.toFixed(6)}) LIMIT ${SAMPLE_SIZE}`,
    );
    return new WordSample(
      r.rows.map((x) => x.output),
      rows,
    );
  }

  private async countOne(sql: string, params: unknown[]): Promise<number> {
    return Number((await this.pool.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  }

  async deleteOlderThan(timeNs: bigint): Promise<number> {
    const d = new PostgresDialect();
    return (await this.pool.query(deleteOlderQuery(d, timeNs), d.params)).rowCount ?? 0;
  }

  async enforceRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    const cutoff = retentionCutoff(policy);
    return this.transaction(async (client) => {
      let deletedByAge = 0;
      if (cutoff !== undefined) {
        const d = new PostgresDialect();
        deletedByAge = (await client.query(deleteOlderQuery(d, cutoff), d.params)).rowCount ?? 0;
      }
      let deletedByRows = 0;
      if (policy.maxRows !== undefined) {
        // The newest alert beyond the limit: it and everything older goes.
        const edge = await client.query<{ time: string; id: string }>(
          'SELECT time, id FROM alerts ORDER BY time DESC, id DESC LIMIT 1 OFFSET $1',
          [policy.maxRows],
        );
        const e = edge.rows[0];
        if (e) {
          deletedByRows =
            (await client.query('DELETE FROM alerts WHERE (time, id) <= ($1::bigint, $2)', [e.time, e.id]))
              .rowCount ?? 0;
        }
      }
      return { deletedByAge, deletedByRows };
    });
  }

  async schemaVersion(): Promise<number> {
    const client = await this.pool.connect();
    try {
      return await postgresSchemaVersion(client);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Opens (creating the schema and migrating as needed) a PostgreSQL store. */
export async function openPostgresStore(options: PostgresOptions): Promise<PostgresStore> {
  return new PostgresStore(await openPostgresPool(options), options.wordSearchMinRows);
}
