/**
 * Bootstrapping the state engine from /proc: the processes and threads that exist when a live
 * capture starts (pid, ppid, comm, exe, args, env, cwd, uid/gid, loginuid, tty, session, process
 * group, start time, cgroups and so the container id, capabilities, fd limit), their open fds when
 * asked (files, pipes, sockets with their addresses, event fds...), and the users and groups of
 * /etc/passwd and /etc/group. libscap reads the same at start-up; the capture format's process list
 * holds the same fields.
 *
 * /proc changes while it is read: a process that ends between listing and reading is skipped and
 * counted, never an error. Every read is bounded (process count, fds per process, environment
 * size), so a host with many processes costs a bounded start-up.
 *
 * Also here, for live drivers: the few per-process look-ups they make while running (credentials
 * after an execve, the ends of a socket, a thread's parent).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ScapFdEntry, ScapGroup, ScapUser } from './scap/reader.js';
import { SCAP_FD } from './scap/reader.js';
import type { ThreadSeed } from './state/process-table.js';
import type { StateEngine } from './state/state-engine.js';

/** Options of {@link bootstrapFromProc}. */
export interface ProcBootstrapOptions {
  /** Where procfs is mounted. Default `/proc`. */
  procRoot?: string;
  /** Where passwd and group are. Default `/etc`. */
  etcRoot?: string;
  /** The cgroup v2 mount (its `cgroup.controllers` names the controllers). Default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** At most this many processes are read (the rest are counted as skipped). Default 65536. */
  maxProcesses?: number;
  /** Read open fds: of every process (`true`), none (`false`, the default) or only of these pids. */
  fds?: boolean | ReadonlySet<number>;
  /** At most this many fds per process. Default 4096. */
  maxFdsPerProcess?: number;
  /** Bytes of environment kept per process. Default 32 KiB; 0 skips environments. */
  maxEnvBytes?: number;
  /** Read users and groups. Default true. */
  users?: boolean;
}

/** What a bootstrap read. */
export interface ProcBootstrapStats {
  processes: number;
  threads: number;
  fds: number;
  users: number;
  groups: number;
  /** Processes or threads that ended while they were being read. */
  vanished: number;
  /** Processes not read because of `maxProcesses`. */
  skipped: number;
  /** Fds not read because of `maxFdsPerProcess`. */
  skippedFds: number;
}

/** A thread as read from /proc: the state engine's seed plus its start time. */
export interface ProcThread {
  seed: ThreadSeed;
  /** Start time, epoch ns. */
  startTs?: bigint;
}

const USER_HZ = 100; // Linux reports stat times in USER_HZ ticks (100 on every architecture it runs)

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

function readUtf8(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat this module uses. */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
  /** Ticks after boot. */
  startTime: number;
}

/** Parses /proc/<pid>/stat (the comm may hold spaces and parentheses: it ends at the last `)`). */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (i: number): number => Number(rest[i] ?? 0);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '',
    ppid: n(1),
    pgrp: n(2),
    session: n(3),
    ttyNr: n(4),
    startTime: n(19),
  };
}

/** The fields of /proc/<pid>/status this module uses. */
export interface ProcStatus {
  tgid?: number;
  ppid?: number;
  uid?: number;
  euid?: number;
  gid?: number;
  egid?: number;
  capInheritable?: bigint;
  capPermitted?: bigint;
  capEffective?: bigint;
  /** The innermost namespace pid (NSpid's last value). */
  nsPid?: number;
}

