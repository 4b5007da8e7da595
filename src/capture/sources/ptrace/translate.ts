/**
 * Turning strace's syscalls into the raw events the state engine takes: the same event codes and
 * parameter layouts the eBPF probe and scap files carry (openat exit 307 with fd, dirfd, name,
 * flags..., execve exit 293 with exe, args, cwd, comm, cgroups..., connect exit 23 with the tuple),
 * each syscall as an enter/exit pair so the state engine tracks fds and processes exactly as it does
 * for kernel captures.
 *
 * What strace cannot say is filled from the caller's context ({@link TranslateContext}): the
 * calling thread's process data for clone and execve exits (the state engine's own table), and,
 * when the source provides them, /proc look-ups of the moment (credentials after execve, the local
 * end of a connected socket). Values nobody knows are left empty, never invented.
 *
 * Two strace habits need care:
 * - A syscall interrupted by another thread's line is split (`<unfinished ...>` / `<... resumed>`);
 *   the parts are joined per thread and the event is made when the call returns.
 * - A new child's first syscalls can be printed before its parent's clone/fork/vfork returns. The
 *   child side of the clone (the exit returning 0 in the child) is then synthesised when the child
 *   first shows up, as the kernel driver would report it, so the child inherits its parent's
 *   state instead of becoming an unknown thread.
 */
import { PT, eventInfo, flagTable } from '../../scap/event-table.js';
import { errnoName, signalName } from '../../scap/params.js';
import { anonFdType, type ExecInfo } from '../../proc-bootstrap.js';
import { SCAP_FD, type ScapFdEntry } from '../../scap/reader.js';
import type { RawSyscallEvent, StateEngine } from '../../state/state-engine.js';
import {
  atomFd,
  atomNumber,
  flagNames,
  parseFdDecoration,
  parseStraceArgs,
  parseStraceLine,
  parseStraceResult,
  type FdDecoration,
  type StraceArg,
  type StraceLine,
  type StraceResult,
  type StraceValue,
  type UnparsedReason,
} from './parse.js';

/** What the translator reads about a thread (the state engine's ThreadState fits). */
export interface StraceThreadView {
  readonly pid: number;
  readonly ptid: number;
  readonly comm: string;
  readonly exe: string;
  readonly exepath?: string;
  readonly args: readonly string[];
  readonly env?: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly loginuid?: number;
  readonly tty?: number;
  readonly sid?: number;
  readonly vpgid?: number;
  readonly cgroups?: readonly string[];
  readonly capInheritable?: bigint;
  readonly capPermitted?: bigint;
  readonly capEffective?: bigint;
  readonly fdlimit?: number | bigint;
}

export type { ExecInfo };

/** An IP endpoint. */
export interface Endpoint {
  ip: string;
  port: number;
}

/** Where the translator gets what strace does not print. */
export interface TranslateContext {
  /** A thread as the state engine knows it now. */
  thread(tid: number): StraceThreadView | undefined;
  /** A thread id shows up that nobody announced: the source can read it from /proc. */
  discover?(tid: number, comm: string | undefined): void;
  /** /proc data of a process that just executed a program. */
  execInfo?(tid: number): ExecInfo | undefined;
  /** The ends of a socket (by inode) as the kernel reports them now (the local end after connect). */
  socketEnds?(tid: number, inode: number): { local?: Endpoint; remote?: Endpoint } | undefined;
  /** Parent process and thread group of a thread (to pick the parent of a new child). */
  parentOf?(tid: number): { ppid: number; tgid: number } | undefined;
}

/** An fd strace described in an argument; the source adds it when the state engine lacks it. */
export interface FdHint {
  tid: number;
  fd: number;
  decoration: FdDecoration;
}

/** One translated event. */
export interface TranslatedEvent {
  raw: RawSyscallEvent;
  /** fds used by the event that the state should know before it processes the event. */
  fdHints?: FdHint[];
}

/** Counters of the translation. */
export interface TranslateStats {
  /** Lines read (fixture comments and blank lines excluded). */
  lines: number;
  /** Syscalls completed (single lines and joined unfinished/resumed pairs). */
  syscalls: number;
  /** Raw events produced (enter and exit count separately). */
  events: number;
  /** Lines not turned into events, by reason. */
  unparsed: Record<UnparsedReason, number>;
  /** The first lines not understood, with their reason (for diagnostics). */
  samples: string[];
  /** Arguments strace cut short (strings over 4096 bytes, long argument arrays). */
  truncated: number;
  /** Syscalls whose end never came (the process died inside them, or strace detached). */
  lostUnfinished: number;
  /** Children whose clone was synthesised because they ran before the parent's clone returned. */
  adoptedChildren: number;
}

/** Zero counts for every {@link UnparsedReason}. */
export function emptyUnparsed(): Record<UnparsedReason, number> {
  return {
    malformed: 0,
    'no-timestamp': 0,
    'unknown-syscall': 0,
    'unmatched-resume': 0,
    'bad-arguments': 0,
    'no-result': 0,
    'not-traced': 0,
  };
}

// -------------------------------------------------------------------------------------------------
// Encoding parameters in the driver layout

type ParamValue = number | bigint | string | readonly string[] | Uint8Array | undefined;
type Values = Record<string, ParamValue>;

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

