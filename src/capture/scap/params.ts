/**
 * Event parameters: decoding the bytes of each parameter type into a raw value, and rendering it the
 * way libsinsp does (its "raw" string and its "resolved" string: `4097` / `O_RDONLY|O_CLOEXEC`,
 * `-2` / `ENOENT`, `3` / `<f>/etc/passwd`).
 *
 * Rendering needs state (fd table, thread names, user names, the working directory), which the
 * state engine passes in through {@link RenderContext}.
 */
import type { EventParam, FdInfo } from '../../engine/event.js';
import { PF, PT, flagTable, syscallInfo, type ScapParamInfo } from './event-table.js';

/** What rendering needs from the state engine at the time of the event. */
export interface RenderContext {
  /** The event's thread is known (libsinsp resolves fds and paths only then). */
  readonly hasThread: boolean;
  /** Working directory of the event's thread (for relative paths). */
  readonly cwd: string | undefined;
  /** Looks up an fd of the event's process. */
  fd(num: number): FdInfo | undefined;
  /** The protocol an fd reports (fd.l4proto); defaults to its `l4proto`. */
  l4?(fd: FdInfo): FdInfo['l4proto'];
  /** comm of a thread id, when the thread is known. */
  threadName(tid: number): string | undefined;
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
}

/** A decoded parameter: {@link EventParam} plus the unresolved rendering. */
export interface ScapParam extends EventParam {
  /** libsinsp's raw string (`4097`, `-2`, `3`). `text` is the resolved form when there is one. */
  rawText: string;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/**
 * Node's Buffer `latin1Slice` applied to any Uint8Array: about half the cost of `TextDecoder` (and
 * of the view TextDecoder needs) on the short ASCII strings every open event carries. Feature
 * detected, so the module still runs where Buffer is absent.
 */
const latin1Slice = (
  globalThis as {
    Buffer?: { prototype: { latin1Slice?: (this: Uint8Array, start: number, end: number) => string } };
  }
).Buffer?.prototype.latin1Slice;

// Integer reads straight from the bytes: a DataView per read costs an allocation, and events
// carry several integers each. The rare values that need a bigint fall back to a DataView.

/** A view for the reads that throw on short input (a 3-byte integer), as before. */
function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Unsigned 32-bit little-endian read. */
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** Signed 32-bit little-endian read. */
function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** Signed 64-bit read, as a number when it fits exactly, else a bigint. */
function readI64(b: Uint8Array, o: number): number | bigint {
  const lo = u32(b, o);
  const hi = i32(b, o + 4);
  // hi * 2^32 + lo is exact while |hi| < 2^21 (53-bit mantissa).
  if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
  return dv(b).getBigInt64(o, true);
}

/** Unsigned 64-bit read, as a number when it fits exactly, else a bigint. */
function readU64(b: Uint8Array, o: number): number | bigint {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi < 0x200000) return hi * 0x100000000 + lo;
  return dv(b).getBigUint64(o, true);
}

/** Unsigned integer of the parameter's own width (drivers sometimes store fewer bytes than the type). */
function readUnsigned(b: Uint8Array): number | bigint {
  switch (b.length) {
    case 0:
      return 0;
    case 1:
      return b[0]!;
    case 2:
      return b[0]! | (b[1]! << 8);
    case 4:
      return u32(b, 0);
    default:
      return b.length >= 8 ? readU64(b, 0) : b.length > 4 ? u32(b, 0) : dv(b).getUint32(0, true);
  }
}

/** Signed integer of the parameter's own width. */
function readSigned(b: Uint8Array): number | bigint {
  switch (b.length) {
    case 0:
      return 0;
    case 1:
      return (b[0]! << 24) >> 24;
    case 2:
      return ((b[0]! | (b[1]! << 8)) << 16) >> 16;
    case 4:
      return i32(b, 0);
    default:
      return b.length >= 8 ? readI64(b, 0) : b.length > 4 ? i32(b, 0) : dv(b).getInt32(0, true);
  }
}

/** 64-bit fds and pids; a 4-byte value (some old drivers) is taken unsigned, as libsinsp ends up doing. */
function readFdLike(b: Uint8Array): number | bigint {
  return b.length >= 8 ? readI64(b, 0) : readUnsigned(b);
}

/** NUL-terminated string (the terminator and anything after it dropped). UTF-8, latin1 if invalid. */
export function decodeCString(b: Uint8Array): string {
  return decodeCStringAt(b, 0, b.length);
}

