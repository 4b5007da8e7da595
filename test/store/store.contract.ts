/**
 * The store contract: the behaviour every `Store` implementation must have, run against each one
 * (`sqlite.test.ts`, `postgres.test.ts`). Expected results come from a plain in-memory reference of
 * the documented semantics over a generated data set, never from the store under test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRIORITIES, priorityRank } from '../../src/engine/rules/index.js';
import type { Priority } from '../../src/engine/rules/index.js';
import {
  MAX_QUERY_LIMIT,
  StoreQueryError,
  type AlertFilter,
  type AlertQuery,
  type Store,
  type StoredAlert,
} from '../../src/store/index.js';

/** Makes stores for the suite. */
export interface StoreFactory {
  /** A new, empty store, plus a way to open the same database again (a restart, a second hub). */
  create(): Promise<{ store: Store; reopen(): Promise<Store> }>;
}

/** Small deterministic PRNG (mulberry32), so the data set is the same on every run and backend. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE_NS = 1_700_000_000_123_456_789n;
const RULES = [
  'Terminal shell in container',
  'Write below etc',
  'Read sensitive file untrusted',
  'Contact K8S API Server From Container',
  'Attach/Exec Pod',
];
const TAGS = [
  'container',
  'shell',
  'filesystem',
  'mitre_execution',
  'mitre_persistence',
  'network',
  'k8s',
  'T1059',
];
const HOSTS = ['node-a', 'node-b', 'node-c'];
const CONTAINERS = [
  { id: '3ad7b26ded6d', name: 'nginx' },
  { id: 'f1c2a9e0b7d4', name: 'api' },
  { id: 'host', name: 'host' },
];
const NAMESPACES = ['default', 'kube-system', 'payments'];

/** A generated data set with ties on time, every priority, optional container/namespace fields. */
function dataset(n: number, seed = 7): StoredAlert[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: StoredAlert[] = [];
  for (let i = 0; i < n; i++) {
    // Few distinct times, so many alerts share one and the id decides their order.
    const time = BASE_NS + BigInt(Math.floor(r() * (n / 4))) * 1_000_003n;
    const source = r() < 0.8 ? 'syscall' : 'k8s_audit';
    const fields: Record<string, unknown> = {
      'evt.type': pick(['execve', 'openat', 'connect']),
      'proc.pid': 1000 + i,
    };
    const c = r() < 0.7 ? pick(CONTAINERS) : undefined;
    if (c && source === 'syscall') {
      fields['container.id'] = c.id;
      fields['container.name'] = c.name;
    }
    const ns = r() < 0.6 ? pick(NAMESPACES) : undefined;
    if (ns !== undefined) fields[source === 'syscall' ? 'k8s.ns.name' : 'ka.target.namespace'] = ns;
    else if (source === 'syscall') fields['k8s.ns.name'] = null;
    const tags = TAGS.filter(() => r() < 0.3);
    const rule = pick(RULES);
    out.push({
      id: `${pick(HOSTS)}-${String(i).padStart(5, '0')}-${Math.floor(r() * 1e6).toString(36)}`,
      rule,
      priority: pick(PRIORITIES),
      source,
      time,
      output: `${rule} (user=${pick(['root', 'www-data', 'Admin'])} cmd=${pick(['bash -i', 'cat /etc/shadow', 'curl 100%_done', 'SH -C ls'])} n=${i})`,
      outputFields: fields,
      tags,
      hostname: pick(HOSTS),
    });
  }
  return out;
}

/** Newest first: time descending, then id descending (ids here are ASCII, so bytewise = JS order). */
function byTimeIdDesc(a: StoredAlert, b: StoredAlert): number {
  if (a.time !== b.time) return a.time > b.time ? -1 : 1;
  return a.id === b.id ? 0 : a.id > b.id ? -1 : 1;
}

