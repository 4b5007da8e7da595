/**
 * The ptrace capture source: runs strace on a command (`vigil run -- CMD`) or on running processes
 * (`-p`), reads its trace through a FIFO, turns each syscall into raw events (translate.ts) and runs
 * them through the state engine, yielding {@link SyscallEvent}s with process, fd and container
 * state. The fallback where eBPF is not allowed, and the way to watch one command.
 *
 * Life cycle: `start()` resolves once strace runs the command or is attached to every pid, or
 * rejects with a {@link PtraceError} that says what to do (install strace, allow ptrace...). The
 * source is then iterated once; `stop()` ends the trace (attach mode: strace detaches; command mode:
 * the command is asked to end, then killed after a grace period) and resolves with the counters.
 *
 * Nothing is dropped silently: ptrace stops each traced syscall until strace has written it, so a
 * slow consumer slows the traced programs instead of losing events (the FIFO is paused while the
 * queue is full). What cannot be decoded is counted by reason in `stats`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import type { SyscallEvent } from '../../../engine/event.js';
import { findOnPath } from '../../driver-select.js';
import {
  addProcThread,
  bootstrapFromProc,
  readExecInfo,
  readParentOf,
  readProcThread,
  readSocketEnds,
  type ProcBootstrapStats,
  type ProcThread,
} from '../../proc-bootstrap.js';
import type { ScapFdEntry } from '../../scap/reader.js';
import { StateEngine } from '../../state/state-engine.js';
import { straceArgs, type UnparsedReason } from './parse.js';
import {
  StraceTranslator,
  applyFdHints,
  emptyUnparsed,
  ptraceCaptureSet,
  type Endpoint,
  type ExecInfo,
  type TranslateContext,
  type TranslatedEvent,
} from './translate.js';

/**
 * What a trace line needs from /proc, read when the line arrives: the state engine only reaches
 * the line later (when the consumer pulls), and short-lived processes may be gone by then.
 */
interface Prefetch {
  /** A thread's first line: the thread as /proc shows it (null: already gone) and its parent. */
  proc?: (ProcThread & { fds?: ScapFdEntry[] }) | null;
  parent?: { ppid: number; tgid: number };
  /** An execve that succeeded: the process's credentials and executable now. */
  exec?: ExecInfo;
  /** connect/sendto/sendmsg: the socket's ends, by inode. */
  socket?: { inode: number; ends: { local?: Endpoint; remote?: Endpoint } | undefined };
}

interface LineItem {
  line: string;
  pre?: Prefetch;
}

const LINE_HEAD = /^(\d+)(?:<.*?>)?\s+\d+\.\d+\s+(.*)$/;
const INET_INODE = /<(?:TCP|UDP|UDPLITE|RAW|PING)(?:v6)?:\[(\d+)\]>/;

/** Options of {@link createPtraceSource}. */
export interface PtraceSourceOptions {
  /** Run and trace this command (argv). Exactly one of `command` and `pids`. */
  command?: readonly string[];
  /** Attach to these running processes (all their threads, and their children from then on). */
  pids?: readonly number[];
  /**
   * Event types to deliver (Falco names: `openat`, `execve`, `connect`, `procexit`...). The
   * syscalls the state needs are traced as well but delivered only when listed. Empty: deliver all.
   */
  syscalls: ReadonlySet<string> | readonly string[];
  /** The strace executable. Default: `strace` on PATH. */
  stracePath?: string;
  /** Working directory and environment of the command. Default: this process's. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command's stdin/stdout/stderr: shared with this process (default), discarded, or piped. */
  stdio?: 'inherit' | 'ignore' | 'pipe';
  /** Read running processes from /proc first (default true; tests with fixtures turn it off). */
  bootstrap?: boolean;
  /** Where procfs is. Default `/proc`. */
  procRoot?: string;
  /** Let the kernel skip untraced syscalls (`--seccomp-bpf`, command mode). Default true. */
  seccompBpf?: boolean;
  /** Translated events queued before the trace is paused. Default 16384. */
  maxQueue?: number;
  /** How long a stopped command may take to end before it is killed. Default 3000 ms. */
  stopGraceMs?: number;
  /** How long `start()` waits for strace. Default 15000 ms. */
  startTimeoutMs?: number;
  /** SyscallEvent.hostname. Default: this machine's name. */
  hostname?: string;
  /** strace's own messages and the command's stderr when not inherited. */
  onLog?: (message: string) => void;
}