function intBytes(v: number | bigint, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  const big = BigInt.asUintN(size * 8, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
  if (size === 1) dv.setUint8(0, Number(big));
  else if (size === 2) dv.setUint16(0, Number(big), true);
  else if (size === 4) dv.setUint32(0, Number(big), true);
  else dv.setBigUint64(0, big, true);
  return b;
}

function sizeOf(type: number): number {
  switch (type) {
    case PT.INT8:
    case PT.UINT8:
    case PT.FLAGS8:
    case PT.ENUMFLAGS8:
    case PT.SIGTYPE:
      return 1;
    case PT.INT16:
    case PT.UINT16:
    case PT.FLAGS16:
    case PT.ENUMFLAGS16:
    case PT.PORT:
    case PT.SYSCALLID:
      return 2;
    case PT.INT32:
    case PT.UINT32:
    case PT.FLAGS32:
    case PT.ENUMFLAGS32:
    case PT.UID:
    case PT.GID:
    case PT.MODE:
    case PT.BOOL:
      return 4;
    default:
      return 8;
  }
}

function cstr(s: string): Uint8Array {
  const b = textEncoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

function encodeValue(type: number, v: ParamValue): Uint8Array {
  if (v === undefined) return EMPTY;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return type === PT.BYTEBUF ? textEncoder.encode(v) : cstr(v);
  if (typeof v === 'number' || typeof v === 'bigint') return intBytes(v, sizeOf(type));
  // NUL-separated list (args, env, cgroups), each item terminated.
  return textEncoder.encode(v.map((s) => `${s}\0`).join(''));
}

/** Parameters of event `code` in table order from values by parameter name. */
function encodeParams(code: number, values: Values): Uint8Array[] {
  const info = eventInfo(code);
  if (!info) return [];
  return info.params.map((p) => encodeValue(p.type, values[p.name]));
}

function ipv4Bytes(ip: string): Uint8Array {
  const parts = ip.split('.').map(Number);
  return Uint8Array.from(parts.length === 4 ? parts : [0, 0, 0, 0]);
}

/** IPv6 text (with `::` and a trailing IPv4 part) to 16 bytes. */
export function ipv6Bytes(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = ip;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    tail.push(...ipv4Bytes(v4[1]));
    text = text.slice(0, v4.index) + '0:0';
  }
  const [headText, tailText] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = (headText ?? '').split(':').filter((s) => s !== '');
  const rest = tailText !== undefined ? tailText.split(':').filter((s) => s !== '') : [];
  const groups =
    tailText !== undefined ? [...head, ...Array(8 - head.length - rest.length).fill('0'), ...rest] : head;
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16) || 0;
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

/** A socket address as strace prints it, decoded. */
interface SockAddrValue {
  family: 'ipv4' | 'ipv6' | 'unix' | 'other';
  ip?: string;
  port?: number;
  path?: string;
  /** PPM address family number for `other`. */
  familyNumber?: number;
}

function encodeSockaddr(a: SockAddrValue | undefined): Uint8Array {
  if (!a) return EMPTY;
  const port = (p: number | undefined): Uint8Array => intBytes(p ?? 0, 2);
  switch (a.family) {
    case 'ipv4':
      return concat([Uint8Array.of(2), ipv4Bytes(a.ip ?? '0.0.0.0'), port(a.port)]);
    case 'ipv6':
      return concat([Uint8Array.of(10), ipv6Bytes(a.ip ?? '::'), port(a.port)]);
    case 'unix':
      return concat([Uint8Array.of(1), cstr(a.path ?? '')]);
    case 'other':
      return Uint8Array.of(a.familyNumber ?? 0);
  }
}

function encodeTuple(
  family: 'ipv4' | 'ipv6',
  src: Endpoint | undefined,
  dst: Endpoint | undefined,
): Uint8Array {
  const any = family === 'ipv4' ? '0.0.0.0' : '::';
  const addr = (ip: string | undefined): Uint8Array =>
    family === 'ipv4' ? ipv4Bytes(ip ?? any) : ipv6Bytes(ip ?? any);
  return concat([
    Uint8Array.of(family === 'ipv4' ? 2 : 10),
    addr(src?.ip),
    intBytes(src?.port ?? 0, 2),
    addr(dst?.ip),
    intBytes(dst?.port ?? 0, 2),
  ]);
}

function encodeUnixTuple(source: number | undefined, dest: number | undefined, path: string): Uint8Array {
  return concat([Uint8Array.of(1), intBytes(source ?? 0, 8), intBytes(dest ?? 0, 8), cstr(path)]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Names strace prints → the numbers the capture format uses

const ERRNO_NUMBERS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let n = 1; n < 600; n++) {
    const name = errnoName(-n);
    if (name && !m.has(name)) m.set(name, n);
  }
  m.set('EWOULDBLOCK', 11);
  m.set('EDEADLOCK', 35);
  return m;
})();

const SIGNAL_NUMBERS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let n = 1; n < 65; n++) {
    const name = signalName(n);
    if (name) m.set(name, n);
  }
  m.set('SIGIOT', 6);
  m.set('SIGPOLL', 29);
  return m;
})();

function tableMap(name: string, strip = ''): ReadonlyMap<string, number> {
  const m = new Map<string, number>();
  for (const [n, v] of flagTable(name) ?? []) m.set(strip + n, v);
  return m;
}

const FILE_FLAGS = tableMap('file_flags');
const CLONE_FLAGS = tableMap('clone_flags');
const SOCKET_FAMILIES = tableMap('socket_families');
const MOUNT_FLAGS = tableMap('mount_flags', 'MS_');
const UMOUNT_FLAGS: ReadonlyMap<string, number> = new Map([
  ['MNT_FORCE', 1],
  ['MNT_DETACH', 2],
  ['MNT_EXPIRE', 4],
  ['UMOUNT_NOFOLLOW', 8],
]);
const UNLINKAT_FLAGS = tableMap('unlinkat_flags');
const LINKAT_FLAGS = tableMap('linkat_flags');
const RENAMEAT2_FLAGS = tableMap('renameat2_flags');
const MEMFD_FLAGS = tableMap('memfd_create_flags');
const PTRACE_REQUESTS = tableMap('ptrace_requests');
const OPENAT2_RESOLVE = tableMap('openat2_flags');
const EXECVEAT_FLAGS = tableMap('execveat_flags');

/** Kernel socket type and protocol names (values as the syscall takes them). */
const SOCK_TYPES: ReadonlyMap<string, number> = new Map([
  ['SOCK_STREAM', 1],
  ['SOCK_DGRAM', 2],
  ['SOCK_RAW', 3],
  ['SOCK_RDM', 4],
  ['SOCK_SEQPACKET', 5],
  ['SOCK_DCCP', 6],
  ['SOCK_PACKET', 10],
  ['SOCK_NONBLOCK', 0o4000],
  ['SOCK_CLOEXEC', 0o2000000],
]);
const PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['IPPROTO_IP', 0],
  ['IPPROTO_ICMP', 1],
  ['IPPROTO_IGMP', 2],
  ['IPPROTO_TCP', 6],
  ['IPPROTO_UDP', 17],
  ['IPPROTO_IPV6', 41],
  ['IPPROTO_GRE', 47],
  ['IPPROTO_ICMPV6', 58],
  ['IPPROTO_SCTP', 132],
  ['IPPROTO_UDPLITE', 136],
  ['IPPROTO_RAW', 255],
]);

/** Sum of the values of the names in a flag expression; numbers in it are added as they are. */
function flagsValue(v: StraceValue | undefined, table: ReadonlyMap<string, number>): number {
  if (!v || v.k !== 'atom') return 0;
  let out = 0;
  for (const name of flagNames(v.text)) {
    const known = table.get(name);
    if (known !== undefined) out |= known;
    else if (table === SOCK_TYPES || table === PROTOCOLS) {
      const n = atomNumber(name);
      if (n !== undefined) out |= n;
    }
  }
  return out >>> 0;
}

/** PPM open flags from the kernel's (O_RDONLY is 0 there, a bit of its own in the capture format). */
function openFlags(v: StraceValue | undefined): number {
  return flagsValue(v, FILE_FLAGS);
}

// -------------------------------------------------------------------------------------------------
// Calls

/** A completed syscall. */
interface Call {
  tid: number;
  comm: string | undefined;
  ts: bigint;
  exitTs: bigint;
  name: string;
  args: StraceArg[];
  result: StraceResult;
  /** Return value, `-errno` on failure; undefined when the call did not return (`?`). */
  res: number | undefined;
}

function arg(c: Call, i: number): StraceValue | undefined {
  return c.args[i]?.value;
}

