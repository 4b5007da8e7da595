/**
 * The queue every sink shares: bounded, one worker, retries with backoff, drops counted by reason,
 * close with a deadline. Driven through a scripted transport whose outcomes the tests choose.
 */
import { describe, expect, it } from 'vitest';
import type { StoredAlert } from '../store/store.js';
import { makeAlert, waitFor } from '../../test/sinks/make-alert.js';
import {
  QueuedSink,
  RejectedError,
  RetryableError,
  backoffDelay,
  type QueueOptions,
  type RetryPolicy,
} from './sink.js';

type Outcome = 'ok' | 'fail' | 'reject' | 'hang';

/** A transport that answers from a script (then `ok`), and records each attempt's batch size. */
class ScriptedSink extends QueuedSink {
  attempts: number[] = [];
  delivered: StoredAlert[] = [];
  shutdowns = 0;
  constructor(
    private readonly script: Outcome[],
    options: Partial<QueueOptions> = {},
  ) {
    super(
      'scripted',
      {
        queueSize: 100,
        batchSize: 10,
        retry: { maxRetries: 3, initialBackoffMs: 1, maxBackoffMs: 4 },
        closeTimeoutMs: 2000,
        ...options,
      },
      { random: () => 0.5 },
    );
  }
  protected override async deliver(batch: readonly StoredAlert[], signal: AbortSignal): Promise<void> {
    this.attempts.push(batch.length);
    const o = this.script.shift() ?? 'ok';
    if (o === 'fail') throw new RetryableError('boom');
    if (o === 'reject') throw new RejectedError('HTTP 400: bad alert');
    if (o === 'hang') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      throw new Error('aborted');
    }
    await new Promise((r) => setTimeout(r, 1));
    this.delivered.push(...batch);
  }
  protected override shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
}

describe('backoffDelay', () => {
  const p: RetryPolicy = { maxRetries: 10, initialBackoffMs: 100, maxBackoffMs: 1000 };
  it('doubles from the initial delay up to the maximum, with jitter between half and all of it', () => {
    expect(backoffDelay(p, 1, () => 0)).toBe(50);
    expect(backoffDelay(p, 1, () => 1)).toBe(100);
    expect(backoffDelay(p, 2, () => 1)).toBe(200);
    expect(backoffDelay(p, 3, () => 1)).toBe(400);
    expect(backoffDelay(p, 5, () => 1)).toBe(1000);
    expect(backoffDelay(p, 50, () => 0)).toBe(500);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(p, 3);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});

describe('QueuedSink', () => {
  it('delivers in batches of at most batchSize, in order, and counts them sent', async () => {
    const s = new ScriptedSink([], { batchSize: 4 });
    const alerts = Array.from({ length: 10 }, () => makeAlert());
    for (const a of alerts) s.send(a);
    await s.flush();
    expect(s.delivered.map((a) => a.id)).toEqual(alerts.map((a) => a.id));
    expect(Math.max(...s.attempts)).toBeLessThanOrEqual(4);
    const st = s.stats();
    expect(st).toMatchObject({ accepted: 10, sent: 10, queued: 0, failed: 0, retries: 0 });
    expect(st.dropped).toEqual({ queue_full: 0, retries_exhausted: 0, rejected: 0, closed: 0 });
    await s.close();
    expect(s.shutdowns).toBe(1);
  });

  it('retries failed batches, then delivers them', async () => {
    const s = new ScriptedSink(['fail', 'fail']);
    s.send(makeAlert());
    await s.flush();
    expect(s.attempts).toEqual([1, 1, 1]);
    expect(s.stats()).toMatchObject({ sent: 1, failed: 2, retries: 2, lastError: 'boom' });
    await s.close();
  });

  it('drops a batch after maxRetries retries (retries_exhausted)', async () => {
    const s = new ScriptedSink(['fail', 'fail', 'fail', 'fail', 'fail']);
    s.send(makeAlert());
    s.send(makeAlert());
    await s.flush();
    expect(s.attempts).toEqual([2, 2, 2, 2]);
    const st = s.stats();
    expect(st.sent).toBe(0);
    expect(st.dropped.retries_exhausted).toBe(2);
    expect(st.retries).toBe(3);
    await s.close();
  });

  it('does not retry a rejected batch', async () => {
    const s = new ScriptedSink(['reject']);
    s.send(makeAlert());
    await s.flush();
    s.send(makeAlert());
    await s.flush();
    expect(s.attempts).toEqual([1, 1]);
    expect(s.stats()).toMatchObject({ sent: 1, retries: 0, failed: 1 });
    expect(s.stats().dropped.rejected).toBe(1);
    await s.close();
  });

  it('drops what does not fit in the queue (queue_full) without blocking', async () => {
    const s = new ScriptedSink(['hang'], { queueSize: 5, batchSize: 1, closeTimeoutMs: 50 });
    for (let i = 0; i < 20; i++) s.send(makeAlert());
    // The burst fills the queue (5) before the worker runs; then one is in flight (hanging), four wait.
    await waitFor(() => s.attempts.length === 1, 'the first delivery');
    const st = s.stats();
    expect(st.dropped.queue_full).toBe(15);
    expect(st.queued).toBe(5);
    s.send(makeAlert());
    s.send(makeAlert());
    expect(s.stats().dropped.queue_full).toBe(16);
    await s.close();
    // At the deadline the hanging batch and the waiting ones are given up as `closed`.
    expect(s.stats().dropped.closed).toBe(6);
    expect(s.stats().accepted).toBe(6);
    expect(s.stats().queued).toBe(0);
    expect(s.stats().sent).toBe(0);
  });

  it('drains the queue on close, then counts later sends as closed', async () => {
    const s = new ScriptedSink([]);
    for (let i = 0; i < 25; i++) s.send(makeAlert());
    await s.close();
    expect(s.stats().sent).toBe(25);
    s.send(makeAlert());
    expect(s.stats().dropped.closed).toBe(1);
    expect(s.stats().accepted).toBe(25);
    // close is idempotent.
    await s.close();
    expect(s.shutdowns).toBe(1);
  });

  it('keeps accounting exact: accepted = sent + dropped after acceptance + queued', async () => {
    const script: Outcome[] = [];
    for (let i = 0; i < 40; i++) script.push(i % 3 === 0 ? 'fail' : i % 7 === 0 ? 'reject' : 'ok');
    const s = new ScriptedSink(script, {
      queueSize: 8,
      batchSize: 3,
      retry: { maxRetries: 1, initialBackoffMs: 1, maxBackoffMs: 2 },
    });
    for (let i = 0; i < 200; i++) {
      s.send(makeAlert());
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await s.close();
    const st = s.stats();
    expect(st.queued).toBe(0);
    expect(st.accepted + st.dropped.queue_full).toBe(200);
    expect(st.sent + st.dropped.retries_exhausted + st.dropped.rejected + st.dropped.closed).toBe(
      st.accepted,
    );
    expect(s.delivered.length).toBe(st.sent);
  });
});
