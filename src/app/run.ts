/**
 * `vigil run`: live detection on this host (or on one command, or on given processes) with the
 * detector, alerts printed the way Falco prints them.
 *
 * Alerts go through an {@link AlertWriter}: a bounded queue written without ever waiting on the
 * reader (see {@link alertTarget}), so a slow or stuck reader of stdout never blocks the detector; what does not fit is dropped and counted
 * (`output_queue_full`), like every other loss, and shown in the summary. Everything else (startup
 * lines, periodic stats, reload results, the summary) goes to stderr.
 *
 * Signals: SIGINT/SIGTERM stop gracefully (the driver drains what it captured, then the summary);
 * a second one exits at once. SIGHUP reloads the rules; an invalid set keeps the running one and its
 * errors are printed with their file:line:col.
 *
 * Exit status: 0; 1 when the rules are invalid or no driver can start (the message says what to
 * do); 2 for usage errors. With a command (`vigil run -- CMD`), the command's own exit status, the
 * way `time` and `strace` report it.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, constants as fsConstants, fstatSync, openSync, write as fsWrite } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';
import {
  createDetector,
  DetectorError,
  type Detector,
  type DetectorOptions,
  type DetectorStart,
  type DetectorStats,
  type DetectorSummary,
} from '../agent/detector.js';
import type { RuleSelection } from '../agent/ruleset.js';
import { checkEbpf } from '../capture/driver-select.js';
import type { Alert } from '../engine/engine.js';
import { formatAlertJson, formatAlertText, type TimeFormat } from '../engine/output/alert-format.js';

/** Default bound of the alert output queue (bytes not yet written). */
export const DEFAULT_OUTPUT_QUEUE_BYTES = 8 * 1024 * 1024;

/** How an {@link AlertWriter} writes: from the thread pool, or through a relay process. */
export type WriteMode = 'pool' | 'relay';

/**
 * Writes lines to a file descriptor without ever blocking the caller: lines are queued (up to
 * `maxBytes`) and written in chunks, one write in flight at a time. A full queue drops the new line
 * and counts it (`output_queue_full`); a reader that went away (EPIPE) drops the rest
 * (`output_closed`).
 *
 * `pool` (default) writes from libuv's thread pool: right for regular files and non-blocking
 * descriptors (EAGAIN is retried with a back-off). `relay` hands the lines to a `cat` whose stdout
 * is the descriptor, for descriptors that may block forever and cannot be made non-blocking for us
 * alone (a socket nobody reads): a blocked write in any thread of this process would keep even
 * `process.exit()` waiting, one blocked in the relay does not.
 */
export class AlertWriter {
  /** Lines not written, by reason. */
  readonly drops: Record<string, number> = {};
  /** Lines handed to the kernel. */
  written = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private inFlightLines = 0;
  private busy = false;
  private failure: NodeJS.ErrnoException | undefined;
  private waiters: (() => void)[] = [];
  private backoffMs = 0;

  private relay: ChildProcessByStdio<Writable, null, null> | undefined;

  constructor(
    private readonly fd: number,
    private readonly maxBytes = DEFAULT_OUTPUT_QUEUE_BYTES,
    mode: WriteMode = 'pool',
  ) {
    if (mode === 'relay') {
      try {
        const c = spawn('cat', [], { stdio: ['pipe', fd, 'ignore'] }) as ChildProcessByStdio<
          Writable,
          null,
          null
        >;
        c.on('error', () => undefined); // a missing cat shows up as a write error on its stdin
        c.stdin.on('error', () => undefined); // reported through the write callbacks
        c.unref();
        this.relay = c;
      } catch {
        // no relay: write directly
      }
    }
  }

  /** Bytes waiting (queued or being written). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** The error that ended the output, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * Counts a drop without the line when the queue is certainly full (or the output failed), so a
   * flood of alerts that cannot be written is not formatted first. True when it dropped.
   */
  dropIfFull(): boolean {
    if (this.failure) return !this.drop('output_closed', 1);
    if (this.queuedBytes + 64 > this.maxBytes) return !this.drop('output_queue_full', 1);
    return false;
  }

  /** Whether a write is still in flight (it may be stuck on a reader that does not read). */
  get busyWriting(): boolean {
    return this.busy;
  }

