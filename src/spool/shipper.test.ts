import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../engine/engine.js';
import { startHub } from '../hub/server.js';
import { alertFromWire, type WireAlert } from '../hub/wire.js';
import { openStore } from '../store/index.js';
import { encodeFrame } from './frame.js';
import { backoffDelay, buildAlertsBody, startShipper, type ShipperStats } from './shipper.js';
import { openSpool, type Spool } from './spool.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-shipper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newSpool = (o: { segmentBytes?: number } = {}): Spool =>
  openSpool({ dir: join(root, `s${n++}`), bootId: 'b', fsync: 'never', ...o });

function alert(i: number, rule = 'Write below etc'): Alert {
  return {
    rule,
    priority: 'ERROR',
    source: 'syscall',
    time: 1_700_000_000_000_000_000n + BigInt(i),
    output: `write ${i}`,
    outputFields: { 'fd.name': `/etc/f${i}` },
    tags: ['filesystem'],
    hostname: 'h',
  };
}

interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A hub stand-in that stores ids and answers what `decide` says (default: 200). */
async function fakeHub(decide: (alerts: WireAlert[], n: number) => Reply | undefined = () => undefined) {
  const stored = new Map<string, number>();
  const auth: (string | undefined)[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      auth.push(req.headers.authorization);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: WireAlert[] };
      body.alerts.forEach((a, i) => alertFromWire(a, `alerts[${i}]`));
      const r = decide(body.alerts, requests);
      if (r) {
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(r.body ?? '{"error":"nope"}');
        return;
      }
      let duplicates = 0;
      for (const a of body.alerts) {
        if (stored.has(a.id)) duplicates++;
        stored.set(a.id, (stored.get(a.id) ?? 0) + 1);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ inserted: body.alerts.length - duplicates, duplicates }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stored,
    auth,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fast = { backoffInitialMs: 5, backoffMaxMs: 20 };

describe('shipper helpers', () => {
  it('joins raw payloads into {"alerts":[…]}', () => {
    expect(buildAlertsBody([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')]).toString()).toBe(
      '{"alerts":[{"a":1},{"b":2}]}',
    );
    expect(buildAlertsBody([]).toString()).toBe('{"alerts":[]}');
  });

  it('backs off exponentially with jitter, up to the cap', () => {
    expect(backoffDelay(0, 100, 30_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 30_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 30_000, () => 1)).toBe(800);
    expect(backoffDelay(50, 100, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(50, 100, 30_000, () => 0)).toBe(15_000);
  });
});

describe('shipper', () => {
  it('ships every alert once with the bearer token and acknowledges it in the spool', async () => {
    const hub = await fakeHub();
    const spool = newSpool({ segmentBytes: 4096 });
    const shipper = startShipper({ spool, hubUrl: hub.url + '/', token: 's3cret', maxBatchAlerts: 50 });
    const ids = Array.from({ length: 500 }, (_, i) => spool.append(alert(i)));
    await until(() => shipper.stats().shipped === 500);
    await shipper.close();
    const s: ShipperStats = shipper.stats();
    expect(s).toMatchObject({ appended: 500, shipped: 500, pendingRecords: 0, pendingBytes: 0, retries: 0 });
    expect(s.batches).toBeGreaterThanOrEqual(10);
    expect(s.lastSuccessTime).toBeGreaterThan(Date.now() - 10_000);
    expect([...hub.stored.keys()].sort()).toEqual([...ids].sort());
    expect([...hub.stored.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(hub.auth)).toEqual(new Set(['Bearer s3cret']));
    expect(readdirSync(spool.dir).filter((f) => f.endsWith('.seg'))).toHaveLength(1);
    await spool.close();
    await hub.close();
  });

  it('retries 5xx, 429 (honouring Retry-After) and network errors, then delivers', async () => {
    const fails: Reply[] = [
      { status: 503 },
      { status: 500, body: 'boom' },
      { status: 429, headers: { 'retry-after': '0.05' } },
      { status: 401, body: '{"error":"token rejected"}' },
    ];
    const hub = await fakeHub((_a, i) => fails[i - 1]);
    const spool = newSpool();
    const logs: string[] = [];
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 't', onLog: (m) => logs.push(m), ...fast });
    for (let i = 0; i < 10; i++) spool.append(alert(i));
    await until(() => shipper.stats().shipped === 10);
    expect(shipper.stats()).toMatchObject({ retries: 4, pendingRecords: 0 });
    expect(hub.stored.size).toBe(10);
    expect(logs.join('\n')).toMatch(/503/);
    expect(logs.join('\n')).toMatch(/401 token rejected/);
    await shipper.close();
    await spool.close();
    await hub.close();
  });

  it('keeps alerts while the hub is unreachable and delivers when it comes up', async () => {
    const probe = await fakeHub();
    const url = probe.url;
    await probe.close();
    const spool = newSpool();
    const shipper = startShipper({ spool, hubUrl: url, token: 't', ...fast });
    for (let i = 0; i < 20; i++) spool.append(alert(i));
    await until(() => shipper.stats().retries >= 3);
    expect(shipper.stats()).toMatchObject({ shipped: 0, pendingRecords: 20 });
    expect(shipper.stats().lastError).toMatch(/ECONNREFUSED/);
    // Same port, now listening.
    const port = Number(new URL(url).port);
    const stored = new Set<string>();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        for (const a of (JSON.parse(Buffer.concat(chunks).toString()) as { alerts: WireAlert[] }).alerts)
          stored.add(a.id);
        res.end('{"inserted":0,"duplicates":0}');
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    await until(() => shipper.stats().pendingRecords === 0);
    expect(stored.size).toBe(20);
    await shipper.close();
    await spool.close();
    await new Promise((r) => server.close(r));
  });

  it('isolates and skips alerts the hub refuses with 400, shipping the rest of the batch', async () => {
    const hub = await fakeHub((alerts) => {
      const bad = alerts.findIndex((a) => a.rule === 'poison');
      return bad >= 0
        ? { status: 400, body: JSON.stringify({ error: `alerts[${bad}].rule: poisoned` }) }
        : undefined;
    });
    const spool = newSpool();
    const logs: string[] = [];
    for (let i = 0; i < 100; i++) spool.append(alert(i, i % 37 === 5 ? 'poison' : 'ok'));
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 't', onLog: (m) => logs.push(m), ...fast });
    await until(() => shipper.stats().pendingRecords === 0);
    const s = shipper.stats();
    expect(s.dropped).toEqual({ rejected: 3 });
    expect(s.shipped).toBe(97);
    expect(s.retries).toBe(0);
    expect(hub.stored.size).toBe(97);
    expect([...hub.stored.keys()].some((id) => /:(6|43|80)$/.test(id))).toBe(false);
    expect(s.lastError).toMatch(/refused an alert \(400: alerts\[0\]\.rule: poisoned\); skipped it/);
    expect(logs.filter((l) => /skipped it/.test(l))).toHaveLength(3);
    await shipper.close();
    await spool.close();
    await hub.close();
  });

  it('splits batches the hub finds too large (413), and skips a single alert it still refuses', async () => {
    const hub = await fakeHub((alerts) =>
      alerts.length > 8 || alerts.some((a) => a.output.length > 1000) ? { status: 413 } : undefined,
    );
    const spool = newSpool();
    for (let i = 0; i < 40; i++)
      spool.append(i === 17 ? { ...alert(i), output: 'x'.repeat(2000) } : alert(i));
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 't', ...fast });
    await until(() => shipper.stats().pendingRecords === 0);
    expect(shipper.stats()).toMatchObject({ shipped: 39, dropped: { too_large: 1 } });
    expect(hub.stored.size).toBe(39);
    await shipper.close();
    await spool.close();
    await hub.close();
  });

  it('close() stops while the hub is down; the next start sends what is left', async () => {
    const hub = await fakeHub(() => ({ status: 503 }));
    const dir = join(root, 'restart');
    let spool = openSpool({ dir, bootId: 'b', fsync: 'never' });
    let shipper = startShipper({ spool, hubUrl: hub.url, token: 't', ...fast });
    for (let i = 0; i < 5; i++) spool.append(alert(i));
    await until(() => shipper.stats().retries > 0);
    const t0 = Date.now();
    await shipper.close({ drainTimeoutMs: 50 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(shipper.stats().pendingRecords).toBe(5);
    await spool.close();
    await hub.close();

    const hub2 = await fakeHub();
    spool = openSpool({ dir, bootId: 'b', fsync: 'never' });
    shipper = startShipper({ spool, hubUrl: hub2.url, token: 't' });
    await until(() => shipper.stats().shipped === 5);
    await shipper.close();
    await spool.close();
    expect(hub2.stored.size).toBe(5);
    await hub2.close();
  });

  it('stops by itself when the spool is closed under it', async () => {
    const hub = await fakeHub();
    const spool = newSpool();
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 't' });
    spool.append(alert(1));
    await until(() => shipper.stats().shipped === 1);
    await spool.close();
    const t0 = Date.now();
    await shipper.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await hub.close();
  });

  it('close() drains what is pending when the hub is up', async () => {
    const hub = await fakeHub();
    const spool = newSpool();
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 't' });
    for (let i = 0; i < 3000; i++) spool.append(alert(i));
    await shipper.close();
    expect(shipper.stats()).toMatchObject({ shipped: 3000, pendingRecords: 0 });
    await spool.close();
    await hub.close();
  });
});

