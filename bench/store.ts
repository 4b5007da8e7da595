/**
 * `npm run bench:store`: the alert store on SQLite and PostgreSQL.
 *
 *   1. Ingest (VIGIL_BENCH_STORE_INGEST alerts, default 200,000; 0 skips): alerts/s into an empty
 *      store per path, one helper for every backend (`ingestBackend`): `Store.insertAlerts` in batches
 *      of VIGIL_BENCH_STORE_BATCH (default 1000) and of 10,000; the raw driver insert of the same rows
 *      with the store's own SQL (rows encoded beforehand: the ceiling of one batch at a time); the
 *      Store API with VIGIL_BENCH_STORE_SENDERS (default 4) batches in flight; `vigil hub` as users run
 *      it, in its own process, taking `POST /v1/alerts` (batches of 1000, node:http on loopback) from one
 *      sender and from VIGIL_BENCH_STORE_SENDERS at once (its CPU time read from /proc); on PostgreSQL
 *      also `COPY` via psql. The target (≥ 50,000 alerts/s into SQLite) is the hub's with senders.
 *   2. Queries (VIGIL_BENCH_STORE_ROWS stored alerts, default 1,000,000; 0 skips): p50/p95 of first
 *      pages (limit 100) for each filter kind, a 10th page through cursors, and counts; then the time
 *      of retention passes (by rows and by age, 10 % each) on the filled store.
 *      VIGIL_BENCH_STORE_FILL=bulk fills either backend without its secondary indexes and builds them after;
 *      VIGIL_BENCH_STORE_QUERY_DB=FILE keeps the SQLite query store in FILE and reuses it when full;
 *      VIGIL_BENCH_STORE_QUERY_SCHEMA=NAME does the same with a PostgreSQL schema.
 *
 * VIGIL_BENCH_STORE_BACKENDS (default `sqlite,postgres`) picks backends. PostgreSQL is `VIGIL_PG_URL`
 * when set, else the server `scripts/services/postgres.sh` starts; without one it is reported as
 * skipped. Prints tables and `BENCH <name> <value> <unit>` lines, and records the tables in
 * docs/benchmarks.md between the bench:store markers (a run replaces only the sections it measured).
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { alertToWire } from '../src/hub/wire.js';
import { ALERT_COLUMNS, encodeAlert, type AlertRow } from '../src/store/alert-row.js';
import type { AlertQuery, Store, StoredAlert } from '../src/store/index.js';
import {
  columnArrays as pgColumnArrays,
  INSERT_SQL as PG_INSERT_SQL,
  openPostgresStore,
  type PostgresStore,
} from '../src/store/postgres/store.js';
import { outputPrefixes } from '../src/store/postgres/text-plan.js';
import { openSqliteStore, rowParams as sqliteRowParams, SqliteStore } from '../src/store/sqlite/store.js';
import { GroupWriter } from '../src/store/sqlite/writer-thread.js';
import { BLOCK_ROWS } from '../src/store/sqlite/text-index.js';
import {
  CONTAINERS,
  HOSTS,
  makeAlerts,
  NAMESPACES,
  RULE_SPECS,
  START_NS,
  WEEK_NS,
} from './synthetic-alerts.js';
import { cliNodeFlags, cliPath, repoRoot } from './installed-cli.js';
import { machineLine, readDocBlock, writeDocBlock } from './bench-doc.js';

const root = repoRoot;
const INGEST = Number(process.env.VIGIL_BENCH_STORE_INGEST ?? 200_000);
const ROWS = Number(process.env.VIGIL_BENCH_STORE_ROWS ?? 1_000_000);
const BATCH = Number(process.env.VIGIL_BENCH_STORE_BATCH ?? 1000);
/** A hub that coalesces agents' batches writes larger ones: measured too. */
const BIG_BATCH = 10_000;
const RUNS = Number(process.env.VIGIL_BENCH_STORE_RUNS ?? 25);
/** Time a query shape may use before it stops at its fifth run (full scans over 10M rows take seconds). */
const QUERY_BUDGET_MS = 15_000;
/** `VIGIL_BENCH_STORE_FILL=bulk`: fill the query stores without their secondary indexes, then build them. */
const BULK_FILL = process.env.VIGIL_BENCH_STORE_FILL === 'bulk';
const SCHEMA = 'vigil_bench';
/**
 * `VIGIL_BENCH_STORE_QUERY_DB=FILE`: the SQLite query store's file, kept afterwards; a file already
 * holding exactly VIGIL_BENCH_STORE_ROWS alerts is queried without filling it again (for repeated
 * 10M runs; the retention passes at the end then leave it short, so the next run refuses it).
 */
