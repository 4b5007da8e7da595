/**
 * The hub API over a real SQLite store: ingest and idempotency, every query filter, cursor paging,
 * authentication on each route, bad requests with their reasons, limits, and a clean close.
 */
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorityRank, PRIORITIES } from '../../src/engine/rules/index.js';
import type { StoredAlert } from '../../src/store/index.js';
import { alertToWire, type WireAlert } from '../../src/hub/wire.js';
import { BASE_NS, makeAlert, post, startTestHub, TOKEN, wireBatch, type TestHub } from './helpers.js';

const RULES = ['Terminal shell in container', 'Write below etc', 'Read sensitive file untrusted'];
const HOSTS = ['node-a', 'node-b'];
const SOURCES = ['syscall', 'k8s_audit'];
const CONTAINERS = [
  { id: '3ad7b26ded6d', name: 'nginx' },
  { id: 'f1c2a9e0b7d4', name: 'api' },
];
const NAMESPACES = ['default', 'payments', 'kube-system'];
const TAGSETS = [['container', 'shell'], ['filesystem'], ['mitre_execution', 'T1059'], []];

/** 90 alerts cycling through every attribute independently. */
const DATA: StoredAlert[] = Array.from({ length: 90 }, (_, i) => {
  const c = CONTAINERS[i % 2] as { id: string; name: string };
  return makeAlert(i, {
    rule: RULES[i % 3] as string,
    priority: PRIORITIES[i % 8],
    source: SOURCES[Math.floor(i / 3) % 2] as string,
    hostname: HOSTS[Math.floor(i / 2) % 2] as string,
    containerId: c.id,
    containerName: c.name,
    namespace: NAMESPACES[i % 3] as string,
    tags: TAGSETS[i % 4] as string[],
    output: i % 10 === 0 ? `Sensitive FILE opened by curl (n=${i})` : `A shell was spawned (n=${i})`,
  });
});

function ids(alerts: readonly { id: string }[]): string[] {
  return alerts.map((a) => a.id).sort();
}

