/**
 * The process table: one {@link ThreadState} per thread, keyed by tid, with the parent, session
 * leader, working directory and fd table resolved through the table the way libsinsp does (by
 * ptid/sid lookups, threads sharing their process's cwd and fds).
 *
 * The table is fed from a capture's process list or, for live capture, from /proc (both produce
 * {@link ThreadSeed}s), and kept current by the state engine. It is bounded: exited threads are
 * removed once none of their children needs them for ancestry, and a hard size cap evicts the
 * least recently used threads.
 */
import type { FdInfo, ThreadInfo } from '../../engine/event.js';
import type { ScapGroup, ScapUser } from '../scap/reader.js';
import { containerIdFromCgroups } from './container-id.js';
import type { FdState } from './fd-table.js';

/** Users and groups known to the capture (or read from /etc/passwd and /etc/group for live). */
export class UserTable {
  private readonly users = new Map<number, ScapUser>();
  private readonly groups = new Map<number, ScapGroup>();

  addUser(u: ScapUser): void {
    this.users.set(u.uid, u);
  }
  addGroup(g: ScapGroup): void {
    this.groups.set(g.gid, g);
  }
  removeUser(uid: number): void {
    this.users.delete(uid);
  }
  removeGroup(gid: number): void {
    this.groups.delete(gid);
  }
  user(uid: number | undefined): ScapUser | undefined {
    return uid === undefined ? undefined : this.users.get(uid);
  }
  group(gid: number | undefined): ScapGroup | undefined {
    return gid === undefined ? undefined : this.groups.get(gid);
  }
  get size(): number {
    return this.users.size + this.groups.size;
  }
}

/** What a thread entry needs to start from: a capture process list entry or /proc. */
export interface ThreadSeed {
  tid: number;
  pid: number;
  ptid: number;
  sid?: number;
  vpgid?: number;
  vtid?: number;
  vpid?: number;
  comm: string;
  exe: string;
  exepath?: string;
  args: string[];
  env?: string[];
  cwd: string;
  uid: number;
  gid: number;
  loginuid?: number;
  tty?: number;
  cgroups?: string[];
  root?: string;
  capInheritable?: bigint;
  capPermitted?: bigint;
  capEffective?: bigint;
  exeWritable?: boolean;
  exeUpperLayer?: boolean;
  exeFromMemfd?: boolean;
  exeIno?: number | bigint;
  exeInoCtime?: bigint;
  exeInoMtime?: bigint;
  fdlimit?: number | bigint;
}

/** uid/gid libsinsp uses for "unknown". */
export const UNKNOWN_ID = 0xffffffff;

/** loginuid as Falco prints it: a signed 32-bit value (unset is -1). */
function signed32(v: number): number {
  return v | 0;
}

/**
 * One thread. Implements the engine's {@link ThreadInfo}; `parent`, `sessionLeader`, `cwd`, `fds`,
 * user and group names are resolved through the table at read time, so they follow state changes.
 */
export class ThreadState implements ThreadInfo {
  tid: number;
  pid: number;
  /** Parent thread id as libsinsp keeps it (-1 when unknown). */
  ptid: number;
  vtid?: number;
  vpid?: number;
  sid?: number;
  vpgid?: number;
  comm: string;
  exe: string;
  exepath?: string;
  args: string[];
  env?: string[];
  /** This thread's own cwd; `cwd` reads the process's. */
  ownCwd: string;
  tty?: number;
  startTs?: bigint;
  uid: number;
  gid: number;
  loginuid?: number;
  capEffective?: bigint;
  capPermitted?: bigint;
  capInheritable?: bigint;
  isExeFromMemfd?: boolean;
  isExeUpperLayer?: boolean;
  isExeWritable?: boolean;
  exeIno?: number;
  exeInoCtime?: bigint;
  exeInoMtime?: bigint;
  containerId: string;
  cgroups?: string[];
  root?: string;
  fdlimit?: number | bigint;
  /** This thread's own fd table (only the main thread's is used by `fds`). */
  ownFds: Map<number, FdState> = new Map();
  /** Live children that keep this entry for ancestry after it exits. */
  children = 0;
  /** Exited (procexit seen); removed once `children` drops to 0. */
  exited = false;
  /** CLONE_* flags the thread was created with. */
  cloneFlags = 0;
  /** Created from an event for a tid the table did not know (libsinsp's "<NA>" entries). */
  incomplete = false;
  /** Process-list sockets were oriented (see StateEngine.finishBootstrap). */
  socketsFixed = false;

