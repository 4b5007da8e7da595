/**
 * The store contract against a real PostgreSQL: `VIGIL_PG_URL` when set, otherwise the server that
 * `scripts/services/postgres.sh` installs (if needed) and starts on loopback. The suite skips, naming
 * the reason, only when that script reports PostgreSQL cannot be installed on this machine (exit 3);
 * any other failure to start it fails the suite.
 *
 * Every store gets its own schema in the database, dropped at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, parseStoreUrl } from '../../src/store/index.js';
import { openPostgresStore } from '../../src/store/postgres/store.js';
import { outputPrefixes } from '../../src/store/postgres/text-plan.js';
import type { StoredAlert } from '../../src/store/index.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/migrations.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { describeStoreContract } from './store.contract.js';

/** An alert of rule `r` on host `h`, `i` ms into the epoch, with `output`: for text-search tests. */
function textAlert(id: string, i: number, output: string): StoredAlert {
  return {
    id,
    time: BigInt(i) * 1_000_000n,
    rule: 'r',
    priority: 'ERROR',
    source: 'syscall',
    hostname: 'h',
    output,
    outputFields: {},
    tags: [],
  };
}

function startPostgres(): { url?: string; skip?: string } {
  const fromEnv = process.env.VIGIL_PG_URL;
  if (fromEnv) return { url: fromEnv };
  const script = join(REPO_ROOT, 'scripts', 'services', 'postgres.sh');
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 });
  if (r.status === 3) {
    return {
      skip: r.stderr.split('\n').find((l) => l.startsWith('postgresql unavailable:')) ?? r.stderr.trim(),
    };
  }
  if (r.status !== 0) {
    throw new Error(
      `scripts/services/postgres.sh failed (status ${r.status}, ${r.error?.message ?? ''}):\n${r.stderr}`,
    );
  }
  const url = r.stdout.trim().split('\n').at(-1);
  if (!url?.startsWith('postgres://'))
    throw new Error(`scripts/services/postgres.sh printed no URL: ${r.stdout}`);
  return { url };
}

const pgServer = startPostgres();
if (pgServer.skip) console.warn(`[vigil tests] skipping PostgreSQL store suites: ${pgServer.skip}`);
const url = pgServer.url ?? '';
const run = `t${process.pid}_${randomBytes(3).toString('hex')}`;
const schemas: string[] = [];
let n = 0;
function newSchema(): string {
  const s = `vigil_test_${run}_${n++}`;
  schemas.push(s);
  return s;
}

afterAll(async () => {
  if (!url || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await client.end();
  }
});