/** {@link decodeCString} of the `len` bytes of `b` from `start`, without making a view of them. */
export function decodeCStringAt(b: Uint8Array, start: number, len: number): string {
  // One pass finds the terminator and whether any byte is beyond ASCII.
  const n = start + len;
  let end = start;
  let ascii = true;
  for (; end < n; end++) {
    const c = b[end]!;
    if (c === 0) break;
    if (c >= 0x80) ascii = false;
  }
  if (end === start) return '';
  if (ascii)
    return latin1Slice !== undefined
      ? latin1Slice.call(b, start, end)
      : latin1.decode(b.subarray(start, end));
  const bytes = b.subarray(start, end);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

/** Characters libsinsp strips from names it prints (control characters). */
function sanitize(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return s.replace(/[\x00-\x1f\x7f]/g, '');
  }
  return s;
}

function isPrint(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}

/** libsinsp's printable rendering of a byte buffer: printable ASCII kept, other bytes as `.`. */
export function renderByteBuf(b: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < b.length; i++) {
    if (!isPrint(b[i] ?? 0)) {
      plain = false;
      break;
    }
  }
  if (plain) return latin1.decode(b);
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const c = b[i] ?? 0;
    out[i] = isPrint(c) ? c : 0x2e;
  }
  return latin1.decode(out);
}

function hexUpper(v: number | bigint, bits: number): string {
  let big = typeof v === 'bigint' ? v : BigInt(v);
  if (big < 0n) big = BigInt.asUintN(bits, big);
  return big.toString(16).toUpperCase();
}

function octal(v: number | bigint): string {
  const s = (typeof v === 'bigint' ? v : BigInt(v)).toString(8);
  return s === '0' ? '0' : `0${s}`;
}

function numberText(v: number | bigint, fmt: number, bits: number): string {
  if (fmt === PF.HEX) return hexUpper(v, bits);
  if (fmt === PF.OCT) return octal(v);
  return String(v);
}