function field(v: StraceValue | undefined, key: string): StraceValue | undefined {
  if (!v) return undefined;
  const obj = v.k === 'io' ? v.before : v;
  if (obj.k !== 'obj') return undefined;
  return obj.fields.find((f) => f.key === key)?.value;
}

function keyed(c: Call, key: string): StraceValue | undefined {
  return c.args.find((a) => a.key === key)?.value;
}

function atomText(v: StraceValue | undefined): string {
  return v?.k === 'atom' ? v.text : '';
}

function num(v: StraceValue | undefined): number {
  return v?.k === 'atom' ? (atomNumber(v.text) ?? 0) : 0;
}

/** A string argument (NULL and non-strings read as empty). */
function str(v: StraceValue | undefined): string {
  if (v?.k === 'str') return v.s;
  return '';
}

function strings(v: StraceValue | undefined): string[] {
  if (v?.k !== 'arr') return [];
  return v.items.map((i) => (i.k === 'str' ? i.s : i.k === 'atom' ? i.text : ''));
}

function fdNum(v: StraceValue | undefined): number {
  if (v?.k !== 'atom') return -1;
  return atomFd(v.text)?.fd ?? atomNumber(v.text) ?? -1;
}

function fdDecoration(v: StraceValue | undefined): FdDecoration | undefined {
  if (v?.k !== 'atom') return undefined;
  const d = atomFd(v.text)?.decoration;
  return d !== undefined ? parseFdDecoration(d) : undefined;
}

/** A pid argument (`1234<comm>` with -Y). */
function pidNum(v: StraceValue | undefined): number {
  return v?.k === 'atom' ? (atomNumber(v.text) ?? 0) : 0;
}

function signalNum(v: StraceValue | undefined): number {
  const t = atomText(v);
  return SIGNAL_NUMBERS.get(t) ?? atomNumber(t) ?? 0;
}

/** A socket address struct (`{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}`). */
function sockaddr(v: StraceValue | undefined): SockAddrValue | undefined {
  if (v?.k !== 'obj') return undefined;
  const fam = atomText(field(v, 'sa_family'));
  const port = (key: string): number => {
    const m = /htons\((\d+)\)/.exec(atomText(field(v, key)));
    return m ? Number(m[1]) : 0;
  };
  if (fam === 'AF_INET') {
    const m = /inet_addr\("([^"]*)"\)/.exec(atomText(field(v, 'sin_addr')));
    return { family: 'ipv4', ip: m?.[1] ?? '0.0.0.0', port: port('sin_port') };
  }
  if (fam === 'AF_INET6') {
    let ip = '::';
    for (const f of v.fields) {
      const m = /inet_pton\(AF_INET6,\s*"([^"]*)"/.exec(atomText(f.value));
      if (m?.[1] !== undefined) ip = m[1];
    }
    return { family: 'ipv6', ip, port: port('sin6_port') };
  }
  if (fam === 'AF_UNIX' || fam === 'AF_LOCAL') {
    const p = field(v, 'sun_path');
    if (p?.k === 'str') return { family: 'unix', path: p.s };
    // Abstract names print as @"name".
    const m = /^@"(.*)"$/.exec(atomText(p));
    return { family: 'unix', path: m ? `@${m[1] ?? ''}` : '' };
  }
  return { family: 'other', familyNumber: SOCKET_FAMILIES.get(fam) ?? 0 };
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

// -------------------------------------------------------------------------------------------------
// Syscall table

/** One syscall's events: enter and exit codes and their parameter values. */
interface Emission {
  enter: number;
  exit: number;
  enterValues: Values;
  exitValues: Values;
}

type Builder = (c: Call, t: StraceTranslator) => Emission | undefined;

/** An event pair with the result first (`res`), as most exits start. */
function pair(enter: number, exit: number, enterValues: Values, exitValues: Values): Emission {
  return { enter, exit, enterValues, exitValues };
}

function openatLike(c: Call, enter: number, exit: number, dirfdAt: number | undefined): Emission {
  const dirfd = dirfdAt === undefined ? -100 : fdNum(arg(c, dirfdAt));
  const p = dirfdAt === undefined ? 0 : dirfdAt + 1;
  const name = str(arg(c, p));
  const flags = openFlags(arg(c, p + 1));
  const mode = num(arg(c, p + 2));
  const v: Values = { dirfd, name, flags, mode };
  return pair(enter, exit, v, { fd: c.res, ...v, dev: 0, ino: 0n });
}

/** Page faults and memory sizes of clone and execve exits: strace does not see them. */
const NO_MEMORY_STATS: Values = { pgft_maj: 0, pgft_min: 0, vm_size: 0, vm_rss: 0, vm_swap: 0 };

/** The clone-family exit parameters for the thread `tid` (parent side or child side). */
function cloneValues(
  view: StraceThreadView | undefined,
  res: number,
  tid: number,
  pid: number,
  ptid: number,
  flags: number,
): Values {
  return {
    res,
    exe: view?.exe ?? '',
    args: view?.args ?? [],
    tid,
    pid,
    ptid,
    cwd: view?.cwd ?? '',
    fdlimit: Number(view?.fdlimit ?? 0),
    ...NO_MEMORY_STATS,
    comm: view?.comm ?? '',
    cgroups: view?.cgroups ?? [],
    flags,
    uid: view?.uid ?? 0xffffffff,
    gid: view?.gid ?? 0xffffffff,
    vtid: tid,
    vpid: pid,
    pidns_init_start_ts: 0,
  };
}

const CLONE_CODES: Readonly<Record<string, readonly [number, number]>> = {
  clone: [222, 223],
  clone3: [334, 335],
  fork: [224, 225],
  vfork: [226, 227],
};

const PPM_CLONE_THREAD = 1 << 13;
const PPM_CLONE_VM = 1 << 15;
const PPM_CLONE_VFORK = 1 << 27;

/** PPM clone flags of a clone-family call (fork: none; vfork: VM|VFORK). */
function cloneFlags(c: Call): number {
  switch (c.name) {
    case 'fork':
      return 0;
    case 'vfork':
      return PPM_CLONE_VM | PPM_CLONE_VFORK;
    case 'clone3':
      return flagsValue(field(arg(c, 0), 'flags'), CLONE_FLAGS);
    default:
      return flagsValue(keyed(c, 'flags'), CLONE_FLAGS);
  }
}

const buildClone: Builder = (c, t) => {
  const codes = CLONE_CODES[c.name];
  if (!codes || c.res === undefined) return undefined;
  const view = t.ctx.thread(c.tid);
  const v = cloneValues(view, c.res, c.tid, view?.pid ?? c.tid, view?.ptid ?? -1, cloneFlags(c));
  return pair(codes[0], codes[1], {}, v);
};

