/**
 * Extractors of the `syscall` source: one closure per field, built once when a rule is compiled.
 *
 * Each extractor reads the event model of `../event.ts` and follows libsinsp's filterchecks (and the
 * container plugin for `container.*` / `k8s.*`): which events a field applies to, when a value is
 * missing (`undefined`, printed `<NA>`) rather than empty, and how values are rendered as text. The
 * TSDoc comment above each group names the event members the fields read.
 *
 * Hot path: extractors allocate only when the value itself is new text (a joined command line, a
 * path); lookups by parameter name are short linear scans; arguments are parsed once per distinct
 * argument (a one-entry cache inside the closure).
 */
import type {
  ContainerInfo,
  ContainerMount,
  EventParam,
  FdInfo,
  FdType,
  SyscallEvent,
  ThreadInfo,
} from '../event.js';
import { errnoName } from './errno-names.js';
import { collapseSlashes, concatPaths, directoryOf, filenameOf } from './paths.js';
import { printableText } from './render.js';
import { ENTER_WITHOUT_FD, EVENT_INFO, GENERIC_SYSCALL_CATEGORY } from './syscall-event-info.generated.js';
import type { Extractor, FieldDef, FieldValue, Scalar } from './types.js';

type X = Extractor<SyscallEvent>;
type Factory = (def: FieldDef) => X;

const factories = new Map<string, Factory>();

/** A stateless extractor: the same closure serves every compiled use of the field. */
function field(name: string, fn: X): void {
  const guarded = needsThread(name) ? withThread(fn) : fn;
  factories.set(name, () => guarded);
}

/** An extractor that needs its own state (argument cache, previous event). */
function fieldWith(name: string, make: Factory): void {
  factories.set(name, needsThread(name) ? (def) => withThread(make(def)) : make);
}

/**
 * Fields libsinsp (and the container plugin) read from the event's thread: without one they have no
 * value. thread.tid comes from the event header, so it stays; fd.* need the thread's fd table.
 */
function needsThread(name: string): boolean {
  if (name === 'thread.tid') return false;
  return (
    name.startsWith('proc.') ||
    name.startsWith('thread.') ||
    name.startsWith('user.') ||
    name.startsWith('group.') ||
    name.startsWith('container.') ||
    name.startsWith('k8s.') ||
    name.startsWith('fd.') ||
    name === 'evt.abspath'
  );
}

/** No value when the source has no thread for the event (`ThreadInfo.missing`). */
function withThread(fn: X): X {
  return (e, arg) => (e.thread.missing === true ? undefined : fn(e, arg));
}

const MISSING: X = () => undefined;

/**
 * The extractor for a syscall field: `undefined` from the closure means "not available" (Falco's
 * NULL). Unknown names get an extractor that always answers `undefined`.
 */
export function syscallExtractor(def: FieldDef): X {
  const make = factories.get(def.name);
  return make ? make(def) : MISSING;
}

/** Names the extractor table covers (for tests: every table field has an extractor). */
export function syscallExtractorNames(): ReadonlySet<string> {
  return new Set(factories.keys());
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

const NS = 1_000_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const AT_FDCWD = -100;
/** Ancestor walks stop here: a parent chain this long can only be a loop. */
const MAX_DEPTH = 1024;

/** A 64-bit integer as a JS number when exact, else as bigint. */
function int64(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v;
}

function isNeg(v: number | bigint): boolean {
  return typeof v === 'bigint' ? v < 0n : v < 0;
}

/** Parses an index argument (`[2]`); `undefined` for anything that is not a plain number. */
function parseIndex(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^[0-9]+$/.test(arg)) return undefined;
  return Number(arg);
}

function findParam(e: SyscallEvent, name: string): EventParam | undefined {
  if (e.param) return e.param(name);
  const ps = e.params;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (p.name === name) return p;
  }
  return undefined;
}

function rawText(raw: EventParam['raw']): string {
  if (raw === undefined) return '';
  if (typeof raw === 'string') return raw;
  if (raw instanceof Uint8Array) return printableText(raw);
  return String(raw);
}

/** A parameter as `evt.arg` shows it: the resolved text when the source gave one. */
function paramText(p: EventParam): string {
  return p.text ?? rawText(p.raw);
}

/** A parameter's unresolved text (paths as the process passed them). */
function paramRawString(p: EventParam): string {
  if (typeof p.raw === 'string') return p.raw;
  return p.rawText ?? p.text ?? rawText(p.raw);
}

function paramInt(e: SyscallEvent, name: string): number | bigint | undefined {
  const r = e.paramRaw ? e.paramRaw(name) : findParam(e, name)?.raw;
  return typeof r === 'number' || typeof r === 'bigint' ? r : undefined;
}

function paramNum(e: SyscallEvent, name: string): number | undefined {
  const r = paramInt(e, name);
  return r === undefined ? undefined : Number(r);
}

function paramRawStr(e: SyscallEvent, name: string): string | undefined {
  const p = findParam(e, name);
  return p === undefined ? undefined : paramRawString(p);
}

const F_FD = 1;
const F_READ = 2;
const F_WRITE = 4;
const F_WAITS = 8;

/**
 * The event table flags of the event's own direction: the table merges both directions, and a few
 * enter events (setsockopt, fchown, ...) have no fd although their exit event has one.
 */
function eventFlags(e: SyscallEvent): number {
  const f = EVENT_INFO[e.type]?.[1] ?? 0;
  return e.dir === '>' && ENTER_WITHOUT_FD.has(e.type) ? f & ~F_FD : f;
}

/** The event's base category name from the event table (`FILE`, `IO_READ`, ...). */
function baseCategory(e: SyscallEvent): string {
  return EVENT_INFO[e.type]?.[0] ?? GENERIC_SYSCALL_CATEGORY[e.type] ?? 'UNKNOWN';
}

function isIoCategory(c: string): boolean {
  return c === 'IO_READ' || c === 'IO_WRITE' || c === 'IO_OTHER';
}

/** Events libsinsp does not count as system calls (tracepoints and meta events). */
const NOT_SYSCALL: ReadonlySet<string> = new Set([
  'procexit',
  'switch',
  'page_fault',
  'signaldeliver',
  'sched_process_exec',
  'sched_process_fork',
  'container',
  'notification',
  'pluginevent',
  'asyncevent',
  'tracer',
  'cpu_hotplug',
  'user_added',
  'user_deleted',
  'group_added',
  'group_deleted',
]);

/** Meta events (evt.is_async). */
const META_EVENTS: ReadonlySet<string> = new Set([
  'container',
  'asyncevent',
  'notification',
  'infra',
  'k8s',
  'mesos',
  'user_added',
  'user_deleted',
  'group_added',
  'group_deleted',
]);

// ---------------------------------------------------------------------------------------------
// evt.* (every event)
// Reads: num, ts, hostname.

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad9(n: number | bigint): string {
  return String(n).padStart(9, '0');
}

/** libsinsp's `ts_to_string`: local time of day (and date) from a ns timestamp. */
function localTimeString(ts: bigint, withDate: boolean, withNs: boolean): string {
  const sec = Number(ts / NS);
  const local = sec - new Date(sec * 1000).getTimezoneOffset() * 60;
  const s = ((local % 86400) + 86400) % 86400;
  let out = '';
  if (withDate) {
    const d = new Date((local - s) * 1000);
    out = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} `;
  }
  out += `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (withNs) out += `.${pad9(ts % NS)}`;
  return out;
}

