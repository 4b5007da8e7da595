/**
 * The Alertmanager sink against a real Prometheus Alertmanager: the one `scripts/services/alertmanager.sh`
 * installs (if needed) and starts on loopback, or `VIGIL_ALERTMANAGER_URL` when set. Alerts are read back
 * through `GET /api/v2/alerts`. The tests skip, naming the reason, only when the script reports that
 * Alertmanager cannot be installed here (exit 3); any other failure to start it fails them.
 *
 * The server may be shared with earlier runs, so every run labels its alerts with its own hostname.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';
import {
  createSink,
  parseSinksConfig,
  type AlertmanagerSinkConfig,
  type Sink,
} from '../../src/sinks/index.js';
import { AlertmanagerSink } from '../../src/sinks/alertmanager.js';
import { makeAlert } from './make-alert.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** Runs the service script; resolves with the URL, or with the reason Alertmanager is unavailable. */
function startAlertmanager(): Promise<{ url?: string; skip?: string }> {
  const fromEnv = process.env.VIGIL_ALERTMANAGER_URL;
  if (fromEnv) return Promise.resolve({ url: fromEnv });
  const script = join(REPO_ROOT, 'scripts', 'services', 'alertmanager.sh');
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 3) {
        const line = err.split('\n').find((l) => l.startsWith('alertmanager unavailable:'));
        return resolve({ skip: line ?? err.trim() });
      }
      const url = out.trim().split('\n').at(-1);
      if (code !== 0 || !url?.startsWith('http://')) {
        return reject(new Error(`scripts/services/alertmanager.sh failed (status ${code}):\n${err}${out}`));
      }
      resolve({ url });
    });
  });
}

let amUrl = '';
let skipReason = '';
const host = `vigil-test-${process.pid}-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  const r = await startAlertmanager();
  if (r.skip) {
    skipReason = r.skip;
    console.warn(`[vigil tests] skipping Alertmanager sink tests: ${skipReason}`);
  }
  amUrl = r.url ?? '';
}, 600_000);

async function alertsFor(filter: Record<string, string>): Promise<AmAlert[]> {
  const q = Object.entries(filter)
    .map(([k, v]) => `filter=${encodeURIComponent(`${k}="${v}"`)}`)
    .join('&');
  const res = await fetch(`${amUrl}/api/v2/alerts?${q}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AmAlert[];
}

function amSink(raw: Record<string, unknown> = {}): Sink {
  const [config] = parseSinksConfig({ sinks: [{ type: 'alertmanager', url: amUrl, ...raw }] }, '').sinks;
  return createSink(config!, {});
}

describe('alertmanager sink (real Alertmanager)', () => {
  it('posts alerts that Alertmanager lists with the rule, priority, fields and output', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const sink = amSink({ expiry: '10m', labels: { cluster: 'test' } });
    const run = `${host}-a`;
    const sent = ['bash', 'sh', 'zsh'].map((p) =>
      makeAlert({
        hostname: run,
        outputFields: { 'proc.name': p, 'container.id': 'c0ffee123456', 'user.name': 'root', 'proc.pid': 7 },
      }),
    );
    sent.push(
      makeAlert({
        hostname: run,
        rule: 'Write below etc',
        priority: 'ERROR',
        source: 'syscall',
        outputFields: { 'fd.name': '/etc/x', 'proc.name': 'vi' },
      }),
    );
    const before = Date.now();
    for (const a of sent) sink.send(a);
    await sink.close();
    expect(sink.stats()).toMatchObject({ sent: 4, failed: 0 });

    const got = await alertsFor({ hostname: run });
    expect(got).toHaveLength(4);
    const byProc = new Map(got.map((a) => [a.labels.proc_name, a]));
    for (const a of sent) {
      const am = byProc.get(a.outputFields['proc.name'] as string);
      expect(am, `alert for ${String(a.outputFields['proc.name'])}`).toBeDefined();
      expect(am!.labels).toMatchObject({
        alertname: a.rule,
        rule: a.rule,
        source: 'syscall',
        hostname: run,
        cluster: 'test',
      });
      expect(am!.annotations).toMatchObject({ summary: a.output, description: a.output });
      expect(am!.status.state).toBe('active');
      // Alertmanager keeps milliseconds.
      expect(Date.parse(am!.startsAt)).toBe(Number(a.time / 1_000_000n));
      const ends = Date.parse(am!.endsAt);
      expect(ends).toBeGreaterThanOrEqual(before + 600_000 - 1000);
      expect(ends).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
    }
    expect(byProc.get('bash')!.labels).toMatchObject({
      priority: 'Notice',
      container_id: 'c0ffee123456',
      user_name: 'root',
    });
    // Only the chosen fields become labels.
    expect(byProc.get('bash')!.labels).not.toHaveProperty('proc_pid');
    expect(byProc.get('vi')!.labels).toMatchObject({ priority: 'Error', alertname: 'Write below etc' });
    expect(byProc.get('vi')!.labels).not.toHaveProperty('fd_name');
  });

  it('sends in batches of 50: all 120 alerts arrive, each with its own labels', async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const sink = amSink({ batch_size: 50, label_fields: ['proc.pid'] });
    const run = `${host}-b`;
    for (let i = 0; i < 120; i++) sink.send(makeAlert({ hostname: run, outputFields: { 'proc.pid': i } }));
    await sink.flush?.();
    const st = sink.stats();
    expect(st.sent).toBe(120);
    await sink.close();
    const got = await alertsFor({ hostname: run });
    expect(got).toHaveLength(120);
    expect(new Set(got.map((a) => a.labels.proc_pid)).size).toBe(120);
  });

  it("counts Alertmanager's 400 for an invalid alert as rejected, without retrying", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const [parsed] = parseSinksConfig({ sinks: [{ type: 'alertmanager', url: amUrl }] }, '').sinks;
    // A label name the config parser would refuse; Alertmanager refuses it too.
    const config = { ...(parsed as AlertmanagerSinkConfig), labels: { 'not-a-label': 'x' } };
    const sink = new AlertmanagerSink(config);
    sink.send(makeAlert({ hostname: `${host}-c` }));
    await sink.close();
    const st = sink.stats();
    expect(st.dropped.rejected).toBe(1);
    expect(st.retries).toBe(0);
    expect(st.lastError).toMatch(/^HTTP 400/);
    expect(await alertsFor({ hostname: `${host}-c` })).toHaveLength(0);
  });
});
