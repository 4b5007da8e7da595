/**
 * File descriptor state: building {@link FdInfo} entries from capture fd lists and from events,
 * and the socket naming libsinsp uses (`cip:cport->sip:sport` for connected sockets, `ip:port` for
 * listening ones, the path for files and unix sockets).
 *
 * An fd table is a `Map<number, FdInfo>` owned by a process (threads share their process's table).
 */
import type { FdInfo, FdType } from '../../engine/event.js';
import { SCAP_FD, type ScapFdEntry } from '../scap/reader.js';
import type { SockTuple } from '../scap/params.js';

/** An fd table entry: the shared {@link FdInfo} plus bookkeeping the state engine needs. */
export interface FdState extends FdInfo {
  /** Unix sockets: kernel addresses of the two ends. */
  unixSource?: bigint;
  unixDest?: bigint;
  /** The fd was opened as a client (connect) or server (accept/bind); decides tuple orientation. */
  role?: 'client' | 'server';
  /** Inode (pipes, files). */
  inode?: number | bigint;
  /**
   * Transport protocol as recorded when the socket was made. fd.l4proto shows it only once the
   * socket has a role (connected, accepted, bound) or is raw, as libsinsp does; see {@link effectiveL4}.
   */
  proto?: FdInfo['l4proto'];
  /**
   * Close-on-exec, when the call that made the fd said (dup/dup2 clear it, dup3, fcntl
   * F_DUPFD_CLOEXEC, socket, accept4, pipe2... set it from their flags). Unset: the open flags
   * decide (PPM_O_CLOEXEC). See {@link closesOnExec}.
   */
  cloexec?: boolean;
}

/** PPM_O_CLOEXEC: the close-on-exec bit of scap open flags (and of the flags pipe2 & co. report). */
export const PPM_O_CLOEXEC = 1 << 12;

/** Whether the kernel closes this fd when its process execs. */
export function closesOnExec(fd: FdState): boolean {
  return fd.cloexec ?? ((fd.openFlags ?? 0) & PPM_O_CLOEXEC) !== 0;
}

/**
 * Drops the close-on-exec fds of a process that has just exec'd: the kernel closed them without a
 * close call, so no event would ever remove them (and with close events left out of the capture,
 * this is what keeps an exec'd program's table to what it inherited).
 */
export function dropCloseOnExec(table: Map<number, FdState>): void {
  for (const [num, fd] of table) if (closesOnExec(fd)) table.delete(num);
}

/** fd.l4proto: unconnected sockets report none (libsinsp's SCAP_L4_NA) unless raw or listening. */
export function effectiveL4(fd: FdState): FdInfo['l4proto'] {
  if (fd.type !== 'ipv4' && fd.type !== 'ipv6') return undefined;
  if (fd.proto === 'raw' || fd.isServer || fd.role !== undefined) return fd.proto;
  return undefined;
}

/** scap l4 protocol number to fd.l4proto. */
export function l4Name(proto: number | undefined): FdInfo['l4proto'] {
  return proto === undefined ? undefined : L4_NAMES[proto];
}

const L4_NAMES: Readonly<Record<number, FdInfo['l4proto']>> = { 2: 'tcp', 3: 'udp', 4: 'icmp', 5: 'raw' };

/** fd.type for a scap fd type. */
export function fdTypeName(type: number): FdType {
  switch (type) {
    case SCAP_FD.FILE:
    case SCAP_FD.FILE_V2:
      return 'file';
    case SCAP_FD.DIRECTORY:
      return 'directory';
    case SCAP_FD.IPV4_SOCK:
    case SCAP_FD.IPV4_SERVSOCK:
      return 'ipv4';
    case SCAP_FD.IPV6_SOCK:
    case SCAP_FD.IPV6_SERVSOCK:
      return 'ipv6';
    case SCAP_FD.FIFO:
      return 'pipe';
    case SCAP_FD.UNIX_SOCK:
      return 'unix';
    case SCAP_FD.EVENT:
      return 'event';
    case SCAP_FD.SIGNALFD:
      return 'signalfd';
    case SCAP_FD.EVENTPOLL:
      return 'eventpoll';
    case SCAP_FD.INOTIFY:
      return 'inotify';
    case SCAP_FD.TIMERFD:
      return 'timerfd';
    case SCAP_FD.NETLINK:
      return 'netlink';
    case SCAP_FD.BPF:
      return 'bpf';
    case SCAP_FD.USERFAULTFD:
      return 'userfaultfd';
    case SCAP_FD.IOURING:
      return 'io_uring';
    case SCAP_FD.MEMFD:
      return 'memfd';
    case SCAP_FD.PIDFD:
      return 'pidfd';
    default:
      return 'unknown';
  }
}

/** `host:port`, with IPv6 printed as libsinsp does (no brackets). */
function endpoint(ip: string | undefined, port: number | undefined): string {
  return `${ip ?? ''}:${port ?? 0}`;
}

/** The name of a connected socket: `cip:cport->sip:sport`. */
export function tupleName(fd: FdInfo): string {
  return `${endpoint(fd.cip, fd.cport)}->${endpoint(fd.sip, fd.sport)}`;
}

