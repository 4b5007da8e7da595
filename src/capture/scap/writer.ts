/**
 * Encoding scap blocks: the inverse of the reader for the parts tests and tools need (section
 * header, machine info, V9 process list entries, V2 fd list entries, V2 user lists, V2 event blocks)
 * plus parameter encoders. Captures written here read back with `readScapRecords`.
 */
import { BLOCK, SHB_MAGIC } from './blocks.js';
import { EF, eventInfo } from './event-table.js';
import type { ScapFdEntry, ScapThreadEntry } from './reader.js';
import { SCAP_FD } from './reader.js';

const enc = new TextEncoder();

/**
 * libscap's limits on the initial-table strings (scap_limits.h): readers refuse a capture whose
 * process entry carries a longer one ("invalid argslen 25713" from sysdig 0.29), so the writer
 * truncates to them as the kernel drivers do when they read /proc.
 */
export const SCAP_LIMITS = { path: 1024, args: 4096, env: 4096, cgroups: 4096, credential: 256 } as const;

/** At most `max` bytes of `b`; a truncated list keeps its final NUL. */
function capBytes(b: Uint8Array, max: number, nulTerminated: boolean): Uint8Array {
  if (b.length <= max) return b;
  if (!nulTerminated) return b.subarray(0, max);
  const out = b.slice(0, max);
  out[max - 1] = 0;
  return out;
}

