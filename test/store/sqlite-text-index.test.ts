/**
 * The SQLite text index (src/store/sqlite/text-index.ts): the text filter answers exactly as a scan
 * would (the index only narrows the rows LIKE reads), the index is really used for rare strings,
 * it keeps up behind the writer thread, survives retention (including seqs used again) and fills
 * in for alerts stored before it existed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { PRIORITIES, priorityRank } from '../../src/engine/rules/index.js';
import type { AlertFilter, StoredAlert } from '../../src/store/index.js';
import { HOUR_NS } from '../../src/store/sqlite/counts.js';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import {
  BLOCK_ROWS,
  forEachWord,
  queryWords,
  SEGMENT_BLOCKS,
  TextSearch,
} from '../../src/store/sqlite/text-index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-text-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const START = 1_700_000_000_000_000_000n;
const WORDS = ['cat', 'Shadow', 'etc', 'nginx', 'redis', 'bash', 'curl', 'kube-proxy', 'Ärger', 'x_y', 'nc'];
const PUNCT = [' ', '/', '=', '-', ':', '.', ' (', ') ', '%', '\\'];

/** Outputs mixing common words, rare ids, long numbers (not indexed) and punctuation. */
function output(r: () => number, i: number): string {
  const parts: string[] = [];
  const n = 3 + Math.floor(r() * 8);
  for (let k = 0; k < n; k++) {
    const pick = r();
    if (pick < 0.6) parts.push(WORDS[Math.floor(r() * WORDS.length)]!);
    else if (pick < 0.75) parts.push(`pod${Math.floor(r() * 5000).toString(36)}`);
    else if (pick < 0.85) parts.push(String(Math.floor(r() * 1e12)));
    else if (pick < 0.95) parts.push(String(Math.floor(r() * 100)));
    else parts.push(`id${i}`);
    parts.push(PUNCT[Math.floor(r() * PUNCT.length)]!);
  }
  return parts.join('');
}

function alerts(from: number, count: number, seed = 7): StoredAlert[] {
  const r = rng(seed * 100_003 + from);
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      id: `a${i}`,
      rule: `rule ${i % 7}`,
      priority: PRIORITIES[(i * 5) % PRIORITIES.length]!,
      source: i % 3 === 0 ? 'k8s_audit' : 'syscall',
      // About a thousand alerts an hour, a few out of order.
      time: START + BigInt(i) * (HOUR_NS / 1000n) + (i % 11 === 0 ? -HOUR_NS : 0n),
      output: output(r, i),
      outputFields: {},
      tags: [],
      hostname: `host-${i % 5}`,
    };
  });
}

async function fill(store: SqliteStore, total: number): Promise<StoredAlert[]> {
  const all: StoredAlert[] = [];
  for (let from = 0; from < total; from += 5000) {
    const batch = alerts(from, Math.min(5000, total - from));
    await store.insertAlerts(batch);
    all.push(...batch);
    // The in-memory store works synchronously: let the test runner's messages through.
    await new Promise((r) => setImmediate(r));
  }
  return all;
}

/** Query strings: pieces of stored outputs at random offsets and lengths, in other cases, and odd ones. */
function queries(all: StoredAlert[], count: number): string[] {
  const r = rng(99);
  const out = [
    'shadow',
    'hadow',
    'SHADOW/',
    'etc/shadow',
    '%',
    '\\',
    'x_y',
    'ärger',
    'Ärger',
    'zzzz-not-there',
    '12',
  ];
  for (let i = 0; i < count; i++) {
    const o = all[Math.floor(r() * all.length)]!.output;
    const start = Math.floor(r() * o.length);
    const piece = o.slice(start, start + 1 + Math.floor(r() * 20));
    out.push(r() < 0.3 ? piece.toUpperCase() : piece);
  }
  return out;
}

function oracle(all: StoredAlert[], text: string): StoredAlert[] {
  const fold = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const t = fold(text);
  return all.filter((a) => fold(a.output).includes(t));
}