/** printf `%lg`: six significant digits, trailing zeros dropped, exponent form outside 1e-4..1e6. */
export function formatG(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const exp = Math.floor(Math.log10(Math.abs(x)));
  let s: string;
  if (exp < -4 || exp >= 6) {
    s = x.toExponential(5);
    const [mantissa, e] = s.split('e') as [string, string];
    let mant = mantissa;
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  s = x.toFixed(Math.max(0, 5 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Rendering of flag values in table order, as libsinsp does it (see docs/scap.md). */
export function renderFlags(
  value: number,
  table: readonly (readonly [string, number])[] | undefined,
): string {
  if (!table) return '';
  const initial = value;
  let val = value;
  let out = '';
  let i = 0;
  for (; i < table.length; i++) {
    const [name, v] = table[i] as readonly [string, number];
    if (v === initial) break;
    // Zero-valued names (O_NONE, F_OK) only print when the whole value is zero (the stop below).
    if (v !== 0 && (val & v) >>> 0 === v && val !== 0) {
      out += out ? `|${name}` : name;
      val = (val & ~v) >>> 0;
    }
  }
  const stop = table[i];
  if (stop) out += out ? `|${stop[0]}` : stop[0];
  return out;
}

/** Enum-style flags (ENUMFLAGS*): the single name with exactly this value. */
function renderEnum(value: number, table: readonly (readonly [string, number])[] | undefined): string {
  if (!table) return '';
  for (const [name, v] of table) if (v === value) return name;
  return '';
}

/** Signal names (Linux numbering). */
const SIGNALS: readonly string[] = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
];

/** Name of a signal number, '' when unknown. */
export function signalName(sig: number): string {
  return SIGNALS[sig] ?? '';
}

/** Linux errno names by number (generic architecture numbering). */
const ERRNOS: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EDEADLK',
  36: 'ENAMETOOLONG',
  37: 'ENOLCK',
  38: 'ENOSYS',
  39: 'ENOTEMPTY',
  40: 'ELOOP',
  42: 'ENOMSG',
  43: 'EIDRM',
  44: 'ECHRNG',
  45: 'EL2NSYNC',
  46: 'EL3HLT',
  47: 'EL3RST',
  48: 'ELNRNG',
  49: 'EUNATCH',
  50: 'ENOCSI',
  51: 'EL2HLT',
  52: 'EBADE',
  53: 'EBADR',
  54: 'EXFULL',
  55: 'ENOANO',
  56: 'EBADRQC',
  57: 'EBADSLT',
  59: 'EBFONT',
  60: 'ENOSTR',
  61: 'ENODATA',
  62: 'ETIME',
  63: 'ENOSR',
  64: 'ENONET',
  65: 'ENOPKG',
  66: 'EREMOTE',
  67: 'ENOLINK',
  68: 'EADV',
  69: 'ESRMNT',
  70: 'ECOMM',
  71: 'EPROTO',
  72: 'EMULTIHOP',
  73: 'EDOTDOT',
  74: 'EBADMSG',
  75: 'EOVERFLOW',
  76: 'ENOTUNIQ',
  77: 'EBADFD',
  78: 'EREMCHG',
  79: 'ELIBACC',
  80: 'ELIBBAD',
  81: 'ELIBSCN',
  82: 'ELIBMAX',
  83: 'ELIBEXEC',
  84: 'EILSEQ',
  85: 'ERESTART',
  86: 'ESTRPIPE',
  87: 'EUSERS',
  88: 'ENOTSOCK',
  89: 'EDESTADDRREQ',
  90: 'EMSGSIZE',
  91: 'EPROTOTYPE',
  92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT',
  94: 'ESOCKTNOSUPPORT',
  95: 'EOPNOTSUPP',
  96: 'EPFNOSUPPORT',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  102: 'ENETRESET',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  106: 'EISCONN',
  107: 'ENOTCONN',
  108: 'ESHUTDOWN',
  109: 'ETOOMANYREFS',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  112: 'EHOSTDOWN',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
  116: 'ESTALE',
  117: 'EUCLEAN',
  118: 'ENOTNAM',
  119: 'ENAVAIL',
  120: 'EISNAM',
  121: 'EREMOTEIO',
  122: 'EDQUOT',
  123: 'ENOMEDIUM',
  124: 'EMEDIUMTYPE',
  125: 'ECANCELED',
  126: 'ENOKEY',
  127: 'EKEYEXPIRED',
  128: 'EKEYREVOKED',
  129: 'EKEYREJECTED',
  130: 'EOWNERDEAD',
  131: 'ENOTRECOVERABLE',
  132: 'ERFKILL',
  133: 'EHWPOISON',
  512: 'ERESTARTSYS',
  513: 'ERESTARTNOINTR',
  514: 'ERESTARTNOHAND',
  515: 'ENOIOCTLCMD',
  516: 'ERESTART_RESTARTBLOCK',
  517: 'EPROBE_DEFER',
  518: 'EOPENSTALE',
  521: 'EBADHANDLE',
  522: 'ENOTSYNC',
  523: 'EBADCOOKIE',
  524: 'ENOTSUPP',
  525: 'ETOOSMALL',
  526: 'ESERVERFAULT',
  527: 'EBADTYPE',
  528: 'EJUKEBOX',
  529: 'EIOCBQUEUED',
};

/** errno name for a (negative) return value, '' when unknown. */
export function errnoName(res: number): string {
  return ERRNOS[-res] ?? '';
}

/** libsinsp's one-character fd type code. */
export function fdTypeChar(fd: FdInfo): string {
  switch (fd.type) {
    case 'file':
      return 'f';
    case 'directory':
      return 'd';
    case 'ipv4':
      return '4';
    case 'ipv6':
      return '6';
    case 'unix':
      return 'u';
    case 'pipe':
      return 'p';
    case 'event':
      return 'e';
    case 'signalfd':
      return 's';
    case 'eventpoll':
      return 'l';
    case 'inotify':
      return 'i';
    case 'timerfd':
      return 't';
    case 'netlink':
      return 'n';
    case 'bpf':
      return 'b';
    case 'userfaultfd':
      return 'u';
    case 'io_uring':
      return 'r';
    case 'memfd':
      return 'm';
    case 'pidfd':
      return 'P';
    case 'unknown':
      return 'o';
  }
}

/** `<typechar[l4]>name`, the resolved form of an fd parameter. */
export function renderFdRef(fd: FdInfo, proto: FdInfo['l4proto'] = fd.l4proto): string {
  let l4 = '';
  if (fd.type === 'ipv4' || fd.type === 'ipv6') {
    l4 = proto === 'tcp' ? 't' : proto === 'udp' ? 'u' : proto === 'icmp' ? 'i' : proto === 'raw' ? 'r' : '';
  }
  return `<${fdTypeChar(fd)}${l4}>${sanitize(fd.name)}`;
}

/** Dotted IPv4 from 4 bytes (network order). */
export function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o] ?? 0}.${b[o + 1] ?? 0}.${b[o + 2] ?? 0}.${b[o + 3] ?? 0}`;
}

/** Canonical (RFC 5952, as inet_ntop prints) IPv6 text from 16 bytes. */
export function ipv6Text(b: Uint8Array, o: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[o + 2 * i] ?? 0) << 8) | (b[o + 2 * i + 1] ?? 0));
  // IPv4-mapped / compatible forms print the last 32 bits dotted, like inet_ntop.
  if (
    words.slice(0, 5).every((w) => w === 0) &&
    (words[5] === 0xffff || (words[5] === 0 && words[6] !== 0))
  ) {
    const v4 = ipv4Text(b, o + 12);
    return words[5] === 0xffff ? `::ffff:${v4}` : `::${v4}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** True for ::ffff:a.b.c.d. */