function execValues(
  c: Call,
  t: StraceTranslator,
  filename: string,
  argv: string[],
  env: string[] | undefined,
): Values {
  const view = t.ctx.thread(c.tid);
  const ok = c.res === 0;
  const info = ok ? t.ctx.execInfo?.(c.tid) : undefined;
  // The kernel names the process after the file it ran (at most 15 bytes).
  const comm = ok ? basename(filename).slice(0, 15) : (view?.comm ?? '');
  const v: Values = {
    res: c.res ?? 0,
    exe: ok ? (argv[0] ?? '') : (view?.exe ?? ''),
    args: ok ? argv.slice(1) : (view?.args ?? []),
    tid: c.tid,
    pid: view?.pid ?? c.tid,
    ptid: view?.ptid ?? -1,
    cwd: view?.cwd ?? '',
    fdlimit: Number(view?.fdlimit ?? 0),
    ...NO_MEMORY_STATS,
    comm,
    cgroups: info?.cgroups ?? view?.cgroups ?? [],
    env: ok ? (env ?? view?.env ?? []) : (view?.env ?? []),
    tty: info?.tty ?? view?.tty ?? 0,
    vpgid: info?.vpgid ?? view?.vpgid ?? 0,
    loginuid: info?.loginuid ?? view?.loginuid ?? 0xffffffff,
    flags: 0,
    cap_inheritable: info?.capInheritable ?? view?.capInheritable,
    cap_permitted: info?.capPermitted ?? view?.capPermitted,
    cap_effective: info?.capEffective ?? view?.capEffective,
    exe_ino: undefined,
    exe_ino_ctime: undefined,
    exe_ino_mtime: undefined,
    uid: info?.uid ?? view?.uid ?? 0xffffffff,
    trusted_exepath: info?.exepath,
    pgid: info?.vpgid ?? view?.vpgid ?? 0,
    gid: info?.gid ?? view?.gid ?? 0xffffffff,
    filename,
  };
  return v;
}

const buildExecve: Builder = (c, t) => {
  if (c.res === undefined) return undefined;
  const filename = str(arg(c, 0));
  const env = arg(c, 2)?.k === 'arr' ? strings(arg(c, 2)) : undefined;
  return pair(292, 293, { filename }, execValues(c, t, filename, strings(arg(c, 1)), env));
};

const buildExecveat: Builder = (c, t) => {
  if (c.res === undefined) return undefined;
  const dirfd = fdNum(arg(c, 0));
  const pathname = str(arg(c, 1));
  const flags = flagsValue(arg(c, 4), EXECVEAT_FLAGS);
  // The program is the path, or the fd itself with AT_EMPTY_PATH.
  let filename = pathname;
  if (pathname === '' || !pathname.startsWith('/')) {
    const d = fdDecoration(arg(c, 0));
    const dir = d?.kind === 'path' ? d.path : '';
    filename = pathname === '' ? dir : dir ? `${dir}/${pathname}` : pathname;
  }
  const env = arg(c, 3)?.k === 'arr' ? strings(arg(c, 3)) : undefined;
  const v = execValues(c, t, filename, strings(arg(c, 2)), env);
  // The fd's decoration already names the program: better than nothing when /proc is gone.
  if (v.trusted_exepath === undefined && c.res === 0 && filename.startsWith('/'))
    v.trusted_exepath = filename;
  return pair(330, 331, { dirfd, pathname, flags }, v);
};

const buildSocket: Builder = (c) => {
  const domain = flagsValue(arg(c, 0), SOCKET_FAMILIES);
  const type = flagsValue(arg(c, 1), SOCK_TYPES);
  const proto = flagsValue(arg(c, 2), PROTOCOLS);
  let flags = 0;
  for (const n of flagNames(atomText(arg(c, 1)))) {
    if (n === 'SOCK_CLOEXEC') flags |= FILE_FLAGS.get('O_CLOEXEC') ?? 0;
    if (n === 'SOCK_NONBLOCK') flags |= FILE_FLAGS.get('O_NONBLOCK') ?? 0;
  }
  return pair(18, 19, { domain, type, proto }, { fd: c.res, domain, type, proto, flags });
};

/** The local and remote ends of a socket fd, from its decoration or the context. */
function socketEnds(
  c: Call,
  t: StraceTranslator,
  v: StraceValue | undefined,
): { local?: Endpoint; remote?: Endpoint; family?: 'ipv4' | 'ipv6' } {
  const d = fdDecoration(v);
  if (d?.kind !== 'inet') return {};
  const out: { local?: Endpoint; remote?: Endpoint; family?: 'ipv4' | 'ipv6' } = { family: d.family };
  if (d.local) out.local = d.local;
  if (d.remote) out.remote = d.remote;
  if (!d.remote && d.inode !== undefined) {
    const live = t.ctx.socketEnds?.(c.tid, d.inode);
    if (live?.local) out.local = live.local;
    if (live?.remote) out.remote = live.remote;
  }
  return out;
}

const buildConnect: Builder = (c, t) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  const addr = sockaddr(arg(c, 1));
  const addrBytes = encodeSockaddr(addr);
  let tuple: Uint8Array = EMPTY;
  if (addr?.family === 'ipv4' || addr?.family === 'ipv6') {
    const ends = socketEnds(c, t, arg(c, 0));
    const family = ends.family ?? addr.family;
    // An IPv4 peer of an IPv6 socket (dual-stack): the tuple stays IPv6 with a mapped address.
    const dstIp = family === 'ipv6' && addr.family === 'ipv4' ? `::ffff:${addr.ip ?? '0.0.0.0'}` : addr.ip;
    tuple = encodeTuple(family, ends.local, { ip: dstIp ?? '', port: addr.port ?? 0 });
  } else if (addr?.family === 'unix') {
    const d = fdDecoration(arg(c, 0));
    tuple = encodeUnixTuple(
      d?.kind === 'unix' ? d.inode : 0,
      d?.kind === 'unix' ? d.peer : 0,
      addr.path ?? '',
    );
  }
  return pair(22, 23, { fd, addr: addrBytes }, { res: c.res, tuple, fd, addr: addrBytes });
};

const buildBind: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  return pair(20, 21, { fd }, { res: c.res, addr: encodeSockaddr(sockaddr(arg(c, 1))), fd });
};

const buildListen: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  const backlog = num(arg(c, 1));
  return pair(24, 25, { fd, backlog }, { res: c.res, fd, backlog });
};

const buildAccept: Builder = (c) => {
  if (c.res === undefined) return undefined;
  // The new socket's decoration is `local->peer`; the capture format's tuple is peer (client) first.
  let tuple: Uint8Array = EMPTY;
  const d = c.result.decoration !== undefined ? parseFdDecoration(c.result.decoration) : undefined;
  if (d?.kind === 'inet' && d.local) tuple = encodeTuple(d.family, d.remote, d.local);
  else if (d?.kind === 'unix') {
    const listening = fdDecoration(arg(c, 0));
    const path = d.path ?? (listening?.kind === 'unix' ? (listening.path ?? '') : '');
    tuple = encodeUnixTuple(d.inode, d.peer, path);
  } else {
    const peer = sockaddr(arg(c, 1));
    if (peer?.family === 'ipv4' || peer?.family === 'ipv6')
      tuple = encodeTuple(peer.family, { ip: peer.ip ?? '', port: peer.port ?? 0 }, undefined);
  }
  const base: Values = { fd: c.res, tuple, queuepct: 0, queuelen: 0, queuemax: 0 };
  if (c.name === 'accept4') {
    const flags = flagsValue(arg(c, 3), SOCK_TYPES);
    return pair(388, 389, { flags }, { ...base, flags });
  }
  return pair(246, 247, {}, base);
};