async function expectSameAsScan(store: SqliteStore, all: StoredAlert[], texts: string[]): Promise<number> {
  const search = new TextSearch(store.db);
  let used = 0;
  for (const text of texts) {
    await new Promise((r) => setImmediate(r));
    const want = oracle(all, text);
    if (search.candidates(text) !== undefined) used++;
    expect(await store.countAlerts({ text }), JSON.stringify(text)).toBe(want.length);
    const page = await store.queryAlerts({ text, limit: 50 });
    const newest = [...want].sort((a, b) => (a.time < b.time ? 1 : -1)).slice(0, 50);
    expect(
      page.alerts.map((a) => a.id),
      JSON.stringify(text),
    ).toEqual(newest.map((a) => a.id));
  }
  return used;
}

function matches(a: StoredAlert, f: AlertFilter): boolean {
  const one = (v: string | readonly string[] | undefined, x: string): boolean =>
    v === undefined || (typeof v === 'string' ? v === x : v.includes(x));
  return (
    (f.since === undefined || a.time >= f.since) &&
    (f.until === undefined || a.time < f.until) &&
    one(f.rule, a.rule) &&
    one(f.source, a.source) &&
    one(f.hostname, a.hostname) &&
    (f.minPriority === undefined || priorityRank(a.priority) <= priorityRank(f.minPriority))
  );
}

