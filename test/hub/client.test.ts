/**
 * HubClient against a real hub: posting, paging, following, TLS with a self-signed certificate made by
 * `openssl req`, and error messages that say what failed. Also measures ingest through the API.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient, HubError } from '../../src/hub/client.js';
import { alertToWire } from '../../src/hub/wire.js';
import type { StoredAlert } from '../../src/store/index.js';
import { makeAlert, startTestHub, TOKEN, type TestHub } from './helpers.js';

const OPENSSL = '/usr/bin/openssl';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('HubClient', () => {
  let t: TestHub;
  let client: HubClient;
  beforeAll(async () => {
    t = await startTestHub({
      rules: () => [{ name: 'R', source: 'syscall', priority: 'WARNING', enabled: false, tags: [], hits: 0 }],
    });
    client = new HubClient({ url: t.hub.url, token: TOKEN });
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('posts batches idempotently and reads them back through pages', async () => {
    const batch = Array.from({ length: 25 }, (_, i) => makeAlert(i, { rule: 'Paged' }));
    expect(await client.postAlerts(batch)).toEqual({ inserted: 25, duplicates: 0 });
    expect(await client.postAlerts(batch.slice(20))).toEqual({ inserted: 0, duplicates: 5 });
    const got: StoredAlert[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.queryAlerts({ rule: 'Paged', limit: 10, ...(cursor ? { cursor } : {}) });
      got.push(...page.alerts);
      cursor = page.nextCursor;
    } while (cursor);
    expect(got).toEqual([...batch].reverse());
  });

  it('reads rules and health', async () => {
    expect(await client.rules()).toEqual([
      { name: 'R', source: 'syscall', priority: 'Warning', enabled: false, tags: [], hits: 0 },
    ]);
    expect(await client.healthy()).toBe(true);
  });

  it('follows new alerts, each once, oldest first, including late arrivals within the lookback', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const seen: string[] = [];
    const ac = new AbortController();
    const following = client.follow({ rule: 'Followed' }, (a) => seen.push(a.id), {
      from: now - 1_000_000_000n,
      intervalMs: 50,
      signal: ac.signal,
    });
    const at = (i: number, dt: bigint) => ({ ...makeAlert(100 + i, { rule: 'Followed', time: now + dt }) });
    await client.postAlerts([at(2, 2_000_000n), at(1, 1_000_000n)]);
    await waitFor(() => seen.length === 2);
    // Arrives late: its event time is before the newest seen, but within the lookback window.
    await client.postAlerts([at(3, 1_500_000n), at(4, 3_000_000n)]);
    await waitFor(() => seen.length === 4);
    // Too old: before `from`; and a duplicate post of a shown alert.
    await client.postAlerts([at(5, -10_000_000_000n), at(4, 3_000_000n)]);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await following;
    expect(seen).toEqual([
      'agent-1:boot-1:101',
      'agent-1:boot-1:102',
      'agent-1:boot-1:103',
      'agent-1:boot-1:104',
    ]);
  });

  it('says a hub is not running when the connection is refused', async () => {
    const port = await freePort();
    const c = new HubClient({ url: `http://127.0.0.1:${port}`, token: TOKEN });
    const e = await c.queryAlerts().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).message).toBe(
      `cannot connect to http://127.0.0.1:${port} (connection refused): is the hub running at http://127.0.0.1:${port}?`,
    );
    expect((e as HubError).code).toBe('ECONNREFUSED');
    c.close();
  });

  it('says the token was rejected, or is missing', async () => {
    const bad = new HubClient({ url: t.hub.url, token: 'not-the-right-token' });
    const e = await bad.postAlerts([makeAlert(1)]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).status).toBe(401);
    expect((e as HubError).message).toMatch(/token rejected/);
    bad.close();
    const none = new HubClient({ url: t.hub.url });
    await expect(none.queryAlerts()).rejects.toThrow(/requires a token \(set VIGIL_TOKEN or pass --token\)/);
    none.close();
  });

  it('passes 400 reasons through', async () => {
    await expect(client.queryAlerts({ limit: 0 })).rejects.toThrow(
      /HTTP 400: limit: must be an integer from 1 to 10000/,
    );
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => new HubClient({ url: 'ftp://x' })).toThrow(/must start with http:\/\/ or https:\/\//);
  });

  it('ingests through the API at a sane rate (printed; the target is measured by npm run bench:store)', async () => {
    const total = 50_000;
    const batchSize = 5_000;
    const alerts = Array.from({ length: total }, (_, i) =>
      makeAlert(1_000_000 + i, {
        rule: ['Terminal shell in container', 'Write below etc', 'Read sensitive file untrusted'][
          i % 3
        ] as string,
        containerId: `c${i % 50}`,
        containerName: `app-${i % 50}`,
        namespace: `ns-${i % 7}`,
        output: `A shell was spawned in a container with an attached terminal (user=root shell=bash n=${i} cmdline=bash -il)`,
      }),
    );
    // Serialised up front, as an agent's spool holds them: the measure is the hub's side.
    const bodies: string[] = [];
    for (let i = 0; i < total; i += batchSize) {
      bodies.push(JSON.stringify({ alerts: alerts.slice(i, i + batchSize).map(alertToWire) }));
    }
    const t0 = performance.now();
    let inserted = 0;
    for (const body of bodies) {
      const r = await fetch(`${t.hub.url}/v1/alerts`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body,
      });
      inserted += ((await r.json()) as { inserted: number }).inserted;
    }
    const secs = (performance.now() - t0) / 1000;
    const rate = Math.round(total / secs);
    process.stdout.write(
      `hub ingest: ${total} alerts in ${secs.toFixed(2)} s = ${rate} alerts/s (batches of ${batchSize})\n`,
    );
    expect(inserted).toBe(total);
    // A floor that only per-alert overhead (a request or a transaction per alert) would break, even on a
    // loaded machine.
    expect(rate).toBeGreaterThan(2_000);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!existsSync(OPENSSL))(
  existsSync(OPENSSL) ? 'TLS' : `TLS (skipped: ${OPENSSL} not installed)`,
  () => {
    let dir: string;
    let t: TestHub;
    let ca: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
      const r = spawnSync(
        OPENSSL,
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=vigil-test',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
      t = await startTestHub({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    });
    afterAll(async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves https with the given certificate', async () => {
      expect(t.hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const c = new HubClient({ url: t.hub.url, token: TOKEN, ca });
      expect(await c.postAlerts([makeAlert(1)])).toEqual({ inserted: 1, duplicates: 0 });
      expect((await c.queryAlerts()).alerts.map((a) => a.id)).toEqual([makeAlert(1).id]);
      c.close();
    });

    it('is refused by a client that does not trust the certificate, with a hint', async () => {
      const c = new HubClient({ url: t.hub.url, token: TOKEN });
      await expect(c.queryAlerts()).rejects.toThrow(
        /TLS to https:\/\/127\.0\.0\.1:\d+ failed: .*--ca \/ VIGIL_HUB_CA/,
      );
      c.close();
    });

    it('does not answer plain http on the TLS port', async () => {
      const c = new HubClient({ url: t.hub.url.replace('https:', 'http:'), token: TOKEN });
      await expect(c.queryAlerts()).rejects.toThrow(HubError);
      c.close();
    });
  },
);
