/**
 * The set of configured sinks, with flood control in front: every alert that passes flood control goes
 * to every sink. Sending never blocks nor throws, whatever a sink does; closing flushes the summaries of
 * open flood windows first, then closes all sinks at once (each within its own deadline).
 */
import type { StoredAlert } from '../store/store.js';
import type { FloodControlConfig } from './config.js';
import { FloodControl, type FloodControlStats } from './flood-control.js';
import { describeError, type Sink, type SinkStats } from './sink.js';

export interface SinkSetOptions {
  /** Omitted or `enabled: false`: every alert passes. */
  floodControl?: FloodControlConfig;
  /** Clock of the flood windows, ms (tests inject a fake one and call `tick`). */
  now?: () => number;
  log?: (message: string) => void;
}

export interface SinkSetStats {
  /** Alerts given to `send`. */
  received: number;
  /** Per sink, by name. */
  sinks: Record<string, SinkStats>;
  flood: FloodControlStats;
}

export class SinkSet {
  private readonly flood: FloodControl | undefined;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private received = 0;
  private closed: Promise<void> | undefined;

  constructor(
    readonly sinks: readonly Sink[],
    options: SinkSetOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    if (options.floodControl?.enabled) this.flood = new FloodControl(options.floodControl, this.now);
  }

  /** Passes the alert through flood control to every sink. Never blocks, never throws. */
  send(alert: StoredAlert): void {
    if (this.closed) {
      // Closed sinks count it as dropped (`closed`), which is what operators should see.
      this.fanOut(alert);
      return;
    }
    this.received++;
    const flood = this.flood;
    if (!flood) {
      this.fanOut(alert);
      return;
    }
    let pass = true;
    try {
      // Sweeping costs only the windows that ended, so every alert does it: summaries go out on time even
      // when timers run late.
      for (const summary of flood.expire()) this.fanOut(summary);
      pass = flood.admit(alert);
      for (const summary of flood.takeDue()) this.fanOut(summary);
    } catch (err) {
      this.log(`flood control: ${describeError(err)}`);
    }
    if (pass) this.fanOut(alert);
    this.armTimer();
  }

  /** Sends the summaries of flood windows that have ended. A timer calls it; tests call it directly. */
  tick(): void {
    if (!this.flood) return;
    for (const summary of this.flood.expire()) this.fanOut(summary);
    this.armTimer();
  }

  stats(): SinkSetStats {
    const sinks: Record<string, SinkStats> = {};
    for (const s of this.sinks) sinks[s.name] = s.stats();
    return {
      received: this.received,
      sinks,
      flood: this.flood?.stats() ?? { suppressed: {}, summaries: 0, openWindows: 0 },
    };
  }

  /** Reopens the sinks' files (SIGHUP). */
  reopen(): void {
    for (const s of this.sinks) {
      try {
        s.reopen?.();
      } catch (err) {
        this.log(`sink ${s.name}: reopen: ${describeError(err)}`);
      }
    }
  }

  /** Resolves when every sink has delivered or dropped what it was given so far. */
  async flush(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.flush?.()));
  }

  /** Sends the summaries of all open flood windows, then closes every sink. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (this.flood) for (const summary of this.flood.drain()) this.fanOut(summary);
      const results = await Promise.allSettled(this.sinks.map((s) => s.close()));
      results.forEach((r, i) => {
        if (r.status === 'rejected')
          this.log(`sink ${this.sinks[i]?.name}: close: ${describeError(r.reason)}`);
      });
    })();
    return this.closed;
  }

  private fanOut(alert: StoredAlert): void {
    for (const s of this.sinks) {
      try {
        s.send(alert);
      } catch (err) {
        // send() must not throw; a sink that does anyway must not cost the others their alert.
        this.log(`sink ${s.name}: send: ${describeError(err)}`);
      }
    }
  }

  /** Keeps one timer set for the earliest window end, so summaries go out without a new alert. */
  private armTimer(): void {
    if (!this.flood || this.closed) return;
    const deadline = this.flood.nextDeadline();
    if (deadline === undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timerAt <= deadline) return;
    clearTimeout(this.timer);
    this.timerAt = deadline;
    // A window that already ended (fake clock, late timer) is swept on the next turn, not synchronously.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.tick();
      },
      Math.max(10, deadline - this.now()),
    );
    // Open windows alone must not keep the process alive; close() sends their summaries.
    this.timer.unref();
  }
}
