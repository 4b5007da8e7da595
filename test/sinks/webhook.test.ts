/**
 * The webhook sink against a real node:http receiver (and an https one with a self-signed certificate):
 * the falcosidekick payload, retries on 500, rejection on 400, and a slow receiver that must not slow
 * `send()` — the queue overflows and counts its drops instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSink, createSinkSet, parseSinksConfig, type Sink } from '../../src/sinks/index.js';
import { makeAlert, waitFor } from './make-alert.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver that answers each request with the next status of `statuses` (then 200), after `delayMs`. */
class Receiver {
  readonly got: Received[] = [];
  responded = 0;
  statuses: number[] = [];
  delayMs = 0;
  private server: http.Server | https.Server;
  url = '';
  constructor(tls?: { key: Buffer; cert: Buffer }) {
    const handler: http.RequestListener = (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        this.got.push({ headers: req.headers, body });
        const status = this.statuses.shift() ?? 200;
        setTimeout(() => {
          this.responded++;
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(status === 200 ? 'ok' : `status ${status}`);
        }, this.delayMs);
      });
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${this.server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${port}/`;
    return this;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function webhook(raw: Record<string, unknown>): Sink {
  const [config] = parseSinksConfig({ sinks: [{ type: 'webhook', ...raw }] }, '').sinks;
  return createSink(config!, {});
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

describe('webhook sink', () => {
  it('POSTs Falco JSON alerts that falcosidekick accepts, with the custom headers', async () => {
    const rx = await new Receiver().start();
    const sink = webhook({ url: rx.url, headers: { Authorization: 'Bearer s3cret', 'X-Team': 'sec' } });
    open.push(sink, rx);
    const alerts = [makeAlert(), makeAlert({ priority: 'CRITICAL' })];
    for (const a of alerts) sink.send(a);
    await sink.flush?.();
    expect(rx.got).toHaveLength(2);
    const [first] = rx.got;
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.headers.authorization).toBe('Bearer s3cret');
    expect(first!.headers['x-team']).toBe('sec');
    const body = JSON.parse(first!.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'hostname',
      'output',
      'output_fields',
      'priority',
      'rule',
      'source',
      'tags',
      'time',
    ]);
    expect(body).toMatchObject({
      hostname: 'test-host',
      priority: 'Notice',
      rule: 'Terminal shell in container',
      source: 'syscall',
      tags: ['container', 'mitre_execution', 'shell'],
    });
    // RFC 3339 with nanoseconds, the event's own time.
    expect(body.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const ns = alerts[0]!.time;
    expect(body.time).toBe(
      `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`,
    );
    expect(body.output).toBe(`${(body.time as string).slice(11, 29)}: Notice ${alerts[0]!.output}`);
    expect(body.output_fields).toMatchObject({ 'proc.name': 'bash', 'container.id': 'c0ffee123456' });
    // 64-bit values are exact JSON numbers (JSON.parse rounds them, so look at the text).
    expect(first!.body).toContain('"proc.vpid":9007199254740993');
    expect(first!.body).toContain(`"evt.time":${ns}`);
    expect((JSON.parse(rx.got[1]!.body) as { priority: string }).priority).toBe('Critical');
    expect(sink.stats()).toMatchObject({ sent: 2, failed: 0, retries: 0, queued: 0 });
  });

  it('retries on 500 and 429 and delivers once the receiver recovers', async () => {
    const rx = await new Receiver().start();
    rx.statuses = [500, 429];
    const sink = webhook({ url: rx.url, retry: { initial_backoff: '10ms', max_backoff: '50ms' } });
    open.push(sink, rx);
    const a = makeAlert();
    sink.send(a);
    await sink.flush?.();
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((r) => r.body)).size).toBe(1);
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 2, retries: 2 });
    expect(sink.stats().dropped.retries_exhausted).toBe(0);
  });

  it('counts a 400 as rejected and does not retry it; gives up after max_retries on 500s', async () => {
    const rx = await new Receiver().start();
    rx.statuses = [400, 500, 500, 500];
    const sink = webhook({
      url: rx.url,
      retry: { max_retries: 2, initial_backoff: '5ms', max_backoff: '10ms' },
    });
    open.push(sink, rx);
    sink.send(makeAlert());
    sink.send(makeAlert());
    sink.send(makeAlert());
    await sink.flush?.();
    // 1 (400) + 3 (500, 500, 500) + 1 (200)
    expect(rx.got).toHaveLength(5);
    const st = sink.stats();
    expect(st.dropped).toEqual({ queue_full: 0, retries_exhausted: 1, rejected: 1, closed: 0 });
    expect(st.sent).toBe(1);
    expect(st.lastError).toBe('HTTP 500 from ' + new URL(rx.url).host + ': status 500');
  });

  it('retries a dead receiver, then counts retries_exhausted', async () => {
    const rx = await new Receiver().start();
    const url = rx.url;
    await rx.close();
    const sink = webhook({ url, retry: { max_retries: 1, initial_backoff: '5ms', max_backoff: '5ms' } });
    open.push(sink);
    sink.send(makeAlert());
    await sink.flush?.();
    expect(sink.stats().dropped.retries_exhausted).toBe(1);
    expect(sink.stats().lastError).toMatch(/ECONNREFUSED/);
  });

  it('keeps send() fast with a slow receiver: the tiny queue overflows and counts queue_full', async () => {
    const rx = await new Receiver().start();
    rx.delayMs = 300;
    const sink = webhook({ url: rx.url, queue_size: 4, close_timeout: '100ms' });
    open.push(rx);
    const n = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink.send(makeAlert());
    const sendMs = Number(process.hrtime.bigint() - started) / 1e6;
    // Every send returned before the receiver answered a single request.
    expect(rx.responded).toBe(0);
    const st = sink.stats();
    expect(st.accepted).toBe(4);
    expect(st.dropped.queue_full).toBe(n - 4);
    console.log(
      `[sinks] webhook: ${n} sends to a slow receiver took ${sendMs.toFixed(2)} ms (${((sendMs * 1000) / n).toFixed(2)} µs/send)`,
    );
    await waitFor(() => rx.got.length >= 1, 'the first request');
    await sink.close();
    const after = sink.stats();
    // Closing within 100 ms cannot wait out 300 ms answers: the rest is dropped as closed, and counted.
    expect(after.sent + after.dropped.closed).toBe(4);
    expect(after.dropped.closed).toBeGreaterThan(0);
    sink.send(makeAlert());
    expect(sink.stats().dropped.closed).toBe(after.dropped.closed + 1);
  });

  it('does not hold back the other sinks of a SinkSet', async () => {
    const rx = await new Receiver().start();
    rx.delayMs = 300;
    const dir = mkdtempSync(join(tmpdir(), 'vigil-webhook-set-'));
    open.push(rx, { close: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
    const config = parseSinksConfig(
      {
        sinks: [
          { type: 'webhook', url: rx.url, queue_size: 2, close_timeout: '50ms' },
          { type: 'file', path: join(dir, 'alerts.log') },
        ],
        flood_control: false,
      },
      '',
    );
    const set = createSinkSet(config);
    for (let i = 0; i < 500; i++) set.send(makeAlert());
    await set.sinks[1]!.flush?.();
    expect(readFileSync(join(dir, 'alerts.log'), 'utf8').split('\n')).toHaveLength(501);
    expect(rx.responded).toBe(0);
    const st = set.stats();
    expect(st.sinks.file?.sent).toBe(500);
    expect(st.sinks.webhook?.dropped.queue_full).toBe(498);
    await set.close();
  });

  describe('over TLS with a self-signed certificate', () => {
    let dir = '';
    let tls: { key: Buffer; cert: Buffer } | undefined;
    let skip = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-webhook-tls-'));
      try {
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-subj',
            '/CN=localhost',
            '-days',
            '1',
            '-keyout',
            join(dir, 'key.pem'),
            '-out',
            join(dir, 'cert.pem'),
          ],
          { stdio: 'ignore' },
        );
      } catch (err) {
        skip = `openssl could not make a test certificate: ${(err as Error).message}`;
      }
      if (existsSync(join(dir, 'cert.pem'))) {
        tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses the certificate by default and accepts it with insecure_skip_verify', async (ctx) => {
      if (!tls) return ctx.skip(skip);
      const rx = await new Receiver(tls).start();
      open.push(rx);
      const strict = webhook({ url: rx.url, retry: { max_retries: 0 } });
      const lax = webhook({ url: rx.url, name: 'lax', insecure_skip_verify: true });
      open.push(strict, lax);
      strict.send(makeAlert());
      lax.send(makeAlert());
      await Promise.all([strict.flush?.(), lax.flush?.()]);
      expect(strict.stats().dropped.retries_exhausted).toBe(1);
      expect(strict.stats().lastError).toMatch(/self[- ]signed/i);
      expect(lax.stats().sent).toBe(1);
      expect(rx.got).toHaveLength(1);
    });
  });
});
