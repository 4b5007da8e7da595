/**
 * The eBPF capture source: runs the loader (`native/bpf/build/vigil-capture`, built on the machine
 * by scripts/build-bpf.sh), which attaches Vigil's CO-RE probe to the syscall-exit tracepoint and
 * streams scap events; this side reads the stream with the scap reader.
 *
 * Life cycle: `start()` resolves once the probe is attached (so work done afterwards is captured)
 * or rejects with an {@link EbpfError} that says what to do; one of `rawBatches()`/`raw()` (for the
 * state engine) or `batches()`/`events()` (decoded) is consumed, once; `stop()` detaches, lets the loader drain what the kernel
 * already captured, and resolves with the final counters. Drops are never silent: the kernel-side
 * counters (ring buffer full, oversized events) arrive with every stats report.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ScapMachineInfo } from '../../scap/reader.js';
import { DEFAULT_FLUSH_MS, MAX_FLUSH_MS, parseFlushMs } from './flush.js';
import {
  EBPF_SYSCALLS,
  decodeEbpfEvent,
  loaderErrorHint,
  parseLoaderLine,
  EbpfStreamParser,
  type EbpfEvent,
  type RawEbpfEvent,
  type EbpfKernelStats,
  type LoaderErrorCode,
  type LoaderMessage,
} from './parse.js';

/** Options of {@link BpfSource}. */
export interface BpfSourceOptions {
  /** Syscalls to capture (the in-kernel filter); names as in {@link EBPF_SYSCALLS}. Default: all. */
  syscalls?: readonly string[];
  /**
   * Syscalls (among `syscalls`) of which only successful calls are reported: those the state
   * engine alone needs (`captureSetFor(...).successOnly`). Default: none.
   */
  successOnly?: readonly string[];
  /** The loader executable. Default: `$VIGIL_BPF_LOADER`, else `native/bpf/build/vigil-capture`. */
  loaderPath?: string;
  /** Ring buffer size in MiB (a power of two). Default 16. */
  ringbufMb?: number;
  /** Bytes of I/O buffers copied into events (send data, module images). Default 80. */
  snaplen?: number;
  /** How often the loader reports kernel counters. Default 1000 ms. */
  statsIntervalMs?: number;
  /**
   * How often the loader hands what it drained to this process, in ms (0..1000; it hands over
   * earlier once 256 KiB have gathered). Each hand-over wakes the agent, which costs more than the
   * events it brings at a few thousand a second; it is also about how late an event can arrive.
   * Default: `$VIGIL_CAPTURE_FLUSH_MS`, else `DEFAULT_FLUSH_MS` (50; see ./flush.ts).
   */
  flushMs?: number;
  /**
   * Write the scap stream straight to this file instead of reading it here (what
   * `vigil capture -w` needs); the event iterators are then unavailable.
   */
  outputPath?: string;
  /**
   * Report a successful execveat as execveat. The kernel ends it as an execve, so telling them
   * apart costs a small program on every syscall entry; by default such events come out as
   * execve (as Falco's modern probe reports them) and capturing execveat also captures execve.
   */
  exactExecveat?: boolean;
  /**
   * Scheduling of the loader's threads and of this process's threads (the agent that reads the
   * stream), set by the loader: `batch` (SCHED_BATCH: a thread that wakes up does not preempt the
   * running one, so on a small machine the agent waits for a tick or an idle CPU instead of pushing
   * the watched workload off its CPU), `normal` (SCHED_OTHER), or `inherit` (left as it is).
   * Default: `$VIGIL_CAPTURE_SCHED` (`POLICY` or `POLICY:NICE`), else {@link DEFAULT_CAPTURE_SCHED}.
   */
  sched?: CaptureSchedPolicy;
  /** Nice value (-20..19) for the same threads. Default: `$VIGIL_CAPTURE_SCHED`'s, else unchanged. */
  nice?: number;
  /** The process whose threads get `sched`/`nice` besides the loader's. Default: this process. */
  schedPid?: number;
  /**
   * Let the probe count repeated opens instead of sending them, once this side consents with
   * {@link BpfSource.consentRepeat} (loader `--repeats`). The counts arrive in the stream
   * (`stats.repeats`). Default false: every event is sent.
   */
  repeats?: boolean;
  /** How long `start()` waits for the probe to attach. Default 60 s (loading verifies every program). */
  startTimeoutMs?: number;
  /** Receives libbpf warnings and stderr lines that are not loader messages. */
  onLog?: (message: string) => void;
}

