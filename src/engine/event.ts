/**
 * The neutral event model: what replay produces now and live capture (eBPF, ptrace, scap)
 * produces later. Field extractors read only these shapes.
 *
 * Syscall events carry their parameters already decoded plus references to the state the
 * capture layer keeps (thread, fd, container). Replay of JSON lines fills the same objects.
 */

export type EventDirection = '>' | '<';

/** A process/thread as the state engine knows it (one per thread; fields follow Falco's proc.* / thread.*). */
export interface ThreadInfo {
  tid: number;
  pid: number;
  ppid?: number;
  /** Virtual (namespace) ids. */
  vtid?: number;
  vpid?: number;
  sid?: number;
  vpgid?: number;
  pgid?: number;
  /** comm (proc.name): at most 15 characters on Linux. */
  comm: string;
  /** argv[0] (proc.exe). */
  exe: string;
  /** Full executable path (proc.exepath). */
  exepath?: string;
  /** argv[1..] */
  args: string[];
  env?: string[];
  cwd?: string;
  /** Controlling terminal number, 0 when none. */
  tty?: number;
  /** Thread start time, ns since epoch. */
  startTs?: bigint;
  uid?: number;
  gid?: number;
  euid?: number;
  egid?: number;
  loginuid?: number;
  userName?: string;
  loginName?: string;
  homedir?: string;
  shell?: string;
  groupName?: string;
  /** Capability sets as Falco prints them (`CAP_SYS_ADMIN CAP_NET_RAW ...`) or raw 64-bit masks. */
  capEffective?: bigint;
  capPermitted?: bigint;
  capInheritable?: bigint;
  isExeFromMemfd?: boolean;
  isExeUpperLayer?: boolean;
  isExeWritable?: boolean;
  exeIno?: number;
  exeInoCtime?: bigint;
  exeInoMtime?: bigint;
  /** Parent, resolved by the state engine (or given inline by replay). */
  parent?: ThreadInfo;
  /** Session leader (proc.sname), when known. */
  sessionLeader?: ThreadInfo;
  /** Container id (`host` for host processes). */
  containerId?: string;
  /** File descriptor table, when the state engine keeps one. */
  fds?: Map<number, FdInfo>;
}

export type FdType =
  | 'file'
  | 'directory'
  | 'ipv4'
  | 'ipv6'
  | 'unix'
  | 'pipe'
  | 'event'
  | 'signalfd'
  | 'eventpoll'
  | 'inotify'
  | 'timerfd'
  | 'netlink'
  | 'bpf'
  | 'userfaultfd'
  | 'io_uring'
  | 'memfd'
  | 'pidfd';

export interface FdInfo {
  num: number;
  type: FdType;
  /** fd.name: path for files, `cip:cport->sip:sport` for connected sockets. */
  name: string;
  /** Name as passed by the process, before path resolution (fd.nameraw). */
  nameRaw?: string;
  /** Open flags (O_*) as numbers, for evt.is_open_read/write. */
  openFlags?: number;
  /** Socket tuple: client and server side (for connect, the local side is the client). */
  l4proto?: 'tcp' | 'udp' | 'icmp' | 'raw';
  cip?: string;
  cport?: number;
  sip?: string;
  sport?: number;
  /** Whether this process is the server side of the socket (accept) — decides lip/rip. */
  isServer?: boolean;
  connected?: boolean;
  /** True when the fd name changed in this event (connect, for example). */
  nameChanged?: boolean;
  devMajor?: number;
  devMinor?: number;
  ino?: number;
}

export interface ContainerInfo {
  id: string;
  name?: string;
  image?: string;
  imageRepository?: string;
  imageTag?: string;
  imageDigest?: string;
  type?: string;
  privileged?: boolean;
  startTs?: bigint;
  /** Kubernetes pod metadata when the container belongs to a pod. */
  k8s?: K8sPodInfo;
}

export interface K8sPodInfo {
  namespace?: string;
  podName?: string;
  podUid?: string;
  podLabels?: Record<string, string>;
}

/** A decoded event parameter: rendered text (evt.arg.x) and raw value (evt.rawarg.x). */
export interface EventParam {
  name: string;
  /** Raw value: number/bigint for integers, string for paths and strings, Uint8Array for buffers. */
  raw: number | bigint | string | Uint8Array | undefined;
  /** Falco's rendered form (flags as `O_RDONLY|O_CLOEXEC`, errno as `ENOENT`, fd as `3(<f>/etc/passwd)`). */
  text?: string;
}

export interface SyscallEvent {
  source: 'syscall';
  /** evt.num: incrementing event number. */
  num: number;
  /** Timestamp, ns since the epoch. */
  ts: bigint;
  /** Event type name (`openat`, `execve`, `connect`, ...). */
  type: string;
  dir: EventDirection;
  cpu?: number;
  /** Return value (evt.res / evt.rawres) for exit events. */
  res?: number | bigint;
  params: EventParam[];
  thread: ThreadInfo;
  /** The fd the event acts on (evt.fd / the opened fd), when any. */
  fd?: FdInfo;
  container?: ContainerInfo;
  hostname?: string;
}

/** A Kubernetes audit event (audit.k8s.io/v1 Event), kept as parsed JSON. */
export interface K8sAuditEvent {
  source: 'k8s_audit';
  num: number;
  ts: bigint;
  /** The Event object. */
  json: Record<string, unknown>;
  hostname?: string;
}

export type VigilEvent = SyscallEvent | K8sAuditEvent;