/** Parses /proc/<pid>/status. */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const v = line.slice(colon + 1).trim();
    const ids = (): number[] => v.split(/\s+/).map(Number);
    switch (key) {
      case 'Tgid':
        out.tgid = Number(v);
        break;
      case 'PPid':
        out.ppid = Number(v);
        break;
      case 'Uid':
        [out.uid, out.euid] = ids();
        break;
      case 'Gid':
        [out.gid, out.egid] = ids();
        break;
      case 'CapInh':
        out.capInheritable = BigInt(`0x${v}`);
        break;
      case 'CapPrm':
        out.capPermitted = BigInt(`0x${v}`);
        break;
      case 'CapEff':
        out.capEffective = BigInt(`0x${v}`);
        break;
      case 'NSpid': {
        const all = ids();
        out.nsPid = all[all.length - 1];
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/**
 * Cgroups in the capture format's `controller=path` form from /proc/<pid>/cgroup. cgroup v1 lines
 * name their controllers; the v2 line (`0::/path`) stands for every controller of the unified
 * hierarchy (`controllers`).
 */
export function parseProcCgroups(text: string, controllers: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const path = m[3] ?? '';
    if (m[2] === '') {
      for (const c of controllers) out.push(`${c}=${path}`);
      continue;
    }
    for (const c of (m[2] ?? '').split(',')) if (c) out.push(`${c}=${path}`);
  }
  return out;
}

/** The soft `Max open files` limit from /proc/<pid>/limits. */
function parseFdLimit(text: string | undefined): number | undefined {
  const m = text ? /^Max open files\s+(\d+|unlimited)/m.exec(text) : null;
  if (!m?.[1]) return undefined;
  return m[1] === 'unlimited' ? -1 : Number(m[1]);
}

function splitNul(text: string): string[] {
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function withSlash(dir: string): string {
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** A /proc reader with the caches one pass needs (boot time, controllers, socket tables). */
class ProcReader {
  readonly root: string;
  private bootNs: bigint | undefined;
  private controllers: string[] | undefined;
  private readonly sockets = new Map<string, Map<number, ScapFdEntry>>();

  constructor(
    root: string,
    private readonly cgroupRoot: string,
    private readonly maxEnvBytes: number,
  ) {
    this.root = root;
  }

  private bootTimeNs(): bigint {
    if (this.bootNs === undefined) {
      const m = /^btime (\d+)$/m.exec(readText(join(this.root, 'stat')) ?? '');
      this.bootNs = m?.[1] ? BigInt(m[1]) * 1_000_000_000n : 0n;
    }
    return this.bootNs;
  }

  cgroupControllers(): string[] {
    if (!this.controllers) {
      const text = readText(join(this.cgroupRoot, 'cgroup.controllers'));
      this.controllers = text?.trim() ? text.trim().split(/\s+/) : ['cpu', 'memory', 'pids'];
    }
    return this.controllers;
  }

  /** One thread of a process; undefined when it is gone. */
  thread(pid: number, tid: number): ProcThread | undefined {
    const dir =
      tid === pid ? join(this.root, String(pid)) : join(this.root, String(pid), 'task', String(tid));
    const stat = parseProcStat(readText(join(dir, 'stat')) ?? '');
    const statusText = readText(join(dir, 'status'));
    if (!stat || statusText === undefined) return undefined;
    const status = parseProcStatus(statusText);
    const pdir = join(this.root, String(pid));
    const argv = splitNul(readUtf8(join(pdir, 'cmdline')) ?? '');
    const exepath = (readLink(join(pdir, 'exe')) ?? '').replace(/ \(deleted\)$/, '');
    const cwd = readLink(join(pdir, 'cwd')) ?? '';
    const seed: ThreadSeed = {
      tid,
      pid,
      // A thread's parent is its process's parent (libsinsp links threads the same way).
      ptid: stat.ppid,
      sid: stat.session,
      vpgid: stat.pgrp,
      comm: stat.comm,
      // Kernel threads have no command line: their name stands in, as libscap does.
      exe: argv[0] ?? stat.comm,
      exepath,
      args: argv.slice(1),
      cwd: cwd ? withSlash(cwd) : '',
      uid: status.euid ?? status.uid ?? 0,
      gid: status.egid ?? status.gid ?? 0,
      tty: stat.ttyNr,
    };
    if (status.nsPid !== undefined) {
      seed.vpid = status.nsPid;
      seed.vtid = tid === pid ? status.nsPid : tid;
    }
    const loginuid = readText(join(pdir, 'loginuid'));
    if (loginuid !== undefined) seed.loginuid = Number(loginuid.trim()) >>> 0;
    if (this.maxEnvBytes > 0) {
      const env = readUtf8(join(pdir, 'environ'));
      if (env !== undefined) seed.env = splitNul(env.slice(0, this.maxEnvBytes));
    }
    const cg = readText(join(pdir, 'cgroup'));
    if (cg !== undefined) seed.cgroups = parseProcCgroups(cg, this.cgroupControllers());
    const root = readLink(join(pdir, 'root'));
    if (root !== undefined) seed.root = root;
    if (status.capInheritable !== undefined) seed.capInheritable = status.capInheritable;
    if (status.capPermitted !== undefined) seed.capPermitted = status.capPermitted;
    if (status.capEffective !== undefined) seed.capEffective = status.capEffective;
    const fdlimit = parseFdLimit(readText(join(pdir, 'limits')));
    if (fdlimit !== undefined) seed.fdlimit = fdlimit;
    const out: ProcThread = { seed };
    if (stat.startTime > 0) {
      out.startTs = this.bootTimeNs() + (BigInt(stat.startTime) * 1_000_000_000n) / BigInt(USER_HZ);
    }
    return out;
  }

  /** The sockets of a network namespace by inode (read once per namespace). */
  socketTable(pid: number): Map<number, ScapFdEntry> {
    const ns = readLink(join(this.root, String(pid), 'ns', 'net')) ?? `pid:${pid}`;
    let table = this.sockets.get(ns);
    if (table) return table;
    table = new Map();
    const net = join(this.root, String(pid), 'net');
    for (const [file, v6, l4proto] of [
      ['tcp', false, 2],
      ['tcp6', true, 2],
      ['udp', false, 3],
      ['udp6', true, 3],
      ['raw', false, 5],
      ['raw6', true, 5],
    ] as const) {
      readInetTable(readText(join(net, file)), v6, l4proto, table);
    }
    readUnixTable(readText(join(net, 'unix')), table);
    this.sockets.set(ns, table);
    return table;
  }

  /** Open fds of a process (at most `max`); `skipped` counts the rest. */
  fds(pid: number, max: number): { fds: ScapFdEntry[]; skipped: number } {
    const dir = join(this.root, String(pid), 'fd');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return { fds: [], skipped: 0 };
    }
    const out: ScapFdEntry[] = [];
    let skipped = 0;
    for (const name of names) {
      const fd = Number(name);
      if (!Number.isInteger(fd)) continue;
      if (out.length >= max) {
        skipped++;
        continue;
      }
      const target = readLink(join(dir, name));
      if (target === undefined) continue; // closed meanwhile
      const e = this.fdEntry(pid, fd, target);
      if (e) out.push(e);
    }
    return { fds: out, skipped };
  }

  private fdEntry(pid: number, fd: number, target: string): ScapFdEntry | undefined {
    const base = { tid: pid, fd, ino: 0 };
    const inode = /^[a-z_]+:\[(\d+)\]$/.exec(target);
    if (target.startsWith('socket:') && inode?.[1]) {
      const s = this.socketTable(pid).get(Number(inode[1]));
      return s ? { ...s, tid: pid, fd } : undefined;
    }
    if (target.startsWith('pipe:') && inode?.[1]) {
      return { ...base, ino: Number(inode[1]), type: SCAP_FD.FIFO, name: target };
    }
    if (target.startsWith('anon_inode:')) {
      const what = target.slice('anon_inode:'.length).replace(/^\[|\]$/g, '');
      return { ...base, type: anonFdType(what), name: '' };
    }
    if (target.startsWith('/memfd:')) {
      return { ...base, type: SCAP_FD.MEMFD, name: target.slice(1).replace(/ \(deleted\)$/, '') };
    }
    if (!target.startsWith('/')) return { ...base, type: SCAP_FD.UNSUPPORTED, name: target };
    const info = readText(join(this.root, String(pid), 'fdinfo', String(fd))) ?? '';
    const m = /^flags:\s*([0-7]+)$/m.exec(info);
    const kflags = m?.[1] ? parseInt(m[1], 8) : 0;
    const isDir = (kflags & KERNEL_O.DIRECTORY) !== 0;
    return {
      ...base,
      type: isDir ? SCAP_FD.DIRECTORY : SCAP_FD.FILE_V2,
      name: target,
      openFlags: openFlagsToPpm(kflags),
    };
  }
}

/** scap fd type of an anonymous inode fd (`anon_inode:[eventfd]` → `eventfd`). */
export function anonFdType(what: string): number {
  return ANON_TYPES[what] ?? (what.startsWith('bpf') ? SCAP_FD.BPF : SCAP_FD.UNSUPPORTED);
}

const ANON_TYPES: Readonly<Record<string, number>> = {
  eventfd: SCAP_FD.EVENT,
  eventpoll: SCAP_FD.EVENTPOLL,
  signalfd: SCAP_FD.SIGNALFD,
  timerfd: SCAP_FD.TIMERFD,
  inotify: SCAP_FD.INOTIFY,
  pidfd: SCAP_FD.PIDFD,
  userfaultfd: SCAP_FD.USERFAULTFD,
  io_uring: SCAP_FD.IOURING,
};

/** Kernel open flags (the generic layout; arm64 moves DIRECTORY, NOFOLLOW, DIRECT and LARGEFILE). */
const KERNEL_O =
  process.arch === 'arm64' || process.arch === 'arm'
    ? { DIRECTORY: 0o40000, DIRECT: 0o200000, LARGEFILE: 0o400000 }
    : { DIRECTORY: 0o200000, DIRECT: 0o40000, LARGEFILE: 0o100000 };

/** Kernel open flags to the capture format's (PPM_O_*). */
export function openFlagsToPpm(k: number): number {
  let f = 0;
  const acc = k & 3;
  f |= acc === 0 ? 1 : acc === 1 ? 2 : 3; // O_RDONLY / O_WRONLY / O_RDWR
  if (k & 0o100) f |= 1 << 2; // O_CREAT
  if (k & 0o2000) f |= 1 << 3; // O_APPEND
  if (k & 0o10000) f |= 1 << 4; // O_DSYNC
  if (k & 0o200) f |= 1 << 5; // O_EXCL
  if (k & 0o4000) f |= 1 << 6; // O_NONBLOCK
  if (k & 0o4000000) f |= 1 << 7; // O_SYNC (__O_SYNC)
  if (k & 0o1000) f |= 1 << 8; // O_TRUNC
  if (k & KERNEL_O.DIRECT) f |= 1 << 9;
  if (k & KERNEL_O.DIRECTORY) f |= 1 << 10;
  if (k & KERNEL_O.LARGEFILE) f |= 1 << 11;
  if (k & 0o2000000) f |= 1 << 12; // O_CLOEXEC
  return f;
}

/** An address of /proc/net/{tcp,udp,raw}{,6}: hex in host (little-endian) 32-bit words. */
function procNetAddress(hex: string, v6: boolean): { ip: string; port: number } {
  const [addr = '', port = '0'] = hex.split(':');
  const words = v6 ? 4 : 1;
  const bytes: number[] = [];
  for (let w = 0; w < words; w++) {
    const word = addr.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16) || 0);
  }
  const p = parseInt(port, 16) || 0;
  if (!v6) return { ip: bytes.join('.'), port: p };
  return { ip: ipv6Text(bytes), port: p };
}