/** libsinsp's `ts_to_iso_8601`: UTC with nanoseconds and a `+0000` offset. */
export function isoTimeString(ts: bigint): string {
  const d = new Date(Number(ts / NS) * 1000);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${pad9(ts % NS)}+0000`
  );
}

interface TimedEvent {
  num: number;
  ts: bigint;
  hostname?: string;
}

/**
 * The `evt.*` fields every event source has (libsinsp's generic event filtercheck), shared with the
 * k8s_audit source. Reads `num`, `ts`, `hostname`.
 */
export function commonEventExtractor(name: string, source: string): Extractor<TimedEvent> | undefined {
  switch (name) {
    case 'evt.num':
      return (e) => e.num;
    case 'evt.time':
    case 'evt.outputtime':
      return (e) => localTimeString(e.ts, false, true);
    case 'evt.time.s':
      return (e) => localTimeString(e.ts, false, false);
    case 'evt.time.iso8601':
      return (e) => isoTimeString(e.ts);
    case 'evt.datetime':
      return (e) => localTimeString(e.ts, true, true);
    case 'evt.datetime.s':
      return (e) => localTimeString(e.ts, true, false);
    case 'evt.rawtime':
      return (e) => int64(e.ts);
    case 'evt.rawtime.s':
      return (e) => int64(e.ts / NS);
    case 'evt.rawtime.ns':
      return (e) => Number(e.ts % NS);
    // The capture start time is not part of the event model: relative times are not available.
    case 'evt.reltime':
    case 'evt.reltime.s':
    case 'evt.reltime.ns':
      return () => undefined;
    // No plugin produced the event.
    case 'evt.pluginname':
    case 'evt.plugininfo':
      return () => undefined;
    case 'evt.source':
      return () => source;
    case 'evt.hostname':
      return (e) => e.hostname;
    default:
      return undefined;
  }
}

for (const name of [
  'evt.num',
  'evt.time',
  'evt.outputtime',
  'evt.time.s',
  'evt.time.iso8601',
  'evt.datetime',
  'evt.datetime.s',
  'evt.rawtime',
  'evt.rawtime.s',
  'evt.rawtime.ns',
  'evt.reltime',
  'evt.reltime.s',
  'evt.reltime.ns',
  'evt.pluginname',
  'evt.plugininfo',
  'evt.source',
  'evt.hostname',
]) {
  const fn = commonEventExtractor(name, 'syscall');
  if (fn) field(name, fn);
}
field('evt.is_async', (e) => META_EVENTS.has(e.type));
field('evt.asynctype', (e) => (META_EVENTS.has(e.type) ? e.type : undefined));

// ---------------------------------------------------------------------------------------------
// evt.* (system call events)
// Reads: type, dir, cpu, res, params (by name or position), category, fd (for I/O and category).

field('evt.type', (e) => e.type);
field('evt.dir', (e) => e.dir);
field('syscall.type', (e) =>
  NOT_SYSCALL.has(e.type) || baseCategory(e) === 'INTERNAL' ? undefined : e.type,
);
field('evt.cpu', (e) => e.cpu);

const CATEGORY_TEXT: Readonly<Record<string, string>> = {
  UNKNOWN: 'unknown',
  OTHER: 'other',
  FILE: 'file',
  NET: 'net',
  IPC: 'IPC',
  MEMORY: 'memory',
  PROCESS: 'process',
  SLEEP: 'sleep',
  SYSTEM: 'system',
  SIGNAL: 'signal',
  USER: 'user',
  TIME: 'time',
  PROCESSING: 'processing',
  WAIT: 'wait',
  SCHEDULER: 'scheduler',
  INTERNAL: 'internal',
  SYSCALL: 'syscall',
  TRACEPOINT: 'tracepoint',
  PLUGIN: 'plugin',
  METAEVENT: 'meta',
};

/** Sub-category of I/O events, from the kind of fd (libsinsp `get_category`). */
const IO_SUBCATEGORY: Readonly<Partial<Record<FdType, string>>> = {
  file: 'file',
  directory: 'file',
  ipv4: 'net',
  ipv6: 'net',
  pipe: 'ipc',
  unix: 'ipc',
  event: 'ipc',
  signalfd: 'ipc',
  inotify: 'ipc',
  userfaultfd: 'ipc',
};

function ioSubcategory(fd: FdInfo | undefined): string {
  return (fd && IO_SUBCATEGORY[fd.type]) ?? 'unknown';
}

field('evt.category', (e) => {
  if (e.category !== undefined) return e.category;
  const c = baseCategory(e);
  if (isIoCategory(c)) return ioSubcategory(resolveFd(e));
  return CATEGORY_TEXT[c] ?? 'unknown';
});

field('evt.args', eventArgs);
field('evt.info', eventArgs);

/**
 * libsinsp's `evt.args`: `name=value` per parameter, `name=raw(resolved)` when they differ, separated
 * by one space (current libsinsp drops the space after the last one; sysdig 0.29.3 kept it). Generic
 * syscall exit events print nothing: their ID parameter is internal.
 */
function eventArgs(e: SyscallEvent): string {
  let out = '';
  const ps = e.params;
  if (e.dir === '<' && ps[0]?.name === 'ID') return out;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (i > 0) out += ' ';
    const shown = paramText(p);
    if (p.rawText !== undefined && p.rawText !== shown && shown !== '')
      out += `${p.name}=${p.rawText}(${shown})`;
    else out += `${p.name}=${shown}`;
  }
  return out;
}

fieldWith('evt.arg', () => {
  let lastArg: string | undefined;
  let index: number | undefined;
  return (e, arg) => {
    if (arg === undefined) return undefined;
    if (arg !== lastArg) {
      lastArg = arg;
      index = parseIndex(arg);
    }
    const p = index !== undefined ? e.params[index] : findParam(e, arg);
    return p === undefined ? undefined : paramText(p);
  };
});

field('evt.rawarg', (e, arg) => {
  if (arg === undefined) return undefined;
  const p = findParam(e, arg);
  return p?.raw;
});

field('evt.type.is', (e, arg) => (arg !== undefined && e.type === arg ? 1 : 0));

// evt.around compares the event time against a window given in the condition; the event model gives
// no way to express it as a value comparison, so the field never matches.
field('evt.around', MISSING);

field('evt.buffer', (e) => {
  const raw = findParam(e, 'data')?.raw;
  if (raw === undefined) return undefined;
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw === 'string') return new TextEncoder().encode(raw);
  return undefined;
});

/** libsinsp: the I/O size (the return value) of exit I/O events that have an fd. */
function buflen(e: SyscallEvent, want: (cat: string, fd: FdInfo) => boolean): FieldValue {
  const fd = resolveFd(e);
  if (!fd || e.dir !== '<' || e.res === undefined || isNeg(e.res)) return undefined;
  const c = baseCategory(e);
  if (!isIoCategory(c) || !want(c, fd)) return undefined;
  return e.res;
}

const isNetFd = (fd: FdInfo): boolean => fd.type === 'ipv4' || fd.type === 'ipv6';
field('evt.buflen', (e) => buflen(e, () => true));
field('evt.buflen.in', (e) => buflen(e, (c) => c === 'IO_READ'));
field('evt.buflen.out', (e) => buflen(e, (c) => c === 'IO_WRITE'));
field('evt.buflen.file', (e) => buflen(e, (_c, fd) => fd.type === 'file'));
field('evt.buflen.file.in', (e) => buflen(e, (c, fd) => c === 'IO_READ' && fd.type === 'file'));
field('evt.buflen.file.out', (e) => buflen(e, (c, fd) => c === 'IO_WRITE' && fd.type === 'file'));
field('evt.buflen.net', (e) => buflen(e, (_c, fd) => isNetFd(fd)));
field('evt.buflen.net.in', (e) => buflen(e, (c, fd) => c === 'IO_READ' && isNetFd(fd)));
field('evt.buflen.net.out', (e) => buflen(e, (c, fd) => c === 'IO_WRITE' && isNetFd(fd)));

field('evt.res', (e) => {
  const res = e.res;
  if (res === undefined) return undefined;
  if (!isNeg(res)) return 'SUCCESS';
  const n = -Number(res);
  return errnoName(n) ?? String(res);
});
field('evt.rawres', (e) => e.res);
// Current libsinsp computes evt.failed like evt.count.error: no value without a return value (enter
// events, procexit...). sysdig 0.29.3 printed false there.
field('evt.failed', (e) => (e.res === undefined ? undefined : isNeg(e.res)));

field('evt.is_io', (e) => (eventFlags(e) & (F_READ | F_WRITE)) !== 0);
field('evt.is_io_read', (e) => (eventFlags(e) & F_READ) !== 0);
field('evt.is_io_write', (e) => (eventFlags(e) & F_WRITE) !== 0);
field('evt.io_dir', (e) => {
  const f = eventFlags(e);
  if (f & F_WRITE) return 'write';
  if (f & F_READ) return 'read';
  return undefined;
});
field('evt.is_wait', (e) => (eventFlags(e) & F_WAITS) !== 0);
field('evt.is_syslog', (e) => {
  if (!(eventFlags(e) & F_WRITE)) return false;
  const fd = resolveFd(e);
  return fd !== undefined && fd.name.includes('/dev/log');
});

// Deprecated since Falco dropped enter events: libsinsp keeps them at zero.
field('evt.latency', () => 0);
field('evt.latency.s', () => 0);
field('evt.latency.ns', () => 0);
field('evt.latency.human', () => '0ns');
field('evt.wait_latency', () => 0);

/** libsinsp keeps the previous timestamp in the field itself: the delta is per compiled use. */
function deltaField(name: string, part: (d: bigint) => bigint): void {
  fieldWith(name, () => {
    let last = 0n;
    return (e) => {
      const ts = e.ts;
      const d = last === 0n ? 0n : ts - last;
      last = ts;
      return int64(part(d));
    };
  });
}
deltaField('evt.deltatime', (d) => d);
deltaField('evt.deltatime.s', (d) => d / NS);
deltaField('evt.deltatime.ns', (d) => d % NS);

field('evt.count', () => 1);

/** 1 when the call failed, 0 when it succeeded; missing when the event has no return value. */
function errorCount(e: SyscallEvent): FieldValue {
  return e.res === undefined ? undefined : isNeg(e.res) ? 1 : 0;
}
const OPEN_LIKE: ReadonlySet<string> = new Set(['open', 'creat', 'openat', 'openat2', 'open_by_handle_at']);
const CONNECT_LIKE: ReadonlySet<string> = new Set(['accept', 'accept4', 'connect']);
const isFileFd = (fd: FdInfo): boolean => fd.type === 'file' || fd.type === 'directory';
const isNetOrUnixFd = (fd: FdInfo): boolean => fd.type === 'ipv4' || fd.type === 'ipv6' || fd.type === 'unix';

field('evt.count.error', errorCount);
field('evt.count.error.file', (e) => {
  const fd = resolveFd(e);
  if (fd) return isFileFd(fd) ? errorCount(e) : undefined;
  return OPEN_LIKE.has(e.type) ? errorCount(e) : undefined;
});
field('evt.count.error.net', (e) => {
  const fd = resolveFd(e);
  if (fd) return isNetOrUnixFd(fd) ? errorCount(e) : undefined;
  return CONNECT_LIKE.has(e.type) ? errorCount(e) : undefined;
});
field('evt.count.error.memory', (e) => (baseCategory(e) === 'MEMORY' ? errorCount(e) : undefined));
field('evt.count.error.other', (e) => {
  const fd = resolveFd(e);
  if (fd) return isFileFd(fd) || isNetOrUnixFd(fd) ? undefined : errorCount(e);
  if (OPEN_LIKE.has(e.type) || CONNECT_LIKE.has(e.type) || baseCategory(e) === 'MEMORY') return undefined;
  return errorCount(e);
});
field('evt.count.exit', (e) => (e.dir === '<' ? 1 : undefined));
field('evt.count.procinfo', (e) => (e.type === 'procinfo' && e.thread.tid === e.thread.pid ? 1 : 0));
field('evt.count.threadinfo', (e) => (e.type === 'procinfo' ? 1 : 0));

// Open flags in the driver's encoding (PPM_O_*), as the `flags` parameter carries them.
const PPM_O_RDONLY = 1;
const PPM_O_WRONLY = 2;
const PPM_O_CREAT = 4;
const PPM_O_TMPFILE = 8192;
const PPM_O_F_CREATED = 16384;
const PPM_FD_UPPER_LAYER = 32768;
const PPM_FD_LOWER_LAYER = 65536;
const EXEC_BITS = 0o111;
const OPEN_EVENTS: ReadonlySet<string> = new Set(['open', 'openat', 'openat2', 'open_by_handle_at']);

function openFlags(e: SyscallEvent): number {
  return paramNum(e, 'flags') ?? e.fd?.openFlags ?? 0;
}

field(
  'evt.is_open_read',
  (e) => e.dir === '<' && OPEN_EVENTS.has(e.type) && (openFlags(e) & PPM_O_RDONLY) !== 0,
);
field(
  'evt.is_open_write',
  (e) => e.dir === '<' && OPEN_EVENTS.has(e.type) && (openFlags(e) & PPM_O_WRONLY) !== 0,
);
field('evt.is_open_exec', (e) => {
  if (e.dir !== '<') return false;
  if (e.type === 'creat') return ((paramNum(e, 'mode') ?? 0) & EXEC_BITS) !== 0;
  if (!OPEN_EVENTS.has(e.type) || e.type === 'open_by_handle_at') return false;
  if ((openFlags(e) & (PPM_O_TMPFILE | PPM_O_CREAT)) === 0) return false;
  const mode = paramNum(e, 'mode');
  return mode !== undefined && (mode & EXEC_BITS) !== 0;
});
field('evt.is_open_create', (e) => {
  if (e.dir !== '<' || !OPEN_EVENTS.has(e.type)) return false;
  const flags = openFlags(e);
  if (flags & PPM_O_F_CREATED) return true;
  return (flags & PPM_O_TMPFILE) !== 0 && e.res !== undefined && !isNeg(e.res);
});

/** Directory a `*at` call resolves a relative path against (libsinsp `parse_dirfd`). */
function dirfdPath(e: SyscallEvent, path: string, dirfd: number | undefined): string | undefined {
  if (path.startsWith('/')) return '/';
  if (dirfd === AT_FDCWD) return e.thread.cwd;
  if (dirfd === undefined) return undefined;
  const dir = e.thread.fds?.get(dirfd);
  if (!dir) return '<UNKNOWN>/';
  return dir.name.endsWith('/') ? dir.name : `${dir.name}/`;
}

function joinDir(dir: string | undefined, path: string): string {
  if (dir === undefined) return path;
  // An unresolved directory is kept as text, as libsinsp prints it.
  if (!dir.startsWith('/')) return dir + path;
  return concatPaths(dir, path);
}

/** evt.abspath: which (dirfd, path) parameter pair each event uses; index 1 = src, 2 = dst. */
const ABSPATH_PARAMS: Readonly<Record<string, readonly [dirfd: string, path: string][]>> = {
  renameat: [
    ['olddirfd', 'oldpath'],
    ['newdirfd', 'newpath'],
  ],
  renameat2: [
    ['olddirfd', 'oldpath'],
    ['newdirfd', 'newpath'],
  ],
  linkat: [
    ['olddir', 'oldpath'],
    ['newdir', 'newpath'],
  ],
  symlinkat: [['linkdirfd', 'linkpath']],
  openat: [['dirfd', 'name']],
  openat2: [['dirfd', 'name']],
  unlinkat: [['dirfd', 'name']],
  mkdirat: [['dirfd', 'path']],
  fchmodat: [['dirfd', 'filename']],
  fchownat: [['dirfd', 'pathname']],
};

field('evt.abspath', (e, arg) => {
  if (e.dir !== '<') return undefined;
  const which = arg === 'dst' ? 2 : 1;
  if (e.type === 'open_by_handle_at') {
    const res = e.res;
    const path = paramRawStr(e, 'path');
    if (res === undefined || isNeg(res) || res === 0 || path === undefined) return undefined;
    return concatPaths('/', path);
  }
  const pairs = ABSPATH_PARAMS[e.type];
  if (!pairs) return undefined;
  // Only the two-path calls look at the argument: dst picks the second pair.
  const pair = pairs.length > 1 && which === 2 ? pairs[1]! : pairs[0]!;
  const dirfd = paramNum(e, pair[0]);
  const path = paramRawStr(e, pair[1]);
  if (dirfd === undefined || path === undefined || path === '') return undefined;
  return joinDir(dirfdPath(e, path, dirfd), path);
});

// ---------------------------------------------------------------------------------------------
// proc.* / thread.*
// Reads: thread (comm, exe, exepath, args, env, cwd, tty, ids, startTs, capabilities, exe flags,
// exe inode data, fds, parent chain, sessionLeader), ts.

type TGet<T> = (t: ThreadInfo) => T | undefined;

function cmdline(t: ThreadInfo): string {
  let s = t.comm;
  for (const a of t.args) s += ` ${a}`;
  return s;
}

function argsText(t: ThreadInfo): string {
  return t.args.join(' ');
}

/** libsinsp `concatenate_all_env`: non-empty entries joined with spaces. */
function allEnv(t: ThreadInfo): string | undefined {
  const env = t.env;
  if (env === undefined) return undefined;
  let s = '';
  for (const v of env) {
    if (v === '') continue;
    if (s !== '') s += ' ';
    s += v;
  }
  return s;
}

/** libsinsp `get_env`: the value of NAME, empty when unset. */
function envValue(t: ThreadInfo, name: string): string | undefined {
  const env = t.env;
  if (env === undefined) return undefined;
  const prefix = `${name}=`;
  for (const v of env) if (v.startsWith(prefix)) return v.slice(prefix.length);
  return '';
}

/** libsinsp's pid/tid sanity check: ids outside [-1, 2^32-1] come from sources that cannot map them. */
function xid(v: number | undefined): number | undefined {
  return v !== undefined && v >= -1 && v <= 0xffffffff ? v : undefined;
}

function ancestorAt(t: ThreadInfo, level: number): ThreadInfo | undefined {
  let cur: ThreadInfo | undefined = t;
  for (let i = 0; i < level && cur; i++) cur = cur.parent;
  return cur;
}

/** `[own value, parent's, grandparent's, ...]` for the multi-value (`'ancestors'`) form. */
function lineage(t: ThreadInfo, get: TGet<Scalar>, missing: Scalar): Scalar[] {
  const out: Scalar[] = [];
  let cur: ThreadInfo | undefined = t;
  for (let depth = 0; cur && depth < MAX_DEPTH; depth++) {
    out.push(get(cur) ?? missing);
    cur = cur.parent;
    if (cur === t) break;
  }
  return out;
}

/** proc.aname & co: `[N]` is the Nth ancestor (0 = self); no argument gives the lineage. */
function ancestorField(name: string, get: TGet<Scalar>, missing: Scalar): void {
  fieldWith(name, () => {
    let lastArg: string | undefined;
    let level: number | undefined;
    return (e, arg) => {
      if (arg === undefined) return lineage(e.thread, get, missing);
      if (arg !== lastArg) {
        lastArg = arg;
        level = parseIndex(arg);
      }
      if (level === undefined) return undefined;
      const a = ancestorAt(e.thread, level);
      return a === undefined ? undefined : get(a);
    };
  });
}

ancestorField('proc.aname', (t) => t.comm, '');
ancestorField('proc.aexe', (t) => t.exe, '');
ancestorField('proc.aexepath', (t) => t.exepath, '');
ancestorField('proc.acmdline', cmdline, '');
ancestorField('proc.aargs', argsText, '');
ancestorField('proc.apid', (t) => xid(t.pid), -1);

fieldWith('proc.aenv', () => {
  let lastArg: string | undefined;
  let level: number | undefined;
  return (e, arg) => {
    const t = e.thread;
    if (arg === undefined) return lineage(t, allEnv, '');
    if (arg !== lastArg) {
      lastArg = arg;
      level = parseIndex(arg);
    }
    if (level !== undefined) {
      const a = ancestorAt(t, level);
      return a === undefined ? undefined : allEnv(a);
    }
    // [NAME]: the first ancestor (not the process itself, at most 20 levels) that sets it.
    let cur = t.parent;
    for (let i = 0; i < 20 && cur; i++, cur = cur.parent) {
      const v = envValue(cur, arg);
      if (v) return v;
    }
    return '';
  };
});

field('proc.name', (e) => e.thread.comm);
field('proc.exe', (e) => e.thread.exe);
field('proc.exepath', (e) => e.thread.exepath);
field('proc.args', (e) => argsText(e.thread));
field('proc.cmdline', (e) => cmdline(e.thread));
field('proc.exeline', (e) => {
  const t = e.thread;
  return `${t.exe} ${argsText(t)}`;
});
field('proc.cmdnargs', (e) => e.thread.args.length);
field('proc.cmdlenargs', (e) => {
  let n = 0;
  for (const a of e.thread.args) n += a.length;
  return n;
});
field('proc.env', (e, arg) =>
  arg === undefined || /^[0-9]+$/.test(arg) ? allEnv(e.thread) : envValue(e.thread, arg),
);
field('proc.cwd', (e) => e.thread.cwd);
field('proc.tty', (e) => e.thread.tty);

field('proc.pname', (e) => e.thread.parent?.comm);
field('proc.pexe', (e) => e.thread.parent?.exe);
field('proc.pexepath', (e) => e.thread.parent?.exepath);
field('proc.pcmdline', (e) => {
  const p = e.thread.parent;
  return p === undefined ? undefined : cmdline(p);
});

field('proc.pid', (e) => xid(e.thread.pid));
field('proc.ppid', (e) => xid(e.thread.ppid ?? e.thread.parent?.pid));
field('proc.vpid', (e) => e.thread.vpid);
field('proc.pvpid', (e) => e.thread.parent?.vpid);
field('thread.tid', (e) => xid(e.thread.tid));
field('thread.vtid', (e) => e.thread.vtid);
field('thread.ismain', (e) => e.thread.tid === e.thread.pid);
field('thread.nametid', (e) => `${e.thread.comm}${e.thread.tid}`);
field('proc.sid', (e) => e.thread.sid);
field('proc.vpgid', (e) => e.thread.vpgid);
field('proc.pgid', (e) => e.thread.pgid);

/** Session leader: the known leader, else the eldest ancestor in the same session. */
function sessionLeader(t: ThreadInfo): ThreadInfo | undefined {
  if (t.sessionLeader) return t.sessionLeader;
  return eldestWithSame(t, 'sid', 'pid');
}

/**
 * The leader of the group `key` of `t`: an ancestor whose id (`idKey`) equals the group id, else the
 * eldest ancestor still in the same group (libsinsp's fallback when the leader is gone).
 */
function eldestWithSame(
  t: ThreadInfo,
  key: 'sid' | 'vpgid' | 'pgid',
  idKey: 'pid' | 'vpid',
): ThreadInfo | undefined {
  const id = t[key];
  if (id === undefined) return undefined;
  let leader = t;
  let cur: ThreadInfo | undefined = t;
  for (let depth = 0; cur && depth < MAX_DEPTH; depth++) {
    if ((cur[idKey] ?? cur.pid) === id) return cur;
    if (cur !== t) {
      if (cur[key] !== id) break;
      leader = cur;
    }
    cur = cur.parent;
    if (cur === t) break;
  }
  return leader;
}

function leaderField(name: string, find: (t: ThreadInfo) => ThreadInfo | undefined, get: TGet<string>): void {
  field(name, (e) => {
    const l = find(e.thread);
    return l === undefined ? undefined : get(l);
  });
}
leaderField('proc.sname', sessionLeader, (t) => t.comm);
leaderField('proc.sid.exe', sessionLeader, (t) => t.exe);
leaderField('proc.sid.exepath', sessionLeader, (t) => t.exepath);
const vpgidLeader = (t: ThreadInfo): ThreadInfo | undefined => eldestWithSame(t, 'vpgid', 'vpid');
const pgidLeader = (t: ThreadInfo): ThreadInfo | undefined => eldestWithSame(t, 'pgid', 'pid');
leaderField('proc.vpgid.name', vpgidLeader, (t) => t.comm);
leaderField('proc.vpgid.exe', vpgidLeader, (t) => t.exe);
leaderField('proc.vpgid.exepath', vpgidLeader, (t) => t.exepath);
leaderField('proc.pgid.name', pgidLeader, (t) => t.comm);
leaderField('proc.pgid.exe', pgidLeader, (t) => t.exe);
leaderField('proc.pgid.exepath', pgidLeader, (t) => t.exepath);

field('proc.is_sid_leader', (e) => {
  const t = e.thread;
  return t.sid === undefined ? undefined : t.sid === (t.vpid ?? t.pid);
});
field('proc.is_vpgid_leader', (e) => {
  const t = e.thread;
  return t.vpgid === undefined ? undefined : t.vpgid === (t.vpid ?? t.pid);
});
field('proc.is_pgid_leader', (e) => {
  const t = e.thread;
  return t.pgid === undefined ? undefined : t.pgid === t.pid;
});

field('proc.loginshellid', (e) => {
  // The eldest shell (name ending in "sh") among the process and its ancestors.
  let found: number | undefined;
  let cur: ThreadInfo | undefined = e.thread;
  for (let depth = 0; cur && depth < MAX_DEPTH; depth++) {
    if (cur.comm.endsWith('sh')) found = cur.pid;
    cur = cur.parent;
    if (cur === e.thread) break;
  }
  return found;
});

function sinceStart(e: SyscallEvent, start: bigint | undefined): FieldValue {
  return start === undefined || start === 0n ? undefined : int64(e.ts - start);
}
field('proc.duration', (e) => sinceStart(e, e.thread.startTs));
field('proc.ppid.duration', (e) => sinceStart(e, e.thread.parent?.startTs));
field('proc.pid.ts', (e) => {
  const s = e.thread.startTs;
  return s === undefined || s === 0n ? undefined : int64(s);
});
field('proc.ppid.ts', (e) => {
  const s = e.thread.parent?.startTs;
  return s === undefined ? undefined : int64(s);
});

field('proc.is_exe_writable', (e) => e.thread.isExeWritable);
field('proc.is_exe_upper_layer', (e) => e.thread.isExeUpperLayer);
field('proc.is_exe_lower_layer', (e) => e.thread.isExeLowerLayer);
field('proc.is_exe_from_memfd', (e) => e.thread.isExeFromMemfd);
/** Inode data: libsinsp treats 0 as "not known". */
function nonZero(v: number | bigint | undefined): FieldValue {
  if (v === undefined || v === 0 || v === 0n) return undefined;
  return typeof v === 'bigint' ? int64(v) : v;
}
field('proc.exe_ino', (e) => nonZero(e.thread.exeIno));
field('proc.exe_ino.ctime', (e) => nonZero(e.thread.exeInoCtime));
field('proc.exe_ino.mtime', (e) => nonZero(e.thread.exeInoMtime));
field('proc.exe_ino.ctime_duration_proc_start', (e) => {
  const t = e.thread;
  if (!t.exeInoCtime || !t.startTs || t.startTs <= t.exeInoCtime) return undefined;
  return int64(t.startTs - t.exeInoCtime);
});
field('proc.exe_ino.ctime_duration_pidns_start', (e) => {
  const t = e.thread;
  if (!t.exeInoCtime || !t.pidnsInitStartTs || t.exeInoCtime <= t.pidnsInitStartTs) return undefined;
  return int64(t.exeInoCtime - t.pidnsInitStartTs);
});
field('proc.pidns_init_start_ts', (e) => nonZero(e.thread.pidnsInitStartTs));

/** Linux capability names by bit number (linux/capability.h). */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** libsinsp `caps_to_string`: the names of the set bits, in bit order, separated by spaces. */
export function capabilitiesText(mask: bigint): string {
  let s = '';
  for (let i = 0; i < CAPABILITIES.length; i++) {
    if ((mask >> BigInt(i)) & 1n) s += s === '' ? CAPABILITIES[i]! : ` ${CAPABILITIES[i]!}`;
  }
  return s;
}

/** Capability masks change rarely: remember the last rendering per field. */
function capField(name: string, get: TGet<bigint>): void {
  fieldWith(name, () => {
    let lastMask: bigint | undefined;
    let lastText = '';
    return (e) => {
      const m = get(e.thread);
      if (m === undefined) return undefined;
      if (m !== lastMask) {
        lastMask = m;
        lastText = capabilitiesText(m);
      }
      return lastText;
    };
  });
}
capField('thread.cap_permitted', (t) => t.capPermitted);
capField('thread.cap_inheritable', (t) => t.capInheritable);
capField('thread.cap_effective', (t) => t.capEffective);

field('proc.fdopencount', (e) => e.thread.fds?.size);

// Resource accounting, scheduler and cgroup data are not part of the event model.
for (const name of [
  'proc.fdlimit',
  'proc.fdusage',
  'proc.vmsize',
  'proc.vmrss',
  'proc.vmswap',
  'thread.pfmajor',
  'thread.pfminor',
  'thread.exectime',
  'thread.totexectime',
  'thread.cgroups',
  'thread.cgroup',
  'proc.nthreads',
  'proc.nchilds',
  'thread.cpu',
  'thread.cpu.user',
  'thread.cpu.system',
  'thread.vmsize',
  'thread.vmrss',
  'thread.vmsize.b',
  'thread.vmrss.b',
]) {
  field(name, MISSING);
}

function stdField(name: string, fdnum: number, get: (fd: FdInfo) => string): void {
  field(name, (e) => {
    const fd = e.thread.fds?.get(fdnum);
    return fd === undefined ? undefined : get(fd);
  });
}
stdField('proc.stdin.type', 0, (fd) => fdTypeString(fd.type));
stdField('proc.stdout.type', 1, (fd) => fdTypeString(fd.type));
stdField('proc.stderr.type', 2, (fd) => fdTypeString(fd.type));
stdField('proc.stdin.name', 0, (fd) => fd.name);
stdField('proc.stdout.name', 1, (fd) => fd.name);
stdField('proc.stderr.name', 2, (fd) => fd.name);

// ---------------------------------------------------------------------------------------------
// user.* / group.*
// Reads: thread.uid, userName, homedir, shell, loginuid, loginName, gid, groupName.

field('user.uid', (e) => e.thread.uid);
field('user.name', (e) => e.thread.userName);
field('user.homedir', (e) => e.thread.homedir);
field('user.shell', (e) => e.thread.shell);
field('user.loginuid', (e) => {
  const l = e.thread.loginuid;
  if (l === undefined) return undefined;
  // An unset loginuid is (uint32)-1; libsinsp shows it as -1.
  return l < 0 || l >= 0xffffffff ? -1 : l;
});
field('user.loginname', (e) => e.thread.loginName);
field('group.gid', (e) => e.thread.gid);
field('group.name', (e) => e.thread.groupName);

// ---------------------------------------------------------------------------------------------
// fd.*
// Reads: fd (or, when absent, thread.fds at the `fd` parameter), type, dir, params of fd-creating
// calls (name, tuple, dirfd, path) for failed calls, thread.cwd, thread.tid, container id.

/** Whether the event creates, uses or closes an fd (libsinsp evaluates fd.* only on those). */
function isFdEvent(e: SyscallEvent): boolean {
  return e.fd !== undefined || (eventFlags(e) & F_FD) !== 0;
}

/** The fd the event acts on: `event.fd`, else the fd table entry of its `fd` parameter. */
function resolveFd(e: SyscallEvent): FdInfo | undefined {
  if (e.fd) return e.fd;
  if (!(eventFlags(e) & F_FD)) return undefined;
  const fds = e.thread.fds;
  if (!fds) return undefined;
  const n = paramNum(e, 'fd');
  return n === undefined || n < 0 ? undefined : fds.get(n);
}

/**
 * libsinsp's fd.num: the thread's last event fd. The state engine keeps it on the thread
 * (`ThreadInfo.lastEventFd`); for events from sources that do not, it is derived the same way: the fd
 * parameter of an enter event that uses one, -1 on other enter events (a call that will create an
 * fd), the event's fd on an exit, -1 on a failed creating call (whose fd parameter is the error).
 */
function lastEventFd(e: SyscallEvent): number {
  const kept = e.thread.lastEventFd;
  if (kept !== undefined) return kept;
  if (e.dir === '>') {
    const first = e.params[0];
    return first?.name === 'fd' && typeof first.raw === 'number' ? first.raw : -1;
  }
  if (e.fd) return e.fd.num;
  const n = paramNum(e, 'fd');
  if (n === undefined) return -1;
  // A creating call's exit carries the new fd (or the error) as its first parameter.
  return n < 0 && e.params[0]?.name === 'fd' ? -1 : n;
}

const TYPECHAR: Readonly<Record<FdType, string>> = {
  file: 'f',
  directory: 'd',
  ipv4: '4',
  ipv6: '6',
  unix: 'u',
  pipe: 'p',
  event: 'e',
  signalfd: 's',
  eventpoll: 'l',
  inotify: 'i',
  timerfd: 't',
  netlink: 'n',
  bpf: 'b',
  userfaultfd: 'u',
  io_uring: 'r',
  memfd: 'm',
  pidfd: 'P',
  unknown: 'o',
};

/** libsinsp `get_typestring`: the kind names, `<NA>` (as text) for kinds it does not model. */
function fdTypeString(t: FdType): string {
  return t === 'unknown' ? '<NA>' : t;
}

/** Type letter of the fd a failed creating call would have made (libsinsp, by enter event type). */
const CREATOR_TYPECHAR: Readonly<Record<string, string>> = {
  open: 'f',
  openat: 'f',
  openat2: 'f',
  creat: 'f',
  socket: '4',
  accept: '4',
  accept4: '4',
  pipe: 'p',
  pipe2: 'p',
  eventfd: 'e',
  eventfd2: 'e',
  signalfd: 's',
  signalfd4: 's',
  timerfd_create: 't',
  inotify_init: 'i',
  inotify_init1: 'i',
};

/**
 * The name of the fd an exit event of an fd-creating call refers to, from its parameters (used when
 * the call failed and there is no fd): the path of open/creat, the tuple of accept/connect.
 * Other exit events give an empty name, enter events none.
 */
function creatorName(e: SyscallEvent, raw: boolean): string | undefined {
  if (e.dir !== '<') return undefined;
  switch (e.type) {
    case 'open':
    case 'creat': {
      const p = findParam(e, 'name');
      return p === undefined ? '' : paramText(p);
    }
    case 'accept':
    case 'accept4':
    case 'connect': {
      const p = findParam(e, 'tuple');
      return p === undefined ? '' : paramText(p);
    }
    case 'openat':
    case 'openat2': {
      const name = paramRawStr(e, 'name');
      if (name === undefined) return '';
      if (raw) return name;
      return joinDir(dirfdPath(e, name, paramNum(e, 'dirfd')), name);
    }
    case 'open_by_handle_at':
      return paramRawStr(e, 'path') ?? '';
    default:
      return '';
  }
}

/** fd.name: the fd's name; for failed connects and missing fds, the name from the call's parameters. */
function fdName(e: SyscallEvent): string | undefined {
  if (!isFdEvent(e)) return undefined;
  const fd = resolveFd(e);
  if (!fd || (e.type === 'connect' && e.res !== undefined && isNeg(e.res))) return creatorName(e, false);
  return fd.name;
}

function fdDirectory(e: SyscallEvent): string | undefined {
  if (!isFdEvent(e)) return undefined;
  const fd = resolveFd(e);
  if (!fd) {
    const name = creatorName(e, false);
    return name === undefined ? undefined : directoryOf(name);
  }
  if (fd.type === 'directory') return fd.name;
  if (fd.type !== 'file') return undefined;
  return directoryOf(fd.name);
}

/** Container id as libsinsp keeps it on the thread (empty on the host). */
function threadContainerId(e: SyscallEvent): string {
  const id = e.container?.id ?? e.thread.containerId ?? '';
  return id === 'host' ? '' : id;
}

field('fd.num', (e) => (isFdEvent(e) ? lastEventFd(e) : undefined));
field('fd.type', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd === undefined ? undefined : fdTypeString(fd.type);
});
field('fd.typechar', (e) => {
  if (!isFdEvent(e)) return undefined;
  const fd = resolveFd(e);
  if (fd) return TYPECHAR[fd.type];
  return CREATOR_TYPECHAR[e.type] ?? 'o';
});
field('fd.name', fdName);
field('fd.directory', fdDirectory);
field('fd.filename', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  if (!fd || fd.type !== 'file') return undefined;
  return filenameOf(fd.name);
});
field('fd.nameraw', (e) => {
  if (!isFdEvent(e)) return undefined;
  const fd = resolveFd(e);
  if (!fd) {
    const name = creatorName(e, true);
    return name === undefined ? undefined : collapseSlashes(name);
  }
  const raw = fd.nameRaw ?? (fd.type === 'file' || fd.type === 'directory' ? fd.name : '');
  return collapseSlashes(raw);
});
field('fd.containername', (e) => {
  const name = fdName(e);
  return name === undefined ? undefined : `${threadContainerId(e)}:${name}`;
});
field('fd.containerdirectory', (e) => {
  const dir = fdDirectory(e);
  return dir === undefined ? undefined : `${threadContainerId(e)}:${dir}`;
});
field('fd.uid', (e) => (isFdEvent(e) ? `${e.thread.tid}${lastEventFd(e)}` : undefined));

/** The fd when it is an IPv4/IPv6 socket. */
function ipSocket(e: SyscallEvent): FdInfo | undefined {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd && (fd.type === 'ipv4' || fd.type === 'ipv6') ? fd : undefined;
}

/** A listening (server) socket has only the server address (libsinsp SERVSOCK). */
function isListening(fd: FdInfo): boolean {
  return fd.cip === undefined && fd.sip !== undefined;
}

/** Connected IP socket: client and server known. */
function tupleSocket(e: SyscallEvent): FdInfo | undefined {
  const fd = ipSocket(e);
  return fd && !isListening(fd) ? fd : undefined;
}

/**
 * Local side of a connection: the server side when this process accepted it (`isServer`), else the
 * client side (libsinsp asks whether the client address belongs to this host).
 */
function localIsServer(fd: FdInfo): boolean {
  return fd.isServer === true;
}

field('fd.cip', (e) => tupleSocket(e)?.cip);
field('fd.sip', (e) => ipSocket(e)?.sip);
field('fd.cnet', (e) => tupleSocket(e)?.cip);
field('fd.snet', (e) => ipSocket(e)?.sip);
field('fd.cport', (e) => tupleSocket(e)?.cport);
field('fd.sport', (e) => ipSocket(e)?.sport);
field('fd.lip', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.sip : fd.cip;
});
field('fd.rip', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.cip : fd.sip;
});
field('fd.lnet', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.sip : fd.cip;
});
field('fd.rnet', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.cip : fd.sip;
});
field('fd.lport', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.sport : fd.cport;
});
field('fd.rport', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : localIsServer(fd) ? fd.cport : fd.sport;
});

function portText(p: number | undefined): string | undefined {
  return p === undefined ? undefined : String(p);
}
field('fd.cproto', (e) => portText(tupleSocket(e)?.cport));
field('fd.sproto', (e) => portText(ipSocket(e)?.sport));
field('fd.lproto', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : portText(localIsServer(fd) ? fd.sport : fd.cport);
});
field('fd.rproto', (e) => {
  const fd = tupleSocket(e);
  return fd === undefined ? undefined : portText(localIsServer(fd) ? fd.cport : fd.sport);
});

/** fd.ip / fd.net / fd.port / fd.proto: both ends (multiValue 'either-end'). */
function bothEnds(
  e: SyscallEvent,
  client: (fd: FdInfo) => Scalar | undefined,
  server: (fd: FdInfo) => Scalar | undefined,
): FieldValue {
  const fd = ipSocket(e);
  if (!fd) return undefined;
  const c = isListening(fd) ? undefined : client(fd);
  const s = server(fd);
  if (c !== undefined && s !== undefined) return [c, s];
  if (c !== undefined) return [c];
  if (s !== undefined) return [s];
  return undefined;
}
const cipOf = (fd: FdInfo): string | undefined => fd.cip;
const sipOf = (fd: FdInfo): string | undefined => fd.sip;
const cportOf = (fd: FdInfo): number | undefined => fd.cport;
const sportOf = (fd: FdInfo): number | undefined => fd.sport;
field('fd.ip', (e) => bothEnds(e, cipOf, sipOf));
field('fd.net', (e) => bothEnds(e, cipOf, sipOf));
field('fd.port', (e) => bothEnds(e, cportOf, sportOf));
field('fd.proto', (e) => bothEnds(e, cportOf, sportOf));

field('fd.l4proto', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  if (!fd) return undefined;
  if (fd.type === 'ipv4' || fd.type === 'ipv6') return fd.l4proto ?? '<NA>';
  return '<NA>';
});
field('fd.sockfamily', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  if (!fd) return undefined;
  if (fd.type === 'ipv4' || fd.type === 'ipv6') return 'ip';
  return fd.type === 'unix' ? 'unix' : undefined;
});
field('fd.is_server', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  if (!fd) return undefined;
  if (fd.type !== 'ipv4' && fd.type !== 'ipv6') return false;
  return isListening(fd) || fd.isServer === true;
});
field('fd.connected', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd === undefined ? undefined : fd.connected === true;
});
field('fd.name_changed', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd === undefined ? undefined : fd.nameChanged === true;
});
// No DNS resolution in the engine.
field('fd.cip.name', MISSING);
field('fd.sip.name', MISSING);
field('fd.lip.name', MISSING);
field('fd.rip.name', MISSING);

field('fd.dev', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  if (!fd || fd.devMajor === undefined || fd.devMinor === undefined) return undefined;
  // The kernel's dev_t layout libsinsp uses: 12 bits of major above 20 bits of minor.
  return ((fd.devMajor & 0xfff) << 20) | (fd.devMinor & 0xfffff);
});
field('fd.dev.major', (e) => (isFdEvent(e) ? resolveFd(e)?.devMajor : undefined));
field('fd.dev.minor', (e) => (isFdEvent(e) ? resolveFd(e)?.devMinor : undefined));
field('fd.ino', (e) => (isFdEvent(e) ? resolveFd(e)?.ino : undefined));
field('fd.is_upper_layer', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd === undefined ? undefined : ((fd.openFlags ?? 0) & PPM_FD_UPPER_LAYER) !== 0;
});
field('fd.is_lower_layer', (e) => {
  const fd = isFdEvent(e) ? resolveFd(e) : undefined;
  return fd === undefined ? undefined : ((fd.openFlags ?? 0) & PPM_FD_LOWER_LAYER) !== 0;
});

fieldWith('fd.types', () => {
  let lastArg: string | undefined;
  let num: number | undefined;
  return (e, arg) => {
    if (!isFdEvent(e)) return undefined;
    const fds = e.thread.fds;
    if (!fds) return undefined;
    if (arg !== undefined) {
      if (arg !== lastArg) {
        lastArg = arg;
        num = parseIndex(arg);
      }
      const fd = num === undefined ? undefined : fds.get(num);
      return fd === undefined ? undefined : [fdTypeString(fd.type)];
    }
    const out: string[] = [];
    for (const fd of fds.values()) {
      const t = fdTypeString(fd.type);
      if (!out.includes(t)) out.push(t);
    }
    return out;
  };
});

// ---------------------------------------------------------------------------------------------
// fs.path.*
// Reads: type, dir, params (path arguments, res / fd for success), fd name (fchmod, fchown), thread.cwd.

interface PathSpec {
  /** Success test: the `res` parameter is 0, or the `fd` parameter is not -1. */
  ok: 'res' | 'fd';
  path?: string;
  source?: string;
  target?: string;
}
const FD_NAME = '<fd>';
const FSPATH: Readonly<Record<string, PathSpec>> = {
  mkdir: { ok: 'res', path: 'path' },
  mkdirat: { ok: 'res', path: 'path' },
  rmdir: { ok: 'res', path: 'path' },
  unlink: { ok: 'res', path: 'path' },
  unlinkat: { ok: 'res', path: 'name' },
  open: { ok: 'fd', path: 'name' },
  openat: { ok: 'fd', path: 'name' },
  openat2: { ok: 'fd', path: 'name' },
  fchmodat: { ok: 'res', path: 'filename' },
  chmod: { ok: 'res', path: 'filename' },
  fchmod: { ok: 'res', path: FD_NAME },
  chown: { ok: 'res', path: 'path' },
  lchown: { ok: 'res', path: 'path' },
  fchown: { ok: 'res', path: FD_NAME },
  fchownat: { ok: 'res', path: 'pathname' },
  quotactl: { ok: 'res', path: 'special' },
  rename: { ok: 'res', source: 'oldpath', target: 'newpath' },
  renameat: { ok: 'res', source: 'oldpath', target: 'newpath' },
  renameat2: { ok: 'res', source: 'oldpath', target: 'newpath' },
  link: { ok: 'res', source: 'newpath', target: 'oldpath' },
  linkat: { ok: 'res', source: 'newpath', target: 'oldpath' },
  symlink: { ok: 'res', source: 'linkpath', target: 'target' },
  symlinkat: { ok: 'res', source: 'linkpath', target: 'target' },
  mount: { ok: 'res', source: 'dev', target: 'dir' },
  umount: { ok: 'res', path: 'name' },
  umount2: { ok: 'res', path: 'name' },
};

function fsPath(e: SyscallEvent, which: 'path' | 'source' | 'target', raw: boolean): string | undefined {
  if (e.dir !== '<') return undefined;
  const spec = FSPATH[e.type];
  const pname = spec?.[which];
  if (!spec || pname === undefined) return undefined;
  if (spec.ok === 'res') {
    const res = paramInt(e, 'res') ?? e.res;
    if (res === undefined || Number(res) !== 0) return undefined;
  } else {
    const fd = paramInt(e, 'fd') ?? e.res;
    if (fd === undefined || Number(fd) === -1) return undefined;
  }
  let path: string | undefined;
  if (pname === FD_NAME) path = resolveFd(e)?.name;
  else path = paramRawStr(e, pname);
  if (path === undefined || path === '') return undefined;
  if (raw || path.startsWith('/')) return path;
  const cwd = e.thread.cwd;
  return cwd === undefined ? undefined : concatPaths(cwd, path);
}
field('fs.path.name', (e) => fsPath(e, 'path', false));
field('fs.path.nameraw', (e) => fsPath(e, 'path', true));
field('fs.path.source', (e) => fsPath(e, 'source', false));
field('fs.path.sourceraw', (e) => fsPath(e, 'source', true));
field('fs.path.target', (e) => fsPath(e, 'target', false));
field('fs.path.targetraw', (e) => fsPath(e, 'target', true));

// ---------------------------------------------------------------------------------------------
// fdlist.* (poll and friends)
// Reads: the `fds` parameter (text `fd:flags fd:flags ...`), thread.fds.

function pollFdNumbers(e: SyscallEvent): number[] | undefined {
  const p = findParam(e, 'fds');
  if (!p) return undefined;
  const text = p.rawText ?? p.text ?? (typeof p.raw === 'string' ? p.raw : '');
  const out: number[] = [];
  for (const m of text.matchAll(/(-?\d+):/g)) out.push(Number(m[1]));
  return out;
}

function fdlistField(
  name: string,
  get: (fd: FdInfo | undefined, num: number) => string | number | undefined,
): void {
  field(name, (e) => {
    const nums = pollFdNumbers(e);
    if (!nums) return undefined;
    const parts: string[] = [];
    for (const n of nums) {
      const v = get(e.thread.fds?.get(n), n);
      if (v !== undefined) parts.push(String(v));
    }
    return parts.length === 0 ? undefined : parts.join(',');
  });
}
const ipFd = (fd: FdInfo | undefined): FdInfo | undefined =>
  fd && (fd.type === 'ipv4' || fd.type === 'ipv6') ? fd : undefined;
fdlistField('fdlist.nums', (_fd, n) => n);
fdlistField('fdlist.names', (fd) => fd?.name);
fdlistField('fdlist.cips', (fd) => ipFd(fd)?.cip);
fdlistField('fdlist.sips', (fd) => ipFd(fd)?.sip);
fdlistField('fdlist.cports', (fd) => ipFd(fd)?.cport);
fdlistField('fdlist.sports', (fd) => ipFd(fd)?.sport);

// ---------------------------------------------------------------------------------------------
// container.* / k8s.* (the container plugin's fields)
// Reads: container (metadata), thread.containerId, thread.pidnsInitStartTs, ts.
//
// Like the container plugin: processes outside containers belong to the pseudo-container `host`
// (name `host`, type `host`, other strings empty); a container without metadata yet gives empty
// strings; k8s.* values come from the pod metadata and are missing when it lacks them.

const HOST = 'host';
const HOST_INFO: ContainerInfo = Object.freeze({ id: HOST, name: HOST, type: HOST, fullId: HOST });

/** `undefined` when the container is known by id only (no metadata yet). */
function containerInfo(e: SyscallEvent): ContainerInfo | undefined {
  if (e.container) return e.container.id === HOST || e.container.id === '' ? HOST_INFO : e.container;
  const id = e.thread.containerId;
  return id === undefined || id === '' || id === HOST ? HOST_INFO : undefined;
}

function containerString(name: string, get: (c: ContainerInfo) => string | undefined): void {
  field(name, (e) => {
    const c = containerInfo(e);
    return c === undefined ? '' : (get(c) ?? '');
  });
}
function containerBool(name: string, get: (c: ContainerInfo) => boolean | undefined): void {
  field(name, (e) => {
    const c = containerInfo(e);
    return c === undefined ? undefined : (get(c) ?? false);
  });
}

field('container.id', (e) => {
  const id = e.container?.id ?? e.thread.containerId;
  if (id === undefined || id === '') return HOST;
  return id.length > 12 ? id.slice(0, 12) : id;
});
containerString('container.full_id', (c) => c.fullId ?? (c.id.length > 12 ? c.id : undefined));
containerString('container.name', (c) => c.name);
containerString('container.image', (c) => c.image);
containerString('container.image.id', (c) => c.imageId);
containerString('container.type', (c) => c.type);
containerString('container.image.repository', (c) => c.imageRepository);
containerString('container.image.tag', (c) => c.imageTag);
containerString('container.image.digest', (c) => c.imageDigest);
containerString('container.ip', (c) => c.ip);
containerString('container.cni.json', (c) => c.cniJson);
containerString('container.mounts', (c) => (c.mounts ?? []).map(mountText).join(','));
containerString('container.labels', (c) => labelsText(c.labels));
containerBool('container.privileged', (c) => c.privileged);
containerBool('container.host_pid', (c) => c.hostPid);
containerBool('container.host_network', (c) => c.hostNetwork);
containerBool('container.host_ipc', (c) => c.hostIpc);
// Health probes are not part of the metadata we keep: the plugin reports NONE then.
containerString('container.healthcheck', () => 'NONE');
containerString('container.liveness_probe', () => 'NONE');
containerString('container.readiness_probe', () => 'NONE');
field('proc.is_container_healthcheck', () => false);
field('proc.is_container_liveness_probe', () => false);
field('proc.is_container_readiness_probe', () => false);

function containerStart(e: SyscallEvent): bigint | undefined {
  const s = e.thread.pidnsInitStartTs ?? e.container?.startTs;
  return s === undefined || s === 0n ? undefined : s;
}
field('container.start_ts', (e) => {
  const s = containerStart(e);
  return s === undefined ? undefined : int64(s);
});
field('container.duration', (e) => {
  const s = containerStart(e);
  return s === undefined ? undefined : int64(e.ts - s);
});

field('container.label', (e, key) => {
  const c = containerInfo(e);
  if (c === undefined) return '';
  return key === undefined ? undefined : c.labels?.[key];
});

function mountText(m: ContainerMount): string {
  return `${m.source}:${m.dest}:${m.mode}:${m.rdwr ? 'true' : 'false'}:${m.propagation}`;
}

/** Simple shell-style match (`*`, `?`) for mount paths given as globs. */
function globMatch(pattern: string, s: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === s;
  let re = '^';
  for (const ch of pattern)
    re += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`).test(s);
}