export function isIpv4Mapped(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}

function u16le(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;

/** A socket tuple decoded from a SOCKTUPLE parameter. */
export interface SockTuple {
  family: 'ipv4' | 'ipv6' | 'unix';
  sip?: string;
  sport?: number;
  dip?: string;
  dport?: number;
  /** unix: source and peer socket addresses (kernel pointers) and the path. */
  source?: bigint;
  dest?: bigint;
  path?: string;
}

/** Decodes a SOCKTUPLE parameter; undefined for empty or unknown-family tuples. */
export function decodeTuple(b: Uint8Array): SockTuple | undefined {
  if (b.length === 0) return undefined;
  const fam = b[0];
  if (fam === AF_INET && b.length >= 13) {
    return {
      family: 'ipv4',
      sip: ipv4Text(b, 1),
      sport: u16le(b, 5),
      dip: ipv4Text(b, 7),
      dport: u16le(b, 11),
    };
  }
  if (fam === AF_INET6 && b.length >= 37) {
    if (isIpv4Mapped(b, 1) && isIpv4Mapped(b, 19)) {
      return {
        family: 'ipv4',
        sip: ipv4Text(b, 13),
        sport: u16le(b, 17),
        dip: ipv4Text(b, 31),
        dport: u16le(b, 35),
      };
    }
    return {
      family: 'ipv6',
      sip: ipv6Text(b, 1),
      sport: u16le(b, 17),
      dip: ipv6Text(b, 19),
      dport: u16le(b, 35),
    };
  }
  if (fam === AF_UNIX && b.length >= 17) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return {
      family: 'unix',
      source: dv.getBigUint64(1, true),
      dest: dv.getBigUint64(9, true),
      path: sanitize(decodeCString(b.subarray(17))),
    };
  }
  return undefined;
}

/** A socket address decoded from a SOCKADDR parameter. */
export interface SockAddr {
  family: 'ipv4' | 'ipv6' | 'unix';
  ip?: string;
  port?: number;
  path?: string;
}

/** Decodes a SOCKADDR parameter; undefined for empty or unknown-family addresses. */
export function decodeSockAddr(b: Uint8Array): SockAddr | undefined {
  if (b.length === 0) return undefined;
  const fam = b[0];
  if (fam === AF_INET && b.length >= 7) return { family: 'ipv4', ip: ipv4Text(b, 1), port: u16le(b, 5) };
  if (fam === AF_INET6 && b.length >= 19) {
    if (isIpv4Mapped(b, 1)) return { family: 'ipv4', ip: ipv4Text(b, 13), port: u16le(b, 17) };
    return { family: 'ipv6', ip: ipv6Text(b, 1), port: u16le(b, 17) };
  }
  if (fam === AF_UNIX) return { family: 'unix', path: sanitize(decodeCString(b.subarray(1))) };
  return undefined;
}

function tupleText(b: Uint8Array): string {
  if (b.length === 0) return 'NULL';
  const t = decodeTuple(b);
  if (!t) {
    const fam = b[0];
    if (fam === AF_INET) return 'INVALID IPv4';
    if (fam === AF_INET6) return 'INVALID IPv6';
    return `family ${fam ?? 0}`;
  }
  if (t.family === 'unix')
    return `${(t.source ?? 0n).toString(16)}->${(t.dest ?? 0n).toString(16)} ${t.path ?? ''}`;
  return `${t.sip}:${t.sport}->${t.dip}:${t.dport}`;
}