function sendTuple(
  c: Call,
  t: StraceTranslator,
  fdArg: StraceValue | undefined,
  to: SockAddrValue | undefined,
): Uint8Array {
  const ends = socketEnds(c, t, fdArg);
  if (to?.family === 'ipv4' || to?.family === 'ipv6')
    return encodeTuple(ends.family ?? to.family, ends.local, { ip: to.ip ?? '', port: to.port ?? 0 });
  if (ends.family && ends.remote) return encodeTuple(ends.family, ends.local, ends.remote);
  return EMPTY;
}

const buildSendto: Builder = (c, t) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  const data = str(arg(c, 1)).slice(0, 80);
  const size = num(arg(c, 2));
  const tuple = sendTuple(c, t, arg(c, 0), sockaddr(arg(c, 4)));
  return pair(30, 31, { fd, size, tuple }, { res: c.res, data, fd, size, tuple });
};

const buildSendmsg: Builder = (c, t) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  const msg = arg(c, 1);
  const iov = field(msg, 'msg_iov');
  let data = '';
  let size = 0;
  if (iov?.k === 'arr') {
    for (const item of iov.items) {
      data += str(field(item, 'iov_base'));
      size += num(field(item, 'iov_len'));
    }
  }
  const tuple = sendTuple(c, t, arg(c, 0), sockaddr(field(msg, 'msg_name')));
  return pair(48, 49, { fd, size, tuple }, { res: c.res, data: data.slice(0, 80), fd, size, tuple });
};

const buildClose: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const fd = fdNum(arg(c, 0));
  return pair(4, 5, { fd }, { res: c.res, fd });
};

const buildDup: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const oldfd = fdNum(arg(c, 0));
  switch (c.name) {
    case 'dup':
      return pair(366, 367, { fd: oldfd }, { res: c.res, oldfd });
    case 'dup2':
      return pair(362, 363, { fd: oldfd }, { res: c.res, oldfd, newfd: fdNum(arg(c, 1)) });
    default:
      return pair(
        364,
        365,
        { fd: oldfd },
        { res: c.res, oldfd, newfd: fdNum(arg(c, 1)), flags: openFlags(arg(c, 2)) },
      );
  }
};

const buildPipe: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const fds = arg(c, 0);
  const items = fds?.k === 'arr' ? fds.items : [];
  const fd1 = fdNum(items[0]);
  const fd2 = fdNum(items[1]);
  const d = fdDecoration(items[0]);
  const ino = d?.kind === 'pipe' ? d.inode : 0;
  if (c.name === 'pipe') return pair(60, 61, {}, { res: c.res, fd1, fd2, ino });
  return pair(392, 393, {}, { res: c.res, fd1, fd2, ino, flags: openFlags(arg(c, 1)) });
};

const buildSocketpair: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const domain = flagsValue(arg(c, 0), SOCKET_FAMILIES);
  const type = flagsValue(arg(c, 1), SOCK_TYPES);
  const proto = flagsValue(arg(c, 2), PROTOCOLS);
  const fds = arg(c, 3);
  const items = fds?.k === 'arr' ? fds.items : [];
  const d1 = fdDecoration(items[0]);
  const source = d1?.kind === 'unix' ? (d1.inode ?? 0) : 0;
  const peer = d1?.kind === 'unix' ? (d1.peer ?? 0) : 0;
  return pair(
    42,
    43,
    { domain, type, proto },
    { res: c.res, fd1: fdNum(items[0]), fd2: fdNum(items[1]), source, peer, domain, type, proto },
  );
};

const buildChdir: Builder = (c) => {
  if (c.res === undefined) return undefined;
  if (c.name === 'fchdir') {
    const fd = fdNum(arg(c, 0));
    return pair(96, 97, { fd }, { res: c.res, fd });
  }
  return pair(94, 95, {}, { res: c.res, path: str(arg(c, 0)) });
};

const buildSetid: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const id = num(arg(c, 0)) >>> 0;
  if (c.name === 'setuid') return pair(198, 199, { uid: id }, { res: c.res, uid: id });
  return pair(200, 201, { gid: id }, { res: c.res, gid: id });
};

const buildKill: Builder = (c) => {
  // A process that signals itself to death never returns: the attempt still counts.
  const res = c.res ?? 0;
  switch (c.name) {
    case 'kill': {
      const v = { pid: pidNum(arg(c, 0)), sig: signalNum(arg(c, 1)) };
      return pair(128, 129, v, { res, ...v });
    }
    case 'tkill': {
      const v = { tid: pidNum(arg(c, 0)), sig: signalNum(arg(c, 1)) };
      return pair(130, 131, v, { res, ...v });
    }
    default: {
      const v = { pid: pidNum(arg(c, 0)), tid: pidNum(arg(c, 1)), sig: signalNum(arg(c, 2)) };
      return pair(132, 133, v, { res, ...v });
    }
  }
};

const buildPtrace: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const request = PTRACE_REQUESTS.get(atomText(arg(c, 0))) ?? 0;
  const pid = pidNum(arg(c, 1));
  // addr and data are dynamic parameters: type index 0 (a 64-bit value) then the value.
  const dyn = (v: StraceValue | undefined): Uint8Array => concat([Uint8Array.of(0), intBytes(num(v), 8)]);
  return pair(
    168,
    169,
    { request, pid },
    { res: c.res, addr: dyn(arg(c, 2)), data: dyn(arg(c, 3)), request, pid },
  );
};

const buildModule: Builder = (c) => {
  if (c.res === undefined) return undefined;
  if (c.name === 'init_module') {
    return pair(410, 411, {}, { res: c.res, img: EMPTY, length: num(arg(c, 1)), uargs: str(arg(c, 2)) });
  }
  return pair(
    412,
    413,
    {},
    { res: c.res, fd: fdNum(arg(c, 0)), uargs: str(arg(c, 1)), flags: num(arg(c, 2)) },
  );
};

const buildMount: Builder = (c) => {
  if (c.res === undefined) return undefined;
  if (c.name === 'umount2') {
    const flags = flagsValue(arg(c, 1), UMOUNT_FLAGS);
    return pair(390, 391, { flags }, { res: c.res, name: str(arg(c, 0)), flags });
  }
  const flags = flagsValue(arg(c, 3), MOUNT_FLAGS);
  return pair(
    256,
    257,
    { flags },
    { res: c.res, dev: str(arg(c, 0)), dir: str(arg(c, 1)), type: str(arg(c, 2)), flags },
  );
};