/** Little-endian byte builder. */
class Bytes {
  private parts: Uint8Array[] = [];
  private n = 0;
  push(b: Uint8Array): this {
    this.parts.push(b);
    this.n += b.length;
    return this;
  }
  u8(v: number): this {
    return this.push(Uint8Array.of(v & 0xff));
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.push(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.push(b);
  }
  i64(v: number | bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    return this.push(b);
  }
  u64(v: number | bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    return this.push(b);
  }
  /** u16 length + bytes, at most `max` bytes (a path by default: libscap's SCAP_MAX_PATH_SIZE). */
  str16(s: string, max: number = SCAP_LIMITS.path): this {
    const b = capBytes(enc.encode(s), max, false);
    return this.u16(b.length).push(b);
  }
  /** u16 length + a NUL-separated list, at most `max` bytes. */
  list16(items: readonly string[], max: number): this {
    const b = capBytes(P.list(items), max, true);
    return this.u16(b.length).push(b);
  }
  get length(): number {
    return this.n;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** Parameter encoders (the driver's on-disk representation of each type). */
export const P = {
  u8: (v: number): Uint8Array => new Bytes().u8(v).bytes(),
  u16: (v: number): Uint8Array => new Bytes().u16(v).bytes(),
  u32: (v: number): Uint8Array => new Bytes().u32(v).bytes(),
  i64: (v: number | bigint): Uint8Array => new Bytes().i64(v).bytes(),
  u64: (v: number | bigint): Uint8Array => new Bytes().u64(v).bytes(),
  /** NUL-terminated string (CHARBUF, FSPATH, FSRELPATH). */
  str: (s: string): Uint8Array => new Bytes().push(enc.encode(s)).u8(0).bytes(),
  /** Raw bytes (BYTEBUF). */
  buf: (b: Uint8Array | string): Uint8Array => (typeof b === 'string' ? enc.encode(b) : b),
  /** NUL-separated list, each item terminated (args, env, cgroups). */
  list: (items: readonly string[]): Uint8Array => enc.encode(items.map((s) => `${s}\0`).join('')),
  /** IPv4 socket tuple: family, sip, sport, dip, dport (ports in host order). */
  tuple4: (sip: string, sport: number, dip: string, dport: number): Uint8Array =>
    new Bytes().u8(2).push(ip4(sip)).u16(sport).push(ip4(dip)).u16(dport).bytes(),
  /** IPv4 socket address. */
  addr4: (ip: string, port: number): Uint8Array => new Bytes().u8(2).push(ip4(ip)).u16(port).bytes(),
  /** Unix socket tuple: family, source, dest, path. */
  tupleUnix: (source: bigint, dest: bigint, path: string): Uint8Array =>
    new Bytes().u8(1).u64(source).u64(dest).push(enc.encode(path)).u8(0).bytes(),
  empty: (): Uint8Array => new Uint8Array(0),
};

function ip4(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

/** A whole block: type, total length, body (padded to 4 bytes), total length. */
export function encodeBlock(type: number, body: Uint8Array): Uint8Array {
  const pad = (4 - (body.length % 4)) % 4;
  const total = 12 + body.length + pad;
  return new Bytes().u32(type).u32(total).push(body).push(new Uint8Array(pad)).u32(total).bytes();
}

/** Section header block (version 1.2). */
export function encodeSectionHeader(minor = 2): Uint8Array {
  return encodeBlock(BLOCK.SHB, new Bytes().u32(SHB_MAGIC).u16(1).u16(minor).u64(-1n).bytes());
}

/** Machine info block. */
export function encodeMachineInfo(hostname: string, numCpus = 1): Uint8Array {
  const name = new Uint8Array(128);
  name.set(enc.encode(hostname).subarray(0, 127));
  return encodeBlock(
    BLOCK.MI,
    new Bytes()
      .u32(numCpus)
      .u64(1n << 30n)
      .u64(32768)
      .push(name)
      .bytes(),
  );
}

/** A V9 process list block with these threads (the modern layout, with loginuid and tty). */
export function encodeProcessList(threads: readonly ScapThreadEntry[]): Uint8Array {
  const body = new Bytes();
  for (const t of threads) {
    const e = new Bytes()
      .i64(t.tid)
      .i64(t.pid)
      .i64(t.ptid)
      .i64(t.sid ?? 0)
      .i64(t.vpgid ?? 0)
      .str16(t.comm)
      .str16(t.exe)
      .str16(t.exepath ?? '');
    e.list16(t.args, SCAP_LIMITS.args);
    e.str16(t.cwd)
      .u64(t.fdlimit ?? 1024)
      .u32(t.flags)
      .u32(t.uid)
      .u32(t.gid);
    e.u32(t.vmsizeKb ?? 0)
      .u32(t.vmrssKb ?? 0)
      .u32(t.vmswapKb ?? 0)
      .u64(0)
      .u64(0);
    e.list16(t.env ?? [], SCAP_LIMITS.env);
    e.i64(t.vtid ?? t.tid).i64(t.vpid ?? t.pid);
    e.list16(t.cgroups ?? [], SCAP_LIMITS.cgroups);
    e.str16(t.root ?? '/');
    // The libs >= 0.10 tail (all of it: readers tell the layouts apart by its size).
    e.u64(t.pidnsInitStartTs ?? 0n)
      .u32(t.tty ?? 0)
      .u32(t.loginuid ?? 0xffffffff);
    e.u8(t.exeWritable ? 1 : 0)
      .u64(t.capInheritable ?? 0n)
      .u64(t.capPermitted ?? 0n)
      .u64(t.capEffective ?? 0n);
    e.u8(t.exeUpperLayer ? 1 : 0)
      .u64(t.exeIno ?? 0)
      .u64(t.exeInoCtime ?? 0n)
      .u64(t.exeInoMtime ?? 0n);
    e.u8(t.exeFromMemfd ? 1 : 0);
    const entry = e.bytes();
    body.u32(entry.length + 4).push(entry);
  }
  return encodeBlock(BLOCK.PL_V9, body.bytes());
}

/** A V2 fd list block for one thread. */
export function encodeFdList(tid: number, fds: readonly ScapFdEntry[]): Uint8Array {
  const body = new Bytes().i64(tid);
  for (const f of fds) {
    const e = new Bytes().i64(f.fd).u64(f.ino).u8(f.type);
    switch (f.type) {
      case SCAP_FD.IPV4_SOCK:
        e.push(ip4(f.sip ?? '0.0.0.0'))
          .push(ip4(f.dip ?? '0.0.0.0'))
          .u16(f.sport ?? 0)
          .u16(f.dport ?? 0)
          .u8(f.l4proto ?? 0);
        break;
      case SCAP_FD.IPV4_SERVSOCK:
        e.push(ip4(f.sip ?? '0.0.0.0'))
          .u16(f.sport ?? 0)
          .u8(f.l4proto ?? 0);
        break;
      case SCAP_FD.UNIX_SOCK:
        e.u64(f.source ?? 0n)
          .u64(f.dest ?? 0n)
          .str16(f.name ?? '');
        break;
      case SCAP_FD.FILE_V2:
        e.u32(f.openFlags ?? 0)
          .str16(f.name ?? '')
          .u32(f.dev ?? 0);
        break;
      default:
        e.str16(f.name ?? '');
    }
    const entry = e.bytes();
    body.u32(entry.length + 4).push(entry);
  }
  return encodeBlock(BLOCK.FDL_V2, body.bytes());
}

/** A V2 user list block. */
export function encodeUserList(
  users: readonly { uid: number; gid: number; name: string; homedir?: string; shell?: string }[],
  groups: readonly { gid: number; name: string }[] = [],
): Uint8Array {
  const body = new Bytes();
  for (const u of users) {
    const e = new Bytes()
      .u8(0)
      .u32(u.uid)
      .u32(u.gid)
      .str16(u.name, SCAP_LIMITS.credential)
      .str16(u.homedir ?? '/')
      .str16(u.shell ?? '/bin/sh')
      .bytes();
    body.u32(e.length + 4).push(e);
  }
  for (const g of groups) {
    const e = new Bytes().u8(1).u32(g.gid).str16(g.name, SCAP_LIMITS.credential).bytes();
    body.u32(e.length + 4).push(e);
  }
  return encodeBlock(BLOCK.UL_V2, body.bytes());
}

/** One event to encode. */
export interface EventToWrite {
  ts: bigint;
  tid: number;
  cpu?: number;
  type: number;
  params: readonly Uint8Array[];
}

/** An EV_V2 block (or EVF_V2 with `flags`). Large-payload events get 32-bit parameter lengths. */
export function encodeEvent(ev: EventToWrite, flags?: number): Uint8Array {
  const info = eventInfo(ev.type);
  const large = info !== undefined && (info.flags & EF.LARGE_PAYLOAD) !== 0;
  const lens = new Bytes();
  const vals = new Bytes();
  for (const p of ev.params) {
    if (large) lens.u32(p.length);
    else lens.u16(p.length);
    vals.push(p);
  }
  const len = 26 + lens.length + vals.length;
  const body = new Bytes().u16(ev.cpu ?? 0);
  if (flags !== undefined) body.u32(flags);
  body
    .u64(ev.ts)
    .i64(ev.tid)
    .u32(len)
    .u16(ev.type)
    .u32(ev.params.length)
    .push(lens.bytes())
    .push(vals.bytes());
  return encodeBlock(flags !== undefined ? BLOCK.EVF_V2 : BLOCK.EV_V2, body.bytes());
}

/** An old (V1, no parameter count) EV block, as captures before scap 1.2 store events. */
export function encodeEventV1(ev: EventToWrite): Uint8Array {
  const lens = new Bytes();
  const vals = new Bytes();
  for (const p of ev.params) {
    lens.u16(p.length);
    vals.push(p);
  }
  const len = 22 + lens.length + vals.length;
  const body = new Bytes()
    .u16(ev.cpu ?? 0)
    .u64(ev.ts)
    .i64(ev.tid)
    .u32(len)
    .u16(ev.type)
    .push(lens.bytes())
    .push(vals.bytes());
  return encodeBlock(BLOCK.EV, body.bytes());
}

/** Concatenates blocks into one capture. */
export function concatBlocks(blocks: readonly Uint8Array[]): Uint8Array {
  const b = new Bytes();
  for (const x of blocks) b.push(x);
  return b.bytes();
}
