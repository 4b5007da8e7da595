/**
 * Parsing what the eBPF loader (`native/bpf/vigil-capture`) produces.
 *
 * - stdout is a scap stream (section header, machine info, one EV_V2 block per event), so live
 *   events, scap files and `vigil capture -w` output share one format and one event table. The
 *   stream is framed here by {@link EbpfStreamParser}, synchronously per chunk: a live capture
 *   delivers hundreds of thousands of events a second, too many for a promise hop per block.
 *   Parameters are decoded with the scap event table's types ({@link decodeEbpfEvent}); their
 *   texts come from the scap decoder itself, on demand. A test checks both against the scap reader.
 * - stderr carries one JSON object per line: readiness, periodic kernel-side counters (events and
 *   drops by reason) and errors with a stable code ({@link parseLoaderLine}).
 *
 * Also here: the syscalls the probe decodes, and the mapping from the event types loaded rules
 * need to the set the loader is told to capture (the in-kernel filter).
 */
import { BLOCK, SHB_MAGIC, ScapFormatError } from '../../scap/blocks.js';
import { EF, PT, eventInfo, type ScapEventInfo } from '../../scap/event-table.js';
import {
  decodeCString,
  decodeParam,
  ipv4Text,
  ipv6Text,
  isUnsignedNumberType,
  type RenderContext,
  type ScapParam,
} from '../../scap/params.js';
import type { ScapMachineInfo } from '../../scap/reader.js';

/** Kernel-side counters, summed over CPUs by the loader. */
export interface EbpfKernelStats {
  /** Events the probe wrote to the ring buffer. */
  events: number;
  /** Events the loader framed and wrote out. */
  delivered: number;
  /** Bytes of scap stream written. */
  bytes: number;
  /** Events lost, by reason. */
  drops: {
    /** The ring buffer was full: the consumer did not keep up. */
    buffer: number;
    /** An event exceeded the probe's 64 KiB limit. */
    maxEventSize: number;
    /** The per-CPU scratch buffer was unavailable (a bug if ever non-zero). */
    noScratch: number;
  };
  /** 32-bit (ia32) syscalls seen and not decoded. */
  skippedCompat: number;
  /**
   * Repeated opens the probe counted instead of sending, with the reader's consent (loader
   * `--repeats`; see {@link EbpfStreamParser.repeats}, which counts those reported so far).
   */
  repeats: number;
}

/**
 * Type code of the probe's repeat records (VIGIL_EV_REPEATS in native/bpf/vigil-events.h): not a
 * scap event; one u64 parameter, the number of repeats of the thread's last open counted since
 * that CPU's previous record.
 */
export const EV_REPEATS = 0xfff0;

/** The loader's messages on stderr. */
export type LoaderMessage =
  | { type: 'ready'; syscalls: string[]; ringbufBytes: number; cpus: number; pid: number }
  | ({ type: 'stats'; when: 'periodic' | 'final' } & EbpfKernelStats)
  | { type: 'error'; code: LoaderErrorCode; errno: number; message: string }
  | { type: 'log'; level: 'warn' | 'info' | 'debug'; message: string };

/** Stable error codes of the loader. */
export type LoaderErrorCode =
  | 'bad-args'
  | 'no-btf'
  | 'permission-denied'
  | 'load-failed'
  | 'attach-failed'
  | 'output-failed'
  | 'read-failed';