function mountField(name: string, get: (m: ContainerMount) => string): void {
  fieldWith(name, () => {
    const byDest = name === 'container.mount.source';
    return (e, arg) => {
      const c = containerInfo(e);
      if (c === undefined) return '';
      if (arg === undefined) return undefined;
      const mounts = c.mounts ?? [];
      const idx = parseIndex(arg);
      const m =
        idx !== undefined ? mounts[idx] : mounts.find((x) => globMatch(arg, byDest ? x.dest : x.source));
      return m === undefined ? undefined : get(m);
    };
  });
}
mountField('container.mount', mountText);
mountField('container.mount.source', (m) => m.source);
mountField('container.mount.dest', (m) => m.dest);
mountField('container.mount.mode', (m) => m.mode);
mountField('container.mount.rdwr', (m) => (m.rdwr ? 'true' : 'false'));
mountField('container.mount.propagation', (m) => m.propagation);

/**
 * The plugin's label list: `key:value` (or `key` when the value is empty) in key order, separated
 * by `, `, without annotations and Kubernetes-internal labels.
 */
function labelsText(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  let s = '';
  for (const k of Object.keys(labels).sort()) {
    if (k.startsWith('annotation.') || k.startsWith('io.kubernetes.')) continue;
    if (s !== '') s += ', ';
    s += k;
    const v = labels[k];
    if (v) s += `:${v}`;
  }
  return s;
}