function sockaddrText(b: Uint8Array): string {
  if (b.length === 0) return 'NULL';
  const a = decodeSockAddr(b);
  if (!a) {
    const fam = b[0];
    if (fam === AF_INET) return 'INVALID IPv4';
    return `family ${fam ?? 0}`;
  }
  if (a.family === 'unix') return a.path ?? '';
  return `${a.ip}:${a.port}`;
}

/** Joins a directory and a path the way libsinsp normalises them (`.`/`..` folded, `//` collapsed). */
export function concatPaths(dir: string, path: string): string {
  const full = path.startsWith('/') ? path : `${dir.endsWith('/') ? dir : `${dir}/`}${path}`;
  // Most paths are already normal: nothing to fold, keep the string.
  if (isNormalPath(full)) return full;
  const out: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * True when `p` is what {@link concatPaths} would return for it: absolute, no empty, `.` or `..`
 * component, no trailing slash (except `/` itself).
 */
function isNormalPath(p: string): boolean {
  const n = p.length;
  if (n === 0 || p.charCodeAt(0) !== 0x2f) return false;
  if (n === 1) return true;
  // Each component starts after a slash: check it is neither empty nor `.` nor `..`.
  for (let i = 0; i < n; i++) {
    if (p.charCodeAt(i) !== 0x2f) continue;
    const a = i + 1 < n ? p.charCodeAt(i + 1) : 0x2f;
    if (a === 0x2f) return false; // empty component (`//` or a trailing slash)
    if (a === 0x2e) {
      const b = i + 2 < n ? p.charCodeAt(i + 2) : 0x2f;
      if (b === 0x2f) return false; // `.`
      if (b === 0x2e && (i + 3 >= n || p.charCodeAt(i + 3) === 0x2f)) return false; // `..`
    }
  }
  return true;
}

/** Dynamic (PT_DYN) parameters: the first byte selects the real type. Keyed by `event:param`. */
function dynType(event: string, param: string, idx: number): { type: number; fmt: number } {
  if (param === 'val') {
    // setsockopt/getsockopt: unknown, errno, u32, u64, timeval
    const t = [PT.BYTEBUF, PT.ERRNO, PT.UINT32, PT.UINT64, PT.RELTIME][idx] ?? PT.BYTEBUF;
    return { type: t, fmt: PF.DEC };
  }
  if (event === 'ptrace')
    return idx === 1 ? { type: PT.SIGTYPE, fmt: PF.DEC } : { type: PT.UINT64, fmt: PF.HEX };
  if (event === 'bpf') return idx === 0 ? { type: PT.FD, fmt: PF.DEC } : { type: PT.ERRNO, fmt: PF.DEC };
  return { type: PT.BYTEBUF, fmt: PF.NA };
}

/**
 * Decodes and renders one parameter.
 * @param eventName used only to pick the layout of dynamic (PT_DYN) parameters.
 * @param dirfdPath resolved directory for FSRELPATH parameters (from the dirfd parameter), if any.
 */
export function decodeParam(
  info: ScapParamInfo,
  bytes: Uint8Array,
  ctx: RenderContext,
  eventName: string,
  dirfdPath?: string,
): ScapParam {
  return decodeAs(info.name, info.type, info.fmt, info.table, bytes, ctx, eventName, dirfdPath);
}

/**
 * The raw value {@link decodeParam} gives a parameter (`raw`), without rendering any text and
 * without state: what rules comparing numbers and flags need, at a fraction of the cost.
 */
export function decodeRawParam(info: ScapParamInfo, bytes: Uint8Array, eventName: string): EventParam['raw'] {
  return rawAs(info.name, info.type, bytes, eventName);
}

/** Parameter types whose raw value is the unsigned integer of the parameter's width as a number. */
const UNSIGNED_AS_NUMBER = new Uint8Array(256);
for (const t of [
  PT.UID,
  PT.GID,
  PT.SYSCALLID,
  PT.SIGTYPE,
  PT.FLAGS8,
  PT.FLAGS16,
  PT.FLAGS32,
  PT.MODE,
  PT.ENUMFLAGS8,
  PT.ENUMFLAGS16,
  PT.ENUMFLAGS32,
]) {
  UNSIGNED_AS_NUMBER[t] = 1;
}

/**
 * Parameter types whose raw value is the unsigned integer of the parameter's width as a number
 * (rounded when it needs more than 53 bits), as {@link decodeRawParam} gives it.
 */
export function isUnsignedNumberType(type: number): boolean {
  return UNSIGNED_AS_NUMBER[type] === 1;
}

function rawAs(name: string, type: number, b: Uint8Array, eventName: string): EventParam['raw'] {
  if (isUnsignedNumberType(type)) return Number(readUnsigned(b));
  switch (type) {
    case PT.INT8:
    case PT.INT16:
    case PT.INT32:
    case PT.INT64:
    case PT.ERRNO:
      return readSigned(b);
    case PT.UINT8:
    case PT.UINT16:
    case PT.UINT32:
    case PT.UINT64:
    case PT.PORT:
    case PT.SIGSET:
    case PT.BOOL:
    case PT.RELTIME:
    case PT.ABSTIME:
      return readUnsigned(b);
    case PT.FD:
    case PT.PID:
      return readFdLike(b);
    case PT.CHARBUF:
    case PT.FSPATH:
    case PT.FSRELPATH:
      return decodeCString(b);
    case PT.DOUBLE:
      return b.length >= 8 ? new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true) : 0;
    case PT.IPV4ADDR:
      return b.length >= 4 ? ipv4Text(b, 0) : '';
    case PT.IPV6ADDR:
      return b.length >= 16 ? ipv6Text(b, 0) : '';
    case PT.DYN: {
      if (b.length === 0) return undefined;
      return rawAs(name, dynType(eventName, name, b[0] ?? 0).type, b.subarray(1), eventName);
    }
    default:
      // Byte buffers, socket addresses and tuples, fd lists, string arrays: a copy of the bytes.
      return b.slice();
  }
}