const buildNs: Builder = (c) => {
  if (c.res === undefined) return undefined;
  if (c.name === 'setns') {
    const fd = fdNum(arg(c, 0));
    const nstype = flagsValue(arg(c, 1), CLONE_FLAGS);
    return pair(240, 241, { fd, nstype }, { res: c.res, fd, nstype });
  }
  const flags = flagsValue(arg(c, 0), CLONE_FLAGS);
  return pair(284, 285, { flags }, { res: c.res, flags });
};

const buildMemfd: Builder = (c) => {
  if (c.res === undefined) return undefined;
  return pair(404, 405, {}, { fd: c.res, name: str(arg(c, 0)), flags: flagsValue(arg(c, 1), MEMFD_FLAGS) });
};

const buildPathOp: Builder = (c) => {
  if (c.res === undefined) return undefined;
  const res = c.res;
  const a = (i: number): StraceValue | undefined => arg(c, i);
  switch (c.name) {
    case 'symlink':
      return pair(178, 179, {}, { res, target: str(a(0)), linkpath: str(a(1)) });
    case 'symlinkat':
      return pair(180, 181, {}, { res, target: str(a(0)), linkdirfd: fdNum(a(1)), linkpath: str(a(2)) });
    case 'link':
      return pair(308, 309, {}, { res, oldpath: str(a(0)), newpath: str(a(1)) });
    case 'linkat':
      return pair(
        310,
        311,
        {},
        {
          res,
          olddir: fdNum(a(0)),
          oldpath: str(a(1)),
          newdir: fdNum(a(2)),
          newpath: str(a(3)),
          flags: flagsValue(a(4), LINKAT_FLAGS),
        },
      );
    case 'unlink':
      return pair(300, 301, {}, { res, path: str(a(0)) });
    case 'unlinkat':
      return pair(
        302,
        303,
        {},
        { res, dirfd: fdNum(a(0)), name: str(a(1)), flags: flagsValue(a(2), UNLINKAT_FLAGS) },
      );
    case 'rename':
      return pair(174, 175, {}, { res, oldpath: str(a(0)), newpath: str(a(1)) });
    case 'renameat':
    case 'renameat2': {
      const v: Values = {
        res,
        olddirfd: fdNum(a(0)),
        oldpath: str(a(1)),
        newdirfd: fdNum(a(2)),
        newpath: str(a(3)),
      };
      if (c.name === 'renameat') return pair(176, 177, {}, v);
      return pair(318, 319, {}, { ...v, flags: flagsValue(a(4), RENAMEAT2_FLAGS) });
    }
    case 'chmod':
      return pair(314, 315, {}, { res, filename: str(a(0)), mode: num(a(1)) });
    case 'fchmod':
      return pair(316, 317, {}, { res, fd: fdNum(a(0)), mode: num(a(1)) });
    case 'fchmodat':
      return pair(312, 313, {}, { res, dirfd: fdNum(a(0)), filename: str(a(1)), mode: num(a(2)) });
    case 'mkdir': {
      const mode = num(a(1));
      return pair(276, 277, { mode }, { res, path: str(a(0)), mode });
    }
    case 'mkdirat':
      return pair(304, 305, {}, { res, dirfd: fdNum(a(0)), path: str(a(1)), mode: num(a(2)) });
    case 'rmdir':
      return pair(278, 279, {}, { res, path: str(a(0)) });
    default:
      return undefined;
  }
};

const BUILDERS: Readonly<Record<string, Builder>> = {
  open: (c) => (c.res === undefined ? undefined : openatLike(c, 2, 3, undefined)),
  openat: (c) => (c.res === undefined ? undefined : openatLike(c, 306, 307, 0)),
  openat2: (c) => {
    if (c.res === undefined) return undefined;
    const how = arg(c, 2);
    const v: Values = {
      dirfd: fdNum(arg(c, 0)),
      name: str(arg(c, 1)),
      flags: openFlags(field(how, 'flags')),
      mode: num(field(how, 'mode')),
      resolve: flagsValue(field(how, 'resolve'), OPENAT2_RESOLVE),
    };
    return pair(326, 327, v, { fd: c.res, ...v, dev: 0, ino: 0n });
  },
  creat: (c) => {
    if (c.res === undefined) return undefined;
    const v: Values = { name: str(arg(c, 0)), mode: num(arg(c, 1)) };
    return pair(58, 59, v, { fd: c.res, ...v, dev: 0, ino: 0n, creat_flags: 0 });
  },
  close: buildClose,
  dup: buildDup,
  dup2: buildDup,
  dup3: buildDup,
  pipe: buildPipe,
  pipe2: buildPipe,
  socket: buildSocket,
  socketpair: buildSocketpair,
  bind: buildBind,
  connect: buildConnect,
  listen: buildListen,
  accept: buildAccept,
  accept4: buildAccept,
  sendto: buildSendto,
  sendmsg: buildSendmsg,
  clone: buildClone,
  clone3: buildClone,
  fork: buildClone,
  vfork: buildClone,
  execve: buildExecve,
  execveat: buildExecveat,
  chdir: buildChdir,
  fchdir: buildChdir,
  setuid: buildSetid,
  setgid: buildSetid,
  kill: buildKill,
  tkill: buildKill,
  tgkill: buildKill,
  ptrace: buildPtrace,
  init_module: buildModule,
  finit_module: buildModule,
  mount: buildMount,
  umount2: buildMount,
  setns: buildNs,
  unshare: buildNs,
  memfd_create: buildMemfd,
  symlink: buildPathOp,
  symlinkat: buildPathOp,
  link: buildPathOp,
  linkat: buildPathOp,
  unlink: buildPathOp,
  unlinkat: buildPathOp,
  rename: buildPathOp,
  renameat: buildPathOp,
  renameat2: buildPathOp,
  chmod: buildPathOp,
  fchmod: buildPathOp,
  fchmodat: buildPathOp,
  mkdir: buildPathOp,
  mkdirat: buildPathOp,
  rmdir: buildPathOp,
};

/** The syscalls the ptrace driver decodes (strace names). */
export const PTRACE_SYSCALLS: readonly string[] = Object.keys(BUILDERS);

/** What the state engine needs whatever the rules say (process and fd lifecycle). */
export const PTRACE_STATE_SYSCALLS: readonly string[] = [
  'clone',
  'clone3',
  'fork',
  'vfork',
  'execve',
  'execveat',
  'open',
  'openat',
  'openat2',
  'creat',
  'close',
  'dup',
  'dup2',
  'dup3',
  'socket',
  'socketpair',
  'bind',
  'connect',
  'accept',
  'accept4',
  'pipe',
  'pipe2',
  'chdir',
  'fchdir',
  'setuid',
  'setgid',
];

/** Rule event types whose syscall has another name (`umount` events come from umount2). */
const EVENT_TYPE_SYSCALLS: Readonly<Record<string, readonly string[]>> = {
  umount: ['umount2'],
  procexit: [],
};

