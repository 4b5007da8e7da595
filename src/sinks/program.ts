/**
 * The program sink: a command run with `sh -c`, fed one alert per line on its stdin (Falco's
 * `program_output`). The program keeps running across alerts; when it exits it is restarted, after a
 * delay that doubles while it keeps exiting soon after starting. While it is down alerts wait in the
 * queue (batches in flight are retried once it is back); what does not fit is dropped and counted.
 *
 * The program runs in its own process group so that closing the sink also stops whatever the shell
 * started (`sh -c 'a | b'`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { StoredAlert } from '../store/store.js';
import type { ProgramSinkConfig } from './config.js';
import { formatAlertLines } from './lines.js';
import { QueuedSink, RetryableError, backoffDelay, sleep, type SinkHooks, type SinkStats } from './sink.js';

/** A program that ran at least this long before exiting restarts at the initial delay again. */
const STABLE_RUN_MS = 10_000;

export class ProgramSink extends QueuedSink {
  private child: ChildProcess | undefined;
  private startedAt = 0;
  /** Consecutive exits soon after starting: the exponent of the restart delay. */
  private earlyExits = 0;
  /** When the program may be started again (ms, `Date.now()` clock). */
  private nextStartAt = 0;
  private starts = 0;
  /** Set while closing: the program's exit is expected, not news. */
  private stopping = false;

  constructor(
    private readonly config: ProgramSinkConfig,
    hooks: SinkHooks = {},
  ) {
    super(config.name, config, hooks);
  }

  /** Process id of the running program, if any (for operators and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  override stats(): SinkStats {
    return { ...super.stats(), restarts: Math.max(0, this.starts - 1) };
  }

  protected override async deliver(batch: readonly StoredAlert[], signal: AbortSignal): Promise<void> {
    let child = this.child;
    if (!child) {
      const wait = this.nextStartAt - Date.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) throw new RetryableError('closing');
      child = this.start();
    }
    const data = formatAlertLines(batch, this.config.format, this.config.timeFormat);
    try {
      await writeTo(child, data);
    } catch (err) {
      // A program that closed its stdin but keeps running would fail every write: replace it.
      if (this.child === child) this.stop(child);
      throw new RetryableError(
        `writing to \`${this.config.command}\`: ${(err as Error).message}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  protected override async shutdown(signal: AbortSignal): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // End of input is the program's cue to finish; give it until the signal, then stop it.
    child.stdin?.end();
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
    await Promise.race([exited, sleep(60_000, signal)]);
    if (child.exitCode === null && child.signalCode === null) {
      this.killGroup(child, 'SIGTERM');
      await Promise.race([exited, sleep(1000)]);
      if (child.exitCode === null && child.signalCode === null) this.killGroup(child, 'SIGKILL');
    }
  }

  private start(): ChildProcess {
    const child = spawn('sh', ['-c', this.config.command], {
      stdio: ['pipe', 'inherit', 'inherit'],
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    this.starts++;
    // Write errors (EPIPE) surface through the write callback; this keeps them from being thrown.
    child.stdin?.on('error', () => {});
    child.on('error', (err) => {
      this.log(`sink ${this.name}: cannot run \`${this.config.command}\`: ${err.message}`);
      this.forget(child);
    });
    child.on('exit', (code, sig) => {
      if (!this.stopping) {
        this.log(
          `sink ${this.name}: \`${this.config.command}\` exited (${sig ?? `status ${code}`}); restarting it when alerts arrive`,
        );
      }
      this.forget(child);
    });
    return child;
  }

  /** Records that `child` is gone and when a new one may start. */
  private forget(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = undefined;
    const lived = Date.now() - this.startedAt;
    this.earlyExits = lived >= STABLE_RUN_MS ? 0 : this.earlyExits + 1;
    const delay =
      this.earlyExits === 0
        ? 0
        : backoffDelay(
            {
              maxRetries: 0,
              initialBackoffMs: this.config.restart.initialBackoffMs,
              maxBackoffMs: this.config.restart.maxBackoffMs,
            },
            this.earlyExits,
            this.random,
          );
    this.nextStartAt = Date.now() + delay;
  }

  private stop(child: ChildProcess): void {
    this.killGroup(child, 'SIGKILL');
    this.forget(child);
  }

  private killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      // The negative pid is the group this sink created for the program (detached: true).
      process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  }
}

function writeTo(child: ChildProcess, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdin = child.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return reject(new Error('stdin is closed'));
    stdin.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