/** Why the source could not start or stopped early. */
export type PtraceErrorCode =
  | 'strace-missing'
  | 'not-permitted'
  | 'no-such-process'
  | 'command-not-found'
  | 'bad-options'
  | 'fifo-failed'
  | 'exited'
  | 'timeout';

/** A failure of the ptrace source, with what to do about it. */
export class PtraceError extends Error {
  readonly code: PtraceErrorCode;
  readonly hint: string;
  constructor(code: PtraceErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(`${message} (${hint})`, options);
    this.name = 'PtraceError';
    this.code = code;
    this.hint = hint;
  }
}

/** The instruction shown when strace is missing. */
export const INSTALL_STRACE_HINT = 'install strace (Debian/Ubuntu: apt-get install strace)';

/** Counters of a ptrace capture. */
export interface PtraceSourceStats {
  /** Trace lines read. */
  lines: number;
  /** Syscalls decoded (an unfinished/resumed pair counts once). */
  syscalls: number;
  /** Raw events made (enter and exit separately) and run through the state engine. */
  rawEvents: number;
  /** Events delivered (the requested types). */
  events: number;
  /** Lines not turned into events, by reason, and the first few of them. */
  unparsed: Record<UnparsedReason, number>;
  unparsedSamples: string[];
  /** Arguments strace cut short (kept, but incomplete). */
  truncated: number;
  /** Lost events, by reason. */
  drops: {
    /** Syscalls whose end never came (the process died inside them, or strace detached first). */
    unfinished: number;
    /** Events made after `stop()` with nobody reading. */
    afterStop: number;
  };
  /** Times the trace was paused because the consumer lagged (the traced programs waited). */
  pauses: number;
  /** What the /proc bootstrap read. */
  bootstrap?: ProcBootstrapStats;
  /** strace's exit (the command's status in command mode). */
  exit?: { code: number | null; signal: string | null };
}

/** What `start()` reports. */
export interface PtraceReady {
  /** strace's pid. */
  pid: number;
  /** The syscalls strace traces. */
  syscalls: string[];
  /** Requested event types this driver cannot see. */
  unsupported: string[];
}

function emptyStats(): PtraceSourceStats {
  return {
    lines: 0,
    syscalls: 0,
    rawEvents: 0,
    events: 0,
    unparsed: emptyUnparsed(),
    unparsedSamples: [],
    truncated: 0,
    drops: { unfinished: 0, afterStop: 0 },
    pauses: 0,
  };
}