function ipv6Text(bytes: number[]): string {
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Longest run of zero groups becomes `::`.
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

function readInetTable(
  text: string | undefined,
  v6: boolean,
  l4proto: number,
  into: Map<number, ScapFdEntry>,
): void {
  if (!text) return;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const inode = Number(f[9]);
    if (!inode) continue;
    const local = procNetAddress(f[1] ?? '', v6);
    const remote = procNetAddress(f[2] ?? '', v6);
    const listening = l4proto === 2 && f[3] === '0A';
    into.set(
      inode,
      listening
        ? {
            tid: 0,
            fd: 0,
            ino: inode,
            type: v6 ? SCAP_FD.IPV6_SERVSOCK : SCAP_FD.IPV4_SERVSOCK,
            sip: local.ip,
            sport: local.port,
            l4proto,
          }
        : {
            tid: 0,
            fd: 0,
            ino: inode,
            type: v6 ? SCAP_FD.IPV6_SOCK : SCAP_FD.IPV4_SOCK,
            sip: local.ip,
            sport: local.port,
            dip: remote.ip,
            dport: remote.port,
            l4proto,
          },
    );
  }
}

function readUnixTable(text: string | undefined, into: Map<number, ScapFdEntry>): void {
  if (!text) return;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const inode = Number(f[6]);
    if (!inode) continue;
    into.set(inode, { tid: 0, fd: 0, ino: inode, type: SCAP_FD.UNIX_SOCK, name: f.slice(7).join(' ') });
  }
}

