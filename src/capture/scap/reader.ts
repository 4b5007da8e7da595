/**
 * Record layer of the scap reader: turns blocks into typed records (section header, machine info,
 * process list entries, fd list entries, interfaces, users, groups, raw events).
 *
 * Every block version libscap writes is read: process lists V1..V9, FDL/FDL_V2, IL/IL_V2, UL/UL_V2,
 * EV/EV_V2/EV_V2_LARGE and the EVF variants with flags. Unknown block types are skipped with a
 * warning record; a malformed block ends the stream with a ScapFormatError naming its offset.
 * Events are not interpreted here: the state engine does that.
 */
import { BLOCK, ScapFormatError, readBlocks, sectionVersion, type ScapBlock } from './blocks.js';
import { EF, EVENT_CODE_COUNT, eventInfo, type ScapEventInfo } from './event-table.js';
import { decodeCString, splitArgs } from './params.js';

/** A thread from the capture's process list (or, later, from /proc for live capture). */
export interface ScapThreadEntry {
  tid: number;
  pid: number;
  ptid: number;
  sid?: number;
  vpgid?: number;
  comm: string;
  /** argv[0]. */
  exe: string;
  exepath?: string;
  /** argv[1..]. */
  args: string[];
  cwd: string;
  fdlimit?: number | bigint;
  flags: number;
  uid: number;
  gid: number;
  vmsizeKb?: number;
  vmrssKb?: number;
  vmswapKb?: number;
  pfMajor?: number | bigint;
  pfMinor?: number | bigint;
  env?: string[];
  vtid?: number;
  vpid?: number;
  /** `subsystem=path` entries. */
  cgroups?: string[];
  root?: string;
  pidnsInitStartTs?: bigint;
  tty?: number;
  loginuid?: number;
  exeWritable?: boolean;
  capInheritable?: bigint;
  capPermitted?: bigint;
  capEffective?: bigint;
  exeUpperLayer?: boolean;
  exeIno?: number | bigint;
  exeInoCtime?: bigint;
  exeInoMtime?: bigint;
  exeFromMemfd?: boolean;
}

/** scap fd types (scap_fd_type). */
export const SCAP_FD = {
  UNKNOWN: 0,
  FILE: 1,
  DIRECTORY: 2,
  IPV4_SOCK: 3,
  IPV6_SOCK: 4,
  IPV4_SERVSOCK: 5,
  IPV6_SERVSOCK: 6,
  FIFO: 7,
  UNIX_SOCK: 8,
  EVENT: 9,
  UNSUPPORTED: 10,
  SIGNALFD: 11,
  EVENTPOLL: 12,
  INOTIFY: 13,
  TIMERFD: 14,
  NETLINK: 15,
  FILE_V2: 16,
  BPF: 17,
  USERFAULTFD: 18,
  IOURING: 19,
  MEMFD: 20,
  PIDFD: 21,
} as const;

/** An open fd from the capture's fd list. Addresses are text; ports are numbers. */
export interface ScapFdEntry {
  tid: number;
  fd: number;
  ino: number | bigint;
  /** A value of {@link SCAP_FD}. */
  type: number;
  name?: string;
  openFlags?: number;
  dev?: number;
  /** ipv4/ipv6 sockets: source and destination (or, for server sockets, the listening address). */
  sip?: string;
  dip?: string;
  sport?: number;
  dport?: number;
  /** scap_l4_proto: 2 tcp, 3 udp, 4 icmp, 5 raw. */
  l4proto?: number;
  /** unix sockets. */
  source?: bigint;
  dest?: bigint;
}

export interface ScapInterface {
  family: 'ipv4' | 'ipv6';
  name: string;
  addr: string;
  netmask: string;
  bcast: string;
  linkspeed?: number | bigint;
}

export interface ScapUser {
  uid: number;
  gid: number;
  name: string;
  homedir: string;
  shell: string;
}

export interface ScapGroup {
  gid: number;
  name: string;
}

export interface ScapMachineInfo {
  numCpus: number;
  memorySizeBytes: number | bigint;
  maxPid: number | bigint;
  hostname: string;
}

/** One event as stored: header fields plus parameter byte ranges (views, short-lived). */
export interface ScapRawEvent {
  /** Offset of the event block in the decompressed stream. */
  offset: number;
  ts: bigint;
  tid: number;
  cpu: number;
  /** Event flags of EVF blocks, 0 otherwise. */
  blockFlags: number;
  type: number;
  info: ScapEventInfo;
  /** Parameter bytes; valid until the next record is pulled. */
  params: Uint8Array[];
}