function ptraceScope(procRoot: string): string | undefined {
  try {
    return readFileSync(join(procRoot, 'sys/kernel/yama/ptrace_scope'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** What to do when the kernel refuses ptrace, with this machine's Yama setting when there is one. */
export function notPermittedHint(scope: string | undefined): string {
  const yama =
    scope === undefined
      ? ''
      : scope === '3'
        ? 'kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot; use the eBPF driver. '
        : `kernel.yama.ptrace_scope is ${scope}${scope === '0' ? '' : ' (1: only descendants, 2: only with CAP_SYS_PTRACE)'}; `;
  return (
    `${yama}run Vigil as root or grant it CAP_SYS_PTRACE; ` +
    'in a container, allow ptrace (docker run --cap-add SYS_PTRACE, or a seccomp profile that permits it)'
  );
}

/** Classifies one `strace: ...` message. */
export function classifyStraceMessage(
  message: string,
  procRoot = '/proc',
): { code: PtraceErrorCode; hint: string } | undefined {
  if (/Operation not permitted/.test(message) || /PTRACE_TRACEME doesn't work/.test(message))
    return { code: 'not-permitted', hint: notPermittedHint(ptraceScope(procRoot)) };
  if (/No such process/.test(message))
    return { code: 'no-such-process', hint: 'check the pid: the process may have ended' };
  if (/Can't stat|No such file or directory|Permission denied.*exec/.test(message))
    return { code: 'command-not-found', hint: 'check the command name and PATH' };
  if (/invalid|Usage:|must have PROG|unrecognized option|requires an argument/.test(message))
    return {
      code: 'bad-options',
      hint: 'this strace does not accept the options Vigil uses; strace 5.3 or newer is needed',
    };
  return undefined;
}

/** Live syscall events from strace, with process and fd state. See the module comment. */
export class PtraceSource implements AsyncIterable<SyscallEvent> {
  readonly stats: PtraceSourceStats = emptyStats();
  /** The state engine the events go through (bootstrapped from /proc). */
  readonly state: StateEngine;
  /** The command's stdout and stderr when `stdio: 'pipe'`. */
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  /** Requested event types this driver cannot see (set by `start()`). */
  unsupported: string[] = [];

  private readonly options: PtraceSourceOptions;
  private readonly wanted: ReadonlySet<string>;
  private readonly translator: StraceTranslator;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private drained: Promise<void> | undefined;
  private fifoDir: string | undefined;
  private keepOpenFd: number | undefined;
  private fifo: Socket | undefined;
  private readonly queue: LineItem[] = [];
  private current: Prefetch | undefined;
  private readonly seenAtRead = new Set<number>();
  private readonly pendingInode = new Map<number, number>();
  private head = 0;
  private ended = false;
  private wake: (() => void) | undefined;
  private consumed = false;
  private stopping = false;
  private firstLine: (() => void) | undefined;
  private readonly attached = new Set<number>();
  private onAttached: (() => void) | undefined;
  private straceError: { code: PtraceErrorCode; message: string; hint: string } | undefined;
  private readonly stderrTail: string[] = [];
  private rootPid: number | undefined;
  private stderrDone: Promise<void> | undefined;
  private straceThread: ProcThread | undefined;
  private readonly maxQueue: number;
  private readonly procRoot: string;
  private readonly attachMode: boolean;

  constructor(options: PtraceSourceOptions) {
    this.options = options;
    this.wanted = new Set(options.syscalls);
    this.maxQueue = options.maxQueue ?? 16384;
    this.state = new StateEngine({ hostname: options.hostname ?? osHostname() });
    const procRoot = options.procRoot ?? '/proc';
    const attach = (options.pids?.length ?? 0) > 0;
    this.procRoot = procRoot;
    this.attachMode = attach;
    // Translation runs when the consumer pulls, in order with the state engine; what it needs from
    // /proc was read when the line arrived (see Prefetch).
    const ctx: TranslateContext = {
      thread: (tid) => this.state.table.get(tid),
      discover: () => {
        const p = this.current?.proc;
        if (p) addProcThread(this.state, p);
      },
      execInfo: () => this.current?.exec,
      socketEnds: (_tid, inode) =>
        this.current?.socket?.inode === inode ? this.current.socket.ends : undefined,
      parentOf: () => this.current?.parent,
    };
    this.translator = new StraceTranslator(ctx);
  }

  /** strace's pid, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts strace; resolves when it runs the command or is attached to every pid. */
  async start(): Promise<PtraceReady> {
    if (this.child) throw new Error('PtraceSource.start() called twice');
    const o = this.options;
    const hasCommand = (o.command?.length ?? 0) > 0;
    const pids = o.pids ?? [];
    if (hasCommand === pids.length > 0) {
      throw new PtraceError('bad-options', 'give either a command or pids to trace', 'not both, not neither');
    }
    const strace = o.stracePath ?? findOnPath('strace');
    if (!strace) throw new PtraceError('strace-missing', 'strace is not installed', INSTALL_STRACE_HINT);
    const set = ptraceCaptureSet(this.wanted);
    this.unsupported = set.unsupported;
    const procRoot = o.procRoot ?? '/proc';

    if (o.bootstrap !== false) {
      this.stats.bootstrap = bootstrapFromProc(this.state, {
        procRoot,
        fds: pids.length > 0 ? new Set(pids) : false,
      });
    }

    const fifo = this.openFifo();
    const args = straceArgs({
      syscalls: set.syscalls,
      output: fifo,
      ...(hasCommand ? { command: o.command } : { pids }),
      ...(o.seccompBpf === false ? { seccompBpf: false } : {}),
    });
    const io = o.stdio ?? 'inherit';
    const child = spawn(strace, args, {
      stdio: [io === 'pipe' ? 'ignore' : io, io, 'pipe'],
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      ...(o.env !== undefined ? { env: o.env } : {}),
    });
    this.child = child;
    this.stdout = io === 'pipe' ? child.stdout : null;
    const spawnError = new Promise<Error>((res) => child.once('error', res));
    this.exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.stats.exit = { code, signal };
        // strace has closed its end: let the FIFO reach end of file.
        this.closeKeepOpen();
        res();
      });
      child.once('error', () => {
        this.closeKeepOpen();
        res();
      });
    });
    this.readStderr(child, io);
    if (child.pid !== undefined && o.bootstrap !== false) {
      const self = readProcThread(child.pid, { procRoot });
      if (self) addProcThread(this.state, self);
      this.straceThread = self;
    }

    const ready = new Promise<void>((res) => {
      if (hasCommand) this.firstLine = res;
      else {
        this.onAttached = () => {
          if (pids.every((p) => this.attached.has(p))) res();
        };
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = o.startTimeoutMs ?? 15_000;
    const timeout = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), timeoutMs);
    });
    try {
      const first = await Promise.race([
        ready.then(() => 'ready' as const),
        this.exited.then(() => 'exited' as const),
        spawnError,
        timeout,
      ]);
      if (first instanceof Error) {
        const missing = (first as NodeJS.ErrnoException).code === 'ENOENT';
        throw new PtraceError(
          missing ? 'strace-missing' : 'exited',
          missing ? `strace was not found at ${strace}` : `cannot run strace: ${first.message}`,
          INSTALL_STRACE_HINT,
          { cause: first },
        );
      }
      if (first === 'timeout') {
        child.kill('SIGKILL');
        throw new PtraceError(
          'timeout',
          `strace did not start tracing within ${timeoutMs} ms`,
          'see strace -p/-f on this machine',
        );
      }
      if (first === 'exited') {
        // The trace may still be in the FIFO: a short command can be done before it is read.
        await this.drained;
        await this.stderrDone;
        if (!(hasCommand && this.linesRead > 0)) throw this.failure();
      }
    } catch (e) {
      this.cleanupFifo();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return { pid: child.pid ?? 0, syscalls: set.syscalls, unsupported: set.unsupported };
  }

  private failure(): PtraceError {
    if (this.straceError) {
      const { code, message, hint } = this.straceError;
      return new PtraceError(code, `strace could not trace: ${message}`, hint);
    }
    const tail = this.stderrTail.join('\n');
    const exit = this.stats.exit;
    return new PtraceError(
      'exited',
      `strace exited before tracing (exit ${exit?.code ?? exit?.signal ?? '?'})${tail ? `: ${tail}` : ''}`,
      'run the same strace command by hand to see why',
    );
  }

  /** Makes the FIFO strace writes to and opens its read end (see the comment inside). */
  private openFifo(): string {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ptrace-'));
    this.fifoDir = dir;
    const path = join(dir, 'trace');
    try {
      execFileSync('mkfifo', ['-m', '600', path]);
    } catch (e) {
      this.cleanupFifo();
      throw new PtraceError(
        'fifo-failed',
        `cannot make a FIFO in ${dir}`,
        'mkfifo (coreutils) must be installed and the temporary directory writable',
        { cause: e },
      );
    }
    // strace opens its output itself, close-on-exec, so traced programs never inherit (or write
    // into) the trace. Reading starts before strace opens the FIFO: a non-blocking read end plus
    // a write end held here until strace has exited, so end of file means "strace is done".
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.keepOpenFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const sock = new Socket({ fd: readFd, readable: true, writable: false });
    this.fifo = sock;
    const lines = createInterface({ input: sock, crlfDelay: Infinity });
    this.drained = new Promise((res) => {
      lines.on('close', () => {
        this.ended = true;
        this.wake?.();
        this.cleanupFifo();
        res();
      });
    });
    lines.on('line', (line) => this.onLine(line));
    return path;
  }

  private closeKeepOpen(): void {
    if (this.keepOpenFd !== undefined) {
      try {
        closeSync(this.keepOpenFd);
      } catch {
        // already closed
      }
      this.keepOpenFd = undefined;
    }
  }

  private cleanupFifo(): void {
    this.closeKeepOpen();
    if (this.fifoDir) {
      rmSync(this.fifoDir, { recursive: true, force: true });
      this.fifoDir = undefined;
    }
  }

  private onLine(line: string): void {
    this.linesRead++;
    if (this.rootPid === undefined) {
      const m = /^(\d+)/.exec(line);
      if (m) this.rootPid = Number(m[1]);
    }
    this.firstLine?.();
    this.firstLine = undefined;
    if (this.stopping && !this.consumed) {
      this.stats.drops.afterStop++;
      return;
    }
    const pre = this.prefetch(line);
    this.queue.push(pre ? { line, pre } : { line });
    if (this.queue.length - this.head >= this.maxQueue && this.fifo && !this.fifo.isPaused()) {
      this.fifo.pause();
      this.stats.pauses++;
    }
    this.wake?.();
  }

  private linesRead = 0;

  /** Reads from /proc what this line will need (see Prefetch). */
  private prefetch(line: string): Prefetch | undefined {
    const m = LINE_HEAD.exec(line);
    if (!m) return undefined;
    const pid = Number(m[1]);
    const rest = m[2] ?? '';
    let pre: Prefetch | undefined;
    if (!this.seenAtRead.has(pid)) {
      this.seenAtRead.add(pid);
      if (!this.state.table.get(pid)) {
        let proc = readProcThread(pid, { procRoot: this.procRoot, fds: this.attachMode });
        const st = this.straceThread;
        if (!proc && !this.attachMode && pid === this.rootPid && st) {
          // The command's first process is strace's fork, gone before /proc could be read: until
          // its execve it is a copy of strace.
          const { vtid: _vtid, vpid: _vpid, ...seed } = st.seed;
          proc = { seed: { ...seed, tid: pid, pid, ptid: st.seed.tid } };
        }
        pre = { proc: proc ?? null };
        const parent = readParentOf(pid, this.procRoot);
        if (parent) pre.parent = parent;
      }
    }
    if (rest.startsWith('+++')) {
      this.seenAtRead.delete(pid);
      this.pendingInode.delete(pid);
      return pre;
    }
    if (/^(?:<\.\.\. )?execve(?:at)?\b/.test(rest) && /\)\s*=\s*0(?:\s|$)/.test(rest)) {
      const exec = readExecInfo(pid, this.procRoot);
      if (exec) (pre ??= {}).exec = exec;
    }
    const sock = /^(?:<\.\.\. )?(connect|sendto|sendmsg)\b/.exec(rest);
    if (sock) {
      const inode = INET_INODE.exec(rest)?.[1];
      if (rest.endsWith('<unfinished ...>')) {
        if (inode) this.pendingInode.set(pid, Number(inode));
      } else {
        const ino = inode !== undefined ? Number(inode) : this.pendingInode.get(pid);
        this.pendingInode.delete(pid);
        if (ino !== undefined)
          (pre ??= {}).socket = { inode: ino, ends: readSocketEnds(pid, ino, this.procRoot) };
      }
    }
    return pre;
  }

  private readStderr(child: ChildProcess, io: 'inherit' | 'ignore' | 'pipe'): void {
    if (!child.stderr) return;
    let pass: PassThrough | undefined;
    if (io === 'pipe') {
      // The command writes to the same stderr as strace: its lines go to a stream of their own.
      pass = new PassThrough();
      this.stderr = pass;
      child.once('exit', () => pass?.end());
    }
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    this.stderrDone = new Promise((res) => lines.once('close', res));
    lines.on('line', (line) => {
      // strace prefixes its messages with the name it was run as (`strace:`, `/usr/bin/strace:`).
      const m = /^(?:\S*\/)?strace[^\s:/]*: (.*)$/.exec(line);
      if (!m) {
        // The traced command's own stderr (it shares strace's).
        if (io === 'inherit') process.stderr.write(`${line}\n`);
        else if (pass) pass.write(`${line}\n`);
        return;
      }
      const msg = m[1] ?? '';
      const att = /^Process (\d+) attached/.exec(msg);
      if (att) {
        this.attached.add(Number(att[1]));
        this.onAttached?.();
        return;
      }
      if (/^Process \d+ detached/.test(msg)) return;
      this.stderrTail.push(msg);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      const kind = classifyStraceMessage(msg, this.options.procRoot ?? '/proc');
      if (kind && !this.straceError) this.straceError = { ...kind, message: msg };
      this.options.onLog?.(`strace: ${msg}`);
    });
  }

  private syncStats(): void {
    const t = this.translator.stats;
    this.stats.lines = this.linesRead;
    this.stats.syscalls = t.syscalls;
    this.stats.rawEvents = t.events;
    this.stats.unparsed = { ...t.unparsed };
    this.stats.unparsedSamples = [...t.samples];
    this.stats.truncated = t.truncated;
    this.stats.drops.unfinished = t.lostUnfinished;
  }

  /** Events with state, in trace order. The source can be iterated once. */
  async *events(): AsyncGenerator<SyscallEvent> {
    if (!this.child) throw new Error('PtraceSource: iterate after start()');
    if (this.consumed) throw new Error('PtraceSource can be iterated once');
    this.consumed = true;
    const all = this.wanted.size === 0;
    for (;;) {
      if (this.head < this.queue.length) {
        const item = this.queue[this.head++];
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (this.fifo?.isPaused() && this.queue.length - this.head < this.maxQueue / 2) this.fifo.resume();
        if (!item) continue;
        this.current = item.pre;
        const translated = this.translator.push(item.line);
        this.current = undefined;
        for (const t of translated) {
          const ev = this.process(t);
          if (ev && (all || this.wanted.has(ev.type))) {
            this.stats.events++;
            yield ev;
          }
        }
        continue;
      }
      if (this.ended) break;
      this.syncStats();
      await new Promise<void>((res) => {
        this.wake = res;
      });
      this.wake = undefined;
    }
    this.translator.finish();
    this.syncStats();
  }

  /** Applies an event's fd hints and runs it through the state engine. */
  private process(item: TranslatedEvent): SyscallEvent | undefined {
    applyFdHints(this.state, item.fdHints);
    return this.state.processEvent(item.raw);
  }

  [Symbol.asyncIterator](): AsyncIterator<SyscallEvent> {
    return this.events();
  }

  /** Resolves when strace has exited and its trace is read; the command's exit code in command mode. */
  async waitExit(): Promise<number | null> {
    await this.exited;
    await this.drained;
    return this.stats.exit?.code ?? null;
  }

  /**
   * Ends the trace and resolves with the final counters. Attach mode: strace detaches (the
   * processes keep running). Command mode: the command gets SIGTERM, and SIGKILL after the grace
   * period.
   */
  async stop(): Promise<PtraceSourceStats> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return this.stats;
    this.stopping = true;
    if (!this.consumed) {
      this.stats.drops.afterStop += this.queue.length - this.head;
      this.queue.length = 0;
      this.head = 0;
      this.fifo?.resume();
    }
    const running = (): boolean => child.exitCode === null && child.signalCode === null;
    const waitExit = (ms: number): Promise<boolean> =>
      Promise.race([
        exited.then(() => true),
        new Promise<boolean>((res) => setTimeout(() => res(false), ms).unref()),
      ]);
    if (running()) {
      if ((this.options.pids?.length ?? 0) > 0) {
        child.kill('SIGTERM');
      } else {
        // strace ignores fatal signals while it runs a command (-o FILE PROG): end the command.
        const root = this.rootPid;
        const signal = (sig: NodeJS.Signals): void => {
          if (root === undefined) return;
          try {
            process.kill(root, sig);
          } catch {
            // already gone
          }
        };
        signal('SIGTERM');
        if (!(await waitExit(this.options.stopGraceMs ?? 3000))) {
          signal('SIGKILL');
          if (!(await waitExit(1000))) child.kill('SIGKILL');
        }
      }
    }
    await exited;
    if (this.fifo && this.fifo.isPaused() && !this.consumed) this.fifo.resume();
    await this.drained;
    this.syncStats();
    return this.stats;
  }
}

/** Creates a ptrace source (call `start()`, then iterate). */
export function createPtraceSource(options: PtraceSourceOptions): PtraceSource {
  return new PtraceSource(options);
}
