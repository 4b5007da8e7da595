/**
 * The scap event schema: parameter types, print formats, categories and flags of every event code,
 * and the lookup helpers the reader and the state engine use.
 *
 * The numbers are facts of the capture format (libscap's driver event table); the per-code data
 * lives in `event-table.generated.ts`, produced by `scripts/gen-scap-event-table.ts`.
 */
import { EVENT_ROWS, FLAG_TABLES, SYSCALL_ROWS } from './event-table.generated.js';

/** Parameter types (ppm_param_type). */
export const PT = {
  NONE: 0,
  INT8: 1,
  INT16: 2,
  INT32: 3,
  INT64: 4,
  UINT8: 5,
  UINT16: 6,
  UINT32: 7,
  UINT64: 8,
  CHARBUF: 9,
  BYTEBUF: 10,
  ERRNO: 11,
  SOCKADDR: 12,
  SOCKTUPLE: 13,
  FD: 14,
  PID: 15,
  FDLIST: 16,
  FSPATH: 17,
  SYSCALLID: 18,
  SIGTYPE: 19,
  RELTIME: 20,
  ABSTIME: 21,
  PORT: 22,
  L4PROTO: 23,
  SOCKFAMILY: 24,
  BOOL: 25,
  IPV4ADDR: 26,
  DYN: 27,
  FLAGS8: 28,
  FLAGS16: 29,
  FLAGS32: 30,
  UID: 31,
  GID: 32,
  DOUBLE: 33,
  SIGSET: 34,
  CHARBUFARRAY: 35,
  CHARBUF_PAIR_ARRAY: 36,
  IPV4NET: 37,
  IPV6ADDR: 38,
  IPV6NET: 39,
  IPADDR: 40,
  IPNET: 41,
  MODE: 42,
  FSRELPATH: 43,
  ENUMFLAGS8: 44,
  ENUMFLAGS16: 45,
  ENUMFLAGS32: 46,
} as const;

/** Print formats (ppm_print_format). */
export const PF = { NA: 0, DEC: 1, HEX: 2, PADDED_DEC: 3, ID: 4, DIR: 5, OCT: 6 } as const;

/** Event categories (ppm_event_category, base values without the source bits). */
export const EC = {
  UNKNOWN: 0,
  OTHER: 1,
  FILE: 2,
  NET: 3,
  IPC: 4,
  MEMORY: 5,
  PROCESS: 6,
  SLEEP: 7,
  SYSTEM: 8,
  SIGNAL: 9,
  USER: 10,
  TIME: 11,
  PROCESSING: 12,
  IO_READ: 32,
  IO_WRITE: 33,
  IO_OTHER: 34,
  WAIT: 64,
  SCHEDULER: 128,
  INTERNAL: 256,
} as const;

/** Event flags (ppm_event_flags). */
export const EF = {
  NONE: 0,
  CREATES_FD: 1 << 0,
  DESTROYS_FD: 1 << 1,
  USES_FD: 1 << 2,
  READS_FROM_FD: 1 << 3,
  WRITES_TO_FD: 1 << 4,
  MODIFIES_STATE: 1 << 5,
  UNUSED: 1 << 6,
  WAITS: 1 << 7,
  SKIPPARSERESET: 1 << 8,
  OLD_VERSION: 1 << 9,
  LARGE_PAYLOAD: 1 << 11,
} as const;

/** One parameter of an event, as the table describes it. */
export interface ScapParamInfo {
  readonly name: string;
  /** A value of {@link PT}. */
  readonly type: number;
  /** A value of {@link PF}. */
  readonly fmt: number;
  /** Flag table (name-value pairs) for FLAGS/ENUMFLAGS/MODE parameters. */
  readonly table?: string;
  /** For FSRELPATH: index of the dirfd parameter the path is relative to. */
  readonly dirfd?: number;
}

/** One event code. */
export interface ScapEventInfo {
  readonly code: number;
  readonly name: string;
  readonly dir: '>' | '<';
  /** A value of {@link EC}. */
  readonly category: number;
  /** Bit set of {@link EF}. */
  readonly flags: number;
  readonly params: readonly ScapParamInfo[];
}

/** A system-independent syscall id (PPM_SC), used by generic syscall events. */
export interface ScapSyscallInfo {
  readonly name: string;
  /** A value of {@link EC}. */
  readonly category: number;
}

const EVENTS: readonly ScapEventInfo[] = EVENT_ROWS.map((r, code) => ({
  code,
  name: r[0],
  dir: r[1] === 'E' ? '>' : '<',
  category: r[2],
  flags: r[3],
  params: r[4].map((p): ScapParamInfo => ({
    name: p[0],
    type: p[1],
    fmt: p[2],
    ...(p[3] !== undefined && p[3] !== '' ? { table: p[3] } : {}),
    ...(p[4] !== undefined ? { dirfd: p[4] } : {}),
  })),
}));

const SYSCALLS: readonly ScapSyscallInfo[] = SYSCALL_ROWS.map((r) => ({ name: r[0], category: r[1] }));

const TABLES: ReadonlyMap<string, readonly (readonly [string, number])[]> = new Map(
  Object.entries(FLAG_TABLES).map(([k, v]) => [k, v.map(([n, val]) => [n, val] as const)]),
);

/** Number of event codes this table knows (codes at or above are unknown to this reader). */
export const EVENT_CODE_COUNT = EVENTS.length;

/** The schema of an event code, or undefined for codes newer than this table. */
export function eventInfo(code: number): ScapEventInfo | undefined {
  return EVENTS[code];
}

/** The PPM_SC syscall entry for a generic event's id, or undefined when out of range. */
export function syscallInfo(id: number): ScapSyscallInfo | undefined {
  return SYSCALLS[id];
}

/** The name-value pairs of a flag table, in table order (rendering walks them in this order). */
export function flagTable(name: string): readonly (readonly [string, number])[] | undefined {
  return TABLES.get(name);
}

/** Every known event code (for `vigil` listings and tests). */
export function allEvents(): readonly ScapEventInfo[] {
  return EVENTS;
}

/** Category names as libsinsp prints them for evt.category. */
export function categoryName(category: number): string {
  switch (category) {
    case EC.OTHER:
      return 'other';
    case EC.FILE:
      return 'file';
    case EC.NET:
      return 'net';
    case EC.IPC:
      return 'IPC';
    case EC.MEMORY:
      return 'memory';
    case EC.PROCESS:
      return 'process';
    case EC.SLEEP:
      return 'sleep';
    case EC.SYSTEM:
      return 'system';
    case EC.SIGNAL:
      return 'signal';
    case EC.USER:
      return 'user';
    case EC.TIME:
      return 'time';
    case EC.PROCESSING:
      return 'processing';
    case EC.WAIT:
      return 'wait';
    case EC.SCHEDULER:
      return 'scheduler';
    case EC.INTERNAL:
      return 'internal';
    default:
      return 'unknown';
  }
}