const many = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The documented filter semantics, in plain code. */
function matches(a: StoredAlert, f: AlertFilter): boolean {
  const f0 = a.outputFields;
  if (f.since !== undefined && a.time < f.since) return false;
  if (f.until !== undefined && a.time >= f.until) return false;
  if (f.rule !== undefined && !many(f.rule).includes(a.rule)) return false;
  if (f.minPriority !== undefined && priorityRank(a.priority) > priorityRank(f.minPriority)) return false;
  if (f.tags !== undefined && !a.tags.some((t) => f.tags!.includes(t))) return false;
  if (f.source !== undefined && !many(f.source).includes(a.source)) return false;
  if (f.hostname !== undefined && !many(f.hostname).includes(a.hostname)) return false;
  if (f.container !== undefined) {
    const ids = [str(f0['container.id']), str(f0['container.name'])];
    if (!many(f.container).some((c) => ids.includes(c))) return false;
  }
  if (f.namespace !== undefined) {
    const ns = str(f0['k8s.ns.name']) ?? str(f0['ka.target.namespace']);
    if (ns === undefined || !many(f.namespace).includes(ns)) return false;
  }
  if (f.text !== undefined && !a.output.toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

/** Every alert of a query, following cursors; checks each page's size on the way. */
async function pageAll(store: Store, q: AlertQuery, limit: number): Promise<StoredAlert[]> {
  const all: StoredAlert[] = [];
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    const page = await store.queryAlerts({ ...q, limit, ...(cursor !== undefined ? { cursor } : {}) });
    expect(page.alerts.length).toBeLessThanOrEqual(limit);
    all.push(...page.alerts);
    if (page.nextCursor === undefined) break;
    expect(page.alerts.length).toBe(limit);
    cursor = page.nextCursor;
    if (pages > 10_000) throw new Error('paging does not end');
  }
  return all;
}

function alert(id: string, time: bigint, extra: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id,
    rule: 'Test rule',
    priority: 'WARNING',
    source: 'syscall',
    time,
    output: `output of ${id}`,
    outputFields: {},
    tags: [],
    hostname: 'host',
    ...extra,
  };
}

