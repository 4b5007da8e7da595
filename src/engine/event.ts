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
  /** Executable in the lower layer of an overlay filesystem (proc.is_exe_lower_layer). */
  isExeLowerLayer?: boolean;
  isExeWritable?: boolean;
  exeIno?: number;
  exeInoCtime?: bigint;
  exeInoMtime?: bigint;
  /** Start of the process's PID namespace, ns since epoch (proc.pidns_init_start_ts, container.start_ts). */
  pidnsInitStartTs?: bigint;
  /** Parent, resolved by the state engine (or given inline by replay). */
  parent?: ThreadInfo;
  /** Session leader (proc.sname), when known. */
  sessionLeader?: ThreadInfo;
  /** Container id (`host` for host processes). */
  containerId?: string;
  /** File descriptor table, when the state engine keeps one. */
  fds?: Map<number, FdInfo>;
  /**
   * libsinsp's last event fd (fd.num, fd.uid) as the state engine keeps it while it processes the
   * thread's events: the fd an enter event uses, -1 before a call creates one, the new fd after.
   */
  lastEventFd?: number;
  /**
   * The source has no thread for this event's tid (libsinsp: the idle task of scheduler switches,
   * events before any state): proc.*, thread.* (but thread.tid), user.*, group.*, container.*, k8s.*
   * and fd.* are unavailable.
   */
  missing?: boolean;
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
  | 'pidfd'
  /** An fd of a kind libsinsp does not model (anon inodes it does not know, unsupported types). */
  | 'unknown';

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
  /** Full (64 character) container id (container.full_id). */
  fullId?: string;
  imageId?: string;
  /** Primary IPv4 address (container.ip, k8s.pod.ip). */
  ip?: string;
  /** The pod sandbox's CNI result as JSON text (container.cni.json, k8s.pod.cni.json). */
  cniJson?: string;
  /** Container labels (container.label[...], container.labels). */
  labels?: Record<string, string>;
  mounts?: ContainerMount[];
  hostPid?: boolean;
  hostNetwork?: boolean;
  hostIpc?: boolean;
}

/** One mount of a container (container.mount*). */
export interface ContainerMount {
  source: string;
  dest: string;
  mode: string;
  rdwr: boolean;
  propagation: string;
}

export interface K8sPodInfo {
  namespace?: string;
  podName?: string;
  podUid?: string;
  podLabels?: Record<string, string>;
  /** Full pod sandbox id (k8s.pod.full_sandbox_id; k8s.pod.sandbox_id is its first 12 characters). */
  sandboxId?: string;
}

/** A decoded event parameter: rendered text (evt.arg.x) and raw value (evt.rawarg.x). */
export interface EventParam {
  name: string;
  /** Raw value: number/bigint for integers, string for paths and strings, Uint8Array for buffers. */
  raw: number | bigint | string | Uint8Array | undefined;
  /** Falco's rendered form (flags as `O_RDONLY|O_CLOEXEC`, errno as `ENOENT`, fd as `3(<f>/etc/passwd)`). */
  text?: string;
  /**
   * The unresolved rendering (libsinsp's raw string: `4097`, `-2`, `3`), when the source has one.
   * `text` then holds the resolved form (`O_RDONLY|O_CLOEXEC`, `ENOENT`, `<f>/etc/passwd`) or, when
   * nothing resolves, the same string; evt.args prints `name=rawText(text)` when they differ.
   */
  rawText?: string;
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
  /**
   * The first parameter named `name`, as `params` holds it. Sources that decode parameters lazily
   * provide it so that a rule reading one parameter does not materialise all of them; without it,
   * readers search `params`.
   */
  param?(name: string): EventParam | undefined;
  /**
   * `param(name)?.raw` without making the parameter object, for sources that can read some values
   * in place (numeric parameters read by most rules, such as open flags).
   */
  paramRaw?(name: string): EventParam['raw'];
  thread: ThreadInfo;
  /** The fd the event acts on (evt.fd / the opened fd), when any. */
  fd?: FdInfo;
  container?: ContainerInfo;
  hostname?: string;
  /**
   * evt.category as libsinsp computes it (`file`, `net`, `IPC`, `process`, `memory`, `wait`,
   * `scheduler`, ...; for I/O events from the fd type: `file`, `net`, `ipc`, `unknown`), when the
   * source knows it.
   */
  category?: string;
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
