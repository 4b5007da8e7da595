/**
 * The state engine: turns raw syscall events (scap records from a capture file, or the same layout
 * from a live driver) into {@link SyscallEvent}s with thread, fd and container state filled in.
 *
 * It follows libsinsp's parser: the process table starts from the capture's process list (or
 * /proc), clone/fork/vfork/execve/procexit keep it current, open/socket/connect/accept/bind/dup/
 * pipe/close/... keep each process's fd table current, enter events are paired with their exit
 * event (the exit is the one Falco evaluates), and threads and fds are removed one event after
 * they go away (as libsinsp defers removal, so the closing event still sees them).
 *
 * Feed it with `addThread`/`addFd`/`addUser`/`addGroup` (bootstrap) and `processEvent` (events).
 */
import type { ContainerInfo, FdInfo, SyscallEvent, ThreadInfo } from '../../engine/event.js';
import {
  EC,
  EF,
  categoryName,
  eventInfo,
  syscallInfo,
  type ScapEventInfo,
  type ScapParamInfo,
} from '../scap/event-table.js';
import {
  concatPaths,
  decodeCString,
  decodeCStringAt,
  decodeParam,
  decodeRawParam,
  decodeSockAddr,
  decodeTuple,
  isUnsignedNumberType,
  splitArgs,
  type RenderContext,
  type ScapParam,
} from '../scap/params.js';
import type {
  ScapFdEntry,
  ScapGroup,
  ScapInterface,
  ScapMachineInfo,
  ScapRecord,
  ScapThreadEntry,
  ScapUser,
} from '../scap/reader.js';
import { HOST_CONTAINER_ID } from './container-id.js';
import {
  applyTuple,
  dropCloseOnExec,
  effectiveL4,
  fdFromEntry,
  PPM_O_CLOEXEC,
  snapshotFd,
  swapEnds,
  tupleName,
  type FdState,
} from './fd-table.js';
import { ProcessTable, UNKNOWN_ID, type ThreadSeed, type ThreadState } from './process-table.js';

/** A raw event in the driver's layout: what both capture files and live drivers deliver. */
export interface RawSyscallEvent {
  ts: bigint;
  tid: number;
  cpu: number;
  /** Event code (PPME_*). */
  type: number;
  /** Parameter bytes in table order (may be fewer than the table lists: older writers). */
  params: Uint8Array[];
  /** The event's schema; looked up from `type` when absent. */
  info?: ScapEventInfo;
  /**
   * In-place reads, for sources that frame events out of a larger buffer (the eBPF stream): the
   * hot paths read `params[i]`'s bytes through these instead of making a view per parameter.
   * `buf` holds the bytes, `paramOffset(i)` is where parameter `i` starts in it (-1 when the event
   * has fewer), `paramLength(i)` its length, `param(i)` a view of it alone, `nparams` how many
   * there are. A source sets all of them or none.
   */
  readonly buf?: Uint8Array;
  readonly nparams?: number;
  paramOffset?(i: number): number;
  paramLength?(i: number): number;
  param?(i: number): Uint8Array | undefined;
}

/** Options of the state engine. */
export interface StateEngineOptions {
  /**
   * Produce enter events too (sysdig-style). Default false: like Falco ≥ 0.42, only exit events
   * and single-direction events (scheduler, signal delivery, process exit, metaevents) come out.
   */
  enterEvents?: boolean;
  /** Produce libsinsp's internal events (procinfo, drop, scapevent...). Default false. */
  internalEvents?: boolean;
  /**
   * Append the enter event's parameters that the exit event lacks (newer drivers send them on the
   * exit: `fd` on close/read, `name` on openat...), the way Falco's capture converter does for old
   * captures. Default true; set false to see the events as stored.
   */
  mergeEnterParams?: boolean;
  /**
   * Decode and render an event's parameters (`params`, `param()`, and `res`, which comes from
   * them) when they are first read, not while the event is built: most rules read few parameters,
   * or none. Default false. The texts are then rendered against the state as it is when they are
   * read, so set it only when each event is read before the next one is processed (the live agent
   * evaluates every event at once) and the raw parameter bytes stay valid until then.
   */
  lazyParams?: boolean;
  /** Cap on the process table (default 262144 threads). */
  maxThreads?: number;
  /** Hostname for SyscallEvent.hostname (the capture's machine info sets it). */
  hostname?: string;
}

/** Counters for stats and metrics. */
export interface StateEngineStats {
  events: number;
  emitted: number;
  threads: number;
  fds: number;
  /** Exit events whose enter event was missing (start of capture, drops). */
  unpairedExits: number;
  /** Threads created as `<NA>` placeholders for unknown tids. */
  incompleteThreads: number;
  containers: number;
}

const AT_FDCWD = -100;
const PPM_O_DIRECTORY = 1 << 10;
const PPM_CL_CLONE_THREAD = 1 << 13;
const PPM_AF_UNIX = 1;
const PPM_AF_INET = 2;
const PPM_AF_INET6 = 10;
const PPM_AF_NETLINK = 16;
const IPPROTO_IP = 0;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_RAW = 255;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const EINPROGRESS = -115;
const PPM_FCNTL_F_DUPFD = 1;
const PPM_FCNTL_F_DUPFD_CLOEXEC = 26;

/** Event codes with dedicated handling (PPME_*). */
const E = {
  GENERIC_E: 0,
  GENERIC_X: 1,
  OPEN_X: 3,
  CLOSE_X: 5,
  PROCEXIT_E: 16,
  SOCKET_X: 19,
  BIND_X: 21,
  CONNECT_X: 23,
  SENDTO_E: 30,
  SOCKETPAIR_X: 43,
  GETSOCKOPT_X: 47,
  CREAT_X: 59,
  PIPE_X: 61,
  EVENTFD_X: 63,
  CHDIR_X: 95,
  FCHDIR_X: 97,
  GETCWD_X: 93,
  OPENAT_X: 103,
  DUP_X: 125,
  SIGNALFD_X: 127,
  TIMERFD_CREATE_X: 137,
  INOTIFY_INIT_X: 139,
  FCNTL_E: 150,
  FCNTL_X: 151,
  SCHEDSWITCH_6_E: 152,
  PROCEXIT_1_E: 186,
  SETRESUID_X: 193,
  SETRESGID_X: 195,
  SETUID_X: 199,
  SETGID_X: 201,
  CONTAINER_E: 228,
  PROCINFO_E: 234,
  CHROOT_X: 267,
  CONTAINER_JSON_E: 272,
  SETSID_X: 275,
  OPENAT_2_X: 307,
  CONTAINER_JSON_2_E: 324,
  OPENAT2_X: 327,
  OPEN_BY_HANDLE_AT_X: 337,
  CAPSET_X: 353,
  USER_ADDED_E: 354,
  USER_DELETED_E: 356,
  GROUP_ADDED_E: 358,
  GROUP_DELETED_E: 360,
  DUP2_X: 363,
  DUP3_X: 365,
  DUP_1_X: 367,
  EPOLL_CREATE_X: 375,
  EPOLL_CREATE1_X: 377,
  ACCEPT4_6_X: 389,
  PIPE2_X: 393,
  INOTIFY_INIT1_X: 395,
  EVENTFD2_X: 397,
  SIGNALFD4_X: 399,
  MEMFD_CREATE_X: 405,
  PIDFD_OPEN_X: 409,
} as const;

const CLONE_EXITS = new Set([15, 157, 183, 185, 217, 219, 221, 223, 225, 227, 335]);
const EXECVE_EXITS = new Set([13, 155, 173, 215, 231, 283, 289, 293, 331]);
const ACCEPT_EXITS = new Set([27, 57, 247, 249, 389]);
/** Read/write exits whose socket tuple may name an unconnected fd. */
const RW_EXITS = new Set([7, 9, 29, 31, 33, 35, 49, 53, 113, 115, 117, 119, 121, 123]);

/** Exit kinds with their own parser, by event code: one array read per event instead of four set look-ups. */
const KIND_CLONE = 1;
const KIND_EXECVE = 2;
const KIND_ACCEPT = 3;
const KIND_RW = 4;
const EXIT_KIND = (() => {
  const k = new Uint8Array(1024);
  for (const [set, kind] of [
    [CLONE_EXITS, KIND_CLONE],
    [EXECVE_EXITS, KIND_EXECVE],
    [ACCEPT_EXITS, KIND_ACCEPT],
    [RW_EXITS, KIND_RW],
  ] as const)
    for (const code of set) k[code] = kind;
  return k;
})();

/** The exit kind of an event code (0: none of the above; codes beyond the array have none). */
function exitKind(etype: number): number {
  return etype < EXIT_KIND.length ? EXIT_KIND[etype]! : 0;
}
const RECV_TUPLE_PARAM: ReadonlyMap<number, number> = new Map([
  [35, 2],
  [53, 3],
]);
const SEND_TUPLE_EXITS = new Set([31, 49]);

