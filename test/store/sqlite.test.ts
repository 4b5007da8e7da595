/**
 * The store contract against SQLite (a real database file in a temp folder, WAL mode), plus what is
 * particular to SQLite: the writer thread's group commit, pragmas, the query plans the indexes are
 * for, migrations on an old file. The contract runs twice: with the writer thread and without.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, parseStoreUrl, StoreQueryError, type StoredAlert } from '../../src/store/index.js';
import { openSqliteStore, SqliteDialect } from '../../src/store/sqlite/store.js';
import { WAL_CHECKPOINT_BYTES } from '../../src/store/sqlite/connection.js';
import { pageQuery } from '../../src/store/query.js';
import { SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { describeStoreContract } from './store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeStoreContract('sqlite', {
  async create() {
    const path = join(dir, `store-${n++}.db`);
    return { store: await openSqliteStore({ path }), reopen: () => openSqliteStore({ path }) };
  },
});

describeStoreContract('sqlite, writes on the calling thread', {
  async create() {
    const path = join(dir, `store-${n++}.db`);
    const open = () => openSqliteStore({ path, writerThread: false });
    return { store: await open(), reopen: open };
  },
});

function wireAlert(id: string, time: bigint, container?: string): StoredAlert {
  return {
    id,
    rule: 'r',
    priority: 'WARNING',
    source: 'syscall',
    time,
    output: `o ${id}`,
    outputFields: container ? { 'container.id': container, 'container.name': `n-${container}` } : {},
    tags: ['t'],
    hostname: 'h',
  };
}

describe('SQLite writer thread (group commit)', () => {
  it('commits concurrent batches together, counting new and repeated ids per batch', async () => {
    const store = await openSqliteStore({ path: join(dir, 'group.db') });
    try {
      // 40 batches sent at once: each has 50 alerts of its own plus one id every batch repeats.
      const batches = Array.from({ length: 40 }, (_, b) => [
        ...Array.from({ length: 50 }, (_, i) => wireAlert(`b${b}-${i}`, BigInt(b * 100 + i), `c${i % 3}`)),
        wireAlert('shared', 5n),
      ]);
      const results = await Promise.all(batches.map((batch) => store.insertAlerts(batch)));
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(40 * 50 + 1);
      expect(results.filter((r) => r.duplicates === 1)).toHaveLength(39);
      for (const r of results) expect(r.inserted + r.duplicates).toBe(51);
      expect(await store.countAlerts()).toBe(40 * 50 + 1);
      const stats = store.writerStats!;
      expect(stats.requests).toBe(40);
      expect(stats.rows).toBe(40 * 51);
      // Sent while the first transaction ran, the others shared transactions.
      expect(stats.groups).toBeLessThan(40);
      expect(stats.largestGroupRows).toBeGreaterThan(51);
      // Container names written by the thread resolve in queries on the main connection.
      const page = await store.queryAlerts({ container: 'n-c1', limit: 10_000 });
      expect(page.alerts).toHaveLength(40 * 17);
    } finally {
      await store.close();
    }
  });

  it('leaves WAL checkpoints to the checkpointer thread', async () => {
    const path = join(dir, 'checkpoints.db');
    const store = await openSqliteStore({ path });
    try {
      // ~250 MB of WAL: past the checkpointer's threshold (WAL_CHECKPOINT_BYTES, 192 MiB), under the
      // writer's own backstop (four times that).
      const big = 'x'.repeat(6000);
      expect(40 * 1000 * big.length).toBeGreaterThan(WAL_CHECKPOINT_BYTES);
      for (let b = 0; b < 40; b++) {
        await store.insertAlerts(
          Array.from({ length: 1000 }, (_, i) => ({
            ...wireAlert(`cp-${b}-${i}`, BigInt(b * 1000 + i)),
            output: big,
          })),
        );
      }
      const deadline = Date.now() + 10_000;
      while (store.writerStats!.checkpoints === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(store.writerStats!.checkpoints).toBeGreaterThan(0);
      expect(store.writerStats!.checkpointErrors).toBe(0);
      expect(await store.countAlerts()).toBe(40_000);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('refuses an invalid alert before sending anything, and inserts after close fail clearly', async () => {
    const store = await openSqliteStore({ path: join(dir, 'refuse.db') });
    await expect(
      store.insertAlerts([wireAlert('ok', 1n), { ...wireAlert('x', 2n), id: '' }]),
    ).rejects.toThrow(StoreQueryError);
    expect(await store.countAlerts()).toBe(0);
    await store.close();
    await expect(store.insertAlerts([wireAlert('late', 3n)])).rejects.toThrow(/closed/);
  });

  it('does not keep a program alive: a store left open lets node exit', () => {
    const script = `
      import { openSqliteStore } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/src/store/sqlite/store.js')).href)};
      const s = await openSqliteStore({ path: ${JSON.stringify(join(dir, 'left-open.db'))} });
      const r = await s.insertAlerts([{ id: 'a', rule: 'r', priority: 'INFORMATIONAL', source: 's', time: 1n, output: 'o', outputFields: {}, tags: [], hostname: 'h' }]);
      console.log('inserted', r.inserted);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('inserted 1');
  });
});

describe('SQLite store specifics', () => {
  it('runs in WAL mode with synchronous=NORMAL', async () => {
    const store = await openSqliteStore({ path: join(dir, 'pragmas.db') });
    try {
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
      expect(store.db.pragma('page_size', { simple: true })).toBe(16384);
    } finally {
      await store.close();
    }
  });

  it('serves filters from the indexes (query plans)', async () => {
    const store = await openSqliteStore({ path: join(dir, 'plans.db') });
    try {
      const plan = (sql: string, ...params: unknown[]): string =>
        (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((r) => r.detail)
          .join('; ');
      const page = 'SELECT id FROM alerts WHERE %s ORDER BY time DESC, id DESC LIMIT 101';
      expect(plan(page.replace('%s', 'time >= ? AND time < ?'), 1, 2)).toMatch(
        /USING (COVERING )?INDEX alerts_time/,
      );
      expect(plan(page.replace('%s', '(time, id) < (?, ?)'), 1, 'x')).toMatch(
        /USING (COVERING )?INDEX alerts_time/,
      );
      expect(plan(page.replace('%s', 'rule = ?'), 'r')).toMatch(/INDEX alerts_rule_time/);
      // Host, namespace and priority have no per-alert index (the writer would pay for it on every
      // insert): a common value is found by walking the time index, a rare one through the text
      // index's candidates, read by seq.
      for (const where of ['hostname = ?', 'k8s_ns = ?', 'priority <= ?']) {
        expect(plan(page.replace('%s', where), 'h')).toMatch(/USING (COVERING )?INDEX alerts_time/);
      }
      const narrowed = new SqliteDialect(true, { ids: '[3, 9]', indexedSeq: 100 });
      const rare = pageQuery(narrowed, { hostname: 'rare-host' });
      const rarePlan = plan(rare.sql, ...narrowed.params);
      expect(rarePlan).toMatch(/INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(rarePlan).not.toMatch(/alerts_time/);
      expect(
        (
          store.db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts'")
            .pluck()
            .all() as string[]
        ).sort(),
      ).toEqual(['alerts_container_id_time', 'alerts_rule_time', 'alerts_time', 'sqlite_autoindex_alerts_1']);
      // The page query the store runs for a container filter: found through the container id index
      // (names via alert_containers), never by walking the whole table.
      const d = new SqliteDialect();
      const q = pageQuery(d, { container: ['nginx', '3ad7b26ded6d'] });
      const containerPlan = plan(q.sql, ...d.params);
      expect(containerPlan).toMatch(/INDEX alerts_container_id_time/);
      expect(containerPlan).toMatch(/alert_containers/);
      expect(containerPlan).not.toMatch(/SCAN alerts\b/);
      expect(plan('DELETE FROM alerts WHERE time < ?', 5)).toMatch(/INDEX alerts_time/);
    } finally {
      await store.close();
    }
  });

  it('upgrades a database left at an older version and refuses a newer one', async () => {
    const path = join(dir, 'versions.db');
    // A database made by an older build: the migrations table exists, no migration applied.
    const old = new Database(path);
    old.exec(
      'CREATE TABLE vigil_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    old.close();
    const store = await openSqliteStore({ path });
    expect(await store.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
    await store.close();
    const future = new Database(path);
    future
      .prepare('INSERT INTO vigil_migrations VALUES (?, ?, ?)')
      .run(SQLITE_SCHEMA_VERSION + 1, 'future', 'x');
    future.close();
    await expect(openSqliteStore({ path })).rejects.toThrow(/cannot open SQLite store/);
    try {
      await openSqliteStore({ path });
    } catch (err) {
      expect(String((err as Error).cause)).toMatch(/newer than this Vigil knows/);
    }
  });

  it('works in memory, through the registry', async () => {
    const store = await openStore(parseStoreUrl('sqlite::memory:'));
    expect(store.kind).toBe('sqlite');
    expect(
      (
        await store.insertAlerts([
          {
            id: 'm',
            rule: 'r',
            priority: 'DEBUG',
            source: 's',
            time: 1n,
            output: 'o',
            outputFields: {},
            tags: [],
            hostname: 'h',
          },
        ])
      ).inserted,
    ).toBe(1);
    expect(await store.countAlerts()).toBe(1);
    await store.close();
    await store.close(); // a second close is a no-op
  });
});

describe('parseStoreUrl', () => {
  it('tells the backends apart', () => {
    expect(parseStoreUrl('postgres://u@h:5432/db')).toEqual({
      kind: 'postgres',
      url: 'postgres://u@h:5432/db',
    });
    expect(parseStoreUrl('postgresql://h/db')).toEqual({ kind: 'postgres', url: 'postgresql://h/db' });
    expect(parseStoreUrl('sqlite:/var/lib/vigil/vigil.db')).toEqual({
      kind: 'sqlite',
      path: '/var/lib/vigil/vigil.db',
    });
    expect(parseStoreUrl('sqlite:///var/lib/v.db')).toEqual({ kind: 'sqlite', path: '/var/lib/v.db' });
    expect(parseStoreUrl('sqlite:./rel.db')).toEqual({ kind: 'sqlite', path: './rel.db' });
    expect(parseStoreUrl('./data/vigil.db')).toEqual({ kind: 'sqlite', path: './data/vigil.db' });
    expect(() => parseStoreUrl('mysql://h/db')).toThrow(StoreQueryError);
    expect(() => parseStoreUrl('sqlite:')).toThrow(StoreQueryError);
  });
});
