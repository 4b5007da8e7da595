/**
 * What every sink shares: the {@link Sink} interface and {@link QueuedSink}, the bounded queue with one
 * worker that each transport builds on.
 *
 * Detection must never wait for a sink, so `send` only appends to an in-memory queue (or counts a drop
 * when the queue is full or the sink is closing) and returns. One worker per sink takes batches off the
 * queue and hands them to the transport's `deliver`; failures are retried with exponential backoff and
 * jitter, except {@link RejectedError}s (the receiver refused the alerts: retrying cannot help). Every
 * alert that leaves the queue is counted exactly once: sent, or dropped with a reason.
 */
import type { StoredAlert } from '../store/store.js';
import { Fifo } from './fifo.js';

/** Why an alert was not delivered. */
export type DropReason = 'queue_full' | 'retries_exhausted' | 'rejected' | 'closed';

/** Every drop reason, in the order stats list them. */
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'retries_exhausted', 'rejected', 'closed'];

/** Counters of one sink. Alerts are counted one by one; attempts (failed, retries) per batch. */
export interface SinkStats {
  /** Alerts waiting now: in the queue plus the batch being delivered. */
  queued: number;
  /** Alerts accepted into the queue since the sink was created. */
  accepted: number;
  /** Alerts delivered. */
  sent: number;
  /** Delivery attempts that failed (a batch that fails twice counts 2), whether or not a retry then worked. */
  failed: number;
  /** Delivery attempts repeated after a failure. */
  retries: number;
  /** Alerts not delivered, by reason. Every reason is present (0 when none). */
  dropped: Record<DropReason, number>;
  /** Times the program was restarted (program sinks only). */
  restarts?: number;
  /** The last delivery error, for operators (`vigil` logs it too). */
  lastError?: string;
}

/** Where alerts go. */
export interface Sink {
  /** Unique among the configured sinks; used in logs and metric labels. */
  readonly name: string;
  /** Queues the alert for delivery. Never blocks and never throws: when it cannot queue, it counts a drop. */
  send(alert: StoredAlert): void;
  stats(): SinkStats;
  /** Reopens files after log rotation (the app calls it on SIGHUP). */
  reopen?(): void;
  /** Resolves when everything queued so far has been delivered or dropped. */
  flush?(): Promise<void>;
  /** Stops accepting alerts, delivers what is queued within the sink's close timeout, then releases it. */
  close(): Promise<void>;
}

/** Exponential backoff between delivery attempts. */
export interface RetryPolicy {
  /** Attempts after the first one; 0 disables retries. */
  maxRetries: number;
  /** Delay before the first retry, ms; doubles at each retry. */
  initialBackoffMs: number;
  /** Upper bound of the delay, ms. */
  maxBackoffMs: number;
}

/** The queue settings every sink has. */
export interface QueueOptions {
  /** Most alerts waiting in the queue; further sends are dropped (`queue_full`). */
  queueSize: number;
  /** Most alerts handed to the transport at once (1 for transports that send one alert per request). */
  batchSize: number;
  retry: RetryPolicy;
  /** How long `close` waits for the queue to drain before dropping the rest (`closed`), ms. */
  closeTimeoutMs: number;
}

/** Hooks shared by all sinks: where to log, and randomness for jitter (tests pin it). */
export interface SinkHooks {
  log?: (message: string) => void;
  random?: () => number;
}

/** The receiver refused the alerts (e.g. HTTP 400): retrying would fail the same way. */
export class RejectedError extends Error {
  override readonly name = 'RejectedError';
}

/** A failure worth retrying; `retryAfterMs` is the receiver's own hint (HTTP `Retry-After`). */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The delay before retry number `retry` (1-based): `initial * 2^(retry-1)` capped at the maximum, with
 * "equal jitter" (between half and all of it) so that many agents failing together do not retry in step.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exp = policy.initialBackoffMs * 2 ** Math.min(Math.max(retry - 1, 0), 30);
  const capped = Math.min(policy.maxBackoffMs, exp);
  return capped / 2 + (capped / 2) * random();
}

/** Waits `ms`, or less when the signal aborts first. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A short, single-line description of an error for logs and stats. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n', 1)[0] ?? err.name;
  return String(err);
}

/**
 * A sink with a bounded queue and one worker. Subclasses implement `deliver` (one batch; throw
 * {@link RejectedError} or any other error to have it retried), and may override `shutdown` to release
 * their transport once the queue is drained, and call `schedule` to run housekeeping (reopening a file)
 * on the worker, between batches.
 */
export abstract class QueuedSink implements Sink {
  private readonly queue = new Fifo<StoredAlert>();
  private inFlight = 0;
  private readonly tasks: (() => Promise<void>)[] = [];
  private wakeUp: (() => void) | undefined;
  private worker: Promise<void> | undefined;
  private closing = false;
  /** Set once close gave up waiting: late results of the abandoned batch are no longer counted. */
  private abandoned = false;
  private closed: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Aborted at the close deadline: in-flight requests and backoff sleeps end early. */
  protected readonly abort = new AbortController();
  protected readonly counters = {
    accepted: 0,
    sent: 0,
    failed: 0,
    retries: 0,
    dropped: { queue_full: 0, retries_exhausted: 0, rejected: 0, closed: 0 } as Record<DropReason, number>,
  };
  protected lastError: string | undefined;
  protected readonly log: (message: string) => void;
  protected readonly random: () => number;