/** The syscalls to trace for a set of rule event types, and the types the driver cannot see. */
export function ptraceCaptureSet(
  eventTypes: Iterable<string>,
  options: { withState?: boolean } = {},
): { syscalls: string[]; unsupported: string[] } {
  const out = new Set<string>(options.withState === false ? [] : PTRACE_STATE_SYSCALLS);
  const unsupported = new Set<string>();
  for (const t of eventTypes) {
    const names = EVENT_TYPE_SYSCALLS[t] ?? [t];
    for (const n of names) {
      if (BUILDERS[n]) out.add(n);
      else unsupported.add(t);
    }
  }
  return { syscalls: PTRACE_SYSCALLS.filter((s) => out.has(s)), unsupported: [...unsupported].sort() };
}

/** The scap fd entry for what strace says an fd is (the fd hints' payload). */
export function fdEntryFromDecoration(tid: number, fd: number, d: FdDecoration): ScapFdEntry | undefined {
  const base = { tid, fd, ino: 0 };
  switch (d.kind) {
    case 'path': {
      const e: ScapFdEntry = { ...base, type: SCAP_FD.FILE_V2, name: d.path };
      if (d.devMajor !== undefined) e.dev = ((d.devMajor << 20) | (d.devMinor ?? 0)) >>> 0;
      return e;
    }
    case 'pipe':
      return { ...base, ino: d.inode, type: SCAP_FD.FIFO, name: `pipe:[${d.inode}]` };
    case 'memfd':
      return { ...base, type: SCAP_FD.MEMFD, name: `memfd:${d.name}` };
    case 'inet': {
      const l4proto = d.proto === 'tcp' ? 2 : d.proto === 'udp' ? 3 : d.proto === 'icmp' ? 4 : 5;
      const v6 = d.family === 'ipv6';
      if (d.local && d.remote) {
        return {
          ...base,
          type: v6 ? SCAP_FD.IPV6_SOCK : SCAP_FD.IPV4_SOCK,
          sip: d.local.ip,
          sport: d.local.port,
          dip: d.remote.ip,
          dport: d.remote.port,
          l4proto,
        };
      }
      if (d.local && d.proto === 'tcp') {
        return {
          ...base,
          type: v6 ? SCAP_FD.IPV6_SERVSOCK : SCAP_FD.IPV4_SERVSOCK,
          sip: d.local.ip,
          sport: d.local.port,
          l4proto,
        };
      }
      return undefined; // an unconnected socket: nothing worth naming
    }
    case 'unix':
      return { ...base, type: SCAP_FD.UNIX_SOCK, name: d.path ?? '' };
    case 'netlink':
      return { ...base, type: SCAP_FD.NETLINK, name: '' };
    case 'anon':
      return { ...base, type: anonFdType(d.what), name: '' };
    case 'other':
      return { ...base, type: SCAP_FD.UNSUPPORTED, name: d.text };
  }
}

/**
 * Adds the fds an event's hints describe to the state, where the state does not know them yet
 * (an fd dup'ed by an untraced fcntl, one inherited from before the trace): what the state tracked
 * itself always wins.
 */
export function applyFdHints(state: StateEngine, hints: readonly FdHint[] | undefined): void {
  if (!hints) return;
  for (const h of hints) {
    const t = state.table.get(h.tid);
    if (!t || t.fdTable.has(h.fd)) continue;
    const entry = fdEntryFromDecoration(h.tid, h.fd, h.decoration);
    if (entry) state.addFd(entry);
  }
}

// -------------------------------------------------------------------------------------------------
// The translator

interface Pending {
  name: string;
  args: string;
  ts: bigint;
  comm: string | undefined;
}

interface PendingClone {
  name: string;
  flags: number;
  child?: number;
  seq: number;
}

/** Options of {@link StraceTranslator}. */
export interface TranslatorOptions {
  /** pid of lines that carry none (strace tracing one process without `-o`). */
  defaultPid?: number;
  /** How many unparsed lines to keep as samples. Default 20. */
  maxSamples?: number;
}

/**
 * Turns strace lines into raw events, one line at a time. Keeps the unfinished syscalls of each
 * thread and the clones whose children are not placed yet; bounded by the number of live traced
 * threads.
 */
export class StraceTranslator {
  readonly stats: TranslateStats = {
    lines: 0,
    syscalls: 0,
    events: 0,
    unparsed: emptyUnparsed(),
    samples: [],
    truncated: 0,
    lostUnfinished: 0,
    adoptedChildren: 0,
  };
  private readonly unfinished = new Map<number, Pending>();
  private readonly pendingClones = new Map<number, PendingClone>();
  private readonly seen = new Set<number>();
  private cloneSeq = 0;
  private readonly maxSamples: number;
  private readonly defaultPid: number;

  constructor(
    readonly ctx: TranslateContext,
    options: TranslatorOptions = {},
  ) {
    this.maxSamples = options.maxSamples ?? 20;
    this.defaultPid = options.defaultPid ?? 0;
  }

  /** Translates one line; returns the events it completes (possibly none). */
  push(line: string): TranslatedEvent[] {
    if (line === '' || line.startsWith('#')) return [];
    this.stats.lines++;
    const parsed = parseStraceLine(line, this.defaultPid);
    if (typeof parsed === 'string') {
      this.unparsedLine(parsed, line);
      return [];
    }
    const out: TranslatedEvent[] = [];
    this.notice(parsed, out);
    switch (parsed.kind) {
      case 'call':
        this.complete(parsed.pid, parsed.comm, parsed.ts, parsed.name, parsed.args, parsed, line, out);
        break;
      case 'unfinished':
        this.unfinished.set(parsed.pid, {
          name: parsed.name,
          args: parsed.args,
          ts: parsed.ts,
          comm: parsed.comm,
        });
        if (CLONE_CODES[parsed.name]) {
          const flags = cloneFlags(
            this.callFrom(parsed.pid, parsed.comm, parsed.ts, parsed.name, parsed.args, {}),
          );
          this.pendingClones.set(parsed.pid, { name: parsed.name, flags, seq: ++this.cloneSeq });
        }
        break;
      case 'resumed': {
        const p = this.unfinished.get(parsed.pid);
        if (!p || p.name !== parsed.name) {
          this.unparsedLine('unmatched-resume', line);
          break;
        }
        this.unfinished.delete(parsed.pid);
        if (parsed.result === undefined) {
          // `<... x resumed> <unfinished ...>)`: the thread died inside the call.
          this.stats.lostUnfinished++;
          break;
        }
        const args = joinArgs(p.args, parsed.args);
        this.complete(parsed.pid, p.comm, p.ts, p.name, args, parsed, line, out);
        break;
      }
      case 'exited':
      case 'killed':
        out.push(this.procexit(parsed));
        this.forget(parsed.pid);
        break;
      case 'superseded':
        // The exec'ing thread took over the leader's pid: the leader's pending call is gone.
        this.forget(parsed.pid);
        break;
      case 'detached':
        this.forget(parsed.pid);
        break;
      case 'signal':
        break;
    }
    return out;
  }

  /** Call at the end of the trace: syscalls still unfinished are counted as lost. */
  finish(): void {
    this.stats.lostUnfinished += this.unfinished.size;
    this.unfinished.clear();
    this.pendingClones.clear();
  }