const ERROR_CODES: ReadonlySet<string> = new Set([
  'bad-args',
  'no-btf',
  'permission-denied',
  'load-failed',
  'attach-failed',
  'output-failed',
  'read-failed',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * One stderr line of the loader, or undefined for lines that are not loader messages (a crash
 * message from the C library, say): callers keep those as text.
 */
export function parseLoaderLine(line: string): LoaderMessage | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  switch (v.type) {
    case 'ready':
      return {
        type: 'ready',
        syscalls: Array.isArray(v.syscalls)
          ? v.syscalls.filter((s): s is string => typeof s === 'string')
          : [],
        ringbufBytes: num(v.ringbufBytes),
        cpus: num(v.cpus),
        pid: num(v.pid),
      };
    case 'stats': {
      const drops = isRecord(v.drops) ? v.drops : {};
      return {
        type: 'stats',
        when: v.when === 'final' ? 'final' : 'periodic',
        events: num(v.events),
        delivered: num(v.delivered),
        bytes: num(v.bytes),
        drops: {
          buffer: num(drops.buffer),
          maxEventSize: num(drops.maxEventSize),
          noScratch: num(drops.noScratch),
        },
        skippedCompat: num(v.skippedCompat),
        repeats: num(v.repeats),
      };
    }
    case 'error':
      return {
        type: 'error',
        code:
          typeof v.code === 'string' && ERROR_CODES.has(v.code) ? (v.code as LoaderErrorCode) : 'load-failed',
        errno: num(v.errno),
        message: typeof v.message === 'string' ? v.message : 'unknown error',
      };
    case 'log':
      return {
        type: 'log',
        level: v.level === 'warn' || v.level === 'info' ? v.level : 'debug',
        message: typeof v.message === 'string' ? v.message : '',
      };
    default:
      return undefined;
  }
}

/** What to do about a loader error, for messages users read. */
export function loaderErrorHint(code: LoaderErrorCode): string {
  switch (code) {
    case 'bad-args':
      return 'this is a bug in how Vigil called the loader; please report it';
    case 'no-btf':
      return 'the kernel must be built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.x are); otherwise use the ptrace driver';
    case 'permission-denied':
      return 'run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8); in a container, run it privileged; otherwise use the ptrace driver';
    case 'load-failed':
      return 'the kernel verifier rejected the probe: rebuild it on this kernel with scripts/build-bpf.sh, or use the ptrace driver';
    case 'attach-failed':
      return 'the kernel did not let the probe attach to the syscall tracepoints (BTF-enabled tracepoints need Linux 5.8+); use the ptrace driver';
    case 'output-failed':
      return 'check that the output path is writable';
    case 'read-failed':
      return 'the ring buffer could not be read; restart the capture';
  }
}

/**
 * One event as framed from the stream. Parameter bytes are read in place (offsets into the chunk
 * the event came in); `params` materialises views on demand, for consumers that want them (the
 * state engine's `RawSyscallEvent` shape). Chunks are never reused, so an event stays valid.
 */
export class RawEbpfEvent {
  private views: Uint8Array[] | undefined = undefined;
  /** The last parameter `paramOffset` found, and where it starts. */
  private lastIndex = 0;
  private lastOffset: number;
  constructor(
    /** Epoch nanoseconds. */
    readonly ts: bigint,
    readonly tid: number,
    readonly cpu: number,
    /** Event code (PPME_*). */
    readonly type: number,
    readonly info: ScapEventInfo,
    /** The chunk, a DataView on it, where the length array and the first parameter start. */
    readonly buf: Uint8Array,
    readonly dv: DataView,
    readonly lensAt: number,
    readonly dataAt: number,
    readonly nparams: number,
    readonly lenSize: 2 | 4,
    /** Where the event's last parameter ends in `buf`: its lengths and data are `[lensAt, end)`. */
    readonly end: number,
    /**
     * The record's number among its CPU's records, from 1 (the probe's count of that CPU's records,
     * which repeat consents name; see {@link EbpfStreamParser.repeats}). 0 when not known.
     */
    readonly seq = 0,
  ) {
    this.lastOffset = dataAt;
  }

  /** Length of parameter `i`. */
  paramLength(i: number): number {
    const at = this.lensAt + i * this.lenSize;
    return this.lenSize === 2 ? this.dv.getUint16(at, true) : this.dv.getUint32(at, true);
  }

  /** Where parameter `i` starts in `buf`; -1 when the event has fewer parameters. */
  paramOffset(i: number): number {
    if (i >= this.nparams || i < 0) return -1;
    // Parameters are mostly read in order: continue from the last one asked for.
    let j = 0;
    let q = this.dataAt;
    if (i >= this.lastIndex) {
      j = this.lastIndex;
      q = this.lastOffset;
    }
    for (; j < i; j++) q += this.paramLength(j);
    this.lastIndex = i;
    this.lastOffset = q;
    return q;
  }

  /** Parameter `i`'s bytes (a view into the chunk) without making the other parameters' views. */
  param(i: number): Uint8Array | undefined {
    if (this.views) return this.views[i];
    const at = this.paramOffset(i);
    return at < 0
      ? undefined
      : new Uint8Array(this.buf.buffer, this.buf.byteOffset + at, this.paramLength(i));
  }

  /** Parameter bytes in table order (views into the chunk). */
  get params(): Uint8Array[] {
    if (!this.views) {
      const out = new Array<Uint8Array>(this.nparams);
      // Plain Uint8Array views made directly: the chunk is usually a Node Buffer, whose
      // subarray() builds a Buffer through a subclass constructor (several times slower), and
      // views of one class keep the state engine's byte reads monomorphic.
      const { buffer, byteOffset } = this.buf;
      let q = byteOffset + this.dataAt;
      for (let i = 0; i < this.nparams; i++) {
        const l = this.paramLength(i);
        out[i] = new Uint8Array(buffer, q, l);
        q += l;
      }
      this.views = out;
    }
    return this.views;
  }
}

/** cpu id + the scap event header (ts, tid, len, type, nparams). */
const EV_V2_HEADER = 2 + 26;

/**
 * Frames the loader's scap stream: section header, machine info, EV_V2 events. Chunks may split
 * blocks anywhere. A corrupt stream throws a ScapFormatError naming the byte offset; unknown blocks
 * and event codes are counted and skipped.
 */
export class EbpfStreamParser {
  /** Machine info from the stream header. */
  machine: ScapMachineInfo | undefined;
  /** Blocks and events skipped, with the first messages. */
  skipped = 0;
  readonly warnings: string[] = [];
  /**
   * Repeated opens the probe counted instead of sending (its repeat records, loader `--repeats`):
   * each is a repeat of its thread's last open event, which the reader had consented to.
   */
  repeats = 0;
  /** Records read per CPU: the number of a CPU's next record is one more. */
  private perCpu: number[] = [];
  private pending: Uint8Array = new Uint8Array(0);
  private base = 0; // stream offset of pending[0]
  private sawHeader = false;

  /** Parses every complete block now buffered; returns the events among them. */
  push(chunk: Uint8Array): RawEbpfEvent[] {
    let b = chunk;
    if (this.pending.length > 0) {
      b = new Uint8Array(this.pending.length + chunk.length);
      b.set(this.pending, 0);
      b.set(chunk, this.pending.length);
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out: RawEbpfEvent[] = [];
    let pos = 0;
    while (b.length - pos >= 8) {
      const type = dv.getUint32(pos, true);
      const total = dv.getUint32(pos + 4, true);
      if (total < 12 || total > 64 * 1024 * 1024) {
        throw new ScapFormatError(
          `corrupt block: implausible length ${total} for block type 0x${type.toString(16)}`,
          this.base + pos,
        );
      }
      if (b.length - pos < total) break;
      if (dv.getUint32(pos + total - 4, true) !== total) {
        throw new ScapFormatError(
          `corrupt block: trailer length differs from header length ${total}`,
          this.base + pos,
        );
      }
      if (type === BLOCK.EV_V2 && this.sawHeader) {
        const ev = this.event(b, dv, pos + 8, total - 12);
        if (ev) out.push(ev);
      } else if (!this.sawHeader) {
        if (type !== BLOCK.SHB || total < 28 || dv.getUint32(pos + 8, true) !== SHB_MAGIC) {
          throw new ScapFormatError(
            'not a scap stream: it does not start with a section header',
            this.base + pos,
          );
        }
        this.sawHeader = true;
      } else if (type === BLOCK.MI && total >= 32) {
        this.machine = {
          numCpus: dv.getUint32(pos + 8, true),
          memorySizeBytes: Number(dv.getBigUint64(pos + 12, true)),
          maxPid: Number(dv.getBigUint64(pos + 20, true)),
          hostname: decodeCString(b.subarray(pos + 28, Math.min(pos + total - 4, pos + 28 + 128))),
        };
      } else if (type !== BLOCK.SHB) {
        this.skip(`skipped block of type 0x${type.toString(16)} at byte offset ${this.base + pos}`);
      }
      pos += total;
    }
    this.base += pos;
    this.pending = pos === b.length ? new Uint8Array(0) : b.slice(pos);
    return out;
  }

  /** Call at the end of the stream: a partial block left over means the stream was cut. */
  finish(): void {
    if (this.pending.length > 0) {
      throw new ScapFormatError(
        `truncated stream: ${this.pending.length} bytes of an unfinished block`,
        this.base,
      );
    }
  }

  private skip(message: string): void {
    this.skipped++;
    if (this.warnings.length < 20) this.warnings.push(message);
  }

  private event(b: Uint8Array, dv: DataView, p: number, bodyLen: number): RawEbpfEvent | undefined {
    if (bodyLen < EV_V2_HEADER) {
      this.skip(`event block of ${bodyLen} bytes is shorter than an event header`);
      return undefined;
    }
    // Every record counts, even one skipped below: the numbers must be the probe's.
    const cpu = dv.getUint16(p, true);
    const seq = (this.perCpu[cpu] ?? 0) + 1;
    this.perCpu[cpu] = seq;
    const type = dv.getUint16(p + 22, true);
    if (type === EV_REPEATS) {
      if (bodyLen >= EV_V2_HEADER + 10 && dv.getUint16(p + EV_V2_HEADER, true) === 8)
        this.repeats += Number(dv.getBigUint64(p + EV_V2_HEADER + 2, true));
      else this.skip(`repeat record of ${bodyLen} bytes is malformed`);
      return undefined;
    }
    const info = eventInfo(type);
    if (!info) {
      this.skip(`event type ${type} is not known to this reader`);
      return undefined;
    }
    const len = dv.getUint32(p + 18, true);
    const nparams = dv.getUint32(p + 24, true);
    const lenSize = (info.flags & EF.LARGE_PAYLOAD) !== 0 ? 4 : 2;
    const lensAt = p + EV_V2_HEADER;
    const dataAt = lensAt + nparams * lenSize;
    let end = dataAt;
    for (let i = 0; i < nparams && end <= p + bodyLen; i++) {
      end += lenSize === 2 ? dv.getUint16(lensAt + 2 * i, true) : dv.getUint32(lensAt + 4 * i, true);
    }
    if (len + 2 > bodyLen || end > p + 2 + len) {
      this.skip(`event type ${type}: its ${nparams} parameters do not fit its length ${len}`);
      return undefined;
    }
    const tid = dv.getInt32(p + 14, true) * 0x100000000 + dv.getUint32(p + 10, true);
    const ts = dv.getBigUint64(p + 2, true);
    return new RawEbpfEvent(ts, tid, cpu, type, info, b, dv, lensAt, dataAt, nparams, lenSize, end, seq);
  }
}

/** A decoded live event. `args` holds raw values; `params` renders them (on first use). */
export interface EbpfEvent {
  /** Epoch nanoseconds. */
  readonly ts: bigint;
  readonly tid: number;
  readonly cpu: number;
  /** Event code (PPME_*). */
  readonly type: number;
  /** Event name (`openat`, `execve`, `procexit`...). */
  readonly name: string;
  readonly dir: '>' | '<';
  /** Raw values by parameter name (the first one wins where a name repeats). */
  readonly args: Record<string, ScapParam['raw']>;
  /** The parameters as the scap decoder renders them (`O_RDONLY|O_CLOEXEC`, `ENOENT`...). */
  readonly params: ScapParam[];
}

/** Rendering without process state: fds and uids stay numbers, paths stay as the syscall gave them. */
const NO_STATE: RenderContext = {
  hasThread: false,
  cwd: undefined,
  fd: () => undefined,
  threadName: () => undefined,
  userName: () => undefined,
  groupName: () => undefined,
};

function signedAt(dv: DataView, o: number, l: number): number | bigint {
  switch (l) {
    case 0:
      return 0;
    case 1:
      return dv.getInt8(o);
    case 2:
      return dv.getInt16(o, true);
    case 4:
      return dv.getInt32(o, true);
    default: {
      if (l < 8) return dv.getInt32(o, true);
      const hi = dv.getInt32(o + 4, true);
      return hi >= -0x200000 && hi < 0x200000
        ? hi * 0x100000000 + dv.getUint32(o, true)
        : dv.getBigInt64(o, true);
    }
  }
}

function unsignedAt(dv: DataView, o: number, l: number): number | bigint {
  switch (l) {
    case 0:
      return 0;
    case 1:
      return dv.getUint8(o);
    case 2:
      return dv.getUint16(o, true);
    case 4:
      return dv.getUint32(o, true);
    default: {
      if (l < 8) return dv.getUint32(o, true);
      const hi = dv.getUint32(o + 4, true);
      return hi < 0x200000 ? hi * 0x100000000 + dv.getUint32(o, true) : dv.getBigUint64(o, true);
    }
  }
}

/** A NUL-terminated string in place: plain ASCII without copying bytes, else the scap decoder. */
function stringAt(b: Uint8Array, o: number, l: number): string {
  let end = o;
  const stop = o + l;
  let ascii = true;
  for (; end < stop; end++) {
    const c = b[end] ?? 0;
    if (c === 0) break;
    if (c >= 0x80) ascii = false;
  }
  if (!ascii) return decodeCString(b.subarray(o, stop));
  if (end - o <= 64) {
    let s = '';
    for (let i = o; i < end; i++) s += String.fromCharCode(b[i] ?? 0);
    return s;
  }
  return latin1.decode(b.subarray(o, end));
}

const latin1 = new TextDecoder('latin1');

/** The raw value of one parameter: the scap decoder's `raw`, without rendering any text. */
function rawValueAt(raw: RawEbpfEvent, index: number, type: number, o: number, l: number): ScapParam['raw'] {
  const dv = raw.dv;
  if (isUnsignedNumberType(type)) return Number(unsignedAt(dv, o, l));
  switch (type) {
    case PT.CHARBUF:
    case PT.FSPATH:
    case PT.FSRELPATH:
      return stringAt(raw.buf, o, l);
    case PT.INT8:
    case PT.INT16:
    case PT.INT32:
    case PT.INT64:
    case PT.ERRNO:
      return signedAt(dv, o, l);
    case PT.FD:
    case PT.PID:
      return l >= 8 ? signedAt(dv, o, l) : unsignedAt(dv, o, l);
    case PT.UINT8:
    case PT.UINT16:
    case PT.UINT32:
    case PT.UINT64:
    case PT.PORT:
    case PT.SIGSET:
    case PT.BOOL:
    case PT.RELTIME:
    case PT.ABSTIME:
      return unsignedAt(dv, o, l);
    case PT.DOUBLE:
      return l >= 8 ? dv.getFloat64(o, true) : 0;
    case PT.IPV4ADDR:
      return l >= 4 ? ipv4Text(raw.buf, o) : '';
    case PT.IPV6ADDR:
      return l >= 16 ? ipv6Text(raw.buf, o) : '';
    case PT.DYN: {
      const pinfo = raw.info.params[index];
      return pinfo ? decodeParam(pinfo, raw.buf.subarray(o, o + l), NO_STATE, raw.info.name).raw : undefined;
    }
    default:
      // Byte buffers, socket addresses and tuples, fd lists, string arrays: a copy of the bytes.
      return raw.buf.slice(o, o + l);
  }
}

class DecodedEvent implements EbpfEvent {
  readonly args: Record<string, ScapParam['raw']> = {};
  readonly ts: bigint;
  readonly tid: number;
  readonly cpu: number;
  readonly type: number;
  readonly name: string;
  readonly dir: '>' | '<';
  private rendered: ScapParam[] | undefined;

  constructor(private readonly raw: RawEbpfEvent) {
    this.ts = raw.ts;
    this.tid = raw.tid;
    this.cpu = raw.cpu;
    this.type = raw.type;
    this.name = raw.info.name;
    this.dir = raw.info.dir;
  }

  get params(): ScapParam[] {
    if (!this.rendered) {
      const out: ScapParam[] = [];
      const infos = this.raw.info.params;
      const views = this.raw.params;
      for (let i = 0; i < views.length; i++) {
        const info = infos[i];
        const bytes = views[i];
        if (info && bytes) out.push(decodeParam(info, bytes, NO_STATE, this.raw.info.name));
      }
      this.rendered = out;
    }
    return this.rendered;
  }
}

/** Decodes a framed event's parameters to raw values (texts are rendered when `params` is read). */
export function decodeEbpfEvent(raw: RawEbpfEvent): EbpfEvent {
  const ev = new DecodedEvent(raw);
  const infos = raw.info.params;
  const args = ev.args;
  let o = raw.dataAt;
  for (let i = 0; i < raw.nparams; i++) {
    const l = raw.paramLength(i);
    const pinfo = infos[i];
    if (pinfo && !(pinfo.name in args)) args[pinfo.name] = rawValueAt(raw, i, pinfo.type, o, l);
    o += l;
  }
  return ev;
}

/** The syscalls (and the `procexit` scheduler event) the probe decodes, as the loader names them. */
export const EBPF_SYSCALLS: readonly string[] = [
  'open',
  'openat',
  'openat2',
  'creat',
  'close',
  'dup',
  'dup2',
  'dup3',
  'fcntl',
  'pipe',
  'pipe2',
  'eventfd',
  'eventfd2',
  'signalfd',
  'signalfd4',
  'timerfd_create',
  'inotify_init',
  'inotify_init1',
  'epoll_create',
  'epoll_create1',
  'pidfd_open',
  'chdir',
  'fchdir',
  'unlink',
  'unlinkat',
  'rmdir',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'mkdir',
  'mkdirat',
  'chmod',
  'fchmod',
  'fchmodat',
  'mount',
  'umount2',
  'memfd_create',
  'socket',
  'socketpair',
  'bind',
  'connect',
  'listen',
  'accept',
  'accept4',
  'sendto',
  'sendmsg',
  'setuid',
  'setgid',
  'setns',
  'unshare',
  'kill',
  'tkill',
  'tgkill',
  'ptrace',
  'init_module',
  'finit_module',
  'clone',
  'fork',
  'vfork',
  'clone3',
  'execve',
  'execveat',
  'procexit',
];

/**
 * Syscalls that make a new fd number besides the open family, dup family, socket and accept. With
 * close left out of the capture, the state sees every fd number reused through them, so an entry is
 * overwritten rather than left stale; their failures change nothing.
 */
const FD_MAKERS: readonly string[] = [
  'pipe',
  'pipe2',
  'eventfd',
  'eventfd2',
  'signalfd',
  'signalfd4',
  'timerfd_create',
  'inotify_init',
  'inotify_init1',
  'epoll_create',
  'epoll_create1',
  'memfd_create',
  'pidfd_open',
];

/**
 * What the state engine needs whatever the rules say: process lifecycle (to know every thread's
 * executable, parent, credentials and working directory) and every syscall the probe decodes that
 * makes an fd (to resolve fd.name and socket tuples).
 *
 * `close` is not among them: every fd number the state engine looks up was last assigned by one of
 * these calls, which replaces the entry that number had, so a close changes nothing a later event
 * can see, except that a closed fd stays in the table until its number is reused, the process
 * execs (close-on-exec fds) or exits. Leaving it out saves an event per closed fd, the most
 * frequent syscall after the open family. captureSetFor's `keepClose` keeps it; docs/drivers.md
 * and adr/0006 weigh the trade-off.
 */
export const STATE_SYSCALLS: readonly string[] = [
  'clone',
  'fork',
  'vfork',
  'clone3',
  'execve',
  'execveat',
  'procexit',
  'chdir',
  'fchdir',
  'open',
  'openat',
  'openat2',
  'creat',
  'dup',
  'dup2',
  'dup3',
  'fcntl',
  ...FD_MAKERS,
  'socket',
  'socketpair',
  'connect',
  'accept',
  'accept4',
  'bind',
  'setuid',
  'setgid',
];

/**
 * Syscalls whose failed calls change no process or fd state (a failed open opened nothing, a
 * failed chdir moved nowhere). When only the state engine needs one of them, the probe can leave
 * its failures in the kernel ({@link CaptureSet.successOnly}); for fcntl it also leaves the
 * commands that make no fd (everything but F_DUPFD and F_DUPFD_CLOEXEC).
 */
export const SUCCESS_ONLY_SAFE: readonly string[] = [
  'open',
  'openat',
  'openat2',
  'creat',
  'close',
  'dup',
  'dup2',
  'dup3',
  'fcntl',
  ...FD_MAKERS,
  'chdir',
  'fchdir',
  'socket',
  'socketpair',
  'accept',
  'accept4',
];

/** Rule event types whose name differs from the syscall the probe attaches for them. */
const EVENT_TYPE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  umount: ['umount2'],
  // Falco's `sendto`/`sendmsg` rules see the same events; nothing else needs renaming today.
};

/** The loader's capture set for a set of rule event types, and the types the probe cannot see. */
export interface CaptureSet {
  syscalls: string[];
  unsupported: string[];
  /**
   * Syscalls in `syscalls` that only the state engine needs and whose failures change no state:
   * pass them as the eBPF source's `successOnly` option so failed calls are dropped in the kernel.
   */
  successOnly: string[];
  /**
   * True when close is left out (no rule names it and `keepClose` was not set): fds closed by a
   * process stay in the state until their number is reused, the process execs (close-on-exec fds)
   * or exits.
   */
  closeElided: boolean;
}

/** Options of {@link captureSetFor}. */
export interface CaptureSetOptions {
  /** Add what the state engine needs (default true). */
  withState?: boolean;
  /**
   * Capture close even when no rule names it (default false). The state engine does not need
   * close events (see {@link STATE_SYSCALLS}); keep them to drop closed fds at once, so that
   * proc.fdopencount is exact and fds reused by calls the probe does not decode show no stale
   * name, at the cost of one event per closed fd.
   */
  keepClose?: boolean;
}

/**
 * The capture set for the event types the loaded rules index on, plus what the state engine needs.
 * Types the probe does not decode are returned in `unsupported` (so the caller can warn that those
 * rules will not fire on live events). close is captured only when a rule names it or
 * `keepClose` is set.
 */
export function captureSetFor(eventTypes: Iterable<string>, options: CaptureSetOptions = {}): CaptureSet {
  const supported = new Set(EBPF_SYSCALLS);
  const withState = options.withState !== false;
  const out = new Set<string>(withState ? STATE_SYSCALLS : []);
  if (withState && options.keepClose) out.add('close');
  const unsupported = new Set<string>();
  const forRules = new Set<string>();
  for (const t of eventTypes) {
    const names = EVENT_TYPE_ALIASES[t] ?? [t];
    for (const n of names) {
      if (supported.has(n)) {
        out.add(n);
        forRules.add(n);
      } else unsupported.add(t);
    }
  }
  const syscalls = EBPF_SYSCALLS.filter((s) => out.has(s));
  return {
    syscalls,
    unsupported: [...unsupported].sort(),
    successOnly: syscalls.filter((s) => !forRules.has(s) && SUCCESS_ONLY_SAFE.includes(s)),
    closeElided: withState && !out.has('close'),
  };
}