/** Scheduling policies {@link BpfSourceOptions.sched} takes. */
export type CaptureSchedPolicy = 'normal' | 'batch' | 'inherit';

/** The scheduling policy of the loader and the agent when nothing else is asked for. */
export const DEFAULT_CAPTURE_SCHED: CaptureSchedPolicy = 'inherit';

/**
 * Parses `POLICY` or `POLICY:NICE` (`$VIGIL_CAPTURE_SCHED`, `vigil-capture --sched`/`--nice`).
 * Returns undefined for anything else.
 */
export function parseCaptureSched(text: string): { sched: CaptureSchedPolicy; nice?: number } | undefined {
  const m = /^(normal|batch|inherit)(?::(-?\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const sched = m[1] as CaptureSchedPolicy;
  if (m[2] === undefined) return { sched };
  const nice = Number(m[2]);
  return nice >= -20 && nice <= 19 ? { sched, nice } : undefined;
}

/** Why the source could not start or stopped early. */
export type EbpfErrorCode = LoaderErrorCode | 'loader-missing' | 'exited' | 'timeout';

/** A failure of the eBPF source, with what to do about it. */
export class EbpfError extends Error {
  readonly code: EbpfErrorCode;
  readonly hint: string;
  constructor(code: EbpfErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(`${message} (${hint})`, options);
    this.name = 'EbpfError';
    this.code = code;
    this.hint = hint;
  }
}

/** Counters of a capture: the kernel's (last report) and this reader's. */
export interface BpfSourceStats {
  kernel: EbpfKernelStats;
  /** Events read from the stream. */
  events: number;
  /** Repeated opens the probe counted instead of sending ({@link BpfSourceOptions.repeats}). */
  repeats: number;
  /** Blocks the reader skipped (unknown or malformed events), with the first messages. */
  warnings: number;
  warningMessages: string[];
}

/** What the loader reported when the probe was attached. */
export interface BpfReady {
  syscalls: string[];
  ringbufBytes: number;
  cpus: number;
  pid: number;
}

function emptyKernelStats(): EbpfKernelStats {
  return {
    events: 0,
    delivered: 0,
    bytes: 0,
    drops: { buffer: 0, maxEventSize: 0, noScratch: 0 },
    skippedCompat: 0,
    repeats: 0,
  };
}

/** The package root: the nearest folder above this module with a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve('.');
}

/** Where the loader is expected: `$VIGIL_BPF_LOADER`, else the package's native/bpf/build. */
export function defaultLoaderPath(): string {
  const fromEnv = process.env.VIGIL_BPF_LOADER;
  if (fromEnv) return fromEnv;
  return join(packageRoot(), 'native', 'bpf', 'build', 'vigil-capture');
}

/** The instruction shown when the loader is not built. */
export const BUILD_HINT =
  'build the eBPF probe with scripts/build-bpf.sh (needs the Debian packages clang libbpf-dev bpftool)';

type LoaderProcess = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** Live syscall events from the kernel through Vigil's eBPF probe. */
export class BpfSource implements AsyncIterable<EbpfEvent> {
  readonly stats: BpfSourceStats = {
    kernel: emptyKernelStats(),
    events: 0,
    repeats: 0,
    warnings: 0,
    warningMessages: [],
  };
  private readonly options: BpfSourceOptions;
  private child: LoaderProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private consumed = false;
  private readonly parser = new EbpfStreamParser();
  private lastError: { code: LoaderErrorCode; message: string } | undefined;
  private readonly stderrTail: string[] = [];
  private finalStats: Promise<void> | undefined;
  private resolveFinal: (() => void) | undefined;

  constructor(options: BpfSourceOptions = {}) {
    this.options = options;
  }

  /** The loader arguments for these options. */
  loaderArgs(): string[] {
    const o = this.options;
    const args: string[] = [];
    const syscalls = o.syscalls ?? EBPF_SYSCALLS;
    const unknown = syscalls.filter((s) => !EBPF_SYSCALLS.includes(s));
    if (unknown.length) {
      throw new EbpfError(
        'bad-args',
        `the eBPF probe does not decode ${unknown.join(', ')}`,
        'choose from EBPF_SYSCALLS',
      );
    }
    if (syscalls.length === 0)
      throw new EbpfError('bad-args', 'no syscalls to capture', 'pass at least one syscall');
    args.push('--syscalls', syscalls.join(','));
    const successOnly = (o.successOnly ?? []).filter((s) => syscalls.includes(s));
    if (successOnly.length) args.push('--success-only', successOnly.join(','));
    if (o.ringbufMb !== undefined) args.push('--ringbuf-mb', String(o.ringbufMb));
    if (o.snaplen !== undefined) args.push('--snaplen', String(o.snaplen));
    args.push('--stats-ms', String(o.statsIntervalMs ?? 1000));
    if (o.outputPath !== undefined) args.push('--output', o.outputPath);
    const flushEnv = process.env.VIGIL_CAPTURE_FLUSH_MS || undefined;
    const flushMs = o.flushMs ?? (flushEnv !== undefined ? parseFlushMs(flushEnv) : DEFAULT_FLUSH_MS);
    if (flushMs === undefined) {
      throw new EbpfError(
        'bad-args',
        `VIGIL_CAPTURE_FLUSH_MS=${flushEnv} is not a flush interval`,
        `use a whole number of milliseconds from 0 to ${MAX_FLUSH_MS}`,
      );
    }
    if (!Number.isInteger(flushMs) || flushMs < 0 || flushMs > MAX_FLUSH_MS) {
      throw new EbpfError(
        'bad-args',
        `flush interval ${flushMs} ms is out of range`,
        `use 0 to ${MAX_FLUSH_MS} ms`,
      );
    }
    args.push('--flush-ms', String(flushMs));
    if (o.exactExecveat) args.push('--exact-execveat');
    if (o.repeats) args.push('--repeats');
    const env = process.env.VIGIL_CAPTURE_SCHED
      ? parseCaptureSched(process.env.VIGIL_CAPTURE_SCHED)
      : undefined;
    if (process.env.VIGIL_CAPTURE_SCHED && !env) {
      throw new EbpfError(
        'bad-args',
        `VIGIL_CAPTURE_SCHED=${process.env.VIGIL_CAPTURE_SCHED} is not a scheduling setting`,
        'use normal, batch or inherit, optionally followed by :NICE (-20..19)',
      );
    }
    const sched = o.sched ?? env?.sched ?? DEFAULT_CAPTURE_SCHED;
    const nice = o.nice ?? env?.nice;
    if (nice !== undefined && (!Number.isInteger(nice) || nice < -20 || nice > 19))
      throw new EbpfError('bad-args', `nice ${nice} is out of range`, 'use an integer from -20 to 19');
    if (sched !== 'inherit') args.push('--sched', sched);
    if (nice !== undefined) args.push('--nice', String(nice));
    if (sched !== 'inherit' || nice !== undefined)
      args.push('--sched-pid', String(o.schedPid ?? process.pid));
    return args;
  }

  /** Starts the loader; resolves when the probe is attached. */
  async start(): Promise<BpfReady> {
    if (this.child) throw new Error('BpfSource.start() called twice');
    const loader = this.options.loaderPath ?? defaultLoaderPath();
    if (!existsSync(loader)) {
      throw new EbpfError('loader-missing', `the eBPF loader ${loader} is not built`, BUILD_HINT);
    }
    const args = this.loaderArgs();
    const child: LoaderProcess = this.options.repeats
      ? spawn(loader, args, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(loader, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // The loader may be gone when a command is written: its exit is reported elsewhere.
    child.stdin?.on('error', () => {});
    this.child = child;
    this.exited = new Promise((res) => {
      child.once('exit', (code) => res(code));
      child.once('error', () => res(null));
    });
    this.finalStats = new Promise((res) => {
      this.resolveFinal = res;
    });

    let onReady: ((r: BpfReady) => void) | undefined;
    const ready = new Promise<BpfReady>((res) => {
      onReady = res;
    });
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const msg = parseLoaderLine(line);
      if (msg) this.onMessage(msg, onReady);
      else if (line.trim()) this.keepStderr(line);
    });
    lines.on('close', () => this.resolveFinal?.());

    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), timeoutMs);
    });
    const spawnError = new Promise<Error>((res) => child.once('error', res));
    try {
      const first = await Promise.race([
        ready,
        this.exited.then(() => 'exited' as const),
        timeout,
        spawnError,
      ]);
      if (first === 'timeout') {
        child.kill('SIGKILL');
        throw new EbpfError(
          'timeout',
          `the eBPF probe did not attach within ${timeoutMs} ms`,
          'check the kernel log (dmesg)',
        );
      }
      if (first instanceof Error) {
        throw new EbpfError('exited', `cannot run the eBPF loader ${loader}: ${first.message}`, BUILD_HINT, {
          cause: first,
        });
      }
      if (first === 'exited') {
        // The stderr reader may still hold the error line: let it finish.
        await this.finalStats;
        throw this.failure();
      }
      return first;
    } finally {
      clearTimeout(timer);
    }
  }

  private onMessage(msg: LoaderMessage, onReady: ((r: BpfReady) => void) | undefined): void {
    switch (msg.type) {
      case 'ready':
        onReady?.({ syscalls: msg.syscalls, ringbufBytes: msg.ringbufBytes, cpus: msg.cpus, pid: msg.pid });
        break;
      case 'stats':
        this.stats.kernel = {
          events: msg.events,
          delivered: msg.delivered,
          bytes: msg.bytes,
          drops: { ...msg.drops },
          skippedCompat: msg.skippedCompat,
          repeats: msg.repeats,
        };
        break;
      case 'error':
        this.lastError = { code: msg.code, message: msg.message };
        break;
      case 'log':
        this.options.onLog?.(msg.message);
        break;
    }
  }

  private keepStderr(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    this.options.onLog?.(line);
  }

  private failure(): EbpfError {
    if (this.lastError) {
      const { code, message } = this.lastError;
      return new EbpfError(code, `the eBPF probe could not start: ${message}`, loaderErrorHint(code));
    }
    const tail = this.stderrTail.join('\n');
    return new EbpfError(
      'exited',
      `the eBPF loader exited before attaching the probe${tail ? `: ${tail}` : ''}`,
      'run native/bpf/build/vigil-capture --check --verbose to see why',
    );
  }

  /** Machine info from the stream header (once the first events have been read). */
  get machine(): ScapMachineInfo | undefined {
    return this.parser.machine;
  }

  /**
   * Raw events in batches (one per chunk read from the loader), in the driver layout the state
   * engine takes. Parameter bytes are views that stay valid. The fastest way to consume.
   */
  async *rawBatches(): AsyncGenerator<RawEbpfEvent[]> {
    const child = this.child;
    if (!child) throw new Error('BpfSource: read before start()');
    if (this.options.outputPath !== undefined)
      throw new Error('the capture is written to a file: nothing to read');
    if (this.consumed) throw new Error('BpfSource can be consumed once');
    this.consumed = true;
    const parser = this.parser;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const batch = parser.push(chunk);
      this.stats.events += batch.length;
      this.stats.repeats = parser.repeats;
      this.stats.warnings = parser.skipped;
      this.stats.warningMessages = parser.warnings;
      if (batch.length) yield batch;
    }
    parser.finish();
    this.stats.repeats = parser.repeats;
    const code = await this.exited;
    await this.finalStats;
    if (code !== 0 && code !== null && this.lastError) throw this.failure();
  }

  /**
   * Tells the probe that the verdict of record `seq` of CPU `cpu` (a repeated open: see
   * agent/repeats.ts) holds for the rest of its run: further equal opens of the thread, with no
   * other event anywhere in between, are then counted instead of sent. Only with `repeats`.
   */
  consentRepeat(cpu: number, seq: number): void {
    this.command(`consent ${cpu} ${seq}`);
  }

  /** Withdraws every consent (the rules changed): the probe sends every event again. */
  revokeRepeats(): void {
    this.command('revoke');
  }

  private command(line: string): void {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return;
    stdin.write(`${line}\n`);
  }

  /** Raw events one by one (see {@link rawBatches}). */
  async *raw(): AsyncGenerator<RawEbpfEvent> {
    for await (const batch of this.rawBatches()) yield* batch;
  }

  /** Decoded events in batches (one per chunk). */
  async *batches(): AsyncGenerator<EbpfEvent[]> {
    for await (const batch of this.rawBatches()) yield batch.map(decodeEbpfEvent);
  }

  /** Decoded events one by one; they can be kept. */
  async *events(): AsyncGenerator<EbpfEvent> {
    for await (const batch of this.rawBatches()) for (const raw of batch) yield decodeEbpfEvent(raw);
  }

  [Symbol.asyncIterator](): AsyncIterator<EbpfEvent> {
    return this.events();
  }

  /**
   * Detaches the probe; the loader drains what the kernel already captured (the iterators end after
   * the last event) and reports its final counters, which this resolves with.
   */
  async stop(): Promise<BpfSourceStats> {
    const child = this.child;
    if (!child || !this.exited) return this.stats;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    // Nobody may be reading stdout: keep it flowing so the loader can finish its drain.
    if (!this.consumed) child.stdout.resume();
    await this.exited;
    await this.finalStats;
    return this.stats;
  }
}