  /** Queues one line (without its newline); false when it was dropped. */
  write(line: string): boolean {
    if (this.failure) return this.drop('output_closed', 1);
    const bytes = Buffer.byteLength(line) + 1;
    if (this.queuedBytes + bytes > this.maxBytes) return this.drop('output_queue_full', 1);
    this.queue.push(line + '\n');
    this.queuedBytes += bytes;
    if (!this.busy) {
      this.busy = true;
      // Batch what arrives in the same turn of the event loop into one write.
      setImmediate(() => this.pump());
    }
    return true;
  }

  private drop(reason: string, n: number): false {
    if (n > 0) this.drops[reason] = (this.drops[reason] ?? 0) + n;
    return false;
  }

  private pump(): void {
    if (this.queue.length === 0 || this.failure) {
      this.busy = false;
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
      return;
    }
    const lines = this.queue;
    this.queue = [];
    this.inFlightLines = lines.length;
    this.writeChunk(Buffer.from(lines.join('')), 0);
  }

  private writeChunk(buf: Buffer, off: number): void {
    const relay = this.relay;
    if (relay) {
      const part = buf.subarray(off);
      relay.stdin.write(part, (err) =>
        this.onWritten(err ? (err as NodeJS.ErrnoException) : null, err ? 0 : part.length, buf, off),
      );
      return;
    }
    fsWrite(this.fd, buf, off, buf.length - off, null, (err, n) => this.onWritten(err, n, buf, off));
  }

  private onWritten(err: NodeJS.ErrnoException | null, n: number, buf: Buffer, off: number): void {
    if (err) {
      // A non-blocking descriptor whose reader is behind: try again, backing off up to 50 ms.
      if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') {
        this.backoffMs = Math.min(50, this.backoffMs * 2 || 2);
        setTimeout(() => this.writeChunk(buf, off), this.backoffMs);
        return;
      }
      this.failure = err;
      this.drop('output_closed', this.inFlightLines + this.queue.length);
      this.queue = [];
      this.queuedBytes = 0;
      this.inFlightLines = 0;
      this.pump();
      return;
    }
    this.backoffMs = 0;
    this.queuedBytes -= n;
    off += n;
    if (off < buf.length) {
      this.writeChunk(buf, off);
      return;
    }
    this.written += this.inFlightLines;
    this.inFlightLines = 0;
    this.pump();
  }

  /** Resolves when everything queued so far is written (or the output failed). */
  flushed(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  /**
   * Waits up to `deadlineMs` for the queue to drain; lines still queued then are counted as
   * `output_unflushed`. Closes the descriptor when `closeFd`.
   */
  async close(deadlineMs: number, closeFd = false): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.flushed().then(() => true),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!done) {
      this.drop('output_unflushed', this.queue.length + this.inFlightLines);
      this.queue = [];
    }
    // The relay ends once it has written what it holds; a stuck one waits for its reader, not for us.
    if (done) this.relay?.stdin.end();
    (this.relay?.stdin as { unref?: () => void } | undefined)?.unref?.();
    if (closeFd && done) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
  }
}

/**
 * Where alerts go and how to write there without ever waiting on a reader. A pipe or terminal gets
 * a private non-blocking descriptor: opening `/proc/self/fd/N` of one makes a new open file
 * description, whose O_NONBLOCK does not touch the one shared with the parent shell and with the
 * command we run (setting O_NONBLOCK on the shared one would break them). Regular files are written
 * as they are (from the thread pool); sockets and whatever cannot be reopened through a relay.
 */
export function alertTarget(fd: number): { fd: number; own: boolean; mode: WriteMode } {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return { fd, own: false, mode: 'relay' };
  }
  if (st.isFile()) return { fd, own: false, mode: 'pool' };
  if (st.isFIFO() || st.isCharacterDevice()) {
    try {
      const flags = fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;
      return { fd: openSync(`/proc/self/fd/${fd}`, flags), own: true, mode: 'pool' };
    } catch {
      // e.g. no /proc: fall through
    }
  }
  return { fd, own: false, mode: 'relay' };
}

/** Options of {@link runLive}. */
export interface RunOptions extends RuleSelection {
  /** Rules files or directories. */
  rules: string[];
  json: boolean;
  driver: 'auto' | 'ebpf' | 'ptrace';
  /** Processes to trace (ptrace). */
  pids: number[];
  /** A command to run (and watch) until it exits. */
  command: string[];
  /** Capture close calls even when no rule names them (see docs/drivers.md). */
  keepClose?: boolean;
  timeFormat: TimeFormat;
  /** Write alerts to this file (appended) instead of stdout. */
  output?: string;
  /** Print a stats line on stderr every this many seconds. */
  statsIntervalS?: number;
  /** Bound of the alert output queue in bytes. */
  outputQueueBytes?: number;
  /** Where startup lines, stats, reload results and the summary go (default: stderr). */
  log?: (line: string) => void;
  /** Alerts' descriptor when there is no output file (default 1, stdout). */
  alertFd?: number;
  /** Handle SIGINT, SIGTERM and SIGHUP (default true). */
  handleSignals?: boolean;
  /** More detector options (tests). */
  detector?: Partial<DetectorOptions>;
}