const QUERY_DB = process.env.VIGIL_BENCH_STORE_QUERY_DB;
/**
 * `VIGIL_BENCH_STORE_QUERY_SCHEMA=NAME`: the same for PostgreSQL, a schema of the database kept
 * afterwards (and migrated, as a hub opening it would).
 */
const QUERY_SCHEMA = process.env.VIGIL_BENCH_STORE_QUERY_SCHEMA;
/** Backends whose query store was filled by an earlier run. */
const reused = new Set<string>();

// ---------------------------------------------------------------------------------------------------
// Raw inserts: the same rows, encoded beforehand, written by the driver alone with the store's own
// SQL (the ceiling of the API path: what is left is the driver and the database).

/** The rows written as the SQLite writer thread writes them, on this thread, one transaction per batch. */
function rawSqliteInsert(writer: GroupWriter, rows: readonly AlertRow[]): number {
  const params: unknown[] = [];
  for (const r of rows) sqliteRowParams(r, params);
  return writer.commit([{ id: 0, params, rows: rows.length }])[0]!;
}

function csvField(v: string | null): string {
  return v === null ? '' : `"${v.replace(/"/g, '""')}"`;
}

function pgCsv(rows: readonly AlertRow[]): string {
  const pgArr = (t: string[]): string =>
    `{${t.map((x) => `"${x.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(',')}}`;
  let s = '';
  for (const r of rows) {
    s += `${[csvField(r.id), r.time.toString(), csvField(r.rule), String(r.priority), csvField(r.source), csvField(r.hostname), csvField(r.containerId), csvField(r.containerName), csvField(r.k8sNs), csvField(r.output), csvField(r.outputFields), csvField(r.outputTypes), csvField(pgArr(r.tags)), csvField(outputPrefixes(r.output))].join(',')}\n`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Measuring

interface IngestResult {
  label: string;
  alertsPerSec: number;
  /** Alerts per second of this process's CPU time: meaningful for SQLite (in-process) only. */
  alertsPerCpuSec?: number;
}

interface QueryResult {
  label: string;
  p50: number;
  p95: number;
  rows: number;
  runs: number;
}

/** One way of writing a batch: `prepare` is untimed (generating, and encoding for raw paths). */
interface IngestPath<P> {
  label: string;
  prepare: (batch: StoredAlert[]) => P;
  insert: (prepared: P) => Promise<number> | number;
  batchSize?: number;
  /** Batches in flight at once (default 1): several agents shipping to one hub. */
  concurrency?: number;
  /** CPU seconds used so far by whatever does the work, when it is not this process (the hub process). */
  cpuSeconds?: () => number;
  /** Untimed cleanup after the last batch. */
  done?: () => Promise<void>;
}

/**
 * Times `insert` over the whole stream of INGEST alerts. With one batch in flight, only the inserts
 * are timed (batches are generated and prepared between them); with several, every batch is prepared
 * first and the wall time of the whole run is taken.
 */
async function timeIngest<P>(path: IngestPath<P>): Promise<IngestResult> {
  const batchSize = path.batchSize ?? BATCH;
  const concurrency = path.concurrency ?? 1;
  const ownCpu = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const cpuNow = path.cpuSeconds ?? ownCpu;
  let elapsed = 0;
  let cpu = 0;
  let inserted = 0;
  if (concurrency === 1) {
    for (let from = 0; from < INGEST; from += batchSize) {
      const prepared = path.prepare(makeAlerts(from, Math.min(batchSize, INGEST - from), INGEST));
      const c0 = cpuNow();
      const t0 = process.hrtime.bigint();
      inserted += await path.insert(prepared);
      elapsed += Number(process.hrtime.bigint() - t0);
      cpu += cpuNow() - c0;
    }
  } else {
    const batches: P[] = [];
    for (let from = 0; from < INGEST; from += batchSize) {
      batches.push(path.prepare(makeAlerts(from, Math.min(batchSize, INGEST - from), INGEST)));
    }
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < batches.length) {
        // Not `inserted += await …`: that reads `inserted` before the await and loses the others' counts.
        const n = await path.insert(batches[next++]!);
        inserted += n;
      }
    };
    const c0 = cpuNow();
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: concurrency }, sender));
    elapsed = Number(process.hrtime.bigint() - t0);
    cpu = cpuNow() - c0;
  }
  await path.done?.();
  if (inserted !== INGEST) throw new Error(`${path.label}: inserted ${inserted} of ${INGEST}`);
  return { label: path.label, alertsPerSec: INGEST / (elapsed / 1e9), alertsPerCpuSec: INGEST / cpu };
}