  /** State the engine keeps for enter/exit pairing. */
  lastEventType = -1;
  // libsinsp starts threads at fd 0: fd fields of an unpaired first exit event show fd 0.
  lastEventFd = 0;
  lastEnter?: { type: number; params: Uint8Array[] };

  constructor(
    private readonly table: ProcessTable,
    seed: ThreadSeed,
  ) {
    this.tid = seed.tid;
    this.pid = seed.pid;
    this.ptid = seed.ptid;
    this.comm = seed.comm;
    this.exe = seed.exe;
    this.args = seed.args;
    // libsinsp keeps directories with a trailing slash (it appends one to what /proc gives).
    this.ownCwd = seed.cwd !== '' && !seed.cwd.endsWith('/') ? `${seed.cwd}/` : seed.cwd;
    this.uid = seed.uid;
    this.gid = seed.gid;
    this.containerId = containerIdFromCgroups(seed.cgroups);
    if (seed.sid !== undefined) this.sid = seed.sid;
    if (seed.vpgid !== undefined) this.vpgid = seed.vpgid;
    if (seed.vtid !== undefined) this.vtid = seed.vtid;
    if (seed.vpid !== undefined) this.vpid = seed.vpid;
    // libsinsp's defaults for what a process list may not carry: empty exepath, tty 0, loginuid unset.
    this.exepath = seed.exepath ?? '';
    this.tty = seed.tty ?? 0;
    this.loginuid = signed32(seed.loginuid ?? UNKNOWN_ID);
    if (seed.env !== undefined) this.env = seed.env;
    if (seed.cgroups !== undefined) this.cgroups = seed.cgroups;
    if (seed.root !== undefined) this.root = seed.root;
    if (seed.capInheritable !== undefined) this.capInheritable = seed.capInheritable;
    if (seed.capPermitted !== undefined) this.capPermitted = seed.capPermitted;
    if (seed.capEffective !== undefined) this.capEffective = seed.capEffective;
    if (seed.exeWritable !== undefined) this.isExeWritable = seed.exeWritable;
    if (seed.exeUpperLayer !== undefined) this.isExeUpperLayer = seed.exeUpperLayer;
    if (seed.exeFromMemfd !== undefined) this.isExeFromMemfd = seed.exeFromMemfd;
    if (seed.exeIno !== undefined) this.exeIno = Number(seed.exeIno);
    if (seed.exeInoCtime !== undefined) this.exeInoCtime = seed.exeInoCtime;
    if (seed.exeInoMtime !== undefined) this.exeInoMtime = seed.exeInoMtime;
    if (seed.fdlimit !== undefined) this.fdlimit = seed.fdlimit;
  }

  /** Sets cgroups and recomputes the container id (clone, execve). */
  setCgroups(cgroups: string[]): void {
    this.cgroups = cgroups;
    this.containerId = containerIdFromCgroups(cgroups);
  }

  /** The thread group leader (the process), this thread when it is the leader or unknown. */
  get mainThread(): ThreadState | undefined {
    if (this.pid === this.tid) return this;
    return this.table.get(this.pid);
  }

  /** proc.ppid: the parent of the process. */
  get ppid(): number {
    const main = this.mainThread ?? this;
    return main.ptid;
  }

  /**
   * The parent process. For a thread that is not its process's leader this is the parent of the
   * process (as Falco ≥ 0.36 reports proc.pname/proc.aname for threads), not the creating thread.
   */
  get parent(): ThreadState | undefined {
    if (this.pid !== this.tid) {
      const main = this.table.get(this.pid);
      if (main && main !== this) return main.parent;
    }
    if (this.ptid < 0 || this.ptid === this.tid) return undefined;
    return this.table.get(this.ptid);
  }

  /**
   * proc.sname: walking up from this thread while the ancestors share its session id, the last one
   * reached (libsinsp's session-leader lookup).
   */
  get sessionLeader(): ThreadState | undefined {
    let leader: ThreadState = this.mainThread ?? this;
    const sid = leader.sid;
    const seen = new Set<number>([leader.tid]);
    for (let p = leader.parent; p && !seen.has(p.tid); p = p.parent) {
      if (p.sid !== sid) break;
      leader = p;
      seen.add(p.tid);
    }
    return leader;
  }