describe('hub API', () => {
  let t: TestHub;
  const rules = [
    {
      name: 'Write below etc',
      source: 'syscall',
      priority: 'ERROR',
      enabled: true,
      tags: ['filesystem'],
      hits: 3,
    },
  ];

  beforeAll(async () => {
    t = await startTestHub({ rules: () => rules, maxBodyBytes: 256 * 1024, maxBatchAlerts: 500 });
    const r = await post(t.hub.url, wireBatch(DATA), t.auth);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ inserted: 90, duplicates: 0 });
  });
  afterAll(async () => {
    await t.close();
  });

  async function get(path: string, headers = t.auth): Promise<Response> {
    return fetch(`${t.hub.url}${path}`, { headers });
  }

  /** Every alert of a query, following next_cursor; checks pages are disjoint and newest first. */
  async function all(query: string, limit = 7): Promise<WireAlert[]> {
    const out: WireAlert[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 100; n++) {
      const qs = new URLSearchParams(query);
      qs.set('limit', String(limit));
      if (cursor !== null) qs.set('cursor', cursor);
      const r = await get(`/v1/alerts?${qs.toString()}`);
      expect(r.status, await r.clone().text()).toBe(200);
      const body = (await r.json()) as { alerts: WireAlert[]; next_cursor: string | null };
      expect(body.alerts.length).toBeLessThanOrEqual(limit);
      out.push(...body.alerts);
      cursor = body.next_cursor;
      if (cursor === null) break;
    }
    expect(new Set(out.map((a) => a.id)).size).toBe(out.length);
    for (let i = 1; i < out.length; i++) expect(BigInt(out[i - 1]!.time) >= BigInt(out[i]!.time)).toBe(true);
    return out;
  }

  it('re-posting the same batch stores nothing twice', async () => {
    const r = await post(t.hub.url, wireBatch(DATA.slice(0, 10)), t.auth);
    expect(await r.json()).toEqual({ inserted: 0, duplicates: 10 });
    expect(await t.store.countAlerts()).toBe(90);
  });

  it('counts duplicates within a batch and against the store', async () => {
    // Matches none of the filter cases below.
    const extra = makeAlert(1000, {
      rule: 'Extra rule',
      priority: 'DEBUG',
      source: 'extra',
      hostname: 'node-x',
      tags: [],
      time: BASE_NS - 1_000_000_000_000n,
    });
    const r = await post(t.hub.url, wireBatch([extra, extra, DATA[5]!]), t.auth);
    expect(await r.json()).toEqual({ inserted: 1, duplicates: 2 });
    expect(await t.store.countAlerts()).toBe(91);
  });

  it('returns alerts exactly as posted (wire round trip through the store)', async () => {
    const r = await get(`/v1/alerts?limit=1&until=${(BASE_NS + 1n).toString()}`);
    const body = (await r.json()) as { alerts: WireAlert[] };
    expect(body.alerts).toEqual([alertToWire(DATA[0]!)]);
  });

  it('pages through everything with the cursor', async () => {
    const got = await all('since=' + BASE_NS.toString(), 7);
    expect(ids(got)).toEqual(ids(DATA));
  });

  const cases: [string, string, (a: StoredAlert) => boolean][] = [
    ['rule', 'rule=Write+below+etc', (a) => a.rule === 'Write below etc'],
    [
      'repeated rule = OR',
      'rule=Write+below+etc&rule=Read+sensitive+file+untrusted',
      (a) => a.rule !== 'Terminal shell in container',
    ],
    ['priority minimum', 'priority=error', (a) => priorityRank(a.priority) <= priorityRank('ERROR')],
    [
      'priority repeated = least severe',
      'priority=critical&priority=Warning',
      (a) => priorityRank(a.priority) <= 4,
    ],
    ['tag', 'tag=shell', (a) => a.tags.includes('shell')],
    ['repeated tag = OR', 'tag=shell&tag=T1059', (a) => a.tags.includes('shell') || a.tags.includes('T1059')],
    ['source', 'source=k8s_audit', (a) => a.source === 'k8s_audit'],
    ['hostname', 'hostname=node-b', (a) => a.hostname === 'node-b'],
    ['container by name', 'container=nginx', (a) => a.outputFields['container.name'] === 'nginx'],
    ['container by id', 'container=f1c2a9e0b7d4', (a) => a.outputFields['container.id'] === 'f1c2a9e0b7d4'],
    [
      'namespace',
      'namespace=payments&namespace=default',
      (a) => a.outputFields['k8s.ns.name'] !== 'kube-system',
    ],
    ['text, case-insensitive', 'q=file+OPENED', (a) => a.output.includes('FILE opened')],
    [
      'since (ns) and until (RFC 3339)',
      `since=${(BASE_NS + 10n * 1_000_000_000n).toString()}&until=2025-11-24T16:00:30Z`,
      (a) => a.time >= BASE_NS + 10n * 1_000_000_000n && a.time < 1_764_000_030_000_000_000n,
    ],
    [
      'combined filters = AND',
      'rule=Write+below+etc&hostname=node-a&priority=notice',
      (a) => a.rule === 'Write below etc' && a.hostname === 'node-a' && priorityRank(a.priority) <= 5,
    ],
  ];
  it.each(cases)('filters by %s', async (_name, query, pred) => {
    const expected = DATA.filter(pred);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(DATA.length);
    expect(ids(await all(query))).toEqual(ids(expected));
  });

  it('understands relative times (since=15m selects recent alerts only)', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const recent = makeAlert(5000, { time: now - 60_000_000_000n, rule: 'Recent rule' });
    const old = makeAlert(5001, { time: now - 3_600_000_000_000n, rule: 'Recent rule' });
    await post(t.hub.url, wireBatch([recent, old]), t.auth);
    expect(ids(await all('rule=Recent+rule&since=15m'))).toEqual([recent.id]);
    expect(ids(await all('rule=Recent+rule&since=2h&until=30m'))).toEqual([old.id]);
  });

  it.each([
    ['since=yesterday', /^since: "yesterday" is not a time/],
    ['until=2026-02-30T00:00:00Z', /^until: .* is not a valid date/],
    ['priority=loud', /^priority: "loud" is not a Falco priority/],
    ['limit=0', /^limit: must be an integer from 1 to 10000/],
    ['limit=abc', /^limit: must be an integer/],
    ['limit=1&limit=2', /^limit: given more than once/],
    ['severity=high', /^unknown query parameter "severity"/],
    ['cursor=garbage', /cursor/i],
  ])('rejects %s with 400 and the reason', async (query, reason) => {
    const r = await get(`/v1/alerts?${query}`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await r.json()) as { error: string }).error).toMatch(reason);
  });

  it('rejects bad bodies with 4xx and a reason naming the alert and field', async () => {
    const good = alertToWire(makeAlert(2000));
    const bad = { ...alertToWire(makeAlert(2001)), time: 12 };
    const cases: [string | object, number, RegExp][] = [
      ['{"alerts":', 400, /^body is not valid JSON/],
      ['[1,2]', 400, /^body: must be an object \{"alerts":\[…\]\}/],
      [{ alerts: [good, good, bad] }, 400, /^alerts\[2\]\.time: must be a decimal string of nanoseconds$/],
      [
        { alerts: [{ ...good, priority: 'Loud' }] },
        400,
        /^alerts\[0\]\.priority: must be a Falco priority name/,
      ],
      [{ alerts: [{ ...good, tags: [1] }] }, 400, /^alerts\[0\]\.tags\[0\]: must be a string/],
    ];
    for (const [body, status, reason] of cases) {
      const r = await post(t.hub.url, body, t.auth);
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: string }).error).toMatch(reason);
    }
    // Nothing of a rejected batch is stored.
    const r = await get(`/v1/alerts?q=n%3D2000`);
    expect(((await r.json()) as { alerts: unknown[] }).alerts).toEqual([]);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const r = await fetch(`${t.hub.url}/v1/alerts`, {
      method: 'POST',
      headers: { ...t.auth, 'Content-Type': 'text/plain' },
      body: '{"alerts":[]}',
    });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: string }).error).toMatch(/Content-Type must be application\/json/);
  });

  it('answers 413 to a body over maxBodyBytes and to a batch over maxBatchAlerts', async () => {
    const big = 'x'.repeat(300 * 1024);
    const r = await post(t.hub.url, { alerts: [{ ...alertToWire(makeAlert(3000)), output: big }] }, t.auth);
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: string }).error).toMatch(/exceeds 262144 bytes/);
    const many = Array.from({ length: 501 }, (_, i) => alertToWire(makeAlert(10_000 + i, { output: '' })));
    const r2 = await post(t.hub.url, { alerts: many }, t.auth);
    expect(r2.status).toBe(413);
    expect(((await r2.json()) as { error: string }).error).toMatch(/501 alerts in one request; at most 500/);
    // The hub still serves after refusing.
    expect((await get('/healthz')).status).toBe(200);
  });

  it('requires a token on every route but /healthz', async () => {
    const routes: [string, string][] = [
      ['GET', '/v1/alerts'],
      ['POST', '/v1/alerts'],
      ['GET', '/v1/rules'],
      ['GET', '/metrics'],
    ];
    for (const [method, path] of routes) {
      const variants: Record<string, string>[] = [
        {},
        { Authorization: 'Bearer wrong-token' },
        { Authorization: `Basic ${TOKEN}` },
      ];
      for (const headers of variants) {
        const r = await fetch(`${t.hub.url}${path}`, {
          method,
          headers: { 'Content-Type': 'application/json', ...headers },
          ...(method === 'POST' ? { body: JSON.stringify(wireBatch([makeAlert(4000)])) } : {}),
        });
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="vigil"/);
        expect(((await r.json()) as { error: string }).error).toMatch(/token/);
      }
    }
    expect(await t.store.countAlerts({ rule: 'Terminal shell in container', text: 'n=4000)' })).toBe(0);
    const h = await fetch(`${t.hub.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
  });

  it('accepts any of several tokens', async () => {
    const t2 = await startTestHub({ tokens: ['first-token', 'second-token'] });
    try {
      for (const tok of ['first-token', 'second-token']) {
        const r = await fetch(`${t2.hub.url}/v1/rules`, { headers: { Authorization: `Bearer ${tok}` } });
        expect(r.status).toBe(200);
      }
      const r = await fetch(`${t2.hub.url}/v1/rules`, { headers: { Authorization: 'Bearer first-toke' } });
      expect(r.status).toBe(401);
    } finally {
      await t2.close();
    }
  });

  it('lists rules from the provider, with Falco priority names', async () => {
    const r = await get('/v1/rules');
    expect(await r.json()).toEqual({ rules: [{ ...rules[0], priority: 'Error' }] });
  });

  it('lists no rules without a provider', async () => {
    const t2 = await startTestHub();
    try {
      const r = await fetch(`${t2.hub.url}/v1/rules`, { headers: t2.auth });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ rules: [] });
    } finally {
      await t2.close();
    }
  });

  it('answers 404 and 405 with a reason', async () => {
    const r = await get('/v2/nothing');
    expect(r.status).toBe(404);
    const r2 = await fetch(`${t.hub.url}/v1/rules`, { method: 'DELETE', headers: t.auth });
    expect(r2.status).toBe(405);
    expect(r2.headers.get('allow')).toBe('GET');
  });

  it('exposes its metrics', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const inserted = Number(/^vigil_hub_ingest_alerts_total\{result="inserted"\} (\d+)$/m.exec(text)?.[1]);
    expect(inserted).toBe(await t.store.countAlerts());
    expect(text).toMatch(/^vigil_hub_ingest_alerts_total\{result="duplicate"\} 12$/m);
    expect(text).toMatch(/^vigil_hub_requests_total\{route="\/v1\/alerts",method="POST",code="401"\} 3$/m);
    expect(text).toMatch(/^vigil_hub_ingest_rejected_total\{reason="too_large"\} 2$/m);
    expect(text).toMatch(/^vigil_hub_store_duration_seconds_count\{op="insert"\} \d+$/m);
    expect(text).toMatch(/^vigil_hub_auth_failures_total \d+$/m);
  });
});

describe('hub lifecycle', () => {
  it('close() lets a request in flight finish, then refuses connections', async () => {
    const t = await startTestHub();
    const body = JSON.stringify(wireBatch([makeAlert(1), makeAlert(2)]));
    const half = Math.floor(body.length / 2);
    const { port } = t.hub;
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/alerts',
          headers: {
            ...t.auth,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, half));
      // Finish the body only after close() has started.
      setTimeout(() => req.end(body.slice(half)), 200);
    });
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    const closing = t.hub.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    const res = await response;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ inserted: 2, duplicates: 0 });
    await closing;
    await expect(fetch(`${t.hub.url}/healthz`)).rejects.toThrow();
    await t.close();
  });

  it('with no tokens configured, every route is open', async () => {
    const t = await startTestHub({ tokens: [] });
    try {
      const r = await post(t.hub.url, wireBatch([makeAlert(1)]), {});
      expect(r.status).toBe(200);
      expect((await fetch(`${t.hub.url}/metrics`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
