/**
 * `vigil capture -w FILE`: records live syscalls into a scap capture that sysdig, Falco and
 * `vigil replay` read.
 *
 * The eBPF loader writes the capture itself (section header, machine info, one block per event), so
 * events never pass through this process. A capture also needs the processes, open fds and users
 * that existed before it started, or readers cannot name the processes that were already running:
 * they are read from /proc right after the probe is attached (a process started in between is in
 * both) and, when the capture ends, inserted between the machine info and the first event, as
 * libscap's own writer places them. That costs one sequential copy of the file; if the copy cannot
 * be made, the loader's file is kept as it is (still a valid capture, without the tables).
 *
 * Stops after `--duration`, when the command (`-- CMD`) exits, or on SIGINT/SIGTERM (a second one
 * exits at once, leaving the loader's file without the tables).
 */
import { spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  closeSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { loadRuleSet } from '../agent/ruleset.js';
import { DriverSelectError, selectDriver } from '../capture/driver-select.js';
import { bootstrapFromProc, type ProcBootstrapStats } from '../capture/proc-bootstrap.js';
import { BLOCK, SHB_MAGIC } from '../capture/scap/blocks.js';
import {
  SCAP_FD,
  type ScapFdEntry,
  type ScapGroup,
  type ScapThreadEntry,
  type ScapUser,
} from '../capture/scap/reader.js';
import { encodeFdList, encodeProcessList, encodeUserList } from '../capture/scap/writer.js';
import { captureSetFor } from '../capture/sources/ebpf/parse.js';
import { shellJoin } from './run.js';
import { BpfSource, EbpfError, type BpfSourceStats } from '../capture/sources/ebpf/source.js';
import type { ThreadSeed } from '../capture/state/process-table.js';
import { StateEngine } from '../capture/state/state-engine.js';

/** Options of {@link runCapture}. */
export interface CaptureOptions {
  /** The capture file to write. */
  output: string;
  /** Stop after this many seconds. */
  durationS?: number;
  /** Only eBPF can write captures; `auto` means eBPF. */
  driver?: 'auto' | 'ebpf';
  /** Capture the syscalls these rules need (plus what process and fd state needs). */
  rules?: string[];
  /** gzip the capture (also when the file name ends in .gz). */
  gzip?: boolean;
  /** A command to run; the capture stops when it exits. */
  command?: string[];
  /** Write the initial process, fd and user tables (default true). */
  procTables?: boolean;
  /** Where progress and the summary go (default: stderr). */
  log?: (line: string) => void;
  /** Handle SIGINT and SIGTERM (default true). */
  handleSignals?: boolean;
  /** The eBPF loader (default: the built one). */
  loaderPath?: string;
}

/** What a capture wrote. */
export interface CaptureResult {
  exitCode: number;
  /** Events written (as the loader counted them). */
  events: number;
  /** Size of the file written. */
  bytes: number;
  /** Lost events by reason. */
  drops: Record<string, number>;
  /** The initial tables written (undefined when none were). */
  tables?: { threads: number; fds: number; users: number; groups: number };
  commandExit?: number | null;
}

const PPM_CL_CLONE_FILES = 1;
const PPM_CL_CLONE_THREAD = 1 << 13;

/** A state engine that also keeps what the /proc bootstrap gives it, to write it as tables. */
class TableRecorder extends StateEngine {
  readonly threads: ScapThreadEntry[] = [];
  readonly fds: ScapFdEntry[] = [];
  readonly users: ScapUser[] = [];
  readonly groups: ScapGroup[] = [];

  override addThread(entry: ScapThreadEntry | ThreadSeed): ReturnType<StateEngine['addThread']> {
    // libscap marks the non-leader threads it reads from /proc as sharing their process's fds.
    const flags =
      'flags' in entry ? entry.flags : entry.tid === entry.pid ? 0 : PPM_CL_CLONE_THREAD | PPM_CL_CLONE_FILES;
    this.threads.push({ ...entry, flags });
    return super.addThread(entry);
  }
  override addFd(entry: ScapFdEntry): void {
    // Readers of sysdig 0.29's era refuse the whole capture on fd types newer than FILE_V2 (bpf,
    // userfaultfd, io_uring, memfd, pidfd): write those as "unsupported", which keeps their names.
    this.fds.push(entry.type > SCAP_FD.FILE_V2 ? { ...entry, type: SCAP_FD.UNSUPPORTED } : entry);
    super.addFd(entry);
  }
  override addUser(u: ScapUser): void {
    this.users.push(u);
    super.addUser(u);
  }
  override addGroup(g: ScapGroup): void {
    this.groups.push(g);
    super.addGroup(g);
  }

  /** The table blocks: process list, one fd list per process, users and groups. */
  blocks(): Uint8Array[] {
    const out: Uint8Array[] = [encodeProcessList(this.threads)];
    const byTid = new Map<number, ScapFdEntry[]>();
    for (const f of this.fds) {
      let list = byTid.get(f.tid);
      if (!list) byTid.set(f.tid, (list = []));
      list.push(f);
    }
    for (const [tid, fds] of byTid) out.push(encodeFdList(tid, fds));
    out.push(encodeUserList(this.users, this.groups));
    return out;
  }
}

/** Length of the loader's header (section header + machine info blocks), checked. */
function headerLength(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    const read = (pos: number): { type: number; len: number } => {
      if (readSync(fd, b, 0, 8, pos) !== 8) throw new Error(`${path} is too short to be a capture`);
      return { type: b.readUInt32LE(0), len: b.readUInt32LE(4) };
    };
    const shb = read(0);
    if (shb.type !== BLOCK.SHB) throw new Error(`${path} does not start with a section header`);
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 8);
    if (magic.readUInt32LE(0) !== SHB_MAGIC) throw new Error(`${path}: unexpected section header magic`);
    const mi = read(shb.len);
    if (mi.type !== BLOCK.MI) throw new Error(`${path}: no machine info block after the section header`);
    return shb.len + mi.len;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `dest`: the loader's header from `raw`, the table blocks, then the rest of `raw`
 * (gzip-compressed when asked).
 */
async function composeCapture(raw: string, dest: string, tables: Uint8Array[], gzip: boolean): Promise<void> {
  const head = headerLength(raw);
  const out = createWriteStream(dest);
  const sink: Writable = gzip ? createGzip({ level: 6 }) : out;
  const done = gzip ? pipeline(sink as ReturnType<typeof createGzip>, out) : undefined;
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield* createReadStream(raw, { start: 0, end: head - 1 }) as AsyncIterable<Buffer>;
    for (const t of tables) yield t;
    yield* createReadStream(raw, { start: head, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  }
  await pipeline(parts, sink);
  await done;
}

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Records a capture; resolves with what was written (and the exit status). */
export async function runCapture(o: CaptureOptions): Promise<CaptureResult> {
  const log = o.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const say = (m: string): void => {
    for (const l of m.split('\n')) log(`vigil capture: ${l}`);
  };
  const fail = (exitCode: number): CaptureResult => ({ exitCode, events: 0, bytes: 0, drops: {} });
  const gzip = o.gzip ?? /\.gz$/.test(o.output);

  // Which syscalls: all by default, or what the rules (and process/fd state) need.
  let syscalls: string[] | undefined;
  if (o.rules?.length) {
    const rs = loadRuleSet(o.rules);
    if (!rs.ok) {
      say(`Error: ${rs.message}${rs.details.length ? ':' : ''}`);
      for (const d of rs.details) say(d);
      return fail(1);
    }
    const wanted = rs.engine.interestingEventTypes();
    if (wanted === null) {
      say('some rule matches every event type: capturing every syscall the probe decodes');
    } else {
      // A recording is read again later, by sysdig or other rules: it keeps close events, which the
      // live detector can leave out (see docs/drivers.md).
      const set = captureSetFor(wanted, { keepClose: true });
      syscalls = set.syscalls;
      if (set.unsupported.length)
        say(`the probe cannot capture these event types the rules use: ${set.unsupported.join(', ')}`);
    }
  }

  try {
    const sel = await selectDriver({ prefer: 'ebpf', ...(o.loaderPath ? { loaderPath: o.loaderPath } : {}) });
    for (const m of sel.messages) say(m);
  } catch (e) {
    if (!(e instanceof DriverSelectError)) throw e;
    say(`Error: ${e.message}`);
    if (process.getuid?.() !== 0) say('capturing syscalls needs root: run it with sudo');
    return fail(1);
  }

  // With gzip the loader writes a temporary file next to the target, compressed at the end.
  const raw = gzip ? join(dirname(o.output), `.${basename(o.output)}.${process.pid}.raw`) : o.output;
  const src = new BpfSource({
    ...(syscalls ? { syscalls } : {}),
    outputPath: raw,
    ...(o.loaderPath ? { loaderPath: o.loaderPath } : {}),
    onLog: (m) => say(m),
  });
  let ready;
  try {
    ready = await src.start();
  } catch (e) {
    if (!(e instanceof EbpfError)) throw e;
    say(`Error: ${e.message}`);
    return fail(1);
  }
  const t0 = Date.now();

  // Read /proc now that the probe is attached.
  let recorder: TableRecorder | undefined;
  let boot: ProcBootstrapStats | undefined;
  if (o.procTables ?? true) {
    recorder = new TableRecorder();
    try {
      boot = bootstrapFromProc(recorder, { fds: true });
    } catch (e) {
      say(
        `cannot read the running processes, the capture will have no process table: ${(e as Error).message}`,
      );
      recorder = undefined;
    }
  }
  const until: string[] = [];
  if (o.durationS) until.push(`after ${o.durationS} s`);
  if (o.command?.length) until.push(`when ${o.command[0]} exits`);
  until.push('on SIGINT/SIGTERM');
  say(
    `capturing ${ready.syscalls.length} syscalls to ${o.output}${gzip ? ' (gzip)' : ''}; stops ${until.join(', ')}`,
  );
  if (boot)
    say(
      `initial state from /proc: ${plural(boot.processes, 'process')} (${plural(boot.threads, 'thread')}), ${plural(boot.fds, 'fd')}, ${plural(boot.users, 'user')}, ${plural(boot.groups, 'group')}`,
    );

  // Wait for the first of: duration, command exit, signal.
  let wake!: (why: string) => void;
  const stop = new Promise<string>((res) => (wake = res));
  let timer: NodeJS.Timeout | undefined;
  if (o.durationS) timer = setTimeout(() => wake('duration'), o.durationS * 1000);
  let commandExit: Promise<number | null> | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  if (o.command?.length) {
    const [cmd, ...args] = o.command;
    const c = spawn(cmd!, args, { stdio: 'inherit' });
    child = c;
    commandExit = new Promise((res) => {
      c.once('exit', (code, signal) =>
        res(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : null)),
      );
      c.once('error', (e) => {
        say(`cannot run ${cmd}: ${e.message}`);
        res(127);
      });
    });
    // The command's last events are still in the ring buffer when it exits: a short grace.
    void commandExit.then(() => setTimeout(() => wake('command'), 200));
  }
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      say(`${sig} again: exiting now; ${raw} holds the events without the initial tables`);
      process.exit(130);
    }
    stopping = true;
    wake(sig);
  };
  const handleSignals = o.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const why = await stop;
  stopping = true;
  clearTimeout(timer);
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  let final: BpfSourceStats;
  try {
    final = await src.stop();
  } finally {
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const seconds = (Date.now() - t0) / 1000;

  // Insert the tables (and compress).
  let tables: CaptureResult['tables'];
  const blocks = recorder?.blocks() ?? [];
  if (recorder || gzip) {
    const tmp = gzip ? o.output : join(dirname(o.output), `.${basename(o.output)}.${process.pid}.tmp`);
    const tc = Date.now();
    try {
      await composeCapture(raw, tmp, blocks, gzip);
      if (tmp !== o.output) renameSync(tmp, o.output);
      if (raw !== o.output) unlinkSync(raw);
      if (recorder)
        tables = {
          threads: recorder.threads.length,
          fds: recorder.fds.length,
          users: recorder.users.length,
          groups: recorder.groups.length,
        };
      if (Date.now() - tc > 1000)
        say(`writing the tables${gzip ? ' and compressing' : ''} took ${Date.now() - tc} ms`);
    } catch (e) {
      say(
        `could not write the initial tables${gzip ? ' or compress' : ''}: ${(e as Error).message}; ${raw} holds the capture without them`,
      );
      try {
        if (tmp !== o.output) unlinkSync(tmp);
      } catch {
        // nothing to remove
      }
      return { ...fail(1), events: final.kernel.delivered };
    }
  }

  const k = final.kernel;
  const drops: Record<string, number> = {
    kernel_buffer_full: k.drops.buffer,
    kernel_event_too_large: k.drops.maxEventSize,
    kernel_no_scratch: k.drops.noScratch,
  };
  const dropsTotal = k.drops.buffer + k.drops.maxEventSize + k.drops.noScratch;
  let bytes = 0;
  try {
    bytes = statSync(o.output).size;
  } catch {
    // reported as 0
  }
  const result: CaptureResult = { exitCode: 0, events: k.delivered, bytes, drops };
  if (tables) result.tables = tables;
  const lines = [
    `stopped (${why === 'duration' ? 'duration reached' : why === 'command' ? 'the command exited' : why}) after ${seconds.toFixed(1)} s`,
    `wrote ${plural(k.delivered, 'event')} (${mib(bytes)}${gzip ? ` compressed, ${mib(k.bytes)} raw` : ''}) to ${o.output}`,
    dropsTotal === 0
      ? 'drops: 0'
      : `drops: ${dropsTotal} (${Object.entries(drops)
          .filter(([, v]) => v > 0)
          .map(([r, v]) => `${r}=${v}`)
          .join(' ')}); a larger ring buffer or fewer syscalls (-r RULES) help`,
  ];
  if (tables)
    lines.push(
      `initial tables: ${plural(tables.threads, 'thread')}, ${plural(tables.fds, 'fd')}, ${plural(tables.users, 'user')}, ${plural(tables.groups, 'group')}`,
    );
  if (commandExit) {
    result.commandExit = await commandExit;
    lines.push(`command ${shellJoin(o.command!)}: exit ${result.commandExit ?? 'unknown'}`);
    result.exitCode = result.commandExit ?? 1;
  }
  for (const l of lines) say(l);
  return result;
}