  /** The entry whose child count this thread adds to (its ptid, as the table links them). */
  table_parentForCount(): ThreadState | undefined {
    if (this.ptid < 0 || this.ptid === this.tid) return undefined;
    return this.table.get(this.ptid);
  }

  get cwd(): string {
    return (this.mainThread ?? this).ownCwd;
  }

  set cwd(dir: string) {
    (this.mainThread ?? this).ownCwd = dir;
  }

  get fds(): Map<number, FdInfo> {
    return this.fdTable;
  }

  /** The process's fd table (the main thread's), shared by all its threads. */
  get fdTable(): Map<number, FdState> {
    return (this.mainThread ?? this).ownFds;
  }

  get userName(): string | undefined {
    return this.table.users.user(this.uid)?.name;
  }
  get homedir(): string | undefined {
    return this.table.users.user(this.uid)?.homedir;
  }
  get shell(): string | undefined {
    return this.table.users.user(this.uid)?.shell;
  }
  get loginName(): string | undefined {
    if (this.loginuid === undefined) return undefined;
    return this.table.users.user(this.loginuid >>> 0)?.name;
  }
  get groupName(): string | undefined {
    return this.table.users.group(this.gid)?.name;
  }
}

/** Options of the process table. */
export interface ProcessTableOptions {
  /** Hard cap on threads kept (libsinsp's default is 262144). */
  maxThreads?: number;
}

/** The thread table (see the module comment). */
export class ProcessTable {
  readonly users = new UserTable();
  private readonly threads = new Map<number, ThreadState>();
  private readonly maxThreads: number;
  /** Threads evicted by the size cap (a live source should surface this as a metric). */
  evicted = 0;

  constructor(options: ProcessTableOptions = {}) {
    this.maxThreads = options.maxThreads ?? 262144;
  }

  get size(): number {
    return this.threads.size;
  }

  get(tid: number): ThreadState | undefined {
    return this.threads.get(tid);
  }

  /** All threads (for tests and state dumps). */
  values(): IterableIterator<ThreadState> {
    return this.threads.values();
  }

  /** Adds (or replaces) a thread from a seed; returns the new entry. */
  add(seed: ThreadSeed): ThreadState {
    const t = new ThreadState(this, seed);
    this.insert(t);
    return t;
  }

  /** Inserts a thread built elsewhere (clone), replacing any stale entry with the same tid. */
  insert(t: ThreadState): void {
    const old = this.threads.get(t.tid);
    if (old) this.detach(old);
    if (this.threads.size >= this.maxThreads) this.evictOne();
    this.threads.set(t.tid, t);
    const parent = t.table_parentForCount();
    if (parent) parent.children++;
  }

  /** libsinsp's placeholder for a tid seen in an event but never announced: comm `<NA>`. */
  addIncomplete(tid: number): ThreadState {
    const t = this.add({
      tid,
      pid: tid,
      ptid: -1,
      comm: '<NA>',
      exe: '<NA>',
      args: [],
      cwd: '',
      uid: UNKNOWN_ID,
      gid: UNKNOWN_ID,
      loginuid: UNKNOWN_ID,
    });
    t.incomplete = true;
    return t;
  }

  /**
   * A thread exited: drop it now unless children still need it for ancestry; then drop any exited
   * ancestors that no longer have children.
   */
  markExited(tid: number): void {
    const t = this.threads.get(tid);
    if (!t) return;
    t.exited = true;
    if (t.children <= 0) this.remove(t);
  }

  /** Removes a thread now (and exited ancestors left without children). */
  remove(t: ThreadState): void {
    if (this.threads.get(t.tid) !== t) return;
    this.detach(t);
  }

  private detach(t: ThreadState): void {
    this.threads.delete(t.tid);
    let parent = t.table_parentForCount();
    while (parent) {
      parent.children--;
      if (!(parent.exited && parent.children <= 0)) break;
      this.threads.delete(parent.tid);
      parent = parent.table_parentForCount();
    }
  }

  /** Evicts one thread when the table is full: an exited one if any, else the oldest entry. */
  private evictOne(): void {
    for (const t of this.threads.values()) {
      if (t.exited) {
        this.detach(t);
        this.evicted++;
        return;
      }
    }
    const first = this.threads.values().next();
    if (!first.done) {
      this.detach(first.value);
      this.evicted++;
    }
  }
}