/** k8s fields read from pod metadata: missing when absent, empty while the container is unknown. */
function k8sField(name: string, get: (c: ContainerInfo) => string | undefined): void {
  field(name, (e) => {
    const c = containerInfo(e);
    if (c === undefined) return '';
    return c === HOST_INFO ? undefined : get(c);
  });
}
k8sField('k8s.pod.name', (c) => c.k8s?.podName);
k8sField('k8s.ns.name', (c) => c.k8s?.namespace);
k8sField('k8s.pod.id', (c) => c.k8s?.podUid);
k8sField('k8s.pod.uid', (c) => c.k8s?.podUid);
containerString('k8s.pod.sandbox_id', (c) => c.k8s?.sandboxId?.slice(0, 12));
containerString('k8s.pod.full_sandbox_id', (c) => c.k8s?.sandboxId);
containerString('k8s.pod.labels', (c) => labelsText(c.k8s?.podLabels));
containerString('k8s.pod.ip', (c) => c.ip);
containerString('k8s.pod.cni.json', (c) => c.cniJson);
field('k8s.pod.label', (e, key) => {
  const c = containerInfo(e);
  if (c === undefined) return '';
  return key === undefined ? undefined : c.k8s?.podLabels?.[key];
});
// Obsolete k8s.* fields: the container plugin no longer fills them.
for (const kind of ['rc', 'svc', 'rs', 'deployment']) {
  for (const suffix of ['name', 'id', 'label', 'labels']) field(`k8s.${kind}.${suffix}`, MISSING);
}
for (const suffix of ['id', 'label', 'labels']) field(`k8s.ns.${suffix}`, MISSING);

/** Helpers exposed for unit tests. */
export const _internals = { localTimeString, labelsText, globMatch };