const plural = (n: number, word: string): string =>
  `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

/** A command line as a shell would take it back (for messages). */
export function shellJoin(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** `1234567` → `1,234,567`. */
function num(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** One line of the current counters (periodic stats). */
export function formatStatsLine(s: DetectorStats, outputDrops: Record<string, number>): string {
  const secs = Math.max(0.001, (Date.now() - s.startedAt) / 1000);
  const drops = s.dropsTotal + Object.values(outputDrops).reduce((a, b) => a + b, 0);
  return (
    `stats: ${secs.toFixed(0)} s, ${num(s.events)} events (${num(s.events / secs)}/s` +
    `${s.reusedInKernel > 0 ? `; ${num(s.reusedInKernel)} repeats counted by the probe` : ''}), ` +
    `${num(s.evaluated)} evaluated, ${num(s.alerts)} alerts, ${num(drops)} drops, ` +
    `${num(s.state.threads)} threads, ${num(s.state.fds)} fds, ${num(s.state.containers)} containers`
  );
}

/** The stop summary, one line per item (printed on stderr). */
export function formatSummary(
  s: DetectorSummary,
  extra: {
    rules: { loaded: number; enabled: number };
    outputDrops: Record<string, number>;
    alertsWritten: number;
    command?: string[];
  },
): string[] {
  const secs = Math.max(0.001, s.durationMs / 1000);
  const lines = ['vigil run: summary'];
  const row = (k: string, v: string): void => void lines.push(`  ${k.padEnd(14)}${v}`);
  row('duration', `${secs.toFixed(1)} s`);
  row('driver', s.driver ?? 'none');
  row('rules', `${extra.rules.loaded} loaded, ${extra.rules.enabled} enabled`);
  row('events read', `${num(s.events)} (${num(s.events / secs)}/s)`);
  row(
    'evaluated',
    s.reused > 0
      ? `${num(s.evaluated)} (${num(s.reused)} repeated opens with the verdict reused${
          s.reusedInKernel > 0
            ? `, ${num(s.reusedInKernel)} of them counted by the probe instead of sent`
            : ''
        })`
      : num(s.evaluated),
  );
  const notWritten = s.alerts - extra.alertsWritten;
  row('alerts', `${num(s.alerts)}${notWritten > 0 ? ` (${num(notWritten)} not written)` : ''}`);
  for (const [rule, n] of Object.entries(s.alertsByRule).sort((a, b) => b[1] - a[1]))
    lines.push(`    ${String(n).padStart(8)}  ${rule}`);
  const drops: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.drops)) if (v > 0) drops[k] = v;
  for (const [k, v] of Object.entries(extra.outputDrops)) if (v > 0) drops[k] = (drops[k] ?? 0) + v;
  const total = Object.values(drops).reduce((a, b) => a + b, 0);
  row('drops', total === 0 ? '0' : `${num(total)}`);
  for (const [k, v] of Object.entries(drops).sort((a, b) => b[1] - a[1]))
    lines.push(`    ${String(v).padStart(8)}  ${k}`);
  if (s.dropAlerts > 0) row('drop alerts', num(s.dropAlerts));
  row(
    'state',
    `${num(s.state.threads)} threads, ${num(s.state.fds)} fds, ${num(s.state.containers)} containers`,
  );
  if (s.reloads.ok + s.reloads.failed > 0) row('reloads', `${s.reloads.ok} ok, ${s.reloads.failed} failed`);
  if (extra.command?.length) {
    const code = s.commandExit;
    row(
      'command',
      `${shellJoin(extra.command)}: ${code === null || code === undefined ? 'ended by the stop, no exit status' : `exit ${code}`}`,
    );
  }
  return lines;
}

function startupLines(
  start: DetectorStart,
  detector: Detector,
  opts: { rules: string[]; driverReason: string; command: string[]; pids: number[] },
): string[] {
  const out: string[] = [];
  out.push(`driver ${start.driver}: ${opts.driverReason}`);
  for (const m of start.messages) out.push(m);
  out.push(
    start.syscalls.length
      ? `capturing ${start.syscalls.length} syscalls: ${start.syscalls.join(', ')}`
      : 'capturing every syscall the driver decodes',
  );
  out.push(
    `rules: ${start.rules.loaded} loaded, ${start.rules.enabled} enabled, ${plural(start.rules.warnings, 'warning')} (${opts.rules.join(', ')})${start.rules.warnings ? '; see `vigil rules validate`' : ''}`,
  );
  if (start.unsupported.length) {
    const needing = detector.rulesForEventTypes(start.unsupported);
    out.push(
      `the ${start.driver} driver cannot see ${start.unsupported.length} event type${start.unsupported.length === 1 ? '' : 's'}; these rules will not fire on them:`,
    );
    for (const t of start.unsupported) {
      const rules = needing[t] ?? [];
      out.push(
        `  ${t}: ${rules.length ? rules.map((r) => JSON.stringify(r)).join(', ') : '(no enabled rule)'}`,
      );
    }
  }
  const b = start.bootstrap;
  if (b) {
    out.push(
      `bootstrap from /proc: ${plural(b.processes, 'process')} (${plural(b.threads, 'thread')}), ${plural(b.fds, 'fd')}, ${plural(b.users, 'user')}, ${plural(b.groups, 'group')}` +
        (b.vanished ? `; ${b.vanished} vanished while read` : '') +
        (b.skipped ? `; ${b.skipped} processes skipped (limit)` : ''),
    );
  }
  const what = opts.command.length
    ? `running ${shellJoin(opts.command)}${start.driver === 'ebpf' ? ' (watching the whole host while it runs)' : ''}`
    : opts.pids.length
      ? `tracing pid ${opts.pids.join(', ')}`
      : 'watching this host';
  out.push(`${what}; SIGINT/SIGTERM stop with a summary, SIGHUP reloads the rules`);
  return out;
}

/** Runs live detection until stopped; resolves with the process exit status. */
export async function runLive(o: RunOptions): Promise<number> {
  const log = o.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const say = (m: string): void => {
    for (const l of m.split('\n')) log(`vigil run: ${l}`);
  };

  // Which driver, and why (the detector adds fallback and mount messages).
  let driver = o.driver;
  let driverReason = driver === 'auto' ? '' : `as asked (--driver ${driver})`;
  if (o.pids.length && o.command.length) {
    say('give either a command (-- CMD) or --pid, not both');
    return 2;
  }
  if (o.pids.length) {
    if (driver === 'ebpf') {
      say(
        '--pid traces given processes, which needs the ptrace driver (the eBPF driver watches the whole host)',
      );
      return 2;
    }
    if (driver === 'auto') driverReason = '--pid traces given processes with ptrace';
    driver = 'ptrace';
  }
  if (!o.command.length && !o.pids.length && driver !== 'ptrace' && process.getuid?.() !== 0) {
    // Without root, eBPF is refused and ptrace cannot watch a whole host: say so plainly.
    const c = await checkEbpf(o.detector?.loaderPath ? { loaderPath: o.detector.loaderPath } : {});
    if (!c.ok) {
      say(
        `cannot watch this host: ${c.reason}.\n  To fix: ${c.hint}.\n  Without root, trace one command instead: vigil run --driver ptrace -- COMMAND`,
      );
      return 1;
    }
  }

  const target = alertTarget(o.alertFd ?? 1);
  let { fd, own: ownFd, mode } = target;
  if (o.output !== undefined) {
    if (ownFd) closeSync(fd);
    mode = 'pool';
    try {
      fd = openSync(o.output, 'a');
      ownFd = true;
    } catch (e) {
      say(`cannot open the alert output ${o.output}: ${(e as Error).message}`);
      return 1;
    }
  }
  const writer = new AlertWriter(fd, o.outputQueueBytes ?? DEFAULT_OUTPUT_QUEUE_BYTES, mode);
  const timeFormat = o.timeFormat;
  const format = o.json ? formatAlertJson : formatAlertText;
  const onAlert = (a: Alert): void => {
    if (!writer.dropIfFull()) writer.write(format(a, timeFormat));
  };

  let detector: Detector;
  try {
    detector = createDetector({
      rulesFiles: o.rules,
      driver,
      ...(o.command.length ? { command: o.command } : {}),
      ...(o.pids.length ? { pids: o.pids } : {}),
      ...(o.keepClose ? { keepCloseEvents: true } : {}),
      ...(o.ruleMatching ? { ruleMatching: o.ruleMatching } : {}),
      ...(o.minPriority !== undefined ? { minPriority: o.minPriority } : {}),
      ...(o.disableRules?.length ? { disableRules: o.disableRules } : {}),
      ...(o.disableTags?.length ? { disableTags: o.disableTags } : {}),
      ...(o.onlyTags?.length ? { onlyTags: o.onlyTags } : {}),
      onAlert,
      onLog: say,
      ...o.detector,
    });
  } catch (e) {
    if (!(e instanceof DetectorError)) throw e;
    say(`Error: ${e.message}`);
    if (ownFd) closeSync(fd);
    return e.exitCode;
  }

  // Signals are taken before the (slow) start so that a Ctrl-C while the probe loads still stops cleanly.
  let requestStop!: (why: string) => void;
  const stopRequested = new Promise<string>((res) => (requestStop = res));
  let stopping = false;
  let stoppedBy: NodeJS.Signals | undefined;
  let rules = { loaded: 0, enabled: 0 };
  let reloading: Promise<void> = Promise.resolve();
  const onStopSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      say(`${sig} again: exiting without draining`);
      process.exit(130);
    }
    stopping = true;
    stoppedBy = sig;
    say(`${sig}: stopping (send it again to exit at once)`);
    requestStop(sig);
  };
  const onHup = (): void => {
    reloading = reloading.then(async () => {
      say(`SIGHUP: reloading the rules from ${o.rules.join(', ')}`);
      try {
        const r = await detector.reload();
        if (r.ok) {
          rules = { loaded: r.rules, enabled: r.enabled };
          say(`rules reloaded: ${r.rules} loaded, ${r.enabled} enabled, ${plural(r.warnings, 'warning')}`);
          for (const m of r.messages) say(m);
        } else {
          say(`rules reload failed, the running rules are kept: ${r.message}`);
          for (const d of r.details) say(d);
        }
      } catch (e) {
        say(`rules reload failed, the running rules are kept: ${(e as Error).message}`);
      }
    });
  };
  const handleSignals = o.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onStopSignal);
    process.on('SIGTERM', onStopSignal);
    process.on('SIGHUP', onHup);
  }
  const cleanup = (): void => {
    if (!handleSignals) return;
    process.off('SIGINT', onStopSignal);
    process.off('SIGTERM', onStopSignal);
    process.off('SIGHUP', onHup);
  };

  let start: DetectorStart;
  try {
    start = await detector.start();
  } catch (e) {
    cleanup();
    if (ownFd) closeSync(fd);
    if (!(e instanceof DetectorError)) throw e;
    say(`Error: ${e.message}`);
    return e.exitCode;
  }
  rules = { loaded: start.rules.loaded, enabled: start.rules.enabled };
  if (!driverReason)
    driverReason =
      start.driver === 'ebpf'
        ? 'chosen automatically, this kernel accepts the eBPF probe'
        : 'chosen automatically, eBPF is not available here';
  for (const l of startupLines(start, detector, {
    rules: o.rules,
    driverReason,
    command: o.command,
    pids: o.pids,
  }))
    say(l);

  let statsTimer: NodeJS.Timeout | undefined;
  if (o.statsIntervalS && o.statsIntervalS > 0) {
    statsTimer = setInterval(
      () => say(formatStatsLine(detector.stats(), writer.drops)),
      o.statsIntervalS * 1000,
    );
  }

  await Promise.race([detector.done, stopRequested]);
  stopping = true;
  if (statsTimer) clearInterval(statsTimer);
  let exitCode = 0;
  let summary: DetectorSummary | undefined;
  try {
    await reloading;
    summary = await detector.stop();
  } catch (e) {
    say(`Error: the capture failed: ${(e as Error).message}`);
    exitCode = 1;
  }
  await writer.close(3000, ownFd);
  cleanup();
  if (summary) {
    for (const l of formatSummary(summary, {
      rules,
      outputDrops: writer.drops,
      alertsWritten: writer.written,
      command: o.command,
    }))
      log(l);
    // A command ended by our stop has no status of its own: report the signal that stopped us, as a shell would.
    if (o.command.length)
      exitCode = summary.commandExit ?? (stoppedBy ? 128 + (osConstants.signals[stoppedBy] ?? 0) : 1);
  }
  if (writer.error) say(`alert output failed: ${writer.error.message}`);
  return exitCode;
}