export type ScapRecord =
  | { kind: 'section'; offset: number; major: number; minor: number }
  | { kind: 'machine'; offset: number; info: ScapMachineInfo }
  | { kind: 'thread'; offset: number; entry: ScapThreadEntry }
  | { kind: 'fd'; offset: number; entry: ScapFdEntry }
  | { kind: 'interface'; offset: number; entry: ScapInterface }
  | { kind: 'user'; offset: number; entry: ScapUser }
  | { kind: 'group'; offset: number; entry: ScapGroup }
  | { kind: 'event'; offset: number; event: ScapRawEvent }
  | {
      kind: 'warning';
      offset: number;
      code: 'unknown-block' | 'unknown-event' | 'bad-event';
      message: string;
    };

/** Options of the record reader. */
export interface ReadRecordsOptions {
  /**
   * Event codes at or above this are treated as unknown (skipped with a warning), the way an older
   * reader behaves. Defaults to every code this table knows.
   */
  maxEventCode?: number;
  /** Incremented once per block read (for stats). */
  counters?: { blocks: number };
}

/** Little-endian cursor over a block body; every read is bounds-checked. */
class Cursor {
  readonly dv: DataView;
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly blockOffset: number,
    readonly what: string,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get left(): number {
    return this.b.length - this.pos;
  }
  need(n: number): void {
    if (this.pos + n > this.b.length) {
      throw new ScapFormatError(
        `corrupt ${this.what}: needs ${n} more bytes at body position ${this.pos}, ${this.left} left`,
        this.blockOffset,
      );
    }
  }
  u8(): number {
    this.need(1);
    return this.dv.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i64(): number | bigint {
    this.need(8);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getInt32(this.pos + 4, true);
    const v = hi >= -0x200000 && hi < 0x200000 ? hi * 0x100000000 + lo : this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  u64(): number | bigint {
    this.need(8);
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    const v = hi < 0x200000 ? hi * 0x100000000 + lo : this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  big64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** u16 length + bytes (not NUL-terminated on file). */
  str16(): string {
    const n = this.u16();
    return decodeCString(this.bytes(n));
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** tid/pid values: stored as 64-bit, -1 for "none". */
function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : v;
}

const PL_TYPES: ReadonlyMap<number, number> = new Map([
  [BLOCK.PL_V1, 1],
  [BLOCK.PL_V1_INT, 1],
  [BLOCK.PL_V2, 2],
  [BLOCK.PL_V2_INT, 2],
  [BLOCK.PL_V3, 3],
  [BLOCK.PL_V3_INT, 3],
  [BLOCK.PL_V4, 4],
  [BLOCK.PL_V5, 5],
  [BLOCK.PL_V6, 6],
  [BLOCK.PL_V7, 7],
  [BLOCK.PL_V8, 8],
  [BLOCK.PL_V9, 9],
]);

function* parseProcList(block: ScapBlock, version: number): Generator<ScapThreadEntry> {
  const c = new Cursor(block.body, block.offset, `process list (V${version})`);
  while (c.left >= 4) {
    const entryStart = c.pos;
    const subLen = version === 9 ? c.u32() : 0;
    const e: ScapThreadEntry = {
      tid: num(c.i64()),
      pid: num(c.i64()),
      ptid: num(c.i64()),
      comm: '',
      exe: '',
      args: [],
      cwd: '',
      flags: 0,
      uid: 0,
      gid: 0,
    };
    if (version >= 6) e.sid = num(c.i64());
    if (version >= 8) e.vpgid = num(c.i64());
    e.comm = c.str16();
    e.exe = c.str16();
    if (version >= 7) e.exepath = c.str16();
    e.args = splitArgs(c.bytes(c.u16()));
    e.cwd = c.str16();
    e.fdlimit = c.u64();
    e.flags = c.u32();
    e.uid = c.u32();
    e.gid = c.u32();
    if (version >= 2) {
      e.vmsizeKb = c.u32();
      e.vmrssKb = c.u32();
      e.vmswapKb = c.u32();
      e.pfMajor = c.u64();
      e.pfMinor = c.u64();
      if (version >= 3) e.env = splitArgs(c.bytes(c.u16()));
      if (version >= 4) {
        e.vtid = num(c.i64());
        e.vpid = num(c.i64());
        e.cgroups = splitArgs(c.bytes(c.u16()));
        if (version >= 5) e.root = c.str16();
      }
    }
    if (subLen) {
      const read = (): number => c.pos - entryStart;
      const room = (n: number): boolean => read() + n <= subLen;
      // libs 0.10 inserted two fields before loginuid; older V9 writers leave at most 29 bytes here.
      if (subLen - read() > 29) {
        if (room(8)) e.pidnsInitStartTs = c.big64();
        if (room(4)) e.tty = c.u32();
      }
      if (room(4)) e.loginuid = c.u32();
      if (room(1)) e.exeWritable = c.u8() !== 0;
      if (room(8)) e.capInheritable = c.big64();
      if (room(8)) e.capPermitted = c.big64();
      if (room(8)) e.capEffective = c.big64();
      if (room(1)) e.exeUpperLayer = c.u8() !== 0;
      if (room(8)) e.exeIno = c.u64();
      if (room(8)) e.exeInoCtime = c.big64();
      if (room(8)) e.exeInoMtime = c.big64();
      if (room(1)) e.exeFromMemfd = c.u8() !== 0;
      if (read() > subLen) {
        throw new ScapFormatError(
          `corrupt process list entry: read ${read()} bytes of a ${subLen}-byte entry`,
          block.offset,
        );
      }
      c.skip(subLen - read());
    }
    yield e;
  }
}

function* parseFdList(block: ScapBlock, v2: boolean): Generator<ScapFdEntry> {
  const c = new Cursor(block.body, block.offset, v2 ? 'fd list (V2)' : 'fd list');
  const tid = num(c.i64());
  while (c.left >= 4) {
    const start = c.pos;
    const subLen = v2 ? c.u32() : 0;
    const e: ScapFdEntry = { tid, fd: num(c.i64()), ino: c.u64(), type: c.u8() };
    switch (e.type) {
      case SCAP_FD.IPV4_SOCK:
        e.sip = ipv4(c.bytes(4));
        e.dip = ipv4(c.bytes(4));
        e.sport = c.u16();
        e.dport = c.u16();
        e.l4proto = c.u8();
        break;
      case SCAP_FD.IPV4_SERVSOCK:
        e.sip = ipv4(c.bytes(4));
        e.sport = c.u16();
        e.l4proto = c.u8();
        break;
      case SCAP_FD.IPV6_SOCK:
        e.sip = ipv6(c.bytes(16));
        e.dip = ipv6(c.bytes(16));
        e.sport = c.u16();
        e.dport = c.u16();
        e.l4proto = c.u8();
        break;
      case SCAP_FD.IPV6_SERVSOCK:
        e.sip = ipv6(c.bytes(16));
        e.sport = c.u16();
        e.l4proto = c.u8();
        break;
      case SCAP_FD.UNIX_SOCK:
        e.source = c.big64();
        e.dest = c.big64();
        e.name = c.str16();
        break;
      case SCAP_FD.FILE_V2:
        e.openFlags = c.u32();
        e.name = c.str16();
        if (subLen && subLen >= c.pos - start + 4) e.dev = c.u32();
        break;
      case SCAP_FD.UNKNOWN:
        break;
      default:
        if (e.type <= SCAP_FD.PIDFD) e.name = c.str16();
        else {
          // A type from a newer writer: libscap keeps it as unsupported with a placeholder name.
          e.name = `unknown-type:[${e.type}]`;
          e.type = SCAP_FD.UNSUPPORTED;
        }
    }
    if (subLen) {
      const read = c.pos - start;
      if (read > subLen)
        throw new ScapFormatError(`corrupt fd list entry: read ${read} of ${subLen} bytes`, block.offset);
      c.skip(subLen - read);
    }
    yield e;
  }
}

function ipv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function ipv6(b: Uint8Array): string {
  // Same canonical form as event parameters use.
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return `::ffff:${ipv4(b.subarray(12))}`;
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const II_IPV4 = 1;
const II_IPV6 = 2;
const II_IPV4_NOLINKSPEED = 3;
const II_IPV6_NOLINKSPEED = 4;

function* parseIfList(block: ScapBlock, v2: boolean): Generator<ScapInterface> {
  const c = new Cursor(block.body, block.offset, v2 ? 'interface list (V2)' : 'interface list');
  while (c.left >= 4) {
    const start = c.pos;
    const size = v2 ? c.u32() : 0;
    const type = c.u16();
    const namelen = c.u16();
    let entry: ScapInterface;
    if (type === II_IPV4 || type === II_IPV4_NOLINKSPEED) {
      const addr = ipv4(c.bytes(4));
      const netmask = ipv4(c.bytes(4));
      const bcast = ipv4(c.bytes(4));
      const linkspeed = type === II_IPV4 ? c.u64() : undefined;
      entry = { family: 'ipv4', addr, netmask, bcast, name: decodeCString(c.bytes(namelen)) };
      if (linkspeed !== undefined) entry.linkspeed = linkspeed;
    } else if (type === II_IPV6 || type === II_IPV6_NOLINKSPEED) {
      const addr = ipv6(c.bytes(16));
      const netmask = ipv6(c.bytes(16));
      const bcast = ipv6(c.bytes(16));
      const linkspeed = type === II_IPV6 ? c.u64() : undefined;
      entry = { family: 'ipv6', addr, netmask, bcast, name: decodeCString(c.bytes(namelen)) };
      if (linkspeed !== undefined) entry.linkspeed = linkspeed;
    } else {
      throw new ScapFormatError(`corrupt interface list: unknown interface type ${type}`, block.offset);
    }
    if (size) {
      const read = c.pos - start;
      if (read > size + 4) throw new ScapFormatError('corrupt interface list entry length', block.offset);
      c.skip(size + 4 - read);
    }
    yield entry;
  }
}

const USERBLOCK_TYPE_USER = 0;

function* parseUserList(block: ScapBlock, v2: boolean): Generator<ScapRecord> {
  const c = new Cursor(block.body, block.offset, v2 ? 'user list (V2)' : 'user list');
  while (c.left >= 4) {
    const start = c.pos;
    const subLen = v2 ? c.u32() : 0;
    const type = c.u8();
    if (type === USERBLOCK_TYPE_USER) {
      const uid = c.u32();
      const gid = c.u32();
      const name = c.str16();
      const homedir = c.str16();
      const shell = c.str16();
      yield { kind: 'user', offset: block.offset, entry: { uid, gid, name, homedir, shell } };
    } else {
      const gid = c.u32();
      const name = c.str16();
      yield { kind: 'group', offset: block.offset, entry: { gid, name } };
    }
    if (subLen) {
      const read = c.pos - start;
      if (read > subLen)
        throw new ScapFormatError(`corrupt user list entry: read ${read} of ${subLen} bytes`, block.offset);
      c.skip(subLen - read);
    }
  }
}

function parseMachineInfo(block: ScapBlock): ScapMachineInfo {
  const c = new Cursor(block.body, block.offset, 'machine info');
  const info: ScapMachineInfo = { numCpus: c.u32(), memorySizeBytes: c.u64(), maxPid: c.u64(), hostname: '' };
  if (c.left > 0) info.hostname = decodeCString(c.bytes(Math.min(128, c.left)));
  return info;
}

const EVENT_BLOCKS: ReadonlyMap<number, { v2: boolean; withFlags: boolean }> = new Map([
  [BLOCK.EV, { v2: false, withFlags: false }],
  [BLOCK.EV_INT, { v2: false, withFlags: false }],
  [BLOCK.EV_V2, { v2: true, withFlags: false }],
  [BLOCK.EV_V2_LARGE, { v2: true, withFlags: false }],
  [BLOCK.EVF, { v2: false, withFlags: true }],
  [BLOCK.EVF_V2, { v2: true, withFlags: true }],
  [BLOCK.EVF_V2_LARGE, { v2: true, withFlags: true }],
]);

const PPME_NOTIFICATION_E = 280;
const PPME_INFRASTRUCTURE_EVENT_E = 286;

/** Result of decoding one event block: the event, or why it was skipped. */
type EventOutcome =
  { ok: true; event: ScapRawEvent } | { ok: false; code: 'unknown-event' | 'bad-event'; message: string };

function parseEvent(block: ScapBlock, v2: boolean, withFlags: boolean, maxCode: number): EventOutcome {
  const b = block.body;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hdrLen = v2 ? 26 : 22;
  const pre = withFlags ? 6 : 2;
  if (b.length < pre + hdrLen)
    return {
      ok: false,
      code: 'bad-event',
      message: `event block of ${b.length} bytes is shorter than an event header`,
    };
  const cpu = dv.getUint16(0, true);
  const blockFlags = withFlags ? dv.getUint32(2, true) : 0;
  const h = pre;
  const ts = dv.getBigUint64(h, true);
  const tidLo = dv.getUint32(h + 8, true);
  const tidHi = dv.getInt32(h + 12, true);
  const tid =
    tidHi >= -0x200000 && tidHi < 0x200000
      ? tidHi * 0x100000000 + tidLo
      : Number(dv.getBigInt64(h + 8, true));
  let len = dv.getUint32(h + 16, true);
  const type = dv.getUint16(h + 20, true);
  const info = type < maxCode ? eventInfo(type) : undefined;
  if (!info)
    return { ok: false, code: 'unknown-event', message: `event type ${type} is not known to this reader` };
  const large = (info.flags & EF.LARGE_PAYLOAD) !== 0;
  const lenSize = large ? 4 : 2;
  const lensStart = h + hdrLen;
  let nparams: number;
  if (v2) {
    nparams = dv.getUint32(h + 22, true);
  } else {
    // Old events carry no parameter count: the largest count whose lengths add up to the event
    // length is the one (parameters are only ever appended to an event type).
    if (type === PPME_NOTIFICATION_E || type === PPME_INFRASTRUCTURE_EVENT_E) len -= 3;
    const end = h + len;
    let found = -1;
    for (let n = info.params.length; n >= 0; n--) {
      let p = lensStart + n * lenSize;
      if (p > end || p > b.length) continue;
      for (let i = 0; i < n; i++)
        p += large ? dv.getUint32(lensStart + 4 * i, true) : dv.getUint16(lensStart + 2 * i, true);
      if (p < end)
        return {
          ok: false,
          code: 'bad-event',
          message: `cannot work out the parameter count of event type ${type}`,
        };
      if (p === end) {
        found = n;
        break;
      }
    }
    if (found < 0)
      return {
        ok: false,
        code: 'bad-event',
        message: `cannot work out the parameter count of event type ${type}`,
      };
    nparams = found;
  }
  const evEnd = Math.min(b.length, h + len);
  if (h + len > b.length)
    return { ok: false, code: 'bad-event', message: `event length ${len} exceeds its block` };
  let p = lensStart + nparams * lenSize;
  if (p > evEnd)
    return {
      ok: false,
      code: 'bad-event',
      message: `event type ${type} declares ${nparams} parameters that do not fit`,
    };
  const params: Uint8Array[] = new Array<Uint8Array>(nparams);
  for (let i = 0; i < nparams; i++) {
    const l = large ? dv.getUint32(lensStart + 4 * i, true) : dv.getUint16(lensStart + 2 * i, true);
    if (p + l > evEnd)
      return {
        ok: false,
        code: 'bad-event',
        message: `parameter ${i} of event type ${type} runs past the event`,
      };
    params[i] = b.subarray(p, p + l);
    p += l;
  }
  return { ok: true, event: { offset: block.offset, ts, tid, cpu, blockFlags, type, info, params } };
}

/**
 * Reads scap records from a byte stream (already decompressed). Metadata blocks may appear anywhere
 * (libscap writes them before the events, merged captures repeat them).
 */
export async function* readScapRecords(
  source: AsyncIterable<Uint8Array>,
  options: ReadRecordsOptions = {},
): AsyncGenerator<ScapRecord> {
  const maxCode = Math.min(options.maxEventCode ?? EVENT_CODE_COUNT, EVENT_CODE_COUNT);
  const counters = options.counters;
  for await (const block of readBlocks(source)) {
    if (counters) counters.blocks++;
    const ev = EVENT_BLOCKS.get(block.type);
    if (ev) {
      const out = parseEvent(block, ev.v2, ev.withFlags, maxCode);
      if (out.ok) yield { kind: 'event', offset: block.offset, event: out.event };
      else yield { kind: 'warning', offset: block.offset, code: out.code, message: out.message };
      continue;
    }
    if (block.type === BLOCK.SHB) {
      yield { kind: 'section', offset: block.offset, ...sectionVersion(block.body) };
      continue;
    }
    if (block.type === BLOCK.MI || block.type === BLOCK.MI_INT) {
      yield { kind: 'machine', offset: block.offset, info: parseMachineInfo(block) };
      continue;
    }
    const plVersion = PL_TYPES.get(block.type);
    if (plVersion !== undefined) {
      for (const entry of parseProcList(block, plVersion))
        yield { kind: 'thread', offset: block.offset, entry };
      continue;
    }
    switch (block.type) {
      case BLOCK.FDL:
      case BLOCK.FDL_INT:
      case BLOCK.FDL_V2:
        for (const entry of parseFdList(block, block.type === BLOCK.FDL_V2))
          yield { kind: 'fd', offset: block.offset, entry };
        break;
      case BLOCK.IL:
      case BLOCK.IL_INT:
      case BLOCK.IL_V2:
        for (const entry of parseIfList(block, block.type === BLOCK.IL_V2))
          yield { kind: 'interface', offset: block.offset, entry };
        break;
      case BLOCK.UL:
      case BLOCK.UL_INT:
      case BLOCK.UL_V2:
        yield* parseUserList(block, block.type === BLOCK.UL_V2);
        break;
      default:
        yield {
          kind: 'warning',
          offset: block.offset,
          code: 'unknown-block',
          message: `skipped block of unknown type 0x${block.type.toString(16)} (${block.body.length + 12} bytes)`,
        };
    }
  }
}