/** Runs the contract against one implementation. */
export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    const open: Store[] = [];
    async function fresh(): Promise<{ store: Store; reopen(): Promise<Store> }> {
      const made = await factory.create();
      open.push(made.store);
      return {
        store: made.store,
        reopen: async () => {
          const s = await made.reopen();
          open.push(s);
          return s;
        },
      };
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('starts empty and migrated', async () => {
      const { store } = await fresh();
      expect(await store.schemaVersion()).toBeGreaterThanOrEqual(1);
      expect(await store.countAlerts()).toBe(0);
      expect(await store.queryAlerts()).toEqual({ alerts: [] });
    });

    it('round-trips every member of an alert exactly', async () => {
      const { store } = await fresh();
      const a: StoredAlert = {
        id: 'agent-1:boot-7:000042',
        rule: 'Terminal shell in container',
        priority: 'NOTICE',
        source: 'syscall',
        time: 1_732_575_661_123_456_789n,
        output: 'A shell was spawned in a container with an attached terminal (user=root ünïcödé ✓)',
        outputFields: {
          'container.id': '3ad7b26ded6d',
          'container.name': 'nginx',
          'k8s.ns.name': 'payments',
          'proc.cmdline': 'bash -c "echo \\"hi\\""',
          'proc.pid': 4242,
          'proc.vpid': 1,
          'fd.num': -1,
          'evt.rawres': -2,
          'evt.latency': 0.25,
          'proc.pid.ts': 9_007_199_254_740_993n, // above 2^53: only exact as bigint
          'evt.rawtime': 1_732_575_661_123_456_789n,
          'small.bigint': 12n,
          'neg.bigint': -9_223_372_036_854_775_808n,
          'proc.is_exe_writable': false,
          'proc.tty': true,
          'user.loginname': null,
          'proc.args': ['-c', 'echo hi'],
          'proc.aname': ['bash', 'sshd', 'systemd'],
          'mixed.list': [1, 2n, 'three', null, true, 18_446_744_073_709_551_615n],
          'empty.list': [],
          'evt.buffer': new Uint8Array([0, 1, 2, 254, 255]),
          'with.nul': 'a\u0000b',
          'not.finite': Number.POSITIVE_INFINITY,
          'emoji 🚀 key': 'value with "quotes" and \\ backslash',
        },
        tags: ['container', 'shell', 'mitre_execution', 'T1059'],
        hostname: 'node-a',
      };
      expect(await store.insertAlerts([a])).toEqual({ inserted: 1, duplicates: 0 });
      const { alerts } = await store.queryAlerts();
      expect(alerts).toHaveLength(1);
      const got = alerts[0]!;
      expect(got).toEqual(a);
      // toEqual treats 2n and 2 alike in some versions: check types explicitly.
      expect(typeof got.time).toBe('bigint');
      expect(got.time).toBe(a.time);
      expect(typeof got.outputFields['proc.pid.ts']).toBe('bigint');
      expect(got.outputFields['proc.pid.ts']).toBe(9_007_199_254_740_993n);
      expect(typeof got.outputFields['small.bigint']).toBe('bigint');
      expect(typeof got.outputFields['proc.pid']).toBe('number');
      expect((got.outputFields['mixed.list'] as unknown[]).map((v) => typeof v)).toEqual([
        'number',
        'bigint',
        'string',
        'object',
        'boolean',
        'bigint',
      ]);
      expect(got.outputFields['evt.buffer']).toBeInstanceOf(Uint8Array);
      expect(Object.keys(got.outputFields).sort()).toEqual(Object.keys(a.outputFields).sort());
    });

    it('keeps event times exact across the whole int64 range', async () => {
      const { store } = await fresh();
      const times = [
        0n,
        1n,
        -1n,
        2n ** 53n + 1n,
        1_700_000_000_000_000_001n,
        1_700_000_000_000_000_002n,
        9_223_372_036_854_775_807n,
        -9_223_372_036_854_775_808n,
      ];
      await store.insertAlerts(times.map((t, i) => alert(`t${i}`, t)));
      const got = await pageAll(store, {}, 3);
      expect(got.map((a) => a.time)).toEqual([...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
      for (const t of times) {
        expect(await store.countAlerts({ since: t, until: t + 1n })).toBe(1);
      }
      // Neighbouring nanoseconds stay apart (no rounding through doubles).
      expect(await store.countAlerts({ since: 1_700_000_000_000_000_002n })).toBe(2);
    });

    it('stores an id once however often it is inserted', async () => {
      const { store } = await fresh();
      const batch = dataset(50);
      expect(await store.insertAlerts(batch)).toEqual({ inserted: 50, duplicates: 0 });
      expect(await store.insertAlerts(batch)).toEqual({ inserted: 0, duplicates: 50 });
      // A retry that overlaps: half known, half new; the known ones keep their first content.
      const changed = batch.slice(25).map((a) => ({ ...a, output: 'changed' }));
      const fresh5 = dataset(5, 99).map((a, i) => ({ ...a, id: `new-${i}` }));
      expect(await store.insertAlerts([...changed, ...fresh5])).toEqual({ inserted: 5, duplicates: 25 });
      // The same id twice within one batch.
      const twin = alert('twin', 5n);
      expect(await store.insertAlerts([twin, { ...twin, output: 'second' }, twin])).toEqual({
        inserted: 1,
        duplicates: 2,
      });
      expect(await store.countAlerts()).toBe(56);
      expect(await store.countAlerts({ text: 'changed' })).toBe(0);
      const stored = await pageAll(store, { rule: 'Test rule' }, 100);
      expect(stored.map((a) => a.output)).toEqual(['output of twin']);
      expect(await store.insertAlerts([])).toEqual({ inserted: 0, duplicates: 0 });
    });

    it('inserts concurrent overlapping batches without losing or doubling any', async () => {
      const { store } = await fresh();
      const data = dataset(400, 3);
      const batches = [
        data.slice(0, 200),
        data.slice(100, 300).reverse(),
        data.slice(150, 400),
        [...data].reverse(),
      ];
      const results = await Promise.all(batches.map((b) => store.insertAlerts(b)));
      expect(results.reduce((s, r) => s + r.inserted, 0)).toBe(400);
      expect(results.reduce((s, r) => s + r.inserted + r.duplicates, 0)).toBe(200 + 200 + 250 + 400);
      expect(await store.countAlerts()).toBe(400);
    });

    it('rejects a batch holding an alert it cannot store, storing none of it', async () => {
      const { store } = await fresh();
      const bad = [alert('ok-1', 1n), alert('', 2n), alert('ok-2', 3n)];
      await expect(store.insertAlerts(bad)).rejects.toBeInstanceOf(StoreQueryError);
      const badPriority = [alert('ok-3', 1n), { ...alert('p', 2n), priority: 'SEVERE' as Priority }];
      await expect(store.insertAlerts(badPriority)).rejects.toBeInstanceOf(StoreQueryError);
      expect(await store.countAlerts()).toBe(0);
    });

    describe('filters', () => {
      const data = dataset(600, 11);
      const sorted = [...data].sort(byTimeIdDesc);
      const mid = sorted[Math.floor(sorted.length / 2)]!.time;
      const early = sorted[Math.floor(sorted.length * 0.8)]!.time;
      const cases: [string, AlertFilter][] = [
        ['none', {}],
        ['since', { since: mid }],
        ['until', { until: mid }],
        ['time range', { since: early, until: mid }],
        ['empty time range', { since: mid, until: mid }],
        ['one rule', { rule: RULES[0]! }],
        ['several rules', { rule: [RULES[1]!, RULES[3]!] }],
        ['unknown rule', { rule: 'No such rule' }],
        ['no rules', { rule: [] }],
        ...PRIORITIES.map((p): [string, AlertFilter] => [`minPriority ${p}`, { minPriority: p }]),
        ['one tag', { tags: ['shell'] }],
        ['any of tags', { tags: ['T1059', 'network', 'nonexistent'] }],
        ['no tags', { tags: [] }],
        ['source', { source: 'k8s_audit' }],
        ['hostname', { hostname: 'node-b' }],
        ['hostnames', { hostname: ['node-a', 'node-c'] }],
        ['container by id', { container: CONTAINERS[0]!.id }],
        ['container by name', { container: CONTAINERS[1]!.name }],
        ['containers', { container: [CONTAINERS[0]!.name, CONTAINERS[1]!.id] }],
        ['namespace', { namespace: 'payments' }],
        ['namespaces', { namespace: ['default', 'kube-system'] }],
        ['text, other case', { text: 'CAT /ETC/shadow' }],
        ['text with LIKE wildcards taken literally', { text: '100%_d' }],
        ['text % alone', { text: '%' }],
        ['text _ alone', { text: 'x_y' }],
        ['text backslash', { text: '\\' }],
        [
          'combined',
          { since: early, minPriority: 'ERROR', tags: ['container', 'shell'], hostname: 'node-a' },
        ],
        ['combined with namespace', { namespace: 'payments', source: 'syscall', text: 'root' }],
        // Shapes the SQLite store answers by merging one index walk per value (priority, container id).
        ['container name and minPriority', { container: CONTAINERS[0]!.name, minPriority: 'WARNING' }],
        ['containers and a time range', { container: [CONTAINERS[1]!.name, 'no-such'], since: early }],
        ['minPriority with several rules', { minPriority: 'ERROR', rule: [RULES[0]!, RULES[2]!] }],
        ['minPriority and tags', { minPriority: 'NOTICE', tags: ['shell', 'k8s'] }],
      ];
      let store: Store;
      let ready: Promise<void> | undefined;
      async function loaded(): Promise<Store> {
        ready ??= (async () => {
          // One store for all cases (kept open across them; closed by the last test).
          const made = await factory.create();
          store = made.store;
          await store.insertAlerts(data);
        })();
        await ready;
        return store;
      }

      it('the data set exercises every filter (guards the cases below)', () => {
        for (const [label, f] of cases) {
          const n = data.filter((a) => matches(a, f)).length;
          if (/^(empty time range|unknown rule|no rules|no tags|text _ alone|text backslash)$/.test(label)) {
            expect(n, label).toBe(0);
          } else if (label !== 'none' && label !== 'minPriority DEBUG') {
            expect(n, label).toBeGreaterThan(0);
            expect(n, label).toBeLessThan(data.length);
          }
        }
      });

      for (const [label, f] of cases) {
        it(`${label}: query and count agree with the reference`, async () => {
          const s = await loaded();
          const expected = data.filter((a) => matches(a, f)).sort(byTimeIdDesc);
          expect(await s.countAlerts(f)).toBe(expected.length);
          const got = await pageAll(s, f, 250);
          expect(got.map((a) => a.id)).toEqual(expected.map((a) => a.id));
        });
      }

      it('closes the shared store', async () => {
        const s = await loaded();
        await s.close();
      });
    });

    describe('paging', () => {
      it('walks every alert once, newest first, whatever the page size', async () => {
        const { store } = await fresh();
        const data = dataset(300, 5);
        await store.insertAlerts(data);
        const expected = [...data].sort(byTimeIdDesc).map((a) => a.id);
        for (const limit of [1, 7, 100, 299, 300, 301]) {
          const ids = (await pageAll(store, {}, limit)).map((a) => a.id);
          expect(ids, `limit ${limit}`).toEqual(expected);
          expect(new Set(ids).size).toBe(ids.length);
        }
      });

      it('pages a filtered query and reports no cursor when nothing follows', async () => {
        const { store } = await fresh();
        const data = dataset(200, 8);
        await store.insertAlerts(data);
        const f: AlertFilter = { minPriority: 'WARNING', tags: ['container', 'k8s'] };
        const expected = data.filter((a) => matches(a, f)).sort(byTimeIdDesc);
        expect(expected.length).toBeGreaterThan(10);
        const got = await pageAll(store, f, 4);
        expect(got.map((a) => a.id)).toEqual(expected.map((a) => a.id));
        const exact = await store.queryAlerts({ ...f, limit: expected.length });
        expect(exact.alerts).toHaveLength(expected.length);
        expect(exact.nextCursor).toBeUndefined();
      });

      it('has no gaps or repeats when alerts arrive or leave between pages', async () => {
        const { store } = await fresh();
        const data = dataset(120, 21);
        await store.insertAlerts(data);
        const expected = [...data].sort(byTimeIdDesc);
        const first = await store.queryAlerts({ limit: 30 });
        // Newer alerts arrive, and some with the same time as the page edge but a larger id (which
        // sort before the edge, so belong to pages already read).
        const edge = first.alerts[29]!;
        await store.insertAlerts([alert('zzzz-new-1', edge.time), alert('zzzz-new-2', BASE_NS * 2n)]);
        const rest = await pageAll(store, { cursor: first.nextCursor! }, 30);
        const ids = [...first.alerts, ...rest].map((a) => a.id);
        expect(ids).toEqual(expected.map((a) => a.id));
        // An alert older than the cursor arrives: the walk continuing from the cursor sees it.
        const second = await store.queryAlerts({ limit: 30, cursor: first.nextCursor! });
        await store.insertAlerts([alert('aaaa-late', 0n)]);
        const tail = await pageAll(store, { cursor: second.nextCursor! }, 30);
        expect(tail.at(-1)?.id).toBe('aaaa-late');
        expect(tail.map((a) => a.id).slice(0, -1)).toEqual(expected.slice(60).map((a) => a.id));
      });

      it('rejects a cursor it did not make and limits out of range', async () => {
        const { store } = await fresh();
        for (const cursor of ['', 'garbage', '!!!', Buffer.from('a1:notanumber:x').toString('base64url')]) {
          await expect(store.queryAlerts({ cursor }), cursor).rejects.toBeInstanceOf(StoreQueryError);
        }
        for (const limit of [0, -1, 1.5, MAX_QUERY_LIMIT + 1, Number.NaN]) {
          await expect(store.queryAlerts({ limit }), String(limit)).rejects.toBeInstanceOf(StoreQueryError);
        }
        expect((await store.queryAlerts({ limit: MAX_QUERY_LIMIT })).alerts).toEqual([]);
      });
    });

    describe('retention', () => {
      it('deleteOlderThan removes exactly the older alerts and counts them', async () => {
        const { store } = await fresh();
        const data = dataset(200, 13);
        await store.insertAlerts(data);
        const cut = [...data].sort(byTimeIdDesc)[120]!.time;
        const older = data.filter((a) => a.time < cut);
        expect(older.length).toBeGreaterThan(0);
        expect(await store.deleteOlderThan(cut)).toBe(older.length);
        expect(await store.countAlerts()).toBe(data.length - older.length);
        expect(await store.countAlerts({ until: cut })).toBe(0);
        expect(await store.deleteOlderThan(cut)).toBe(0);
      });

      it('enforces an age bound relative to the given clock', async () => {
        const { store } = await fresh();
        const now = 10_000_000_000n;
        await store.insertAlerts([
          alert('a', now - 5n),
          alert('b', now - 10n),
          alert('c', now - 11n),
          alert('d', 0n),
        ]);
        expect(await store.enforceRetention({ maxAgeNs: 10n, nowNs: now })).toEqual({
          deletedByAge: 2,
          deletedByRows: 0,
        });
        expect((await store.queryAlerts()).alerts.map((a) => a.id)).toEqual(['a', 'b']);
      });

      it('enforces a row bound keeping the newest (ties broken by id)', async () => {
        const { store } = await fresh();
        const data = dataset(150, 17);
        await store.insertAlerts(data);
        const keep = [...data].sort(byTimeIdDesc).slice(0, 37);
        expect(await store.enforceRetention({ maxRows: 37 })).toEqual({
          deletedByAge: 0,
          deletedByRows: 113,
        });
        expect((await pageAll(store, {}, 100)).map((a) => a.id)).toEqual(keep.map((a) => a.id));
        expect(await store.enforceRetention({ maxRows: 37 })).toEqual({ deletedByAge: 0, deletedByRows: 0 });
        expect(await store.enforceRetention({ maxRows: 1000 })).toEqual({
          deletedByAge: 0,
          deletedByRows: 0,
        });
        expect(await store.enforceRetention({ maxRows: 0 })).toEqual({ deletedByAge: 0, deletedByRows: 37 });
        expect(await store.countAlerts()).toBe(0);
      });

      it('applies age first, then rows, counting each', async () => {
        const { store } = await fresh();
        const now = 1_000n;
        const batch = Array.from({ length: 10 }, (_, i) => alert(`r${i}`, BigInt(100 * i)));
        await store.insertAlerts(batch);
        // Age drops times < 500 (r0..r4); rows then keep the newest 3 of r5..r9.
        expect(await store.enforceRetention({ maxAgeNs: 500n, maxRows: 3, nowNs: now })).toEqual({
          deletedByAge: 5,
          deletedByRows: 2,
        });
        expect((await store.queryAlerts()).alerts.map((a) => a.id)).toEqual(['r9', 'r8', 'r7']);
        await expect(store.enforceRetention({ maxRows: -1 })).rejects.toBeInstanceOf(StoreQueryError);
      });
    });

    it('reopens an existing database without migrating again, keeping its alerts', async () => {
      const { store, reopen } = await fresh();
      await store.insertAlerts(dataset(20, 4));
      const version = await store.schemaVersion();
      const again = await reopen();
      expect(await again.schemaVersion()).toBe(version);
      expect(await again.countAlerts()).toBe(20);
      expect(await again.insertAlerts(dataset(20, 4))).toEqual({ inserted: 0, duplicates: 20 });
      const third = await reopen();
      expect(await third.countAlerts()).toBe(20);
    });
  });
}