  private unparsedLine(reason: UnparsedReason, line: string): void {
    this.stats.unparsed[reason]++;
    if (this.stats.samples.length < this.maxSamples)
      this.stats.samples.push(`${reason}: ${line.slice(0, 300)}`);
  }

  private forget(pid: number): void {
    if (this.unfinished.delete(pid)) this.stats.lostUnfinished++;
    this.pendingClones.delete(pid);
    this.seen.delete(pid);
  }

  /** First line of a thread: place it (a pending clone's child, or ask the source to read /proc). */
  private notice(line: StraceLine, out: TranslatedEvent[]): void {
    const tid = line.pid;
    if (this.seen.has(tid)) return;
    this.seen.add(tid);
    if (this.ctx.thread(tid)) return;
    const parent = this.pickParent(tid);
    if (parent !== undefined) {
      const pc = this.pendingClones.get(parent);
      if (pc) {
        pc.child = tid;
        out.push(this.childClone(tid, parent, pc, line.ts));
        this.stats.adoptedChildren++;
        return;
      }
    }
    this.ctx.discover?.(tid, line.comm);
  }

  private pickParent(tid: number): number | undefined {
    let best: [number, PendingClone] | undefined;
    const rel = this.ctx.parentOf?.(tid);
    for (const [ptid, pc] of this.pendingClones) {
      if (pc.child !== undefined) continue;
      if (rel) {
        const ppid = this.ctx.thread(ptid)?.pid ?? ptid;
        const isThread = (pc.flags & PPM_CLONE_THREAD) !== 0;
        if ((isThread ? rel.tgid : rel.ppid) !== ppid) continue;
      }
      if (!best || pc.seq > best[1].seq) best = [ptid, pc];
    }
    return best?.[0];
  }

  /** The clone exit as the child sees it (returning 0), which creates the child in the state. */
  private childClone(tid: number, parent: number, pc: PendingClone, ts: bigint): TranslatedEvent {
    const view = this.ctx.thread(parent);
    const isThread = (pc.flags & PPM_CLONE_THREAD) !== 0;
    const pid = isThread ? (view?.pid ?? parent) : tid;
    const codes = CLONE_CODES[pc.name] ?? [222, 223];
    const values = cloneValues(view, 0, tid, pid, parent, pc.flags);
    this.stats.events++;
    return { raw: { ts, tid, cpu: 0, type: codes[1], params: encodeParams(codes[1], values) } };
  }

  private procexit(line: Extract<StraceLine, { kind: 'exited' | 'killed' }>): TranslatedEvent {
    let status = 0;
    let ret = 0;
    let sig = 0;
    let core = 0;
    if (line.kind === 'exited') {
      ret = line.code;
      status = (line.code & 0xff) << 8;
    } else {
      sig = SIGNAL_NUMBERS.get(line.signal) ?? 0;
      core = line.core ? 1 : 0;
      status = sig | (core ? 0x80 : 0);
    }
    const params = encodeParams(186, { status, ret, sig, core, reaper_tid: 0 });
    this.stats.events++;
    return { raw: { ts: line.ts, tid: line.pid, cpu: 0, type: 186, params } };
  }

  private callFrom(
    tid: number,
    comm: string | undefined,
    ts: bigint,
    name: string,
    args: string,
    r: { result?: string; durationNs?: bigint },
  ): Call {
    const result = (r.result !== undefined ? parseStraceResult(r.result) : undefined) ?? {};
    let res: number | undefined;
    if (result.errno !== undefined && (result.value === -1 || result.value === undefined)) {
      const n = ERRNO_NUMBERS.get(result.errno);
      // ERESTART*: the call will be made again; no result yet.
      res = result.value === undefined || n === undefined || n >= 512 ? undefined : -n;
    } else res = result.value;
    const parsedArgs = parseStraceArgs(args);
    return {
      tid,
      comm,
      ts,
      exitTs: ts + (r.durationNs ?? 0n),
      name,
      args: parsedArgs,
      result,
      res,
    };
  }

  private complete(
    tid: number,
    comm: string | undefined,
    ts: bigint,
    name: string,
    args: string,
    r: { result?: string; durationNs?: bigint },
    line: string,
    out: TranslatedEvent[],
  ): void {
    const build = BUILDERS[name];
    if (CLONE_CODES[name]) this.pendingClones.delete(tid);
    if (!build) {
      // exit/exit_group and syscalls traced for other tools: nothing to report.
      this.unparsedLine(name === 'exit' || name === 'exit_group' ? 'not-traced' : 'unknown-syscall', line);
      return;
    }
    let call: Call;
    try {
      call = this.callFrom(tid, comm, ts, name, args, r);
    } catch {
      this.unparsedLine('bad-arguments', line);
      return;
    }
    const em = build(call, this);
    if (!em) {
      this.unparsedLine('no-result', line);
      return;
    }
    this.stats.syscalls++;
    this.countTruncated(call.args);
    const hints = this.hints(call);
    const enter: RawSyscallEvent = {
      ts,
      tid,
      cpu: 0,
      type: em.enter,
      params: encodeParams(em.enter, em.enterValues),
    };
    const exit: RawSyscallEvent = {
      ts: call.exitTs,
      tid,
      cpu: 0,
      type: em.exit,
      params: encodeParams(em.exit, em.exitValues),
    };
    this.stats.events += 2;
    out.push(hints.length > 0 ? { raw: enter, fdHints: hints } : { raw: enter }, { raw: exit });
  }

  /** fd arguments strace decorated: the state can learn fds it missed (fcntl dups, inherited fds). */
  private hints(c: Call): FdHint[] {
    const out: FdHint[] = [];
    const visit = (v: StraceValue | undefined): void => {
      if (!v) return;
      if (v.k === 'atom') {
        const f = atomFd(v.text);
        if (f && f.fd >= 0 && f.decoration !== undefined)
          out.push({ tid: c.tid, fd: f.fd, decoration: parseFdDecoration(f.decoration) });
      } else if (v.k === 'arr' && c.name !== 'pipe' && c.name !== 'pipe2' && c.name !== 'socketpair') {
        v.items.forEach(visit);
      }
    };
    for (const a of c.args) if (a.key === undefined) visit(a.value);
    return out;
  }

  private countTruncated(args: readonly StraceArg[]): void {
    const visit = (v: StraceValue): void => {
      if ((v.k === 'str' || v.k === 'arr') && v.truncated) this.stats.truncated++;
      if (v.k === 'arr') v.items.forEach(visit);
      else if (v.k === 'obj') v.fields.forEach((f) => visit(f.value));
      else if (v.k === 'io') visit(v.before);
    };
    args.forEach((a) => visit(a.value));
  }
}

/** Joins the entry part of an unfinished call and the rest from its resumed line. */
function joinArgs(entry: string, rest: string): string {
  const a = entry.trimEnd();
  if (a === '' || rest.trim() === '') return a + rest;
  return a.endsWith(',') ? `${a} ${rest}` : `${a}${rest}`;
}