/** Index of a parameter by name in the event's schema, -1 when absent. */
function paramIndex(info: ScapEventInfo, name: string): number {
  for (let i = 0; i < info.params.length; i++) if (info.params[i]?.name === name) return i;
  return -1;
}

// Integers straight from the bytes (little-endian): a DataView per read would cost an allocation.

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** Signed integer of the parameter's width (8 bytes for fds, pids, errnos). */
function intParam(b: Uint8Array | undefined): number {
  return b ? intAt(b, 0, b.length) : 0;
}

/** {@link intParam} of the `len` bytes of `b` from `o`. */
function intAt(b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 0:
      return 0;
    case 1:
      return (b[o]! << 24) >> 24;
    case 2:
      return ((b[o]! | (b[o + 1]! << 8)) << 16) >> 16;
    case 4:
      return i32(b, o);
    default:
      // i32(hi) * 2^32 + u32(lo) rounds like Number() of the 64-bit value.
      if (len >= 8) return i32(b, o + 4) * 0x100000000 + u32(b, o);
      return len > 4 ? i32(b, o) : new DataView(b.buffer, b.byteOffset + o, len).getInt32(0, true);
  }
}

/** Unsigned integer of the parameter's width. */
function uintParam(b: Uint8Array | undefined): number {
  return b ? uintAt(b, 0, b.length) : 0;
}

/** {@link uintParam} of the `len` bytes of `b` from `o`. */
function uintAt(b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 0:
      return 0;
    case 1:
      return b[o]!;
    case 2:
      return b[o]! | (b[o + 1]! << 8);
    case 4:
      return u32(b, o);
    default:
      if (len >= 8) return u32(b, o + 4) * 0x100000000 + u32(b, o);
      return len > 4 ? u32(b, o) : new DataView(b.buffer, b.byteOffset + o, len).getUint32(0, true);
  }
}

// Parameter `i` of a raw event, read in place when the source allows it (see RawSyscallEvent.buf):
// the same values as intParam / uintParam / decodeCString of `raw.params[i]`.

function rawInt(raw: RawSyscallEvent, i: number): number {
  if (raw.paramOffset === undefined) return intParam(raw.params[i]);
  const at = raw.paramOffset(i);
  return at < 0 ? 0 : intAt(raw.buf!, at, raw.paramLength!(i));
}

function rawUint(raw: RawSyscallEvent, i: number): number {
  if (raw.paramOffset === undefined) return uintParam(raw.params[i]);
  const at = raw.paramOffset(i);
  return at < 0 ? 0 : uintAt(raw.buf!, at, raw.paramLength!(i));
}

/** A string parameter; '' when the event lacks it. */
function rawString(raw: RawSyscallEvent, i: number): string {
  if (raw.paramOffset === undefined) return decodeCString(raw.params[i] ?? new Uint8Array());
  const at = raw.paramOffset(i);
  return at < 0 ? '' : decodeCStringAt(raw.buf!, at, raw.paramLength!(i));
}

/** How many parameters the event carries. */
function rawCount(raw: RawSyscallEvent): number {
  return raw.nparams ?? raw.params.length;
}

function bigParam(b: Uint8Array | undefined): bigint | undefined {
  if (!b || b.length < 8) return undefined;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
}

/** Container info from a container JSON metaevent (the container plugin's and libsinsp's format). */
function containerFromJson(text: string): ContainerInfo | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const c = (doc as { container?: Record<string, unknown> } | null)?.container;
  if (!c || typeof c !== 'object' || typeof c.id !== 'string') return undefined;
  const str = (k: string): string | undefined => (typeof c[k] === 'string' ? (c[k] as string) : undefined);
  const info: ContainerInfo = { id: c.id };
  const set = <K extends keyof ContainerInfo>(k: K, v: ContainerInfo[K] | undefined): void => {
    if (v !== undefined) info[k] = v;
  };
  set('name', str('name'));
  set('image', str('image'));
  set('imageRepository', str('imagerepo'));
  set('imageTag', str('imagetag'));
  set('imageDigest', str('imagedigest'));
  if (typeof c.privileged === 'boolean') info.privileged = c.privileged;
  if (typeof c.type === 'number') info.type = CONTAINER_TYPES[c.type] ?? String(c.type);
  else if (typeof c.type === 'string') info.type = c.type;
  if (typeof c.created_time === 'number') info.startTs = BigInt(Math.trunc(c.created_time)) * 1_000_000_000n;
  const labels = c.labels;
  if (labels && typeof labels === 'object') {
    const l = labels as Record<string, unknown>;
    const ns = l['io.kubernetes.pod.namespace'];
    const pod = l['io.kubernetes.pod.name'];
    const uid = l['io.kubernetes.pod.uid'];
    if (typeof ns === 'string' || typeof pod === 'string') {
      info.k8s = {};
      if (typeof ns === 'string') info.k8s.namespace = ns;
      if (typeof pod === 'string') info.k8s.podName = pod;
      if (typeof uid === 'string') info.k8s.podUid = uid;
    }
  }
  return info;
}