describe.skipIf(pgServer.skip !== undefined)(
  pgServer.skip ? `PostgreSQL store (skipped: ${pgServer.skip})` : 'PostgreSQL store',
  () => {
    describeStoreContract('postgres', {
      async create() {
        const schema = newSchema();
        return {
          store: await openPostgresStore({ url, schema }),
          reopen: () => openPostgresStore({ url, schema }),
        };
      },
    });

    describe('PostgreSQL store specifics', () => {
      // Regression: concurrent openers once failed on CREATE SCHEMA IF NOT EXISTS (duplicate key in
      // pg_namespace) before schema creation took the advisory lock.
      it('migrates once when several hubs open a new schema at the same time', async () => {
        const schema = newSchema();
        const stores = await Promise.all(
          Array.from({ length: 4 }, () => openPostgresStore({ url, schema, poolSize: 2 })),
        );
        try {
          for (const s of stores) expect(await s.schemaVersion()).toBe(POSTGRES_SCHEMA_VERSION);
          const rows = await stores[0]!.pool.query<{ version: number }>(
            'SELECT version FROM vigil_migrations ORDER BY version',
          );
          expect(rows.rows.map((r) => r.version)).toEqual(
            Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
          );
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      });

      it('has the indexes the filters rely on, and the query planner uses them', async () => {
        const schema = newSchema();
        const store = await openPostgresStore({ url, schema });
        try {
          const idx = await store.pool.query<{ indexname: string; indexdef: string }>(
            'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1',
            [schema],
          );
          const names = idx.rows.map((r) => r.indexname);
          for (const name of [
            'alerts_time',
            'alerts_rule_time',
            'alerts_priority_time',
            'alerts_tags',
            'alerts_k8s_ns_time',
          ]) {
            expect(names).toContain(name);
          }
          expect(idx.rows.find((r) => r.indexname === 'alerts_tags')?.indexdef).toMatch(/USING gin \(tags\)/);
          // pg_trgm ships with Debian's postgresql: the trigram index must be there on this machine.
          expect(idx.rows.find((r) => r.indexname === 'alerts_output_trgm')?.indexdef).toMatch(
            /gin_trgm_ops/,
          );
          const client = await store.pool.connect();
          try {
            // With sequential scans priced out, each filter must have an index path.
            await client.query('SET enable_seqscan = off');
            const plan = async (where: string, ...params: unknown[]): Promise<string> =>
              (
                await client.query<{ 'QUERY PLAN': string }>(
                  `EXPLAIN SELECT id FROM alerts WHERE ${where}`,
                  params,
                )
              ).rows
                .map((r) => r['QUERY PLAN'])
                .join('\n');
            expect(await plan(`tags && $1::text[]`, ['shell'])).toMatch(/alerts_tags/);
            expect(await plan(`output ILIKE $1`, '%shadow%')).toMatch(/alerts_output_trgm/);
            expect(await plan(`rule = $1`, 'r')).toMatch(/alerts_rule_time/);
            expect(await plan(`time >= $1::bigint`, '5')).toMatch(/alerts_time/);
          } finally {
            client.release();
          }
        } finally {
          await store.close();
        }
      });

      it('keeps the hourly counts exact through inserts, duplicates, deletes and truncation', async () => {
        const schema = newSchema();
        const store = await openPostgresStore({ url, schema });
        const HOUR = 3_600_000_000_000n;
        // Hours on both sides of zero and at both ends of int64 (floor, not truncation, and no overflow).
        const times = [
          -HOUR - 1n,
          -HOUR,
          -1n,
          0n,
          HOUR - 1n,
          HOUR,
          5n * HOUR + 7n,
          -(2n ** 63n),
          2n ** 63n - 1n,
        ];
        const make = (i: number): StoredAlert => ({
          id: `c${i}`,
          // Moved inwards, so that the ends of int64 stay in range.
          time: ((base, off) => (base >= 0n ? base - off : base + off))(
            times[i % times.length]!,
            BigInt(Math.floor(i / times.length)),
          ),
          rule: `rule ${i % 3}`,
          priority: (['CRITICAL', 'WARNING', 'NOTICE'] as const)[i % 3]!,
          source: i % 4 === 0 ? 'k8s_audit' : 'syscall',
          hostname: `h${i % 2}`,
          output: `alert ${i}`,
          outputFields: {},
          tags: [],
        });
        /** The hourly counts as they should be (grouped from the alerts) and as they are. */
        const expectExact = async (): Promise<void> => {
          const q = async (sql: string): Promise<string[]> =>
            (await store.pool.query<{ k: string }>(sql)).rows.map((r) => r.k).sort();
          const hour = `(CASE WHEN time >= 0 OR time % 3600000000000 = 0 THEN time / 3600000000000 ELSE time / 3600000000000 - 1 END)`;
          const fromAlerts = await q(
            `SELECT concat_ws('|', ${hour}, rule, priority, source, hostname, count(*)) AS k FROM alerts GROUP BY ${hour}, rule, priority, source, hostname`,
          );
          const fromCounts = await q(
            `SELECT concat_ws('|', hour, rule, priority, source, hostname, n) AS k FROM alert_counts`,
          );
          expect(fromCounts).toEqual(fromAlerts);
        };
        try {
          const all = Array.from({ length: 600 }, (_, i) => make(i));
          // Concurrent overlapping batches (the same hours, some ids twice): no deadlock, no double count.
          await Promise.all([
            store.insertAlerts(all.slice(0, 300)),
            store.insertAlerts(all.slice(200, 500)),
            store.insertAlerts(all.slice(100, 600)),
          ]);
          expect(await store.countAlerts()).toBe(600);
          await expectExact();
          // Counts through the hourly counts agree with plain counts (a window of several hours
          // with partial hours at both edges, and over all time).
          const filter = { rule: 'rule 1', since: -HOUR - 5n, until: 5n * HOUR + 100n } as const;
          const plain = Number(
            (
              await store.pool.query<{ n: string }>(
                `SELECT count(*) AS n FROM alerts WHERE rule = 'rule 1' AND time >= $1::bigint AND time < $2::bigint`,
                [String(filter.since), String(filter.until)],
              )
            ).rows[0]!.n,
          );
          expect(plain).toBeGreaterThan(0);
          expect(await store.countAlerts(filter)).toBe(plain);
          expect(await store.countAlerts({ minPriority: 'WARNING' })).toBe(400);
          // Deletes take their alerts off; emptied hours go.
          expect(await store.deleteOlderThan(0n)).toBeGreaterThan(0);
          await expectExact();
          const zero = await store.pool.query('SELECT 1 FROM alert_counts WHERE n <= 0');
          expect(zero.rowCount).toBe(0);
          await store.enforceRetention({ maxRows: 50 });
          expect(await store.countAlerts()).toBe(50);
          await expectExact();
          await store.pool.query('TRUNCATE alerts');
          expect((await store.pool.query('SELECT 1 FROM alert_counts')).rowCount).toBe(0);
        } finally {
          await store.close();
        }
      });

      it('fills the hourly counts of alerts stored before schema version 3', async () => {
        const schema = newSchema();
        const store = await openPostgresStore({ url, schema });
        try {
          await store.insertAlerts(
            Array.from({ length: 40 }, (_, i) => ({
              id: `m${i}`,
              time: BigInt(i) * 1_000_000_000_000n,
              rule: `r${i % 2}`,
              priority: 'ERROR' as const,
              source: 'syscall',
              hostname: 'h',
              output: 'o',
              outputFields: {},
              tags: [],
            })),
          );
          // Back to version 2 (as a database written by an older Vigil), then migrate again.
          await store.pool.query(`
            DROP TABLE alert_counts;
            DROP FUNCTION alert_counts_added, alert_counts_removed, alert_counts_cleared CASCADE;
            DROP FUNCTION alert_counts_hour;
            DROP INDEX alerts_output_terms;
            DROP FUNCTION alert_output_terms, alert_words;
            ALTER TABLE alerts DROP COLUMN output_prefixes;
            DELETE FROM vigil_migrations WHERE version >= 3;`);
        } finally {
          await store.close();
        }
        const again = await openPostgresStore({ url, schema });
        try {
          expect(await again.schemaVersion()).toBe(POSTGRES_SCHEMA_VERSION);
          const rows = await again.pool.query<{ hour: string; rule: string; n: string }>(
            'SELECT hour, rule, n FROM alert_counts ORDER BY hour, rule',
          );
          // 40 alerts 1,000 s apart: hours 0..10, each split between the two rules.
          expect(rows.rows.reduce((s, r) => s + Number(r.n), 0)).toBe(40);
          expect(rows.rows[0]).toEqual({ hour: '0', rule: 'r0', n: '2' });
          expect(await again.countAlerts({ rule: 'r1' })).toBe(20);
        } finally {
          await again.close();
        }
      });

      it('indexes the terms of alerts stored before schema version 5 when it migrates', async () => {
        const schema = newSchema();
        const alerts = Array.from({ length: 300 }, (_, i) =>
          textAlert(`u${i}`, i, `shell in pod web-${i % 3}-7d9f8b6c5-${(i % 47).toString(36)}x (user=root)`),
        );
        const store = await openPostgresStore({ url, schema });
        try {
          await store.insertAlerts(alerts);
          // Back to version 4 (as a database written by the previous Vigil): words only.
          await store.pool.query(`
            DROP INDEX alerts_output_terms;
            DROP FUNCTION alert_output_terms;
            ALTER TABLE alerts DROP COLUMN output_prefixes;
            CREATE INDEX alerts_output_words ON alerts USING gin (alert_words(output));
            DELETE FROM vigil_migrations WHERE version >= 5;`);
        } finally {
          await store.close();
        }
        const again = await openPostgresStore({ url, schema, wordSearchMinRows: 0 });
        try {
          expect(await again.schemaVersion()).toBe(POSTGRES_SCHEMA_VERSION);
          const idx = await again.pool.query<{ indexname: string }>(
            `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'alerts_output_%' ORDER BY 1`,
            [schema],
          );
          expect(idx.rows.map((r) => r.indexname)).toEqual(['alerts_output_terms', 'alerts_output_trgm']);
          const nulls = await again.pool.query<{ n: string }>(
            'SELECT count(*) AS n FROM alerts WHERE output_prefixes IS NULL',
          );
          expect(nulls.rows[0]!.n).toBe('300');
          await again.pool.query('ANALYZE alerts');
          // Through the prefix term of the suffix, on rows whose terms SQL derived.
          const text = 'web-1-7d9f8b6c5-3x';
          expect(await again.textWords(text)).toBe("'3x~'");
          const expected = alerts
            .filter((a) => a.output.includes(text))
            .map((a) => a.id)
            .reverse();
          expect(expected.length).toBeGreaterThan(0);
          expect((await again.queryAlerts({ text, limit: 500 })).alerts.map((a) => a.id)).toEqual(expected);
        } finally {
          await again.close();
        }
      });

      it('derives the same prefix terms in SQL as the writer does', async () => {
        const store = await openPostgresStore({ url, schema: newSchema() });
        try {
          const outputs = [
            '',
            '--/ %_',
            'a',
            'ab',
            'abc',
            'ABCD efg_HIJ k8s_pod_name=redis-91-7d9f8b6c5-7x (x)',
            'x9 Z 0123456789 a-b-c aa-bb-cc aaa-bbb-ccc',
            'tab\tnew\nline\u0001ctl',
            'user=Ärger x',
            'K\u212A kelvin',
          ];
          for (const o of outputs) {
            const r = await store.pool.query<{ same: boolean; sql: string; writer: string }>(
              `SELECT alert_output_terms($1, $2) = alert_output_terms($1, NULL) AS same,
                      alert_output_terms($1, NULL)::text AS sql, alert_output_terms($1, $2)::text AS writer`,
              [o, outputPrefixes(o)],
            );
            expect(r.rows[0], JSON.stringify(o)).toMatchObject({ same: true });
          }
          expect(outputPrefixes('ABCD efg_HIJ x9 a')).toBe('ab~ abc~ ef~ efg~ hi~ hij~ x9~');
          // Outside ASCII SQL decides (PostgreSQL's lower case): the writer sends none.
          expect(outputPrefixes('user=Ärger x')).toBeNull();
          const terms = await store.pool.query<{ t: string }>(
            `SELECT alert_output_terms('Redis-91 7d9f8b6c5', NULL)::text AS t`,
          );
          expect(terms.rows[0]!.t).toBe("'7d9f8b6c5' '7d9~' '7d~' '91' '91~' 'redis' 'red~' 're~'");
        } finally {
          await store.close();
        }
      });

      it('answers rare texts through the terms index exactly as the plain condition does', async () => {
        const schema = newSchema();
        // From the first alert on (the benchmark's stores use it from 200,000).
        const store = await openPostgresStore({ url, schema, wordSearchMinRows: 0 });
        try {
          let seed = 12345;
          const rnd = (n: number): number => {
            seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
            return seed % n;
          };
          const WORDS = [
            'cat',
            'Shadow',
            'etc',
            'nginx',
            'redis',
            'k8s_pod',
            'a',
            'x9',
            'Ärger',
            '7d9f8b6c5',
          ];
          const SEPS = [' ', '/', '=', '-', ':', '.', ' (', ') ', '%', '_', '\\', '^'];
          const alerts: StoredAlert[] = Array.from({ length: 3000 }, (_, i) => {
            const parts: string[] = [];
            for (let k = 0, n = 4 + rnd(8); k < n; k++) {
              const pick = rnd(10);
              parts.push(
                pick < 6
                  ? WORDS[rnd(WORDS.length)]!
                  : pick < 7
                    ? `pod${rnd(400).toString(36)}`
                    : pick < 8
                      ? `${rnd(36 ** 3)
                          .toString(36)
                          .padStart(3, '0')}Z`
                      : `id${i}`,
              );
              parts.push(SEPS[rnd(SEPS.length)]!);
            }
            return textAlert(`w${i}`, i, parts.join(''));
          });
          await store.insertAlerts(alerts);
          // The writer's prefix terms are the ones SQL derives for rows written without them.
          const differ = await store.pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM alerts
              WHERE alert_output_terms(output, output_prefixes) <> alert_output_terms(output, NULL)`,
          );
          expect(differ.rows[0]!.n).toBe('0');
          // A third of the rows as another writer (COPY, psql) leaves them: SQL derives their terms.
          await store.pool.query(
            `UPDATE alerts SET output_prefixes = NULL WHERE substring(id from 2)::int % 3 = 0`,
          );
          await store.pool.query('ANALYZE alerts');
          // Pieces of stored outputs at random offsets and lengths, in other cases, and odd ones.
          const texts = [
            'pod1-',
            '-pod1',
            '/etc/shadow ',
            'id77',
            ' id2999',
            '% x9_',
            '\\^',
            'Ärger/',
            'nothing here',
          ];
          // A separator and the start of a rare word (`-k4`, `=k4q`): read through prefix terms.
          for (const a of alerts.slice(0, 40)) {
            const m = /[^a-z0-9]([0-9a-z]{3})z/i.exec(a.output);
            if (m) texts.push(m[0].slice(0, 2 + (texts.length % 2)));
          }
          for (let k = 0; k < 150; k++) {
            const o = alerts[rnd(alerts.length)]!.output;
            const from = rnd(o.length);
            const piece = o.slice(from, from + 2 + rnd(14));
            texts.push(k % 3 === 0 ? piece.toUpperCase() : piece);
          }
          let viaWords = 0;
          let viaPrefixTerms = 0;
          for (const text of texts) {
            const plan = await store.textWords(text);
            if (plan !== undefined) viaWords++;
            if (plan?.includes("~'")) viaPrefixTerms++;
            const expected = alerts
              .filter((a) => a.output.toLowerCase().includes(text.toLowerCase()))
              .map((a) => a.id)
              .reverse();
            const got: string[] = [];
            let cursor: string | undefined;
            do {
              const page = await store.queryAlerts({ text, limit: 500, ...(cursor ? { cursor } : {}) });
              got.push(...page.alerts.map((a) => a.id));
              cursor = page.nextCursor;
            } while (cursor);
            expect(got, JSON.stringify(text)).toEqual(expected);
            expect(await store.countAlerts({ text }), JSON.stringify(text)).toBe(expected.length);
          }
          // A words query raises work_mem for its own transaction only (a lossy bitmap otherwise).
          const sent: string[] = [];
          const connect = store.pool.connect.bind(store.pool);
          store.pool.connect = (async () => {
            const client = await connect();
            const query = client.query.bind(client) as (...a: unknown[]) => unknown;
            (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
              if (typeof a[0] === 'string') sent.push(a[0]);
              return query(...a);
            };
            return client;
          }) as typeof store.pool.connect;
          expect(await store.textWords(' id2999')).toBeDefined();
          expect((await store.queryAlerts({ text: ' id2999' })).alerts.map((a) => a.id)).toEqual(['w2999']);
          expect(sent.some((q) => q.includes("set_config('work_mem'"))).toBe(true);
          store.pool.connect = connect;
          const after = await store.pool.query<{ work_mem: string }>('SHOW work_mem');
          expect(after.rows[0]!.work_mem).not.toBe('64MB');
          // Rare pieces go through the words (a text with words bounded inside it), common ones not.
          expect(viaWords).toBeGreaterThan(texts.length / 10);
          // About half the texts ending in three characters of a rare word (two are not rare here).
          expect(viaPrefixTerms).toBeGreaterThanOrEqual(5);
          expect(await store.textWords(' id2999')).toBe("'id2999':*");
          expect(await store.textWords('nginx')).toBeUndefined();
          // The planner reads the words index for them.
          // The words index serves the condition (sequential scans priced out: the table is small).
          const client = await store.pool.connect();
          try {
            await client.query('SET enable_seqscan = off');
            const plan = await client.query<{ 'QUERY PLAN': string }>(
              `EXPLAIN SELECT id FROM alerts WHERE alert_output_terms(output, output_prefixes) @@ $1::tsquery`,
              ["'id2999':*"],
            );
            expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/alerts_output_terms/);
          } finally {
            client.release();
          }
        } finally {
          await store.close();
        }
      }, 120_000);

      it('opens through the registry from a URL', async () => {
        const cfg = parseStoreUrl(url);
        expect(cfg.kind).toBe('postgres');
        const store = await openStore({ ...cfg, kind: 'postgres', url, schema: newSchema() });
        try {
          expect(store.kind).toBe('postgres');
          expect(await store.countAlerts()).toBe(0);
        } finally {
          await store.close();
        }
      });

      it('reports an unreachable server as an error naming the URL without its password', async () => {
        const bad = 'postgres://vigil:secret@127.0.0.1:1/nodb';
        const err = await openPostgresStore({ url: bad }).catch((e: unknown) => e as Error);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toContain('127.0.0.1:1');
        expect((err as Error).message).not.toContain('secret');
      });
    });
  },
);