function param(name: string, raw: EventParam['raw'], rawText: string, resolved: string): ScapParam {
  return { name, raw, rawText, text: resolved !== '' ? resolved : rawText };
}

function decodeAs(
  name: string,
  type: number,
  fmt: number,
  tableName: string | undefined,
  b: Uint8Array,
  ctx: RenderContext,
  eventName: string,
  dirfdPath: string | undefined,
): ScapParam {
  switch (type) {
    case PT.INT8:
    case PT.INT16:
    case PT.INT32:
    case PT.INT64: {
      const v = readSigned(b);
      return param(name, v, numberText(v, fmt, b.length * 8 || 64), '');
    }
    case PT.UINT8:
    case PT.UINT16:
    case PT.UINT32:
    case PT.UINT64:
    case PT.PORT:
    case PT.SIGSET: {
      const v = readUnsigned(b);
      return param(name, v, numberText(v, fmt, 64), '');
    }
    case PT.BOOL: {
      const v = readUnsigned(b);
      return param(name, v, v ? 'true' : 'false', '');
    }
    case PT.ERRNO: {
      const v = readSigned(b);
      const n = Number(v);
      return param(name, v, String(v), n < 0 ? errnoName(n) : '');
    }
    case PT.FD: {
      const v = readFdLike(b);
      const n = Number(v);
      let resolved = '';
      if (ctx.hasThread) {
        if (n >= 0) {
          const fd = ctx.fd(n);
          if (fd) resolved = renderFdRef(fd, ctx.l4 ? ctx.l4(fd) : fd.l4proto);
        } else resolved = errnoName(n);
      }
      return param(name, v, String(v), resolved);
    }
    case PT.PID: {
      const v = readFdLike(b);
      return param(name, v, String(v), ctx.threadName(Number(v)) ?? '');
    }
    case PT.UID:
    case PT.GID: {
      const v = Number(readUnsigned(b));
      const who = type === PT.UID ? ctx.userName(v) : ctx.groupName(v);
      return param(name, v, String(v), who ?? '');
    }
    case PT.CHARBUF: {
      const s = decodeCString(b);
      return param(name, s, s, '');
    }
    case PT.FSPATH: {
      const s = decodeCString(b);
      let resolved = '';
      if (ctx.hasThread && s !== '' && !s.startsWith('/') && s !== '<NA>')
        resolved = concatPaths(ctx.cwd ?? '/', s);
      return param(name, s, sanitize(s), resolved);
    }
    case PT.FSRELPATH: {
      const s = decodeCString(b);
      let resolved = '';
      if (s !== '' && !s.startsWith('/') && s !== '<NA>' && dirfdPath !== undefined)
        resolved = concatPaths(dirfdPath, s);
      return param(name, s, sanitize(s), resolved);
    }
    case PT.BYTEBUF: {
      const copy = b.slice();
      return param(name, copy, renderByteBuf(copy), '');
    }
    case PT.SOCKADDR:
      return param(name, b.slice(), sockaddrText(b), '');
    case PT.SOCKTUPLE:
      return param(name, b.slice(), tupleText(b), '');
    case PT.FDLIST:
      return param(name, b.slice(), ctx.hasThread ? fdListText(b, ctx) : '', '');
    case PT.SYSCALLID: {
      const v = Number(readUnsigned(b));
      return param(name, v, String(v), syscallInfo(v)?.name ?? '');
    }
    case PT.SIGTYPE: {
      const v = Number(readUnsigned(b));
      return param(name, v, String(v), signalName(v));
    }
    case PT.RELTIME: {
      const v = readUnsigned(b);
      return param(name, v, String(v), `${formatG(Number(v) / 1e9)}s`);
    }
    case PT.ABSTIME: {
      const v = readUnsigned(b);
      return param(name, v, String(v), '');
    }
    case PT.FLAGS8:
    case PT.FLAGS16:
    case PT.FLAGS32:
    case PT.MODE: {
      const v = Number(readUnsigned(b));
      const rawText = type === PT.MODE ? numberText(v, fmt, 32) : String(v);
      return param(name, v, rawText, renderFlags(v, tableName ? flagTable(tableName) : undefined));
    }
    case PT.ENUMFLAGS8:
    case PT.ENUMFLAGS16:
    case PT.ENUMFLAGS32: {
      const v = Number(readUnsigned(b));
      return param(name, v, String(v), renderEnum(v, tableName ? flagTable(tableName) : undefined));
    }
    case PT.DOUBLE: {
      const v = b.length >= 8 ? new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true) : 0;
      return param(name, v, v.toFixed(6), '');
    }
    case PT.IPV4ADDR:
      return param(name, b.length >= 4 ? ipv4Text(b, 0) : '', b.length >= 4 ? ipv4Text(b, 0) : '', '');
    case PT.IPV6ADDR:
      return param(name, b.length >= 16 ? ipv6Text(b, 0) : '', b.length >= 16 ? ipv6Text(b, 0) : '', '');
    case PT.CHARBUFARRAY:
    case PT.CHARBUF_PAIR_ARRAY: {
      const parts = splitNul(b);
      const text = type === PT.CHARBUF_PAIR_ARRAY ? pairs(parts) : parts.join(',');
      return param(name, b.slice(), text, '');
    }
    case PT.DYN: {
      if (b.length === 0) return param(name, undefined, '', '');
      const d = dynType(eventName, name, b[0] ?? 0);
      return decodeAs(name, d.type, d.fmt, undefined, b.subarray(1), ctx, eventName, dirfdPath);
    }
    default:
      return param(name, b.slice(), '(n.a.)', '');
  }
}

function splitNul(b: Uint8Array): string[] {
  const out: string[] = [];
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      out.push(utf8.decode(b.subarray(s, i)));
      s = i + 1;
    }
  }
  if (s < b.length) out.push(utf8.decode(b.subarray(s)));
  return out;
}

function pairs(parts: string[]): string {
  const out: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push(`${parts[i]}=${parts[i + 1]}`);
  return out.join(',');
}

function fdListText(b: Uint8Array, ctx: RenderContext): string {
  if (b.length < 2) return '';
  const n = u16le(b, 0);
  const items: string[] = [];
  let pos = 2;
  for (let j = 0; j < n && pos + 10 <= b.length; j++, pos += 10) {
    const fd = Number(readI64(b, pos));
    const flags = u16le(b, pos + 8);
    const info = fd >= 0 ? ctx.fd(fd) : undefined;
    items.push(`${fd}:${info ? fdTypeChar(info) : '?'}${flags.toString(16)}`);
  }
  return items.join(' ');
}

/** Splits a NUL-separated argument/environment buffer into strings (trailing NUL ignored). */
export function splitArgs(b: Uint8Array): string[] {
  if (b.length === 0) return [];
  const parts = splitNul(b);
  return parts;
}