function ipv4ToInt(ip: string | undefined): number | undefined {
  if (!ip) return undefined;
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** Orients process-list sockets: server side when the local port is one some process listens on. */
function fixSocketsFromProc(fds: Map<number, FdState>, serverPorts: ReadonlySet<number>): void {
  for (const fd of fds.values()) {
    if ((fd.type !== 'ipv4' && fd.type !== 'ipv6') || fd.isServer || fd.role !== undefined) continue;
    if (fd.cport !== undefined && serverPorts.has(fd.cport)) {
      swapEnds(fd);
      fd.role = 'server';
    } else fd.role = 'client';
    fd.name = tupleName(fd);
  }
}

/** libsinsp container types (sinsp_container_type). */
const CONTAINER_TYPES: Readonly<Record<number, string>> = {
  0: 'docker',
  1: 'lxc',
  2: 'libvirt-lxc',
  3: 'mesos',
  4: 'rkt',
  5: 'cri',
  6: 'containerd',
  7: 'cri-o',
  8: 'bpm',
  9: 'static',
  10: 'podman',
};

/** The thread placeholder of events libsinsp has no thread for (idle-task switches, ...). */
function missingThread(tid: number): ThreadInfo {
  return { tid, pid: tid, comm: '', exe: '', args: [], missing: true };
}

/** See the module comment. */
export class StateEngine {
  readonly table: ProcessTable;
  private readonly containers = new Map<string, ContainerInfo>();
  private readonly interfaces: ScapInterface[] = [];
  private readonly hostContainer: ContainerInfo = { id: HOST_CONTAINER_ID, name: HOST_CONTAINER_ID };
  private readonly opts: Required<Omit<StateEngineOptions, 'hostname' | 'maxThreads'>>;
  private hostname: string | undefined;
  private num = 0;
  private changes = 0;
  private pendingThreadRemoval: number | undefined;
  private pendingFdRemoval: { tinfo: ThreadState; fd: number } | undefined;
  readonly stats: StateEngineStats = {
    events: 0,
    emitted: 0,
    threads: 0,
    fds: 0,
    unpairedExits: 0,
    incompleteThreads: 0,
    containers: 0,
  };

  // Per-event scratch state (libsinsp keeps the same on its event object).
  private tinfo: ThreadState | undefined;
  private fdinfo: FdState | undefined;
  private fdNameBefore = '';
  private validEnter = false;
  private eventThread: ThreadInfo | undefined;

  constructor(options: StateEngineOptions = {}) {
    this.table = new ProcessTable(options.maxThreads !== undefined ? { maxThreads: options.maxThreads } : {});
    this.opts = {
      enterEvents: options.enterEvents ?? false,
      internalEvents: options.internalEvents ?? false,
      mergeEnterParams: options.mergeEnterParams ?? true,
      lazyParams: options.lazyParams ?? false,
    };
    this.hostname = options.hostname;
  }

  // ---------------------------------------------------------------------------------------------
  // Bootstrap (capture process lists now, /proc for live sources later)

  /**
   * Moves on whenever the state may have changed: with every event processed and every addition
   * from outside (bootstrap, container metadata). Two reads that give the same number saw the same
   * state in between.
   */
  get version(): number {
    return this.changes;
  }

  /** Adds a thread from a process list entry (a capture's, or one read from /proc). */
  addThread(entry: ScapThreadEntry | ThreadSeed): ThreadState {
    this.changes++;
    return this.table.add(entry);
  }

  /** Adds an open fd of a thread's process (capture fd lists, /proc/<pid>/fd). */
  addFd(entry: ScapFdEntry): void {
    this.changes++;
    const t = this.table.get(entry.tid);
    if (!t) return; // libscap drops fds of unknown threads as well
    t.fdTable.set(entry.fd, fdFromEntry(entry));
  }

  /** Adds a network interface (used to fill in unspecified source addresses of UDP tuples). */
  addInterface(i: ScapInterface): void {
    this.changes++;
    this.interfaces.push(i);
  }

  addUser(u: ScapUser): void {
    this.changes++;
    this.table.users.addUser(u);
  }

  addGroup(g: ScapGroup): void {
    this.changes++;
    this.table.users.addGroup(g);
  }

  /**
   * Adds a capture's table record (thread, fd, user, group, interface, machine) to the state;
   * answers false for the other records (events, sections, warnings), which it leaves alone.
   */
  addRecord(r: ScapRecord): boolean {
    if (r.kind === 'thread') this.addThread(r.entry);
    else if (r.kind === 'fd') this.addFd(r.entry);
    else if (r.kind === 'user') this.addUser(r.entry);
    else if (r.kind === 'group') this.addGroup(r.entry);
    else if (r.kind === 'interface') this.addInterface(r.entry);
    else if (r.kind === 'machine') this.setMachine(r.info);
    else return false;
    return true;
  }

  setMachine(m: ScapMachineInfo): void {
    this.changes++;
    if (this.hostname === undefined && m.hostname) this.hostname = m.hostname;
  }

  /**
   * Completes a bulk bootstrap: re-links parent child counts (entries may come children first) and
   * orients sockets read from the process list client→server, marking those on a port some process
   * listens on as server sockets (libsinsp's fix_sockets_coming_from_proc).
   */
  finishBootstrap(): void {
    this.changes++;
    const serverPorts = new Set<number>();
    for (const t of this.table.values()) {
      t.children = 0;
      for (const fd of t.ownFds.values())
        if (fd.isServer && fd.sport !== undefined) serverPorts.add(fd.sport);
    }
    for (const t of this.table.values()) {
      const p = t.table_parentForCount();
      if (p) p.children++;
      if (!t.socketsFixed) {
        t.socketsFixed = true;
        fixSocketsFromProc(t.ownFds, serverPorts);
      }
    }
  }

  /** Container metadata known so far (from container metaevents). */
  container(id: string): ContainerInfo | undefined {
    return id === HOST_CONTAINER_ID ? this.hostContainer : this.containers.get(id);
  }

  /** Adds container metadata (container metaevents, or a runtime client for live capture). */
  addContainer(info: ContainerInfo): void {
    this.changes++;
    this.containers.set(info.id, info);
    this.stats.containers = this.containers.size;
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  /**
   * Processes one event: updates state and returns the event as Falco sees it, or undefined when the
   * event only feeds state (enter events unless `enterEvents`, internal events, unknown codes).
   */
  processEvent(raw: RawSyscallEvent): SyscallEvent | undefined {
    const info = raw.info ?? eventInfo(raw.type);
    if (!info) return undefined;
    this.changes++;
    this.flushRemovals();
    const num = ++this.num;
    this.stats.events++;
    const etype = raw.type;
    const isEnter = info.dir === '>';

    this.tinfo = undefined;
    this.fdinfo = undefined;
    this.fdNameBefore = '';
    this.validEnter = false;
    this.eventThread = undefined;
    this.reset(raw, info, etype, isEnter);

    if (isEnter) this.parseEnter(raw, etype);
    else this.parseExit(raw, info, etype);

    const emit =
      (this.opts.internalEvents || info.category !== EC.INTERNAL) &&
      (this.opts.enterEvents || !isEnter || !this.isPairedEnter(etype)) &&
      (info.flags & EF.UNUSED) === 0;
    if (!emit) {
      if (!isEnter) this.finishExit();
      return undefined;
    }
    const ev = this.buildEvent(raw, info, num, isEnter);
    if (!isEnter) this.finishExit();
    this.stats.emitted++;
    return ev;
  }

  /** An enter event that has a real exit event (syscalls), as opposed to single events. */
  private isPairedEnter(etype: number): boolean {
    const exit = eventInfo(etype + 1);
    return exit !== undefined && (exit.flags & EF.UNUSED) === 0 && exit.name !== 'NA';
  }

  /** Applies removals libsinsp defers to the next event (closed fds, exited threads). */
  private flushRemovals(): void {
    const f = this.pendingFdRemoval;
    if (f) {
      f.tinfo.fdTable.delete(f.fd);
      this.pendingFdRemoval = undefined;
    }
    if (this.pendingThreadRemoval !== undefined) {
      this.table.markExited(this.pendingThreadRemoval);
      this.pendingThreadRemoval = undefined;
    }
  }

  private finishExit(): void {
    const t = this.tinfo;
    if (t) t.lastEnter = undefined;
  }

  /** libsinsp's reset(): find the thread, track the enter event, find the fd the event uses. */
  private reset(raw: RawSyscallEvent, info: ScapEventInfo, etype: number, isEnter: boolean): void {
    if (info.flags & EF.SKIPPARSERESET) {
      if (etype === E.PROCINFO_E) this.tinfo = this.table.get(raw.tid);
      return;
    }
    if (etype === E.CONTAINER_JSON_E || etype === E.CONTAINER_JSON_2_E) return;
    const noCreate = exitKind(etype) === KIND_CLONE || etype === E.SCHEDSWITCH_6_E;
    let t = this.table.get(raw.tid);
    if (!t && !noCreate && raw.tid >= 0) {
      t = this.table.addIncomplete(raw.tid);
      this.stats.incompleteThreads++;
    }
    this.tinfo = t;
    if (!t || etype === E.SCHEDSWITCH_6_E) return;

    if (isEnter) {
      t.lastEventFd = -1;
      t.lastEventType = etype;
      if (info.flags & EF.USES_FD) {
        t.lastEventFd = intParam(raw.params[0]);
        this.useFd(t.fdTable.get(t.lastEventFd));
      }
      return;
    }
    this.validEnter = etype === t.lastEventType + 1;
    if (!this.validEnter) {
      this.stats.unpairedExits++;
      // Exit-only streams (live drivers send no enter events, like Falco's drivers since enter
      // events were dropped): the exit event carries the fd itself.
      if (info.flags & EF.USES_FD) {
        const i = exitFdParamIndex(info);
        if (i >= 0 && raw.params[i] && raw.params[i].length > 0) {
          t.lastEventFd = intParam(raw.params[i]);
          this.useFd(t.fdTable.get(t.lastEventFd));
        }
      }
      return;
    }
    if (info.flags & EF.USES_FD) this.useFd(t.fdTable.get(t.lastEventFd));
  }

  /** Makes `fd` the event's fd, remembering its name to detect a change (fd.name_changed). */
  private useFd(fd: FdState | undefined, nameBefore?: string): void {
    this.fdinfo = fd;
    this.fdNameBefore = fd ? (nameBefore ?? fd.name) : '';
  }

  /** Adds (or replaces) an fd in the event thread's process table and makes it the event's fd. */
  private putFd(num: number, fd: FdState, nameBefore = ''): FdState | undefined {
    const t = this.tinfo;
    if (!t) return undefined;
    fd.num = num;
    t.fdTable.set(num, fd);
    t.lastEventFd = num;
    this.useFd(fd, nameBefore);
    return fd;
  }

  /**
   * A parameter of this exit event by name, else the same parameter of its stored enter event
   * (older schemas carry it on the enter event only; exit-only live drivers on the exit).
   */
  private exitOrEnterParam(
    raw: RawSyscallEvent,
    info: ScapEventInfo,
    etype: number,
    name: string,
  ): Uint8Array | undefined {
    const i = paramIndex(info, name);
    const b = i >= 0 ? raw.params[i] : undefined;
    if (b && b.length > 0) return b;
    const enter = this.enterParams(etype);
    const enterInfo = eventInfo(etype - 1);
    if (!enter || !enterInfo) return undefined;
    const j = paramIndex(enterInfo, name);
    return j >= 0 ? enter[j] : undefined;
  }

  /** The enter event stored for this exit, when it matches (libsinsp's retrieve_enter_event). */
  private enterParams(etype: number): Uint8Array[] | undefined {
    const t = this.tinfo;
    if (!t || !this.validEnter || !t.lastEnter || t.lastEnter.type !== etype - 1) return undefined;
    return t.lastEnter.params;
  }

  private parseEnter(raw: RawSyscallEvent, etype: number): void {
    if (etype === E.CONTAINER_JSON_E || etype === E.CONTAINER_JSON_2_E) return this.parseContainerJson(raw);
    const t = this.tinfo;
    if (!t) return;
    if (etype === E.SENDTO_E && !this.fdinfo) this.inferSendtoFd(raw);
    // Keep the enter parameters for the exit (copies: the block buffer is reused). Single events
    // (scheduler switches, signal deliveries...) do not replace the stored enter event.
    if (etype === E.SCHEDSWITCH_6_E || !this.isPairedEnter(etype)) {
      // nothing stored
    } else if (etype !== E.FCNTL_E || this.opts.mergeEnterParams) {
      t.lastEnter = { type: etype, params: raw.params.map((p) => p.slice()) };
    } else {
      const cmd = uintParam(raw.params[1]);
      t.lastEnter =
        cmd === PPM_FCNTL_F_DUPFD || cmd === PPM_FCNTL_F_DUPFD_CLOEXEC
          ? { type: etype, params: raw.params.map((p) => p.slice()) }
          : undefined;
    }
    switch (etype) {
      case E.PROCEXIT_E:
      case E.PROCEXIT_1_E:
        t.exited = true;
        this.pendingThreadRemoval = raw.tid;
        break;
      case E.CONTAINER_E:
        this.parseOldContainerEvent(raw);
        break;

      case E.USER_ADDED_E:
      case E.USER_DELETED_E:
      case E.GROUP_ADDED_E:
      case E.GROUP_DELETED_E:
        this.parseUserEvent(raw, etype);
        break;
      default:
        break;
    }
  }

  private parseExit(raw: RawSyscallEvent, info: ScapEventInfo, etype: number): void {
    const kind = exitKind(etype);
    if (kind === KIND_CLONE) return this.parseClone(raw, info);
    const t = this.tinfo;
    if (!t) return;
    if (kind === KIND_EXECVE) return this.parseExecve(raw, info, etype);
    if (kind === KIND_ACCEPT) return this.parseAccept(raw);
    if (kind === KIND_RW) return this.parseReadWrite(raw, info, etype);
    const res = rawInt(raw, 0);
    switch (etype) {
      case E.OPEN_X:
      case E.CREAT_X:
      case E.OPENAT_X:
      case E.OPENAT_2_X:
      case E.OPENAT2_X:
      case E.OPEN_BY_HANDLE_AT_X:
        return this.parseOpen(raw, info, etype);
      case E.SOCKET_X:
        return this.parseSocket(raw, info, res, etype);
      case E.BIND_X:
        return this.parseBind(raw, res);
      case E.CONNECT_X:
        return this.parseConnect(raw, res);
      case E.CLOSE_X:
        if (res >= 0 && this.fdinfo) this.pendingFdRemoval = { tinfo: t, fd: t.lastEventFd };
        return;
      case E.PIPE_X:
      case E.PIPE2_X: {
        if (res < 0) return;
        const cloexec = (uintParam(raw.params[4]) & PPM_O_CLOEXEC) !== 0; // pipe2's flags
        this.putFd(intParam(raw.params[1]), {
          num: 0,
          type: 'pipe',
          name: '',
          inode: uintParam(raw.params[3]),
          cloexec,
        });
        this.putFd(intParam(raw.params[2]), {
          num: 0,
          type: 'pipe',
          name: '',
          inode: uintParam(raw.params[3]),
          cloexec,
        });
        return;
      }
      case E.SOCKETPAIR_X: {
        if (res < 0) return;
        const source = bigParam(raw.params[3]);
        const dest = bigParam(raw.params[4]);
        const mk = (): FdState => ({ num: 0, type: 'unix', name: '', unixSource: source, unixDest: dest });
        const first = this.putFd(intParam(raw.params[1]), mk());
        this.putFd(intParam(raw.params[2]), mk());
        this.useFd(first, '');
        return;
      }
      case E.EVENTFD_X:
      case E.EVENTFD2_X: {
        const cloexec = etype === E.EVENTFD2_X && (uintParam(raw.params[1]) & PPM_O_CLOEXEC) !== 0;
        if (res >= 0) this.putFd(res, { num: 0, type: 'event', name: '', cloexec });
        return;
      }
      case E.SIGNALFD_X:
      case E.SIGNALFD4_X: {
        const cloexec = etype === E.SIGNALFD4_X && (uintParam(raw.params[1]) & PPM_O_CLOEXEC) !== 0;
        if (res >= 0) this.putFd(res, { num: 0, type: 'signalfd', name: '', cloexec });
        return;
      }
      case E.TIMERFD_CREATE_X:
        if (res >= 0) this.putFd(res, { num: 0, type: 'timerfd', name: '' });
        return;
      case E.INOTIFY_INIT_X:
      case E.INOTIFY_INIT1_X: {
        const cloexec = etype === E.INOTIFY_INIT1_X && (uintParam(raw.params[1]) & PPM_O_CLOEXEC) !== 0;
        if (res >= 0) this.putFd(res, { num: 0, type: 'inotify', name: '', cloexec });
        return;
      }
      case E.EPOLL_CREATE_X:
      case E.EPOLL_CREATE1_X: {
        const cloexec = etype === E.EPOLL_CREATE1_X && (uintParam(raw.params[1]) & 1) !== 0; // EPOLL_CLOEXEC
        if (res >= 0) this.putFd(res, { num: 0, type: 'eventpoll', name: '', cloexec });
        return;
      }
      case E.MEMFD_CREATE_X:
        if (res >= 0)
          this.putFd(res, {
            num: 0,
            type: 'memfd',
            name: `memfd:${decodeCString(raw.params[1] ?? new Uint8Array())}`,
            cloexec: (uintParam(raw.params[2]) & 1) !== 0, // MFD_CLOEXEC
          });
        return;
      case E.PIDFD_OPEN_X:
        // pidfds are always close-on-exec.
        if (res >= 0) this.putFd(res, { num: 0, type: 'pidfd', name: '', cloexec: true });
        return;
      case E.CHDIR_X:
        if (res >= 0) this.setCwd(t, decodeCString(raw.params[1] ?? new Uint8Array()));
        return;
      case E.FCHDIR_X:
        if (res >= 0 && this.fdinfo) this.setCwd(t, this.fdinfo.name);
        return;
      case E.GETCWD_X:
        if (res >= 0) this.setCwd(t, decodeCString(raw.params[1] ?? new Uint8Array()));
        return;
      case E.DUP_X:
      case E.DUP2_X:
      case E.DUP3_X:
      case E.DUP_1_X: {
        // The copy is close-on-exec only when dup3 asks for it (dup and dup2 clear the flag).
        const cloexec = etype === E.DUP3_X && (uintParam(raw.params[3]) & PPM_O_CLOEXEC) !== 0;
        if (res >= 0 && this.fdinfo) this.putFd(res, { ...this.fdinfo, cloexec }, this.fdinfo.name);
        else if (res >= 0) t.fdTable.delete(res); // a copy of an unknown fd: not the old entry
        return;
      }
      case E.FCNTL_X: {
        if (res < 0 || !this.fdinfo) return;
        const cmdB = this.exitOrEnterParam(raw, info, etype, 'cmd');
        const cmd = cmdB ? uintParam(cmdB) : -1;
        if (cmd === PPM_FCNTL_F_DUPFD || cmd === PPM_FCNTL_F_DUPFD_CLOEXEC)
          this.putFd(res, { ...this.fdinfo, cloexec: cmd === PPM_FCNTL_F_DUPFD_CLOEXEC }, this.fdinfo.name);
        return;
      }
      case E.SETUID_X:
      case E.SETGID_X: {
        const idB = this.exitOrEnterParam(raw, info, etype, etype === E.SETUID_X ? 'uid' : 'gid');
        if (res < 0 || !idB) return;
        const id = uintParam(idB);
        if (etype === E.SETUID_X) t.uid = id;
        else t.gid = id;
        return;
      }
      case E.SETRESUID_X:
      case E.SETRESGID_X: {
        const idB = this.exitOrEnterParam(raw, info, etype, etype === E.SETRESUID_X ? 'euid' : 'egid');
        if (res < 0 || !idB) return;
        const id = uintParam(idB);
        if (id < UNKNOWN_ID) {
          if (etype === E.SETRESUID_X) t.uid = id;
          else t.gid = id;
        }
        return;
      }
      case E.SETSID_X:
        if (res >= 0) t.sid = res;
        return;
      case E.CHROOT_X:
        if (res === 0) {
          const path = decodeCString(raw.params[1] ?? new Uint8Array());
          t.root = path.startsWith('/') ? path : concatPaths(t.cwd, path);
        }
        return;
      case E.CAPSET_X:
        if (res >= 0) {
          const ci = bigParam(raw.params[1]);
          const cp = bigParam(raw.params[2]);
          const ce = bigParam(raw.params[3]);
          if (ci !== undefined) t.capInheritable = ci;
          if (cp !== undefined) t.capPermitted = cp;
          if (ce !== undefined) t.capEffective = ce;
        }
        return;
      case E.GETSOCKOPT_X:
        if (raw.params.length > 1) {
          const fd = intParam(raw.params[1]);
          t.lastEventFd = fd;
          this.useFd(t.fdTable.get(fd));
        }
        return;
      default:
        return;
    }
  }

  private setCwd(t: ThreadState, path: string): void {
    let cwd = path.startsWith('/') ? concatPaths('/', path) : concatPaths(t.cwd || '/', path);
    if (!cwd.endsWith('/')) cwd += '/';
    t.cwd = cwd;
  }

  /** sendto without a known fd: libsinsp assumes a UDP socket of the tuple's family. */
  private inferSendtoFd(raw: RawSyscallEvent): void {
    const fd = intParam(raw.params[0]);
    if (fd < 0) return;
    const tuple = raw.params[2];
    const fam = tuple?.[0];
    if (fam !== PPM_AF_INET && fam !== PPM_AF_INET6) return;
    this.putFd(fd, { num: fd, type: fam === PPM_AF_INET ? 'ipv4' : 'ipv6', name: '', proto: 'udp' });
  }

  private parseClone(raw: RawSyscallEvent, info: ScapEventInfo): void {
    const p = raw.params;
    const at = (name: string): Uint8Array | undefined => {
      const i = paramIndex(info, name);
      return i >= 0 ? p[i] : undefined;
    };
    let childtid = intParam(p[0]);
    if (childtid < 0) return;
    let tid = raw.tid;
    const flags = uintParam(at('flags'));
    let vtid = tid;
    let vpid = -1;
    const vtidB = at('vtid');
    const vpidB = at('vpid');
    if (vtidB && vpidB) {
      vtid = intParam(vtidB);
      vpid = intParam(vpidB);
    }
    const inContainer = tid !== vtid;
    let inverted = false;
    if (childtid === 0) {
      // clone() returning in the child.
      const parenttid = intParam(flags & PPM_CL_CLONE_THREAD ? at('pid') : at('ptid'));
      if (this.tinfo) {
        if (inContainer) {
          this.tinfo.vtid = vtid;
          this.tinfo.vpid = vpid;
        }
        return;
      }
      // The child returned before its parent: create the entry from here.
      inverted = true;
      childtid = tid;
      tid = parenttid;
    } else if (inContainer) {
      // The parent sees the child's namespace tid: wait for the child's own clone exit.
      return;
    }
    let parent = this.table.get(tid);
    if (!parent) {
      parent = this.table.addIncomplete(tid);
      this.stats.incompleteThreads++;
    }
    const existing = this.table.get(childtid);
    if (existing) {
      if (existing.cloneFlags & (1 << 16)) return; // created by the inverted clone already
      this.table.remove(existing);
    }
    const validParent = !(parent.comm === '<NA>' && parent.uid === UNKNOWN_ID);
    const exe = decodeCString(at('exe') ?? new Uint8Array());
    const commB = at('comm');
    const comm = commB ? decodeCString(commB) : exe;
    const args = splitArgs(at('args') ?? new Uint8Array());
    const isThread = (flags & PPM_CL_CLONE_THREAD) !== 0;
    const seed: ThreadSeed = {
      tid: childtid,
      pid: isThread ? intParam(at('pid')) : childtid,
      ptid: tid,
      comm,
      exe,
      args,
      cwd: isThread ? '' : parent.cwd,
      uid: uintParam(at('uid')),
      gid: uintParam(at('gid')),
    };
    if (validParent) {
      if (parent.exepath !== undefined) seed.exepath = parent.exepath;
      if (parent.root !== undefined) seed.root = parent.root;
      if (parent.sid !== undefined) seed.sid = parent.sid;
      if (parent.vpgid !== undefined) seed.vpgid = parent.vpgid;
      if (parent.tty !== undefined) seed.tty = parent.tty;
      if (parent.loginuid !== undefined) seed.loginuid = parent.loginuid >>> 0;
      if (!isThread && parent.env !== undefined) seed.env = parent.env;
      if (parent.capEffective !== undefined) seed.capEffective = parent.capEffective;
      if (parent.capPermitted !== undefined) seed.capPermitted = parent.capPermitted;
      if (parent.capInheritable !== undefined) seed.capInheritable = parent.capInheritable;
      if (parent.isExeWritable !== undefined) seed.exeWritable = parent.isExeWritable;
      if (parent.isExeUpperLayer !== undefined) seed.exeUpperLayer = parent.isExeUpperLayer;
      if (parent.isExeFromMemfd !== undefined) seed.exeFromMemfd = parent.isExeFromMemfd;
      if (parent.exeIno !== undefined) seed.exeIno = parent.exeIno;
    } else {
      // The parent is a placeholder: it gets what this event says about it.
      parent.comm = comm;
      parent.exe = exe;
      parent.args = args;
    }
    const fdlimit = at('fdlimit');
    if (fdlimit) seed.fdlimit = intParam(fdlimit);
    if (inContainer) {
      seed.vtid = vtid;
      seed.vpid = vpid;
    } else {
      seed.vtid = childtid;
      seed.vpid = seed.pid;
    }
    const child = this.table.add(seed);
    child.cloneFlags = flags | (inverted ? 1 << 16 : 0);
    child.startTs = raw.ts;
    const cg = at('cgroups');
    if (cg) child.setCgroups(splitArgs(cg));
    else child.setCgroups(parent.cgroups ?? []);
    if (!isThread) {
      for (const [n, fd] of parent.fdTable) child.ownFds.set(n, { ...fd });
    }
    if (inverted) this.tinfo = undefined;
  }

  private parseExecve(raw: RawSyscallEvent, info: ScapEventInfo, etype: number): void {
    const t = this.tinfo;
    if (!t) return;
    const p = raw.params;
    const at = (name: string): Uint8Array | undefined => {
      const i = paramIndex(info, name);
      return i >= 0 ? p[i] : undefined;
    };
    if (intParam(p[0]) < 0) return;
    // The kernel closed the close-on-exec fds, without close events.
    dropCloseOnExec(t.fdTable);
    t.exe = decodeCString(at('exe') ?? new Uint8Array());
    const comm = at('comm');
    t.comm = comm ? decodeCString(comm) : t.exe;
    t.args = splitArgs(at('args') ?? new Uint8Array());
    t.pid = intParam(at('pid'));
    if (t.ptid === -1) t.ptid = intParam(at('ptid'));
    const fdlimit = at('fdlimit');
    if (fdlimit) t.fdlimit = intParam(fdlimit);
    const env = at('env');
    if (env) t.env = splitArgs(env);
    // Falco's current drivers leave cwd empty (older ones filled it and libsinsp ignored it).
    // Vigil's probe, recognisable by the current schema's trusted_exepath, fills it: taking it
    // keeps cwd right across chdir() calls the probe does not capture (a runtime entering a
    // container's root, for one).
    const cwd = (at('trusted_exepath')?.length ?? 0) > 1 ? at('cwd') : undefined;
    if (cwd && cwd.length > 1) {
      const dir = decodeCString(cwd);
      if (dir.startsWith('/')) this.setCwd(t, dir);
    }
    const cg = at('cgroups');
    if (cg) t.setCgroups(splitArgs(cg));
    const tty = at('tty');
    if (tty) t.tty = intParam(tty);
    // exepath: the enter event's filename, resolved against the cwd (execve 18/19).
    const enter = this.enterParams(etype);
    if (enter?.[0] && (etype === 289 || etype === 293 || etype === 331)) {
      const filename = decodeCString(enter[0]);
      t.exepath = filename.startsWith('<NA>') ? '<NA>' : concatPaths(t.cwd, filename);
    }
    const trusted = at('trusted_exepath');
    if (trusted && trusted.length > 0) t.exepath = decodeCString(trusted);
    const pgid = at('vpgid') ?? at('pgid'); // named pgid before the current schema
    if (pgid) t.vpgid = intParam(pgid);
    const loginuid = at('loginuid');
    if (loginuid && p.length > 18) t.loginuid = intParam(loginuid) | 0;
    const flags = at('flags');
    if (flags && etype !== 331) {
      const f = uintParam(flags);
      t.isExeWritable = (f & 1) !== 0;
      t.isExeUpperLayer = (f & 2) !== 0;
      t.isExeFromMemfd = (f & 4) !== 0;
    }
    const caps = [at('cap_inheritable'), at('cap_permitted'), at('cap_effective')].map(bigParam);
    if (caps[0] !== undefined) t.capInheritable = caps[0];
    if (caps[1] !== undefined) t.capPermitted = caps[1];
    if (caps[2] !== undefined) t.capEffective = caps[2];
    const ino = at('exe_ino');
    if (ino) t.exeIno = uintParam(ino);
    const ctime = bigParam(at('exe_ino_ctime'));
    if (ctime !== undefined) t.exeInoCtime = ctime;
    const mtime = bigParam(at('exe_ino_mtime'));
    if (mtime !== undefined) t.exeInoMtime = mtime;
    const uid = at('uid');
    if (uid) t.uid = uintParam(uid);
  }

  private parseOpen(raw: RawSyscallEvent, info: ScapEventInfo, etype: number): void {
    const t = this.tinfo;
    if (!t) return;
    let name: string;
    let flags = 0;
    let dev = 0;
    let sdir: string;
    const fd = rawInt(raw, 0);
    if (etype === E.OPEN_X || etype === E.CREAT_X) {
      if (!this.enterParams(etype) && !this.validEnter) return;
      const p = raw.params;
      name = decodeCString(p[1] ?? new Uint8Array());
      if (etype === E.OPEN_X) flags = uintParam(p[2]);
      const devIdx = etype === E.OPEN_X ? 4 : 3;
      if (p.length > devIdx) dev = uintParam(p[devIdx]);
      sdir = t.cwd;
    } else if (etype === E.OPENAT_X) {
      const enter = this.enterParams(etype);
      if (!enter) return;
      name = decodeCString(enter[1] ?? new Uint8Array());
      flags = uintParam(enter[2]);
      sdir = this.openatDir(t, name, intParam(enter[0]));
    } else if (etype === E.OPEN_BY_HANDLE_AT_X) {
      name = rawString(raw, 3);
      flags = rawUint(raw, 2);
      sdir = '/';
    } else {
      // openat (new layout) and openat2: fd, dirfd, name, flags, mode, dev|resolve
      name = rawString(raw, 2);
      flags = rawUint(raw, 3);
      if (etype === E.OPENAT_2_X && rawCount(raw) > 5) dev = rawUint(raw, 5);
      sdir = this.openatDir(t, name, rawInt(raw, 1));
    }
    if (fd < 0) return;
    const full = concatPaths(sdir, name);
    const entry: FdState = {
      num: fd,
      type: flags & PPM_O_DIRECTORY ? 'directory' : 'file',
      name: full,
      nameRaw: name,
      openFlags: flags,
    };
    if (dev) {
      entry.devMajor = dev >>> 20;
      entry.devMinor = dev & 0xfffff;
    }
    this.putFd(fd, entry);
  }

  /** Directory an *at() path is relative to (libsinsp's parse_openat_dir). */
  private openatDir(t: ThreadState, name: string, dirfd: number): string {
    if (name.startsWith('/')) return '.';
    if (dirfd === AT_FDCWD) return t.cwd;
    const d = t.fdTable.get(dirfd);
    // libsinsp makes the dirfd the event's fd while resolving (visible when the open fails).
    this.useFd(d);
    if (!d) return '<UNKNOWN>';
    return d.name.endsWith('/') ? d.name : `${d.name}/`;
  }

  private parseSocket(raw: RawSyscallEvent, info: ScapEventInfo, res: number, etype: number): void {
    if (res < 0) return;
    // The number's previous entry goes even when the new socket is not tracked (its close may
    // not have been captured).
    this.tinfo?.fdTable.delete(res);
    const domain = this.exitOrEnterParam(raw, info, etype, 'domain');
    const type = this.exitOrEnterParam(raw, info, etype, 'type');
    const proto = this.exitOrEnterParam(raw, info, etype, 'proto');
    if (!domain || !type || !proto) return;
    this.addSocket(res, uintParam(domain), uintParam(type), uintParam(proto));
    const flags = this.exitOrEnterParam(raw, info, etype, 'flags');
    const sock = this.tinfo?.fdTable.get(res);
    if (sock && flags) sock.cloexec = (uintParam(flags) & PPM_O_CLOEXEC) !== 0;
  }

  private addSocket(fd: number, domain: number, type: number, proto: number): void {
    let entry: FdState | undefined;
    if (domain === PPM_AF_UNIX) entry = { num: fd, type: 'unix', name: '' };
    else if (domain === PPM_AF_INET || domain === PPM_AF_INET6) {
      let l4: FdInfo['l4proto'];
      if (proto === IPPROTO_TCP) l4 = type === SOCK_RAW ? 'raw' : 'tcp';
      else if (proto === IPPROTO_UDP) l4 = type === SOCK_RAW ? 'raw' : 'udp';
      else if (proto === IPPROTO_IP)
        l4 = (type & 0xff) === SOCK_STREAM ? 'tcp' : (type & 0xff) === SOCK_DGRAM ? 'udp' : undefined;
      else if (proto === IPPROTO_ICMP) l4 = type === SOCK_RAW ? 'raw' : 'icmp';
      else if (proto === IPPROTO_RAW) l4 = 'raw';
      entry = { num: fd, type: domain === PPM_AF_INET ? 'ipv4' : 'ipv6', name: '' };
      if (l4) entry.proto = l4;
    } else if (domain === PPM_AF_NETLINK) entry = { num: fd, type: 'netlink', name: '' };
    // Other families are not tracked (libsinsp drops unknown sockets too).
    if (entry) this.putFd(fd, entry);
  }

  private parseBind(raw: RawSyscallEvent, res: number): void {
    const fd = this.fdinfo;
    if (!fd || res < 0) return;
    const addrB = raw.params[1];
    if (!addrB || addrB.length === 0) return;
    const a = decodeSockAddr(addrB);
    if (a && a.family !== 'unix' && (a.port ?? 0) > 0) {
      fd.type = a.family;
      fd.sip = a.ip;
      fd.sport = a.port;
      fd.isServer = true;
      fd.role = 'server';
    }
    fd.name = a ? (a.family === 'unix' ? (a.path ?? '') : `${a.ip}:${a.port}`) : '';
  }

  private parseConnect(raw: RawSyscallEvent, res: number): void {
    const fd = this.fdinfo;
    if (!fd) return;
    if (res < 0 && res !== EINPROGRESS) return;
    fd.connected = true;
    const tb = raw.params[1];
    if (!tb || tb.length === 0) return;
    const tuple = decodeTuple(tb);
    if (!tuple) return;
    if (tuple.family === 'unix') {
      applyTuple(fd, tuple);
      fd.name = `${(tuple.source ?? 0n).toString(16)}->${(tuple.dest ?? 0n).toString(16)} ${tuple.path ?? ''}`;
    } else {
      const changed = applyTuple(fd, tuple, false);
      const udpServer = fd.role === 'server' && fd.proto === 'udp';
      if (changed && udpServer) swapEnds(fd);
      fd.name = tupleName(fd);
    }
    if (!fd.role) fd.role = 'client';
  }

  private parseAccept(raw: RawSyscallEvent): void {
    const t = this.tinfo;
    if (!t) return;
    const fd = intParam(raw.params[0]);
    if (fd < 0) return;
    t.lastEventFd = fd;
    t.fdTable.delete(fd); // the number's previous entry, whether or not a tuple follows
    const tb = raw.params[1];
    if (!tb || tb.length === 0) return;
    const tuple = decodeTuple(tb);
    if (!tuple) return;
    const entry: FdState = {
      num: fd,
      type: tuple.family,
      name: '',
      role: 'server',
      isServer: true,
      connected: true,
    };
    // accept4's flags are the raw SOCK_* ones: SOCK_CLOEXEC is O_CLOEXEC.
    if (raw.type === E.ACCEPT4_6_X) entry.cloexec = (uintParam(raw.params[5]) & 0o2000000) !== 0;
    applyTuple(entry, tuple);
    if (tuple.family === 'unix') {
      entry.name = `${(tuple.source ?? 0n).toString(16)}->${(tuple.dest ?? 0n).toString(16)} ${tuple.path ?? ''}`;
    } else {
      entry.proto = 'tcp';
      entry.name = tupleName(entry);
    }
    this.putFd(fd, entry);
  }

  private parseReadWrite(raw: RawSyscallEvent, info: ScapEventInfo, etype: number): void {
    const fd = this.fdinfo;
    if (!fd) return;
    const res = intParam(raw.params[0]);
    if (res < 0) return;
    if (fd.type === 'ipv4' || fd.type === 'ipv6') fd.connected = true;
    let tb: Uint8Array | undefined;
    let incoming = false;
    const recvIdx = RECV_TUPLE_PARAM.get(etype);
    if (recvIdx !== undefined) {
      tb = raw.params[recvIdx];
      incoming = true;
    } else if (SEND_TUPLE_EXITS.has(etype)) {
      tb = this.enterParams(etype)?.[2];
      if (!tb) return;
    }
    if (!tb || !(fd.name === '' || fd.proto !== 'tcp')) return;
    const tuple = decodeTuple(tb);
    if (!tuple) return;
    if (!applyTuple(fd, tuple)) return;
    if (tuple.family === 'unix') {
      fd.name = tuple.path ?? '';
      return;
    }
    // A tuple changing under an fd of unknown protocol: TCP would not allow it, so UDP.
    if (fd.proto === undefined) fd.proto = 'udp';
    this.patchSource(fd);
    if (!fd.role) fd.role = this.guessRole(fd, incoming);
    if (incoming ? fd.role === 'client' : fd.role === 'server') swapEnds(fd);
    fd.name = tupleName(fd);
  }

  /**
   * A tuple with an unspecified source address (a UDP socket before the kernel picked one) gets
   * the address of the interface the destination is reached through, as libsinsp infers it.
   */
  private patchSource(fd: FdState): void {
    if (fd.cip === '0.0.0.0') {
      const dst = ipv4ToInt(fd.sip);
      let pick: string | undefined;
      for (const i of this.interfaces) {
        if (i.family !== 'ipv4') continue;
        const mask = ipv4ToInt(i.netmask);
        if (dst !== undefined && mask !== undefined && ((ipv4ToInt(i.addr) ?? 0) & mask) === (dst & mask)) {
          pick = i.addr;
          break;
        }
      }
      pick ??= this.interfaces.find((i) => i.family === 'ipv4' && !i.addr.startsWith('127.'))?.addr;
      if (pick) fd.cip = pick;
    } else if (fd.cip === '::') {
      if (fd.sip === '::1') fd.cip = '::1';
      else {
        const pick = this.interfaces.find(
          (i) => i.family === 'ipv6' && i.addr !== '::1' && !i.addr.startsWith('fe80'),
        );
        if (pick) fd.cip = pick.addr;
      }
    }
  }

  /** libsinsp's role guess: server when the process listens on the tuple's local port. */
  private guessRole(fd: FdState, incoming: boolean): 'client' | 'server' {
    const t = this.tinfo;
    const localPort = incoming ? fd.sport : fd.cport;
    if (t && localPort !== undefined) {
      for (const other of t.fdTable.values()) {
        if (other !== fd && other.isServer && other.sport === localPort && !other.cip) return 'server';
      }
    }
    return incoming ? 'server' : 'client';
  }

  private parseContainerJson(raw: RawSyscallEvent): void {
    const b = raw.params[0];
    if (!b) return;
    const info = containerFromJson(decodeCString(b));
    if (!info) return;
    this.addContainer(info);
    // libsinsp gives the metaevent a thread of its own, named after the container.
    const name = `container:${info.id}`;
    const thread = this.table.add({
      tid: -1,
      pid: -1,
      ptid: 0,
      comm: name,
      exe: '',
      args: [],
      cwd: '',
      uid: 0,
      gid: 0,
      loginuid: 0,
    });
    thread.containerId = info.id;
    this.table.remove(thread);
    this.eventThread = thread;
    this.containerOverride = info.id;
  }

  private containerOverride: string | undefined;

  private parseOldContainerEvent(raw: RawSyscallEvent): void {
    const p = raw.params;
    const info: ContainerInfo = { id: decodeCString(p[0] ?? new Uint8Array()) };
    const type = uintParam(p[1]);
    info.type = CONTAINER_TYPES[type] ?? String(type);
    const name = p[2] ? decodeCString(p[2]) : '';
    if (name) info.name = name;
    const image = p[3] ? decodeCString(p[3]) : '';
    if (image) info.image = image;
    this.addContainer(info);
  }

  private parseUserEvent(raw: RawSyscallEvent, etype: number): void {
    const p = raw.params;
    if (etype === E.USER_ADDED_E || etype === E.USER_DELETED_E) {
      if (p[5] && decodeCString(p[5]) !== '') return; // users of a container's own /etc/passwd
      const uid = uintParam(p[0]);
      if (etype === E.USER_DELETED_E) return this.table.users.removeUser(uid);
      this.table.users.addUser({
        uid,
        gid: uintParam(p[1]),
        name: decodeCString(p[2] ?? new Uint8Array()),
        homedir: decodeCString(p[3] ?? new Uint8Array()),
        shell: decodeCString(p[4] ?? new Uint8Array()),
      });
      return;
    }
    if (p[2] && decodeCString(p[2]) !== '') return;
    const gid = uintParam(p[0]);
    if (etype === E.GROUP_DELETED_E) return this.table.users.removeGroup(gid);
    this.table.users.addGroup({ gid, name: decodeCString(p[1] ?? new Uint8Array()) });
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  private readonly renderCtx: RenderContext & { t: ThreadState | undefined } = (() => {
    const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
    return {
      t: undefined as ThreadState | undefined,
      get hasThread(): boolean {
        return this.t !== undefined;
      },
      get cwd(): string | undefined {
        return this.t?.cwd;
      },
      fd(num: number): FdInfo | undefined {
        return this.t?.fdTable.get(num);
      },
      l4(fd: FdInfo): FdInfo['l4proto'] {
        return effectiveL4(fd as FdState);
      },
      threadName(tid: number): string | undefined {
        return self.table.get(tid)?.comm;
      },
      userName(uid: number): string | undefined {
        return self.table.users.user(uid)?.name;
      },
      groupName(gid: number): string | undefined {
        return self.table.users.group(gid)?.name;
      },
    };
  })();

  private buildEvent(raw: RawSyscallEvent, info: ScapEventInfo, num: number, isEnter: boolean): SyscallEvent {
    const etype = raw.type;
    let thread: ThreadInfo | undefined = this.eventThread ?? this.tinfo;
    if (!thread && raw.tid >= 0 && !(info.flags & EF.SKIPPARSERESET) && etype !== E.SCHEDSWITCH_6_E) {
      // Threads created by this event (an inverted clone) are found by tid, as libsinsp does.
      thread = this.table.get(raw.tid);
    }
    const tstate = thread && !('missing' in thread) ? (thread as ThreadState) : undefined;

    const n = Math.min(rawCount(raw), info.params.length);
    // The stored enter event whose parameters the exit lacks (taken now: finishExit forgets it).
    const enter =
      !isEnter && this.opts.mergeEnterParams && info.params.length > n ? this.enterParams(etype) : undefined;

    let type = info.name;
    let category = info.category;
    if (etype === E.GENERIC_E || etype === E.GENERIC_X) {
      const sc = syscallInfo(rawUint(raw, 0));
      type = sc?.name ?? '<unknown>';
      category = sc?.category ?? EC.OTHER;
    }

    let ev: SyscallEvent;
    if (this.opts.lazyParams) {
      ev = new LazyEvent(
        this.renderer,
        info,
        raw,
        n,
        enter,
        tstate,
        isEnter,
        num,
        raw.ts,
        type,
        info.dir,
        raw.cpu,
        thread ?? missingThread(raw.tid),
        this.categoryOf(etype, category),
      );
    } else {
      // Parameters: decoded and rendered after the event updated the state, like sysdig prints them.
      this.renderCtx.t = tstate;
      const rawParams = raw.params;
      const params: ScapParam[] = [];
      for (let i = 0; i < n; i++) {
        const pi = info.params[i];
        const b = rawParams[i];
        if (!pi || !b) continue;
        params.push(
          decodeParam(pi, b, this.renderCtx, info.name, this.dirfdPath(pi.dirfd, rawParams, tstate)),
        );
      }
      if (enter) {
        forEachMergedEnterParam(info, n, etype, enter, (pi, b) =>
          params.push(decodeParam(pi, b, this.renderCtx, info.name)),
        );
      }
      ev = {
        source: 'syscall',
        num,
        ts: raw.ts,
        type,
        dir: info.dir,
        cpu: raw.cpu,
        params,
        thread: thread ?? missingThread(raw.tid),
        category: this.categoryOf(etype, category),
      };
      const res = resultOf(info, params, isEnter);
      if (res !== undefined) ev.res = res;
    }
    let fd = this.fdinfo;
    let before = this.fdNameBefore;
    if (
      !fd &&
      tstate &&
      info.flags & (EF.USES_FD | EF.CREATES_FD | EF.DESTROYS_FD) &&
      tstate.lastEventFd !== -1
    ) {
      // No fd from this event (its enter event is missing): like libsinsp's fd fields, fall back to
      // the thread's last fd.
      fd = tstate.fdTable.get(tstate.lastEventFd);
      before = fd?.name ?? '';
    }
    if (fd) ev.fd = snapshotFd(fd, fd.name !== before);
    const cid = this.containerOverride ?? (thread && !thread.missing ? thread.containerId : undefined);
    this.containerOverride = undefined;
    if (cid !== undefined) ev.container = this.container(cid) ?? { id: cid };
    if (this.hostname !== undefined) ev.hostname = this.hostname;
    return ev;
  }

  /** Renders the parameters of lazy events (see {@link LazyEvent}), against the state as it is now. */
  private readonly renderer: ParamRenderer = {
    render: (src, pi, b, fromEnter) => {
      this.renderCtx.t = src.tstate;
      return fromEnter
        ? decodeParam(pi, b, this.renderCtx, src.info.name)
        : decodeParam(
            pi,
            b,
            this.renderCtx,
            src.info.name,
            this.dirfdPath(pi.dirfd, src.rawParams, src.tstate),
          );
    },
  };

  private dirfdPath(
    dirfd: number | undefined,
    p: Uint8Array[],
    t: ThreadState | undefined,
  ): string | undefined {
    if (dirfd === undefined || !t) return undefined;
    const fd = intParam(p[dirfd]);
    if (fd === AT_FDCWD) return t.cwd;
    return t.fdTable.get(fd)?.name;
  }

  /** evt.category: the event's category, refined by the fd type for I/O events. */
  private categoryOf(etype: number, category: number): string {
    if (category === EC.IO_READ || category === EC.IO_WRITE || category === EC.IO_OTHER) {
      if (etype === E.GENERIC_E || etype === E.GENERIC_X) return 'unknown';
      const fd = this.fdinfo;
      if (!fd) return 'unknown';
      switch (fd.type) {
        case 'file':
        case 'directory':
          return 'file';
        case 'ipv4':
        case 'ipv6':
          return 'net';
        case 'pipe':
        case 'unix':
        case 'event':
        case 'signalfd':
        case 'inotify':
          return 'ipc';
        case 'eventpoll':
        case 'timerfd':
        case 'netlink':
        case 'bpf':
        case 'userfaultfd':
        case 'io_uring':
        case 'memfd':
        case 'pidfd':
        case 'unknown':
          return 'unknown';
      }
    }
    return categoryName(category);
  }

  /** Live counters (threads and fds are counted on demand). */
  snapshotStats(): StateEngineStats {
    let fds = 0;
    for (const t of this.table.values()) fds += t.ownFds.size;
    this.stats.threads = this.table.size;
    this.stats.fds = fds;
    return { ...this.stats };
  }
}

/** Names of the parameter holding the fd an exit event uses, in the order they are tried. */
const EXIT_FD_PARAM_NAMES = ['fd', 'oldfd', 'out_fd', 'fd_in', 'fdin'];
const exitFdParamCache = new Map<number, number>();

/** Index of the fd parameter of an exit event that uses an fd, or -1. */
function exitFdParamIndex(info: ScapEventInfo): number {
  let i = exitFdParamCache.get(info.code);
  if (i === undefined) {
    i = -1;
    for (const n of EXIT_FD_PARAM_NAMES) {
      i = paramIndex(info, n);
      if (i >= 0) break;
    }
    exitFdParamCache.set(info.code, i);
  }
  return i;
}

/** evt.res/evt.rawres: the `res` parameter, or the new fd of fd-creating exits. */
function resultOf(info: ScapEventInfo, params: ScapParam[], isEnter: boolean): number | bigint | undefined {
  const first = params[0];
  if (!first) return undefined;
  if (first.name === 'res') {
    const r = first.raw;
    if (typeof r === 'number' || typeof r === 'bigint') return r;
  }
  if (!isEnter && info.flags & EF.CREATES_FD && first.name === 'fd') {
    const r = first.raw;
    if (typeof r === 'number' || typeof r === 'bigint') return r;
  }
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (p.name !== 'res') continue;
    const r = p.raw;
    return typeof r === 'number' || typeof r === 'bigint' ? r : undefined;
  }
  return undefined;
}

/**
 * The stored enter event's parameters an exit event lacks (see `mergeEnterParams`), in schema
 * order from `have`; stops at the first one the enter event does not carry with the same type, to
 * keep positions aligned with the schema.
 */
function forEachMergedEnterParam(
  info: ScapEventInfo,
  have: number,
  etype: number,
  enter: Uint8Array[],
  each: (pi: ScapParamInfo, b: Uint8Array) => void,
): void {
  const enterInfo = eventInfo(etype - 1);
  if (!enterInfo) return;
  for (let i = have; i < info.params.length; i++) {
    const pi = info.params[i];
    if (!pi) break;
    const j = paramIndex(enterInfo, pi.name);
    const b = j >= 0 ? enter[j] : undefined;
    const ei = j >= 0 ? enterInfo.params[j] : undefined;
    if (!b || !ei || ei.type !== pi.type) break;
    each(pi, b);
  }
}

/** What a lazy event keeps to decode its parameters later (the event itself: one object less). */
interface LazySource {
  readonly renderer: ParamRenderer;
  readonly info: ScapEventInfo;
  /** The raw event's parameter bytes (its `params`, made when first read). */
  readonly rawParams: Uint8Array[];
  /** Parameters of the event itself (the rest of the schema may come from `enter`). */
  readonly n: number;
  readonly enter: Uint8Array[] | undefined;
  readonly tstate: ThreadState | undefined;
  readonly isEnter: boolean;
}

/** Renders one parameter of a lazy event with the state engine's context. */
interface ParamRenderer {
  render(src: LazySource, pi: ScapParamInfo, b: Uint8Array, fromEnter: boolean): ScapParam;
}

/**
 * An event whose parameters (`params`, `param()`, and `res`, taken from them) are decoded on first
 * read; see `StateEngineOptions.lazyParams`. Every other member is set when it is built, as on a
 * plain event.
 */
class LazyEvent implements SyscallEvent, LazySource {
  readonly source = 'syscall' as const;
  fd: FdInfo | undefined = undefined;
  container: ContainerInfo | undefined = undefined;
  hostname: string | undefined = undefined;
  private list: ScapParam[] | undefined = undefined;
  /** Parameters `param()` made before the list was, by index (the list reuses them). */
  private slots: (LazyParam | undefined)[] | undefined = undefined;
  private result: number | bigint | undefined = undefined;
  private resultKnown = false;

  constructor(
    readonly renderer: ParamRenderer,
    readonly info: ScapEventInfo,
    private readonly raw: RawSyscallEvent,
    readonly n: number,
    readonly enter: Uint8Array[] | undefined,
    readonly tstate: ThreadState | undefined,
    readonly isEnter: boolean,
    public num: number,
    public ts: bigint,
    public type: string,
    public dir: '>' | '<',
    public cpu: number,
    public thread: ThreadInfo,
    public category: string,
  ) {}

  get rawParams(): Uint8Array[] {
    return this.raw.params;
  }

  get params(): ScapParam[] {
    if (this.list === undefined) {
      const { info, rawParams, slots } = this;
      const out: ScapParam[] = [];
      for (let i = 0; i < this.n; i++) {
        const pi = info.params[i];
        const b = rawParams[i];
        if (pi && b) out.push(slots?.[i] ?? new LazyParam(pi, b, this, false));
      }
      if (this.enter)
        forEachMergedEnterParam(info, this.n, info.code, this.enter, (pi, b) =>
          out.push(new LazyParam(pi, b, this, true)),
        );
      this.list = out;
    }
    return this.list;
  }

  set params(v: ScapParam[]) {
    this.list = v;
  }

  /** The first parameter named `name`, without making the others (a rule reads one or two). */
  param(name: string): ScapParam | undefined {
    const list = this.list;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return list[i];
      return undefined;
    }
    const { info, raw } = this;
    for (let i = 0; i < this.n; i++) {
      const pi = info.params[i];
      if (!pi || pi.name !== name) continue;
      // One view for the parameter asked for, when the source can make it alone.
      const b = raw.param !== undefined ? raw.param(i) : raw.params[i];
      if (!b) continue;
      const slots = (this.slots ??= []);
      return (slots[i] ??= new LazyParam(pi, b, this, false));
    }
    // Not one of the event's own: maybe one merged from its enter event.
    return this.enter ? this.params.find((p) => p.name === name) : undefined;
  }

  /**
   * `param(name)?.raw`; unsigned numeric parameters of the event itself (open flags, modes...)
   * are read in place when the source allows it, without making a parameter object.
   */
  paramRaw(name: string): ScapParam['raw'] {
    const { info, raw } = this;
    if (this.list === undefined && raw.paramOffset !== undefined) {
      for (let i = 0; i < this.n; i++) {
        const pi = info.params[i];
        if (!pi || pi.name !== name) continue;
        const made = this.slots?.[i];
        if (made !== undefined) return made.raw;
        if (!isUnsignedNumberType(pi.type)) break;
        const at = raw.paramOffset(i);
        if (at < 0) break;
        return uintAt(raw.buf!, at, raw.paramLength!(i));
      }
    }
    return this.param(name)?.raw;
  }

  get res(): number | bigint | undefined {
    if (!this.resultKnown) {
      this.result = resultOf(this.info, this.params, this.isEnter);
      this.resultKnown = true;
    }
    return this.result;
  }

  set res(v: number | bigint | undefined) {
    this.result = v;
    this.resultKnown = true;
  }
}

/** A parameter of a {@link LazyEvent}: the raw value is decoded on first read, the texts likewise. */
class LazyParam implements ScapParam {
  readonly name: string;
  private value: ScapParam['raw'] = undefined;
  private valueKnown = false;
  private full: ScapParam | undefined = undefined;

  constructor(
    private readonly pi: ScapParamInfo,
    private readonly bytes: Uint8Array,
    private readonly src: LazySource,
    private readonly fromEnter: boolean,
  ) {
    this.name = pi.name;
  }

  get raw(): ScapParam['raw'] {
    if (!this.valueKnown) {
      this.value = this.full ? this.full.raw : decodeRawParam(this.pi, this.bytes, this.src.info.name);
      this.valueKnown = true;
    }
    return this.value;
  }

  get text(): string | undefined {
    return this.rendered().text;
  }

  get rawText(): string {
    return this.rendered().rawText;
  }

  private rendered(): ScapParam {
    return (this.full ??= this.src.renderer.render(this.src, this.pi, this.bytes, this.fromEnter));
  }
}