describe('shipper against the real hub (SQLite store)', () => {
  it('stores every alert once; an alert the hub cannot accept is skipped with its reason', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(root, 'hub.db') });
    const hub = await startHub({ store, listen: { host: '127.0.0.1', port: 0 }, tokens: ['tok'] });
    const dir = join(root, 'real');
    let spool = openSpool({ dir, bootId: 'b', fsync: 'never' });
    for (let i = 0; i < 1000; i++) spool.append(alert(i));
    await spool.close();
    // A record written by something else (CRC-valid, but not a valid alert): the hub answers 400.
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg')) as string;
    writeFileSync(join(dir, seg), encodeFrame(1001, JSON.stringify({ id: 'x:y:1001', time: 'soon' })), {
      flag: 'a',
    });
    spool = openSpool({ dir, bootId: 'b', fsync: 'never' });
    for (let i = 1001; i < 1500; i++) spool.append(alert(i));
    const logs: string[] = [];
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 'tok', onLog: (m) => logs.push(m) });
    await until(() => shipper.stats().pendingRecords === 0);
    await shipper.close();
    await spool.close();
    expect(shipper.stats()).toMatchObject({ shipped: 1499, dropped: { rejected: 1 } });
    expect(logs.join('\n')).toMatch(/time: must be a decimal string of nanoseconds/);
    expect(await store.countAlerts()).toBe(1499);
    await hub.close();
    await store.close();
  });

  it('retries a wrong token (401) without losing alerts', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    const hub = await startHub({ store, listen: { host: '127.0.0.1', port: 0 }, tokens: ['right'] });
    const spool = newSpool();
    spool.append(alert(1));
    const shipper = startShipper({ spool, hubUrl: hub.url, token: 'wrong', ...fast });
    await until(() => shipper.stats().retries >= 2);
    await shipper.close({ drainTimeoutMs: 0 });
    expect(shipper.stats()).toMatchObject({ shipped: 0, pendingRecords: 1 });
    expect(shipper.stats().lastError).toMatch(/401 token rejected/);
    await spool.close();
    await hub.close();
    await store.close();
  });
});