  constructor(
    readonly name: string,
    protected readonly options: QueueOptions,
    hooks: SinkHooks = {},
  ) {
    this.log = hooks.log ?? (() => {});
    this.random = hooks.random ?? Math.random;
  }

  /** Delivers one batch (1 … batchSize alerts). Resolve when delivered; throw to retry or reject. */
  protected abstract deliver(batch: readonly StoredAlert[], signal: AbortSignal): Promise<void>;

  /** Releases the transport after the queue has drained (or the deadline passed). */
  protected async shutdown(_signal: AbortSignal): Promise<void> {}

  /** Runs `task` on the worker before the next batch. Failures are logged, not retried. */
  protected schedule(task: () => Promise<void>): void {
    if (this.closing) return;
    this.tasks.push(task);
    this.startWorker();
    this.wake();
  }

  send(alert: StoredAlert): void {
    if (this.closing) {
      this.counters.dropped.closed++;
      return;
    }
    if (this.queue.size >= this.options.queueSize) {
      this.counters.dropped.queue_full++;
      return;
    }
    this.queue.push(alert);
    this.counters.accepted++;
    this.startWorker();
    this.wake();
  }

  stats(): SinkStats {
    const s: SinkStats = {
      queued: this.queue.size + this.inFlight,
      accepted: this.counters.accepted,
      sent: this.counters.sent,
      failed: this.counters.failed,
      retries: this.counters.retries,
      dropped: { ...this.counters.dropped },
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  flush(): Promise<void> {
    if (this.isIdle() || this.abandoned) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.closed ??= this.closeNow();
    return this.closed;
  }

  private async closeNow(): Promise<void> {
    this.closing = true;
    this.startWorker();
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.closeTimeoutMs);
    });
    await Promise.race([this.worker, deadline]);
    clearTimeout(timer);
    if (!this.isIdle()) {
      // Out of time: whatever is still queued or in flight is given up.
      this.abandoned = true;
      this.abort.abort();
      this.counters.dropped.closed += this.queue.size + this.inFlight;
      this.queue.clear();
      this.inFlight = 0;
      if (this.lastError === undefined) this.lastError = 'close timeout';
    }
    this.resolveIdle();
    // The transport gets a moment to let go even when the deadline is spent (end a pipe, close a file).
    const release = new AbortController();
    const releaseTimer = setTimeout(() => release.abort(), Math.max(1000, this.options.closeTimeoutMs / 4));
    try {
      await this.shutdown(release.signal);
    } catch (err) {
      this.log(`sink ${this.name}: closing: ${describeError(err)}`);
    } finally {
      clearTimeout(releaseTimer);
    }
  }

  private isIdle(): boolean {
    return this.queue.size === 0 && this.inFlight === 0 && this.tasks.length === 0;
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private startWorker(): void {
    if (this.worker) return;
    // Started on the next microtask, so that alerts sent in one synchronous burst share a batch.
    this.worker = Promise.resolve()
      .then(() => this.run())
      .catch((err: unknown) => {
        // A bug in a transport must not become an unhandled rejection that kills the agent.
        this.log(`sink ${this.name}: worker stopped: ${describeError(err)}`);
      });
  }

  private async run(): Promise<void> {
    while (!this.abandoned) {
      const task = this.tasks.shift();
      if (task) {
        try {
          await task();
        } catch (err) {
          this.lastError = describeError(err);
          this.log(`sink ${this.name}: ${this.lastError}`);
        }
        continue;
      }
      if (this.queue.size === 0) {
        this.resolveIdle();
        if (this.closing) return;
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
        });
        continue;
      }
      const batch = this.queue.take(this.options.batchSize);
      this.inFlight = batch.length;
      await this.deliverWithRetry(batch);
      if (!this.abandoned) this.inFlight = 0;
    }
  }

  private async deliverWithRetry(batch: readonly StoredAlert[]): Promise<void> {
    const signal = this.abort.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deliver(batch, signal);
        if (!this.abandoned) this.counters.sent += batch.length;
        return;
      } catch (err) {
        if (this.abandoned) return;
        this.counters.failed++;
        this.lastError = describeError(err);
        if (err instanceof RejectedError) {
          this.counters.dropped.rejected += batch.length;
          this.log(`sink ${this.name}: ${batch.length} alert(s) rejected: ${this.lastError}`);
          return;
        }
        if (attempt >= this.options.retry.maxRetries) {
          this.counters.dropped.retries_exhausted += batch.length;
          this.log(
            `sink ${this.name}: ${batch.length} alert(s) dropped after ${attempt + 1} attempt(s): ${this.lastError}`,
          );
          return;
        }
        this.counters.retries++;
        let delay = backoffDelay(this.options.retry, attempt + 1, this.random);
        if (err instanceof RetryableError && err.retryAfterMs !== undefined) {
          delay = Math.max(delay, Math.min(err.retryAfterMs, this.options.retry.maxBackoffMs));
        }
        await sleep(delay, signal);
        if (this.abandoned) return;
      }
    }
  }
}
