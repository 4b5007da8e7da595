/**
 * The hub's /metrics scraped by the real Debian Prometheus (scripts/services/prometheus.sh starts a
 * private instance on loopback), checked through Prometheus's own query API: the target is up with
 * bearer-token auth, the ingest counter has the value of what was posted, and label values that need
 * escaping arrive intact.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { makeAlert, post, startTestHub, TOKEN, wireBatch, type TestHub } from './helpers.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'services', 'prometheus.sh');
const PROMETHEUS = '/usr/bin/prometheus';
const canInstall = typeof process.getuid === 'function' && process.getuid() === 0;
const available = existsSync(PROMETHEUS) || canInstall;
const SKIP = `${PROMETHEUS} is not installed and this user cannot install Debian's prometheus (not root)`;

/** One instant-query result: the value of the single series `expr` selects, or undefined. */
/** Starts a private Prometheus scraping `target` with the token; returns its URL (fails the test if it cannot start). */
function startPrometheus(
  target: string,
  tokenFile: string,
  dir: string,
  extra: string[],
  timeout: number,
): string {
  const r = spawnSync(
    'bash',
    [SCRIPT, 'start', '--target', target, '--token-file', tokenFile, '--dir', dir, ...extra],
    {
      encoding: 'utf8',
      timeout,
    },
  );
  if (r.status !== 0) throw new Error(`prometheus.sh start failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

async function query(
  url: string,
  expr: string,
): Promise<{ labels: Record<string, string>; value: string }[]> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  expect(body.status).toBe('success');
  return body.data.result.map((s) => ({ labels: s.metric, value: s.value[1] }));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!available)(
  available ? 'scraped by a real Prometheus' : `scraped by a real Prometheus (skipped: ${SKIP})`,
  () => {
    let t: TestHub;
    let dir: string;
    let promDir: string;
    let promUrl: string;
    const AWKWARD = 'say "hi"\\ and\nbye';

    beforeAll(async () => {
      const registry = new MetricsRegistry();
      registry
        .counter('vigil_test_escaping_total', 'A label value that needs escaping.', ['rule'])
        .labels(AWKWARD)
        .inc(7);
      registry.collect(() => [
        {
          name: 'vigil_test_collected_depth',
          help: 'Read at scrape time.',
          type: 'gauge',
          samples: [{ labels: { sink: 'webhook' }, value: 42 }],
        },
      ]);
      t = await startTestHub({ metrics: registry });
      dir = mkdtempSync(join(tmpdir(), 'vigil-prom-test-'));
      promDir = join(dir, 'prometheus');
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, TOKEN + '\n');
      promUrl = startPrometheus(`127.0.0.1:${t.hub.port}`, tokenFile, promDir, ['--interval', '1s'], 120_000);
    }, 150_000);

    afterAll(async () => {
      if (promDir) spawnSync('bash', [SCRIPT, 'stop', '--dir', promDir], { encoding: 'utf8' });
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (t) await t.close();
    });

    it('sees the hub up and counts what was ingested', async () => {
      const batch = Array.from({ length: 37 }, (_, i) => makeAlert(i));
      expect((await post(t.hub.url, wireBatch(batch), t.auth)).status).toBe(200);
      // 5 of them again: duplicates, not insertions.
      expect((await post(t.hub.url, wireBatch(batch.slice(0, 5)), t.auth)).status).toBe(200);

      await until('up{job="vigil"} == 1', async () => {
        const up = await query(promUrl, 'up{job="vigil"}');
        return up.length === 1 && up[0]!.value === '1' ? true : undefined;
      });
      const inserted = await until('the ingest counter', async () => {
        const s = await query(promUrl, 'vigil_hub_ingest_alerts_total{job="vigil",result="inserted"}');
        return s[0]?.value === '37' ? s[0] : undefined;
      });
      expect(inserted.labels['instance']).toBe(`127.0.0.1:${t.hub.port}`);
      const dup = await query(promUrl, 'vigil_hub_ingest_alerts_total{job="vigil",result="duplicate"}');
      expect(dup[0]?.value).toBe('5');
      const reqs = await query(
        promUrl,
        'vigil_hub_requests_total{route="/v1/alerts",method="POST",code="200"}',
      );
      expect(reqs[0]?.value).toBe('2');
    });

    it('parses escaped label values, histograms and collected metrics', async () => {
      const esc = await until('the escaping counter', async () => {
        const s = await query(promUrl, 'vigil_test_escaping_total');
        return s.length > 0 ? s : undefined;
      });
      expect(esc[0]!.labels['rule']).toBe(AWKWARD);
      expect(esc[0]!.value).toBe('7');
      expect((await query(promUrl, 'vigil_test_collected_depth{sink="webhook"}'))[0]?.value).toBe('42');
      const buckets = await query(promUrl, 'vigil_hub_store_duration_seconds_bucket{op="insert",le="+Inf"}');
      expect(buckets[0]?.value).toBe('2');
    });

    it('reports the target down when the token is wrong', async () => {
      const tokenFile = join(dir, 'bad-token');
      writeFileSync(tokenFile, 'not-the-right-token\n');
      const other = join(dir, 'prometheus-bad');
      const url = startPrometheus(
        `127.0.0.1:${t.hub.port}`,
        tokenFile,
        other,
        ['--job', 'vigil_bad'],
        60_000,
      );
      try {
        await until('up{job="vigil_bad"} == 0', async () => {
          const up = await query(url, 'up{job="vigil_bad"}');
          return up[0]?.value === '0' ? true : undefined;
        });
      } finally {
        spawnSync('bash', [SCRIPT, 'stop', '--dir', other], { encoding: 'utf8' });
      }
    });
  },
);
