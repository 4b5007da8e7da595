/**
 * Calls in flight to a worker thread, each answered by one message carrying its id. The worker is
 * referenced (keeps the process alive) only while calls are in flight; when it dies, every call in
 * flight fails with the reason, and so does every later one.
 */
import type { Worker } from 'node:worker_threads';

export class WorkerCalls<T> {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: T) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  /** `exitMessage`: the error of calls the worker's exit leaves unanswered. */
  constructor(
    private readonly worker: Worker,
    exitMessage: (code: number) => string,
  ) {
    worker.unref();
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(exitMessage(code))));
  }

  /** Why the worker is gone, once it is. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** A new call: `send` posts its request with the call's id. */
  call(send: (id: number) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(id);
    });
  }

  /** Ends call `id` with a value or an error (ids not in flight are ignored). */
  settle(id: number, outcome: { value: T } | { error: Error }): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    if ('value' in outcome) w.resolve(outcome.value);
    else w.reject(outcome.error);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