/** An fd from a capture's fd list (or from /proc for live sources). */
export function fdFromEntry(e: ScapFdEntry): FdState {
  // Names from /proc can carry control characters (a unix socket path ending in a newline);
  // libsinsp prints them stripped.
  const name = (e.name ?? '').replace(/[\x00-\x1f\x7f]/g, '');
  const fd: FdState = { num: e.fd, type: fdTypeName(e.type), name };
  switch (e.type) {
    case SCAP_FD.IPV4_SOCK:
    case SCAP_FD.IPV6_SOCK:
      fd.proto = l4Name(e.l4proto);
      if (fd.proto === 'tcp') fd.connected = true;
      fd.cip = e.sip;
      fd.cport = e.sport;
      fd.sip = e.dip;
      fd.sport = e.dport;
      fd.name = tupleName(fd);
      break;
    case SCAP_FD.IPV4_SERVSOCK:
    case SCAP_FD.IPV6_SERVSOCK:
      fd.proto = l4Name(e.l4proto);
      fd.sip = e.sip;
      fd.sport = e.sport;
      fd.isServer = true;
      fd.role = 'server';
      fd.name = endpoint(e.sip, e.sport);
      break;
    case SCAP_FD.UNIX_SOCK:
      fd.unixSource = e.source;
      fd.unixDest = e.dest;
      break;
    case SCAP_FD.FILE_V2:
      if (e.openFlags !== undefined) fd.openFlags = e.openFlags;
      if (e.dev !== undefined) {
        fd.devMajor = e.dev >>> 20;
        fd.devMinor = e.dev & 0xfffff;
      }
      break;
    default:
      break;
  }
  if (typeof e.ino === 'number' && e.ino !== 0) fd.ino = e.ino;
  // Process lists give the fd flags of every fd they read them for (/proc/<pid>/fdinfo).
  if (e.openFlags !== undefined && (e.openFlags & PPM_O_CLOEXEC) !== 0) fd.cloexec = true;
  return fd;
}

/** Applies a socket tuple (connect, accept, sendto/recvfrom) to an fd. Returns true when it changed. */
export function applyTuple(fd: FdState, t: SockTuple, overwriteDest = true): boolean {
  if (t.family === 'unix') {
    fd.type = 'unix';
    fd.unixSource = t.source;
    fd.unixDest = t.dest;
    return true;
  }
  const same =
    (fd.cip === t.sip && fd.cport === t.sport && fd.sip === t.dip && fd.sport === t.dport) ||
    (fd.cip === t.dip && fd.cport === t.dport && fd.sip === t.sip && fd.sport === t.sport);
  if (same && fd.type === t.family) return false;
  // Only the destination of an earlier tuple of the same family is kept (not a bound address).
  const keepDest = !overwriteDest && fd.type === t.family && fd.cip !== undefined;
  fd.type = t.family;
  let changed = false;
  if (fd.cip !== t.sip || fd.cport !== t.sport) changed = true;
  fd.cip = t.sip;
  fd.cport = t.sport;
  // libsinsp keeps a known destination unless told to overwrite it (a UDP socket connect()ed
  // a second time keeps its first peer in the fd name; connect passes overwriteDest=false).
  if (fd.sip === undefined || isEmptyIp(fd.sip) || (!keepDest && fd.sip !== t.dip)) {
    if (fd.sip !== t.dip) changed = true;
    fd.sip = t.dip;
  }
  if (fd.sport === undefined || fd.sport === 0 || (!keepDest && fd.sport !== t.dport)) {
    if (fd.sport !== t.dport) changed = true;
    fd.sport = t.dport;
  }
  return changed;
}

function isEmptyIp(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** Swaps the two ends of a socket tuple (a UDP server replying, a client receiving). */
export function swapEnds(fd: FdState): void {
  const ip = fd.cip;
  const port = fd.cport;
  fd.cip = fd.sip;
  fd.cport = fd.sport;
  fd.sip = ip;
  fd.sport = port;
}

/** A copy of an fd for one event (events must not change when the table changes later). */
export function snapshotFd(fd: FdState, nameChanged: boolean): FdInfo {
  const out: FdInfo = { num: fd.num, type: fd.type, name: fd.name };
  if (fd.nameRaw !== undefined) out.nameRaw = fd.nameRaw;
  if (fd.openFlags !== undefined) out.openFlags = fd.openFlags;
  const l4 = effectiveL4(fd);
  if (l4 !== undefined) out.l4proto = l4;
  if (fd.cip !== undefined) out.cip = fd.cip;
  if (fd.cport !== undefined) out.cport = fd.cport;
  if (fd.sip !== undefined) out.sip = fd.sip;
  if (fd.sport !== undefined) out.sport = fd.sport;
  if (fd.isServer !== undefined) out.isServer = fd.isServer;
  if (fd.connected !== undefined) out.connected = fd.connected;
  out.nameChanged = nameChanged;
  if (fd.devMajor !== undefined) out.devMajor = fd.devMajor;
  if (fd.devMinor !== undefined) out.devMinor = fd.devMinor;
  if (fd.ino !== undefined) out.ino = fd.ino;
  return out;
}