/** Counts that the hourly counts serve (and some they do not), against the reference. */
async function expectCounts(store: SqliteStore, all: StoredAlert[]): Promise<void> {
  const t0 = all.reduce((m, a) => (a.time < m ? a.time : m), all[0]!.time);
  const filters: AlertFilter[] = [
    {},
    { rule: 'rule 3' },
    { rule: ['rule 1', 'rule 6'], hostname: 'host-2' },
    { minPriority: 'WARNING' },
    { source: 'k8s_audit', minPriority: 'ERROR' },
    { since: t0 + 5n * HOUR_NS + 123n, until: t0 + 40n * HOUR_NS - 7n },
    { since: t0 + 17n * HOUR_NS, rule: 'rule 0' },
    { until: t0 + 90n * HOUR_NS + 1n, hostname: ['host-1', 'host-4'] },
    { since: t0 + HOUR_NS, until: t0 + 2n * HOUR_NS }, // short: the plain count
    { rule: 'rule 2', text: 'nginx' }, // text: the plain count
  ];
  for (const f of filters) {
    const want = all.filter(
      (a) => matches(a, f) && (f.text === undefined || oracle([a], f.text).length === 1),
    );
    expect(
      await store.countAlerts(f),
      JSON.stringify(f, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ).toBe(want.length);
  }
}

describe('text index words', () => {
  it('splits outputs into folded words and leaves long numbers out', () => {
    const seen: string[] = [];
    forEachWord('Cat /etc/SHADOW pid=123456 ns=1732000000123 Ärger x_y', (w) => seen.push(w));
    expect(seen).toEqual(['cat', 'etc', 'shadow', 'pid', '123456', 'ns', 'Ärger', 'x_y']);
  });

  it('marks the words of a query that may continue in the output', () => {
    expect(queryWords('redis-291-0x')).toEqual([
      { word: 'redis', openLeft: true, openRight: false },
      { word: '291', openLeft: false, openRight: false },
      { word: '0x', openLeft: false, openRight: true },
    ]);
    expect(queryWords('/ETC/')).toEqual([{ word: 'etc', openLeft: false, openRight: false }]);
    expect(queryWords('%')).toEqual([]);
  });
});

describe('SQLite text index', () => {
  it('answers every text filter as a scan does, and narrows rare strings', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      // More than one segment of blocks, so both the segment masks and the open segment's blocks
      // are read, plus a partly filled block that only LIKE sees.
      const total = (SEGMENT_BLOCKS + 3) * BLOCK_ROWS + 1234;
      const all = await fill(store, total);
      expect(store.textIndexLag()).toBeLessThan(BLOCK_ROWS);
      const segments = store.db.prepare('SELECT count(*) FROM text_segments').pluck().get() as number;
      expect(segments).toBeGreaterThan(0);
      const used = await expectSameAsScan(store, all, queries(all, 150));
      expect(used).toBeGreaterThan(30);
      // A common word's segment postings are stored apart (text_postings): they list exactly the
      // alerts of segment 0 that have the word.
      const cat = store.db
        .prepare(
          "SELECT p.seqs FROM text_segments s JOIN text_terms t ON t.id = s.term JOIN text_postings p ON p.id = s.big WHERE t.term = 'cat' AND s.segment = 0",
        )
        .pluck()
        .get() as Buffer;
      const listed: number[] = [];
      for (let i = 0; i + 2 < cat.length;) {
        const n = cat[i + 1]! | (cat[i + 2]! << 8);
        for (let k = 0; k < n; k++) listed.push(cat[i]! * BLOCK_ROWS + cat.readUInt16LE(i + 3 + 2 * k));
        i += 3 + 2 * n;
      }
      const words = (o: string): string[] => o.toLowerCase().split(/[^a-z0-9_\u0080-\uffff]+/);
      const expected = all
        .map((a, k) => ({ seq: k + 1, a }))
        .filter(({ seq, a }) => seq < SEGMENT_BLOCKS * BLOCK_ROWS && words(a.output).includes('cat'))
        .map(({ seq }) => seq);
      expect(listed).toEqual(expected);
      await expectCounts(store, all);
      expect(store.db.prepare('SELECT sum(n) FROM alert_counts').pluck().get()).toBe(
        store.db.prepare('SELECT indexed_seq FROM text_progress').pluck().get(),
      );
      // A rare id: the index names few rows (or none beyond the unindexed tail).
      const rare = new TextSearch(store.db).candidates(`id${BLOCK_ROWS * 3 + 17}`);
      expect(rare).toBeDefined();
      expect((JSON.parse(rare!.ids) as number[]).length).toBeLessThanOrEqual(3);
      // Its plan reads rows by seq, not by walking the time index.
      const plan = store.db
        .prepare(
          "EXPLAIN QUERY PLAN SELECT id FROM alerts NOT INDEXED WHERE output LIKE '%x%' AND (seq IN (SELECT value FROM json_each('[1,2]')) OR seq > 5) ORDER BY time DESC LIMIT 5",
        )
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join(' | ');
      expect(plan).toMatch(/INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(plan).not.toMatch(/alerts_time/);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('keeps right through retention, including seqs used again after the newest alerts go', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      let all = await fill(store, 3 * BLOCK_ROWS + 500);
      // The oldest half goes: blocks below the first remaining seq are dropped.
      const cut = all[Math.floor(all.length / 2)]!.time;
      await store.deleteOlderThan(cut);
      all = all.filter((a) => a.time >= cut);
      const blocks = store.db.prepare('SELECT min(block) FROM text_blocks').pluck().get() as number;
      expect(blocks).toBeGreaterThanOrEqual(1);
      await expectSameAsScan(store, all, queries(all, 40));
      await expectCounts(store, all);
      // Everything goes; new alerts take seqs from 1 again and must not be hidden by old postings.
      await store.enforceRetention({ maxRows: 0 });
      expect(await store.countAlerts()).toBe(0);
      const fresh = alerts(0, 2 * BLOCK_ROWS + 10, 8).map((a) => ({ ...a, id: `new-${a.id}` }));
      await store.insertAlerts(fresh);
      await expectSameAsScan(store, fresh, queries(fresh, 60));
      await expectCounts(store, fresh);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('is filled behind the writer thread, and for alerts stored before the index existed', async () => {
    const path = join(dir, 'upgrade.db');
    // A store made by a build without the index (schema version 1) holding alerts.
    const old = new Database(path);
    old.exec(
      'CREATE TABLE vigil_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    old.exec(SQLITE_MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO vigil_migrations VALUES (1, ?, ?)').run('alerts', 'then');
    const before = alerts(0, 2 * BLOCK_ROWS + 100, 9);
    const insert = old.prepare(
      'INSERT INTO alerts (id, time, rule, priority, source, hostname, output, output_fields, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const a of before) {
      insert.run(a.id, a.time, a.rule, priorityRank(a.priority), a.source, a.hostname, a.output, '{}', '[]');
    }
    old.close();

    const store = await openSqliteStore({ path });
    try {
      expect(await store.schemaVersion()).toBe(SQLITE_SCHEMA_VERSION);
      const after = alerts(before.length, BLOCK_ROWS, 10);
      await store.insertAlerts(after);
      // The writer indexes when it has been idle for a moment.
      const deadline = Date.now() + 30_000;
      while (store.textIndexLag() >= BLOCK_ROWS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(store.textIndexLag()).toBeLessThan(BLOCK_ROWS);
      const all = [...before, ...after];
      const used = await expectSameAsScan(store, all, queries(all, 40));
      expect(used).toBeGreaterThan(5);
      await expectCounts(store, all);
    } finally {
      await store.close();
    }
  }, 60_000);
});