/** What the ingest measurement needs from a backend. */
interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store. */
  fresh(tag: string): Promise<Store>;
  /** Writes encoded rows with the driver alone, into `store`'s database. */
  raw(store: Store): (rows: AlertRow[]) => Promise<number> | number;
  /** The `--store` URL under which `vigil hub` opens the database of a store made by `fresh(tag)`. */
  hubStoreUrl(tag: string): string;
}

/** API token of the benchmark's hubs (tokens are at least 16 characters). */
const TOKEN = 'bench-token-0123456789';
/** Agents shipping at once in the concurrent paths. */
const SENDERS = Number(process.env.VIGIL_BENCH_STORE_SENDERS ?? 4);
// `vigil hub` runs as users run it: the built CLI with its shebang's Node options.
const cli = cliPath;

/** A `vigil hub` process as users run it, on loopback, and its CPU time (all threads) from /proc. */
interface HubProcess {
  url: string;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startHubProcess(storeUrl: string): Promise<HubProcess> {
  const tokenFile = join(dir, 'hub-tokens');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const child = spawn(
    process.execPath,
    [...cliNodeFlags, cli, 'hub', '--store', storeUrl, '--listen', '127.0.0.1:0', '--token-file', tokenFile],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`vigil hub exited (${code}) before listening: ${out}`)));
  });
  const ticks = 100; // USER_HZ on Linux
  return {
    url,
    cpuSeconds() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / ticks;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Keep-alive connections of the senders. node:http rather than fetch: the senders share this 2-core
 * machine with the hub, and fetch (undici) took 6–9 µs of CPU per alert to send 1,000-alert bodies
 * against node:http's 2–3 µs — CPU the hub then did not get, though real agents send from their own
 * machines (same-run A/B, 2026-11-26: the hub's warm rate 35,000–47,000 alerts/s with fetch,
 * 39,000–52,000 with node:http).
 */
const senderAgent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });

/** One POST /v1/alerts; resolves with the count the hub inserted. */
function postAlerts(hubUrl: string, body: Buffer): Promise<number> {
  const url = new URL('/v1/alerts', hubUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: senderAgent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
            inserted?: number;
            error?: string;
          };
          if (res.statusCode !== 200) reject(new Error(`hub answered ${res.statusCode}: ${json.error}`));
          else resolve(json.inserted ?? 0);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The same ingest, several ways, each into its own empty store: the Store API in batches of BATCH
 * (one in flight, and SENDERS in flight) and of BIG_BATCH, the raw driver insert of the same rows
 * (the ceiling of one batch at a time), and `vigil hub` in its own process taking `POST /v1/alerts`
 * (JSON, HTTP, wire validation, then the store) from one sender and from SENDERS at once.
 */
async function ingestBackend(b: Backend): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  const report = (): void => {
    console.error(`  ${b.name}: ${out.at(-1)!.label}: ${Math.round(out.at(-1)!.alertsPerSec)} alerts/s`);
  };
  const measure = async <P>(tag: string, path: (s: Store) => IngestPath<P>): Promise<void> => {
    const s = await b.fresh(tag);
    try {
      out.push(await timeIngest(path(s)));
    } finally {
      await s.close();
    }
    report();
  };
  const api = (s: Store, batchSize: number, concurrency = 1): IngestPath<StoredAlert[]> => ({
    label:
      concurrency > 1
        ? `Store.insertAlerts, ${concurrency} batches of ${batchSize} in flight`
        : batchSize === BATCH
          ? 'Store.insertAlerts'
          : `Store.insertAlerts, batches of ${batchSize}`,
    prepare: (batch) => batch,
    insert: async (batch) => (await s.insertAlerts(batch)).inserted,
    batchSize,
    concurrency,
  });
  await measure('api', (s) => api(s, BATCH));
  await measure('api-concurrent', (s) => api(s, BATCH, SENDERS));
  await measure('api-big', (s) => api(s, BIG_BATCH));
  await measure('raw', (s) => ({
    label: 'raw driver insert (ceiling)',
    prepare: (batch: StoredAlert[]) => batch.map(encodeAlert),
    insert: b.raw(s),
  }));
  for (const senders of [1, SENDERS]) {
    const tag = `hub-${senders}`;
    await (await b.fresh(tag)).close();
    const hub = await startHubProcess(b.hubStoreUrl(tag));
    const name =
      senders === 1 ? 'vigil hub, POST /v1/alerts' : `vigil hub, POST /v1/alerts, ${senders} senders`;
    try {
      // Twice through the same hub: a fresh one first (its first alerts also pay for growing its heap,
      // the SQLite page cache and the WAL file), then the same number again as a long-running hub
      // takes them: new ids (every alert is stored) and times a week later, after those it holds, as
      // agents' alerts come. (Until 2026-11-26 the warm pass reused the first pass's times: each of its
      // alerts then went into the middle of the time, rule and container indexes rather than at their
      // ends — a page per alert instead of a page per batch — which no running hub sees.)
      for (const pass of ['fresh hub', 'warm hub'] as const) {
        out.push(
          await timeIngest({
            label: `${name} (${pass})`,
            // Bodies as agents send them, serialised beforehand (the senders' own work is not the hub's).
            prepare: (batch: StoredAlert[]) =>
              Buffer.from(
                JSON.stringify({
                  alerts: batch.map((a) =>
                    alertToWire(pass === 'fresh hub' ? a : { ...a, id: `w${a.id}`, time: a.time + WEEK_NS }),
                  ),
                }),
              ),
            insert: (body: Buffer) => postAlerts(hub.url, body),
            concurrency: senders,
            cpuSeconds: () => hub.cpuSeconds(),
          }),
        );
        report();
      }
    } finally {
      await hub.stop();
    }
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Query shapes; `i` varies the parameters so runs do not just hit one cached answer. */
function queryShapes(): { label: string; run: (s: Store, i: number) => Promise<number> }[] {
  const hour = 3600n * 1_000_000_000n;
  const at = (i: number): bigint => START_NS + (WEEK_NS * BigInt((i * 7919) % 1000)) / 1000n;
  const page = async (s: Store, q: AlertQuery): Promise<number> =>
    (await s.queryAlerts({ limit: 100, ...q })).alerts.length;
  return [
    { label: 'latest 100, no filter', run: (s) => page(s, {}) },
    { label: 'one hour window', run: (s, i) => page(s, { since: at(i), until: at(i) + hour }) },
    { label: 'rule (frequent)', run: (s, i) => page(s, { rule: RULE_SPECS[i % 2 === 0 ? 0 : 6]!.name }) },
    { label: 'rule (rare, 1 in 2000)', run: (s) => page(s, { rule: RULE_SPECS[14]!.name }) },
    { label: 'minPriority WARNING', run: (s) => page(s, { minPriority: 'WARNING' }) },
    { label: 'minPriority CRITICAL (1 in 90)', run: (s) => page(s, { minPriority: 'CRITICAL' }) },
    // Rare enough for the text index's postings of the priority (no per-alert priority index).
    { label: 'minPriority EMERGENCY (1 in 2000)', run: (s) => page(s, { minPriority: 'EMERGENCY' }) },
    {
      label: 'tags any of (common)',
      run: (s, i) => page(s, { tags: [i % 2 ? 'shell' : 'network', 'T1059'] }),
    },
    { label: 'tags any of (1 in 100)', run: (s) => page(s, { tags: ['PCI_DSS_11.5.1'] }) },
    { label: 'source k8s_audit', run: (s) => page(s, { source: 'k8s_audit' }) },
    { label: 'hostname', run: (s, i) => page(s, { hostname: HOSTS[i % HOSTS.length]! }) },
    {
      label: 'container (name)',
      run: (s, i) => page(s, { container: CONTAINERS[(i * 31) % CONTAINERS.length]!.name }),
    },
    {
      label: 'container (id) + one day',
      run: (s, i) =>
        page(s, {
          container: CONTAINERS[(i * 7) % CONTAINERS.length]!.id,
          since: at(i),
          until: at(i) + 24n * hour,
        }),
    },
    { label: 'namespace', run: (s, i) => page(s, { namespace: NAMESPACES[i % NAMESPACES.length]! }) },
    {
      label: 'namespace + minPriority',
      run: (s, i) => page(s, { namespace: NAMESPACES[i % NAMESPACES.length]!, minPriority: 'WARNING' }),
    },
    { label: 'text (1 in 7 alerts)', run: (s) => page(s, { text: 'cat /etc/shadow' }) },
    {
      label: 'text (1 in 7), one day window',
      run: (s, i) => page(s, { text: 'nc -e /bin/sh', since: at(i), until: at(i) + 24n * hour }),
    },
    {
      // A pod name: about 1 alert in 29,000 carries it.
      label: 'text (1 in 29,000)',
      run: (s, i) => {
        const c = CONTAINERS[(i * 13) % CONTAINERS.length]!;
        return page(s, { text: `${c.name}-7d9f8b6c5-${(i % 97).toString(36)}x` });
      },
    },
    {
      label: 'page 10 via cursor (hostname)',
      run: async (s, i) => {
        let cursor: string | undefined;
        let n = 0;
        for (let p = 0; p < 10; p++) {
          const r = await s.queryAlerts({
            limit: 100,
            hostname: HOSTS[i % HOSTS.length]!,
            ...(cursor ? { cursor } : {}),
          });
          n = r.alerts.length;
          cursor = r.nextCursor;
        }
        return n;
      },
    },
    { label: 'count, one hour window', run: (s, i) => s.countAlerts({ since: at(i), until: at(i) + hour }) },
    {
      label: 'count, rule, whole week',
      run: (s, i) => s.countAlerts({ rule: RULE_SPECS[i % RULE_SPECS.length]!.name }),
    },
  ];
}

/** p50/p95 of each shape: RUNS runs, or fewer (at least 5) when a shape has used up QUERY_BUDGET_MS. */
async function timeQueries(store: Store): Promise<QueryResult[]> {
  const results: QueryResult[] = [];
  for (const shape of queryShapes()) {
    await shape.run(store, 0); // warm the statement and the cache
    const samples: number[] = [];
    let rows = 0;
    let spent = 0;
    for (let i = 0; i < RUNS && (i < 5 || spent < QUERY_BUDGET_MS); i++) {
      const t0 = process.hrtime.bigint();
      rows += await shape.run(store, i + 1);
      const took = Number(process.hrtime.bigint() - t0) / 1e6;
      samples.push(took);
      spent += took;
    }
    samples.sort((a, b) => a - b);
    const r = {
      label: shape.label,
      p50: percentile(samples, 50),
      p95: percentile(samples, 95),
      rows: Math.round(rows / samples.length),
      runs: samples.length,
    };
    results.push(r);
    console.error(`  ${r.label}: p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms (${r.runs} runs)`);
  }
  return results;
}

/** Fills a store through the Store API in batches of 10,000; returns alerts/s. */
async function fillStore(store: Store, total: number): Promise<number> {
  const t0 = Date.now();
  const step = 10_000;
  for (let from = 0; from < total; from += step) {
    const batch = makeAlerts(from, Math.min(step, total - from), total, 2);
    await store.insertAlerts(batch);
    if ((from / step) % 20 === 0)
      process.stderr.write(`\r  filled ${from.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
  }
  process.stderr.write('\n');
  return total / ((Date.now() - t0) / 1000);
}

/** Seconds taken by retention passes on the filled store: 10 % by row count, then 10 % by age. */
async function timeRetention(store: Store, total: number): Promise<{ byRows: number; byAge: number }> {
  let t0 = Date.now();
  const r1 = await store.enforceRetention({ maxRows: Math.floor(total * 0.9) });
  const byRows = (Date.now() - t0) / 1000;
  const cutoff = START_NS + (WEEK_NS * 2n) / 10n; // the oldest 20 %: another ~10 % of what is left
  t0 = Date.now();
  const r2 = await store.enforceRetention({
    maxAgeNs: START_NS + WEEK_NS - cutoff,
    nowNs: START_NS + WEEK_NS,
  });
  const byAge = (Date.now() - t0) / 1000;
  console.error(
    `  retention: ${r1.deletedByRows} by rows in ${byRows} s, ${r2.deletedByAge} by age in ${byAge} s`,
  );
  return { byRows, byAge };
}

function pgUrl(): { url?: string; reason?: string } {
  if (process.env.VIGIL_PG_URL) return { url: process.env.VIGIL_PG_URL };
  const r = spawnSync('bash', [join(root, 'scripts', 'services', 'postgres.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status === 0) return { url: r.stdout.trim().split('\n').at(-1) };
  return { reason: r.stderr.trim().split('\n').at(-1) ?? `postgres.sh exited ${r.status}` };
}

async function pgFresh(url: string): Promise<PostgresStore> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
  return openPostgresStore({ url, schema: SCHEMA });
}

/** PostgreSQL's own bulk path: COPY through psql into the same table and indexes (no duplicate check). */
async function pgCopy(url: string, dir: string): Promise<IngestResult | undefined> {
  if (spawnSync('psql', ['--version']).status !== 0) return undefined;
  const s = await pgFresh(url);
  try {
    const csvPath = join(dir, 'alerts.csv');
    let csv = '';
    for (let from = 0; from < INGEST; from += BATCH)
      csv += pgCsv(makeAlerts(from, Math.min(BATCH, INGEST - from), INGEST).map(encodeAlert));
    writeFileSync(csvPath, csv);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(
      'psql',
      [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        url,
        '-c',
        `SET search_path=${SCHEMA}`,
        '-c',
        `\\copy alerts (${[...ALERT_COLUMNS, 'output_prefixes'].join(', ')}) FROM '${csvPath}' WITH (FORMAT csv)`,
      ],
      { encoding: 'utf8' },
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status === 0 && (await s.countAlerts()) === INGEST) {
      return { label: 'COPY via psql (no duplicate check)', alertsPerSec: INGEST / secs };
    }
    console.error(`COPY failed: ${r.stderr}`);
    return undefined;
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------------------

const BACKENDS = (process.env.VIGIL_BENCH_STORE_BACKENDS ?? 'sqlite,postgres').split(',');
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-store-'));
const ingest: Record<string, IngestResult[]> = {};
const queries: Record<string, QueryResult[]> = {};
const fillRate: Record<string, number> = {};
/** Seconds the SQLite text index took to catch up after the fill. */
const textIndexSeconds: Record<string, number> = {};
const retention: Record<string, { byRows: number; byAge: number }> = {};
const skipped: string[] = [];
const loadAtStart = load();
let loadAfterIngest = '';

try {
  const backends: Backend[] = [];
  if (BACKENDS.includes('sqlite')) {
    const path = (tag: string): string => join(dir, `ingest-${tag}.db`);
    backends.push({
      name: 'sqlite',
      fresh: async (tag) => openSqliteStore({ path: path(tag) }),
      raw: (s) => {
        const writer = new GroupWriter((s as SqliteStore).db);
        return (rows) => rawSqliteInsert(writer, rows);
      },
      hubStoreUrl: (tag) => `sqlite:${path(tag)}`,
    });
  }
  let url: string | undefined;
  if (BACKENDS.includes('postgres')) {
    const r = pgUrl();
    url = r.url;
    if (url) {
      const u = url;
      backends.push({
        name: 'postgres',
        fresh: () => pgFresh(u),
        raw: (s) => async (rows) =>
          (await (s as PostgresStore).pool.query(PG_INSERT_SQL, pgColumnArrays(rows))).rowCount ?? 0,
        // The hub's connections get the benchmark's schema as their search_path.
        hubStoreUrl: () =>
          `${u}${u.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${SCHEMA}`)}`,
      });
    } else {
      skipped.push(`postgres: no PostgreSQL (${r.reason})`);
    }
  }

  if (INGEST > 0) {
    for (const b of backends) {
      console.error(`${b.name}: ingest ${INGEST.toLocaleString('en-US')} alerts`);
      ingest[b.name] = await ingestBackend(b);
      if (b.name === 'postgres' && url) {
        const copy = await pgCopy(url, dir);
        if (copy) ingest[b.name]!.push(copy);
      }
    }
    loadAfterIngest = load();
  }

  if (ROWS > 0) {
    for (const b of backends) {
      console.error(`${b.name}: fill ${ROWS.toLocaleString('en-US')} alerts, then query`);
      const queryDb = QUERY_DB ?? join(dir, 'query.db');
      const keptSchema = b.name === 'postgres' && QUERY_SCHEMA && url ? QUERY_SCHEMA : undefined;
      const kept = b.name === 'sqlite' ? QUERY_DB : keptSchema && `schema ${keptSchema}`;
      const s =
        b.name === 'sqlite'
          ? await openSqliteStore({ path: queryDb })
          : keptSchema
            ? await openPostgresStore({ url: url!, schema: keptSchema })
            : await b.fresh('query');
      try {
        const held = kept ? await s.countAlerts() : 0;
        if (held > 0) {
          if (held !== ROWS)
            throw new Error(`${kept} holds ${held} alerts, not ${ROWS}: delete it to refill`);
          console.error(`  reusing ${kept} (${held.toLocaleString('en-US')} alerts)`);
          reused.add(b.name);
        } else if (BULK_FILL && s instanceof SqliteStore) {
          // Faster filling for 10M-row runs on a busy machine: the secondary indexes are dropped while
          // filling and rebuilt after (the same indexes, built by sorting; a little more compact).
          const indexes = s.db
            .prepare(
              `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' AND sql IS NOT NULL`,
            )
            .all() as { name: string; sql: string }[];
          for (const ix of indexes) s.db.exec(`DROP INDEX ${ix.name}`);
          fillRate[b.name] = await fillStore(s, ROWS);
          const t0 = Date.now();
          for (const ix of indexes) s.db.exec(ix.sql);
          console.error(`  rebuilt ${indexes.length} indexes in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        } else if (BULK_FILL && b.name === 'postgres') {
          // The same on PostgreSQL: secondary indexes (not the primary key and the id constraint)
          // dropped while filling, rebuilt after with a larger maintenance_work_mem.
          const pool = (s as PostgresStore).pool;
          const { rows: indexes } = await pool.query<{ name: string; sql: string }>(
            `SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i
               JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
               JOIN pg_index x ON x.indexrelid = c.oid
              WHERE i.schemaname = $1 AND i.tablename = 'alerts' AND NOT x.indisprimary AND NOT x.indisunique`,
            [keptSchema ?? SCHEMA],
          );
          for (const ix of indexes) await pool.query(`DROP INDEX ${keptSchema ?? SCHEMA}.${ix.name}`);
          fillRate[b.name] = await fillStore(s, ROWS);
          const t0 = Date.now();
          const client = await pool.connect();
          try {
            await client.query(`SET maintenance_work_mem = '1GB'`);
            for (const ix of indexes) {
              await client.query(ix.sql);
              console.error(`  rebuilt ${ix.name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
            }
            await client.query(`ANALYZE ${keptSchema ?? SCHEMA}.alerts`);
          } finally {
            client.release();
          }
        } else {
          fillRate[b.name] = await fillStore(s, ROWS);
        }
        if (s instanceof SqliteStore) {
          // The text index fills behind ingest, when the writer is idle: wait for it to catch up.
          const t0 = Date.now();
          // (A partly filled last block stays unindexed: the text filter scans it.)
          let lag = s.textIndexLag();
          while (lag >= BLOCK_ROWS) {
            await new Promise((r) => setTimeout(r, 1000));
            const now = s.textIndexLag();
            const ws = s.writerStats;
            console.error(
              `  text index: ${now.toLocaleString('en-US')} alerts to go` +
                (ws?.textIndexErrors
                  ? ` (${ws.textIndexErrors} failed steps, last: ${ws.lastTextIndexError})`
                  : ''),
            );
            lag = now;
          }
          textIndexSeconds[b.name] = (Date.now() - t0) / 1000;
          s.db.exec('ANALYZE');
        } else await (s as PostgresStore).pool.query('VACUUM ANALYZE alerts');
        queries[b.name] = await timeQueries(s);
        retention[b.name] = await timeRetention(s, ROWS);
      } finally {
        await s.close();
      }
      if (b.name === 'sqlite' && !QUERY_DB) rmSync(join(dir, 'query.db'), { force: true });
    }
  }
  if (url) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Report ------------------------------------------------------------------------------------------------
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const machine = machineLine();
const today = new Date().toISOString().slice(0, 16).replace('T', ' ');
const envUsed = Object.entries(process.env)
  .filter(([k]) => k.startsWith('VIGIL_BENCH_STORE_'))
  .map(([k, v]) => `${k}=${v}`)
  .join(' ');
const command = `${envUsed ? `${envUsed} ` : ''}npm run bench:store`;
/** Sections of the recorded block, by key; a run replaces only the sections it measured. */
const sections = new Map<string, string[]>();

for (const [backend, rs] of Object.entries(ingest)) {
  const lines = [
    `### Ingest, ${backend} (${today} UTC, \`${command}\`)`,
    '',
    `${INGEST.toLocaleString('en-US')} alerts into an empty store per path, batches of ${BATCH} unless said. ` +
      `Load average (1/5/15 min) at start ${loadAtStart}, after ingest ${loadAfterIngest} — the 2-core machine is shared, ` +
      'so wall-clock rates fall when others run' +
      (backend === 'sqlite'
        ? '; alerts per CPU-second is also given: of this process (main and writer threads) for the Store ' +
          "paths, of the `vigil hub` process for the hub's."
        : '.'),
    '',
    '| path | alerts/s | alerts per CPU-second | target |',
    '| --- | ---: | ---: | --- |',
  ];
  for (const r of rs) {
    const target =
      // The target is the hub's with several agents sending (one sender waits for each answer).
      backend === 'sqlite' &&
      r.label.startsWith('vigil hub') &&
      r.label.includes('senders') &&
      r.label.includes('warm')
        ? `≥ 50,000: ${r.alertsPerSec >= 50_000 ? 'met' : 'not met'}`
        : '';
    const perCpu = backend === 'sqlite' && r.alertsPerCpuSec !== undefined ? fmt(r.alertsPerCpuSec) : '—';
    lines.push(`| ${r.label} | ${fmt(r.alertsPerSec)} | ${perCpu} | ${target} |`);
  }
  sections.set(`ingest-${backend}`, lines);
}
for (const s of skipped) console.log(`skipped: ${s}`);

for (const [backend, qs] of Object.entries(queries)) {
  const lines = [
    `### Queries, ${backend}, ${ROWS.toLocaleString('en-US')} alerts (${today} UTC, \`${command}\`)`,
    '',
    `${ROWS.toLocaleString('en-US')} alerts over one week, ` +
      (reused.has(backend)
        ? `in a store filled by an earlier run (\`VIGIL_BENCH_STORE_QUERY_${backend === 'sqlite' ? 'DB' : 'SCHEMA'}\`${BULK_FILL ? ', secondary indexes dropped while filling, built afterwards' : ''})`
        : `filled through the Store API in batches of 10,000 at ` +
          `${fmt(fillRate[backend] ?? 0)} alerts/s${BULK_FILL ? ' (secondary indexes dropped while filling, built afterwards)' : ''}`) +
      `${textIndexSeconds[backend] !== undefined ? `; the text index caught up ${textIndexSeconds[backend].toFixed(0)} s after the fill` : ''}; page size 100; up to ${RUNS} runs per query with varied parameters ` +
      `(fewer, at least 5, for a query that takes seconds); ms. Load average at start ${loadAtStart}, at the end ${load()}. ` +
      `Target: p95 ≤ 50 ms at 10,000,000 alerts.`,
    '',
    '| query | p50 | p95 | runs | rows returned |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const q of qs) lines.push(`| ${q.label} | ${ms(q.p50)} | ${ms(q.p95)} | ${q.runs} | ${q.rows} |`);
  const r = retention[backend];
  if (r) {
    lines.push(
      '',
      `Retention on the filled store: \`enforceRetention({ maxRows })\` deleting 10 % took ${r.byRows.toFixed(1)} s; ` +
        `\`enforceRetention({ maxAgeNs })\` deleting about another 10 % took ${r.byAge.toFixed(1)} s.`,
    );
  }
  sections.set(`queries-${backend}-${String(ROWS).padStart(12, '0')}`, lines);
}

for (const lines of sections.values()) console.log(`${lines.join('\n')}\n`);

if (sections.size > 0) {
  const kept = new Map<string, string>();
  for (const m of readDocBlock('store').matchAll(/<!-- section:(\S+) -->\n([\s\S]*?)<!-- \/section -->/g)) {
    kept.set(m[1]!, m[2]!);
  }
  for (const [k, lines] of sections) kept.set(k, `${lines.join('\n')}\n`);
  const body = [...kept.keys()]
    .sort()
    .map((k) => `<!-- section:${k} -->\n${kept.get(k)}<!-- /section -->`)
    .join('\n\n');
  writeDocBlock('store', `Machine: ${machine}.\n\n${body}`);
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
for (const [backend, rs] of Object.entries(ingest)) {
  for (const r of rs) {
    const name = `store_${backend}_ingest_${slug(r.label.replace(/\(.*\)/, ''))}`;
    console.log(`BENCH ${name} ${Math.round(r.alertsPerSec)} alerts/s`);
    if (backend === 'sqlite' && r.alertsPerCpuSec !== undefined) {
      console.log(`BENCH ${name}_per_cpu_second ${Math.round(r.alertsPerCpuSec)} alerts/s`);
    }
  }
}
for (const [backend, qs] of Object.entries(queries)) {
  for (const q of qs) {
    const base = `store_${backend}_${ROWS}_query_${slug(q.label)}`;
    console.log(`BENCH ${base}_p50 ${ms(q.p50)} ms`);
    console.log(`BENCH ${base}_p95 ${ms(q.p95)} ms`);
  }
  const r = retention[backend];
  if (r) {
    console.log(`BENCH store_${backend}_${ROWS}_retention_rows_10pct ${r.byRows.toFixed(1)} s`);
    console.log(`BENCH store_${backend}_${ROWS}_retention_age_10pct ${r.byAge.toFixed(1)} s`);
  }
}