/** Users and groups from passwd and group files (`name:x:uid:gid:gecos:home:shell`). */
export function readUsers(etcRoot = '/etc'): { users: ScapUser[]; groups: ScapGroup[] } {
  const users: ScapUser[] = [];
  const groups: ScapGroup[] = [];
  for (const line of (readUtf8(join(etcRoot, 'passwd')) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    users.push({
      name: f[0] ?? '',
      uid: Number(f[2]),
      gid: Number(f[3]),
      homedir: f[5] ?? '',
      shell: f[6] ?? '',
    });
  }
  for (const line of (readUtf8(join(etcRoot, 'group')) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    groups.push({ name: f[0] ?? '', gid: Number(f[2]) });
  }
  return { users, groups };
}

function listPids(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/**
 * Fills a state engine with the processes, threads (and, as asked, fds) of /proc, then the users
 * and groups, and completes the bootstrap (`finishBootstrap`). Never throws for processes that
 * vanish or cannot be read; throws only when /proc itself cannot be listed.
 */
export function bootstrapFromProc(
  engine: StateEngine,
  options: ProcBootstrapOptions = {},
): ProcBootstrapStats {
  const root = options.procRoot ?? '/proc';
  const reader = new ProcReader(
    root,
    options.cgroupRoot ?? '/sys/fs/cgroup',
    options.maxEnvBytes ?? 32 * 1024,
  );
  const stats: ProcBootstrapStats = {
    processes: 0,
    threads: 0,
    fds: 0,
    users: 0,
    groups: 0,
    vanished: 0,
    skipped: 0,
    skippedFds: 0,
  };
  let pids: string[];
  try {
    pids = readdirSync(root).filter((n) => /^\d+$/.test(n));
  } catch (e) {
    throw new Error(`cannot list ${root} to read the running processes`, { cause: e });
  }
  const maxProcesses = options.maxProcesses ?? 65536;
  const maxFds = options.maxFdsPerProcess ?? 4096;
  const wantFds = options.fds ?? false;
  for (const name of pids) {
    const pid = Number(name);
    if (stats.processes >= maxProcesses) {
      stats.skipped++;
      continue;
    }
    const main = reader.thread(pid, pid);
    if (!main) {
      stats.vanished++;
      continue;
    }
    addThread(engine, main);
    stats.processes++;
    stats.threads++;
    for (const tid of listPids(join(root, name, 'task'))) {
      if (tid === pid) continue;
      const t = reader.thread(pid, tid);
      if (!t) {
        stats.vanished++;
        continue;
      }
      addThread(engine, t);
      stats.threads++;
    }
    if (wantFds === true || (wantFds !== false && wantFds.has(pid))) {
      const { fds, skipped } = reader.fds(pid, maxFds);
      for (const fd of fds) engine.addFd(fd);
      stats.fds += fds.length;
      stats.skippedFds += skipped;
    }
  }
  if (options.users !== false) {
    const { users, groups } = readUsers(options.etcRoot ?? '/etc');
    for (const u of users) engine.addUser(u);
    for (const g of groups) engine.addGroup(g);
    stats.users = users.length;
    stats.groups = groups.length;
  }
  engine.finishBootstrap();
  return stats;
}

function addThread(engine: StateEngine, t: ProcThread): void {
  const state = engine.addThread(t.seed);
  if (t.startTs !== undefined) state.startTs = t.startTs;
}

/**
 * Reads one thread (a process's main thread or one of its threads) from /proc, for threads a live
 * driver meets before anyone announced them. Undefined when it is gone. With `fds`, the process's
 * open fds come along (main threads only).
 */
export function readProcThread(
  tid: number,
  options: Pick<ProcBootstrapOptions, 'procRoot' | 'cgroupRoot' | 'maxEnvBytes'> & { fds?: boolean } = {},
): (ProcThread & { fds?: ScapFdEntry[] }) | undefined {
  const root = options.procRoot ?? '/proc';
  const status = parseProcStatus(readText(join(root, String(tid), 'status')) ?? '');
  const pid = status.tgid ?? tid;
  const reader = new ProcReader(
    root,
    options.cgroupRoot ?? '/sys/fs/cgroup',
    options.maxEnvBytes ?? 32 * 1024,
  );
  const t = reader.thread(pid, tid);
  if (!t) return undefined;
  if (options.fds && tid === pid) return { ...t, fds: reader.fds(pid, 4096).fds };
  return t;
}

/** Adds a thread read by {@link readProcThread} (and its fds) to a running state engine. */
export function addProcThread(engine: StateEngine, t: ProcThread & { fds?: ScapFdEntry[] }): void {
  addThread(engine, t);
  for (const fd of t.fds ?? []) engine.addFd(fd);
}

/** A process's credentials and identity as /proc shows them now (read right after an execve). */
export interface ExecInfo {
  uid?: number;
  gid?: number;
  loginuid?: number;
  tty?: number;
  sid?: number;
  vpgid?: number;
  /** The resolved executable (`/proc/<pid>/exe`). */
  exepath?: string;
  cgroups?: readonly string[];
  capInheritable?: bigint;
  capPermitted?: bigint;
  capEffective?: bigint;
}

/** Credentials and identity of a process now; undefined when it is gone. */
export function readExecInfo(
  pid: number,
  procRoot = '/proc',
  cgroupRoot = '/sys/fs/cgroup',
): ExecInfo | undefined {
  const dir = join(procRoot, String(pid));
  const statusText = readText(join(dir, 'status'));
  if (statusText === undefined) return undefined;
  const status = parseProcStatus(statusText);
  const out: ExecInfo = {};
  if (status.euid !== undefined) out.uid = status.euid;
  if (status.egid !== undefined) out.gid = status.egid;
  if (status.capInheritable !== undefined) out.capInheritable = status.capInheritable;
  if (status.capPermitted !== undefined) out.capPermitted = status.capPermitted;
  if (status.capEffective !== undefined) out.capEffective = status.capEffective;
  const stat = parseProcStat(readText(join(dir, 'stat')) ?? '');
  if (stat) {
    out.tty = stat.ttyNr;
    out.sid = stat.session;
    out.vpgid = stat.pgrp;
  }
  const loginuid = readText(join(dir, 'loginuid'));
  if (loginuid !== undefined) out.loginuid = Number(loginuid.trim()) >>> 0;
  const exe = readLink(join(dir, 'exe'));
  if (exe !== undefined) out.exepath = exe.replace(/ \(deleted\)$/, '');
  const cg = readText(join(dir, 'cgroup'));
  if (cg !== undefined)
    out.cgroups = parseProcCgroups(cg, new ProcReader(procRoot, cgroupRoot, 0).cgroupControllers());
  return out;
}

/** The local and remote ends of a socket of a process's network namespace, by inode. */
export function readSocketEnds(
  pid: number,
  inode: number,
  procRoot = '/proc',
): { local?: { ip: string; port: number }; remote?: { ip: string; port: number } } | undefined {
  const e = new ProcReader(procRoot, '/sys/fs/cgroup', 0).socketTable(pid).get(inode);
  if (!e || e.sip === undefined) return undefined;
  const out: { local?: { ip: string; port: number }; remote?: { ip: string; port: number } } = {
    local: { ip: e.sip, port: e.sport ?? 0 },
  };
  if (e.dip !== undefined) out.remote = { ip: e.dip, port: e.dport ?? 0 };
  return out;
}

/** A thread's process (thread group) and that process's parent. */
export function readParentOf(tid: number, procRoot = '/proc'): { ppid: number; tgid: number } | undefined {
  const status = parseProcStatus(readText(join(procRoot, String(tid), 'status')) ?? '');
  if (status.tgid === undefined || status.ppid === undefined) return undefined;
  return { ppid: status.ppid, tgid: status.tgid };
}
