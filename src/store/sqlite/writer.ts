/**
 * The main thread's side of the SQLite writer thread (see writer-thread.ts): starts the worker on
 * the store's database file, sends it encoded rows and resolves each insert when its group commits.
 * The worker is referenced (keeps the process alive) only while inserts are in flight, so a store
 * left open never holds a finished program.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { WorkerCalls } from '../../workers/worker-calls.js';
import { compiledWorkerFile } from '../../workers/worker-file.js';
import type { SqliteOptions } from './connection.js';
import type { WriterReply, WriterRequest } from './writer-thread.js';
import type { CheckpointerReply } from './checkpointer.js';

/** Starts a store worker module and waits for its `ready`. */
function startThread<R extends { kind: string }>(
  name: string,
  workerData: unknown,
  failure: string,
  options: { resourceLimits?: { maxYoungGenerationSizeMb: number } } = {},
): Promise<Worker> {
  // No inherited node options: some (--input-type, --eval...) are refused in workers, and none are needed.
  const worker = new Worker(compiledWorkerFile(import.meta.url, name), {
    workerData,
    execArgv: [],
    ...options,
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      worker.off('message', onReady);
      reject(new Error(`${failure}: ${err.message}`, { cause: err }));
    };
    const onReady = (m: R): void => {
      if (m.kind !== 'ready') return;
      worker.off('message', onReady);
      worker.off('error', onError);
      resolve(worker);
    };
    worker.on('message', onReady);
    worker.once('error', onError);
  });
}

/** Group-commit figures since the writer started. */
export interface WriterStats {
  /** Transactions committed. */
  groups: number;
  /** Insert requests they held. */
  requests: number;
  /** Rows they held. */
  rows: number;
  /** Most rows in one transaction. */
  largestGroupRows: number;
  /** Text index steps that failed (each is tried again a second later), and the last reason. */
  textIndexErrors: number;
  lastTextIndexError?: string;
  /** WAL checkpoints by the checkpointer thread, their total time, failures and the last reason. */
  checkpoints: number;
  checkpointMs: number;
  checkpointErrors: number;
  lastCheckpointError?: string;
}

/** The writer thread of one SQLite database file. */
export class SqliteWriter {
  private readonly calls: WorkerCalls<number>;
  private closed: Promise<void> | undefined;
  private checkpointerExited = false;
  readonly stats: WriterStats = {
    groups: 0,
    requests: 0,
    rows: 0,
    largestGroupRows: 0,
    textIndexErrors: 0,
    checkpoints: 0,
    checkpointMs: 0,
    checkpointErrors: 0,
  };

  private constructor(
    private readonly worker: Worker,
    private readonly checkpointer: Worker,
  ) {
    this.calls = new WorkerCalls(worker, (code) => `SQLite writer thread exited (code ${code})`);
    worker.on('message', (m: WriterReply) => this.onReply(m));
    checkpointer.on('message', (m: CheckpointerReply) => {
      if (m.kind === 'checkpoint') {
        this.stats.checkpoints++;
        this.stats.checkpointMs += m.ms;
      } else if (m.kind === 'error') {
        this.stats.checkpointErrors++;
        this.stats.lastCheckpointError = m.message;
      }
    });
    // A failed checkpointer leaves the writer's own (far larger) automatic checkpoint.
    checkpointer.on('error', (err) => {
      this.stats.checkpointErrors++;
      this.stats.lastCheckpointError = err.message;
    });
    checkpointer.once('exit', () => {
      this.checkpointerExited = true;
    });
    // Never keeps the process alive: it only has work while the writer writes.
    checkpointer.unref();
  }

  /** Starts the thread on `options.path` (the schema must already be migrated) and waits until it is open. */
  static async start(options: SqliteOptions): Promise<SqliteWriter> {
    const checkpointer = await startThread<CheckpointerReply>(
      'checkpointer',
      { vigilSqliteCheckpointer: true, options },
      `SQLite checkpointer thread failed to open ${options.path}`,
    );
    try {
      return new SqliteWriter(await SqliteWriter.startWriter(options), checkpointer);
    } catch (err) {
      await checkpointer.terminate();
      throw err;
    }
  }

  private static startWriter(options: SqliteOptions): Promise<Worker> {
    return startThread<WriterReply>(
      'writer-thread',
      { vigilSqliteWriter: true, options },
      `SQLite writer thread failed to open ${options.path}`,
      // Rows arrive as copies and live until their group commits: a young generation large enough
      // for a few groups lets them die there instead of being promoted and collected again.
      { resourceLimits: { maxYoungGenerationSizeMb: 48 } },
    );
  }

  /** Inserts `rows` rows (their values flat, in ALERT_COLUMNS order); resolves with how many were new. */
  insert(params: unknown[], rows: number): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the SQLite store is closed'));
    return this.calls.call((id) =>
      this.worker.postMessage({ kind: 'insert', id, params, rows } satisfies WriterRequest),
    );
  }

  /**
   * A port on which another thread sends inserts (`RowInsert`) straight to this writer, without
   * passing through the main thread; each is answered on the port (`done` or `failed`). Transfer
   * the port to that thread.
   */
  openRowPort(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ kind: 'port', port: port2 } satisfies WriterRequest, [port2]);
    return port1;
  }

  /** Commits what was sent, then stops the thread. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.calls.failed) {
        void this.checkpointer.terminate();
        resolve();
        return;
      }
      this.worker.ref();
      this.worker.once('exit', () => {
        // The writer has committed everything: a last checkpoint, then the checkpointer goes too.
        if (this.checkpointerExited) {
          resolve();
          return;
        }
        this.checkpointer.ref();
        this.checkpointer.once('exit', () => resolve());
        this.checkpointer.postMessage({ kind: 'close' });
      });
      this.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    });
    return this.closed;
  }

  private onReply(m: WriterReply): void {
    switch (m.kind) {
      case 'done':
      case 'failed':
        this.calls.settle(m.id, m.kind === 'done' ? { value: m.inserted } : { error: new Error(m.message) });
        return;
      case 'group':
        this.stats.groups++;
        this.stats.requests += m.requests;
        this.stats.rows += m.rows;
        if (m.rows > this.stats.largestGroupRows) this.stats.largestGroupRows = m.rows;
        return;
      case 'textIndexError':
        this.stats.textIndexErrors++;
        this.stats.lastTextIndexError = m.message;
        return;
      case 'ready': // handled by start()
      case 'closed': // the exit event follows
        return;
    }
  }
}
