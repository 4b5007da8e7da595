/**
 * Syscall input for replay: JSON lines of Vigil's event model (format in docs/replay-format.md).
 * Each line is one event with its process (and ancestors inline under `parent`), optional fd and
 * container. Bad lines are reported with the reason; nothing is guessed.
 */
import type {
  ContainerInfo,
  EventParam,
  FdInfo,
  FdType,
  SyscallEvent,
  ThreadInfo,
} from '../../engine/event.js';
import type { InputIssue, ParsedInput } from './k8s-audit-parse.js';

const FD_TYPES: ReadonlySet<string> = new Set<FdType>([
  'file',
  'directory',
  'ipv4',
  'ipv6',
  'unix',
  'pipe',
  'event',
  'signalfd',
  'eventpoll',
  'inotify',
  'timerfd',
  'netlink',
  'bpf',
  'userfaultfd',
  'io_uring',
  'memfd',
  'pidfd',
]);

class InputError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optNum(o: Obj, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${where}.${key} must be a number`);
  return v;
}

function optStr(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InputError(`${where}.${key} must be a string`);
  return v;
}

function optBool(o: Obj, key: string, where: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InputError(`${where}.${key} must be true or false`);
  return v;
}

/** Integers that may exceed 2^53 (timestamps, capability masks): number, decimal or 0x string. */
function optBig(o: Obj, key: string, where: string): bigint | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  try {
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|-?\d+)$/.test(v)) return BigInt(v);
  } catch {
    /* fall through */
  }
  throw new InputError(`${where}.${key} must be an integer (number or decimal/hex string)`);
}

function strArray(o: Obj, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new InputError(`${where}.${key} must be an array of strings`);
  return v as string[];
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}

function parseThread(v: unknown, where: string, depth: number): ThreadInfo {
  if (!isObj(v)) throw new InputError(`${where} must be an object`);
  if (depth > 64) throw new InputError(`${where}: ancestry deeper than 64 levels`);
  const pid = optNum(v, 'pid', where);
  if (pid === undefined) throw new InputError(`${where}.pid is required`);
  const exe = optStr(v, 'exe', where) ?? optStr(v, 'exepath', where) ?? '';
  const comm = optStr(v, 'name', where) ?? basename(exe);
  const t: ThreadInfo = {
    pid,
    tid: optNum(v, 'tid', where) ?? pid,
    comm,
    exe,
    args: strArray(v, 'args', where) ?? [],
  };
  const set = <K extends keyof ThreadInfo>(k: K, val: ThreadInfo[K] | undefined): void => {
    if (val !== undefined) t[k] = val;
  };
  set('ppid', optNum(v, 'ppid', where));
  set('vpid', optNum(v, 'vpid', where));
  set('vtid', optNum(v, 'vtid', where));
  set('sid', optNum(v, 'sid', where));
  set('pgid', optNum(v, 'pgid', where));
  set('vpgid', optNum(v, 'vpgid', where));
  set('exepath', optStr(v, 'exepath', where));
  set('env', strArray(v, 'env', where));
  set('cwd', optStr(v, 'cwd', where));
  set('tty', optNum(v, 'tty', where));
  set('startTs', optBig(v, 'start_ts', where));
  set('uid', optNum(v, 'uid', where));
  set('gid', optNum(v, 'gid', where));
  set('euid', optNum(v, 'euid', where));
  set('egid', optNum(v, 'egid', where));
  set('loginuid', optNum(v, 'loginuid', where));
  set('userName', optStr(v, 'user', where));
  set('loginName', optStr(v, 'loginname', where));
  set('homedir', optStr(v, 'homedir', where));
  set('shell', optStr(v, 'shell', where));
  set('groupName', optStr(v, 'group', where));
  set('capEffective', optBig(v, 'cap_effective', where));
  set('capPermitted', optBig(v, 'cap_permitted', where));
  set('capInheritable', optBig(v, 'cap_inheritable', where));
  set('isExeFromMemfd', optBool(v, 'is_exe_from_memfd', where));
  set('isExeUpperLayer', optBool(v, 'is_exe_upper_layer', where));
  set('isExeWritable', optBool(v, 'is_exe_writable', where));
  set('exeIno', optNum(v, 'exe_ino', where));
  set('exeInoCtime', optBig(v, 'exe_ino_ctime', where));
  set('exeInoMtime', optBig(v, 'exe_ino_mtime', where));
  set('containerId', optStr(v, 'container_id', where));
  if (v.parent !== undefined && v.parent !== null) {
    t.parent = parseThread(v.parent, `${where}.parent`, depth + 1);
    if (t.ppid === undefined) t.ppid = t.parent.pid;
  }
  if (v.session_leader !== undefined && v.session_leader !== null) {
    t.sessionLeader = parseThread(v.session_leader, `${where}.session_leader`, depth + 1);
  }
  return t;
}

function parseFd(v: unknown): FdInfo {
  const where = 'fd';
  if (!isObj(v)) throw new InputError('fd must be an object');
  const num = optNum(v, 'num', where);
  if (num === undefined) throw new InputError('fd.num is required');
  const type = optStr(v, 'type', where) ?? 'file';
  if (!FD_TYPES.has(type))
    throw new InputError(`fd.type '${type}' is not one of ${[...FD_TYPES].join(', ')}`);
  const fd: FdInfo = { num, type: type as FdType, name: optStr(v, 'name', where) ?? '' };
  const set = <K extends keyof FdInfo>(k: K, val: FdInfo[K] | undefined): void => {
    if (val !== undefined) fd[k] = val;
  };
  set('nameRaw', optStr(v, 'nameraw', where));
  set('openFlags', optNum(v, 'flags', where));
  const l4 = optStr(v, 'l4proto', where);
  if (l4 !== undefined) {
    if (!['tcp', 'udp', 'icmp', 'raw'].includes(l4))
      throw new InputError(`fd.l4proto '${l4}' is not tcp, udp, icmp or raw`);
    fd.l4proto = l4 as FdInfo['l4proto'];
  }
  set('cip', optStr(v, 'cip', where));
  set('cport', optNum(v, 'cport', where));
  set('sip', optStr(v, 'sip', where));
  set('sport', optNum(v, 'sport', where));
  set('isServer', optBool(v, 'is_server', where));
  set('connected', optBool(v, 'connected', where));
  set('nameChanged', optBool(v, 'name_changed', where));
  set('ino', optNum(v, 'ino', where));
  set('devMajor', optNum(v, 'dev_major', where));
  set('devMinor', optNum(v, 'dev_minor', where));
  return fd;
}

function parseContainer(v: unknown): ContainerInfo {
  const where = 'container';
  if (!isObj(v)) throw new InputError('container must be an object');
  const id = optStr(v, 'id', where);
  if (id === undefined) throw new InputError('container.id is required');
  const c: ContainerInfo = { id };
  const set = <K extends keyof ContainerInfo>(k: K, val: ContainerInfo[K] | undefined): void => {
    if (val !== undefined) c[k] = val;
  };
  set('name', optStr(v, 'name', where));
  set('image', optStr(v, 'image', where));
  set('imageRepository', optStr(v, 'image_repository', where));
  set('imageTag', optStr(v, 'image_tag', where));
  set('imageDigest', optStr(v, 'image_digest', where));
  set('type', optStr(v, 'type', where));
  set('privileged', optBool(v, 'privileged', where));
  set('startTs', optBig(v, 'start_ts', where));
  if (isObj(v.k8s)) {
    const k = v.k8s;
    const labels = k.pod_labels;
    c.k8s = {};
    const ns = optStr(k, 'namespace', 'container.k8s');
    if (ns !== undefined) c.k8s.namespace = ns;
    const pod = optStr(k, 'pod_name', 'container.k8s');
    if (pod !== undefined) c.k8s.podName = pod;
    const uid = optStr(k, 'pod_uid', 'container.k8s');
    if (uid !== undefined) c.k8s.podUid = uid;
    if (isObj(labels))
      c.k8s.podLabels = Object.fromEntries(Object.entries(labels).map(([a, b]) => [a, String(b)]));
  }
  return c;
}

function parseParams(v: unknown): EventParam[] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) throw new InputError('args must be an object of name: value');
  const out: EventParam[] = [];
  for (const [name, raw] of Object.entries(v)) {
    if (isObj(raw)) {
      const r = raw.raw;
      const text = typeof raw.text === 'string' ? raw.text : undefined;
      if (r !== undefined && typeof r !== 'number' && typeof r !== 'string')
        throw new InputError(`args.${name}.raw must be a number or string`);
      const p: EventParam = { name, raw: r };
      if (text !== undefined) p.text = text;
      out.push(p);
    } else if (typeof raw === 'number' || typeof raw === 'string') {
      out.push({ name, raw });
    } else if (raw === null) {
      out.push({ name, raw: undefined });
    } else {
      throw new InputError(`args.${name} must be a number, a string or {raw, text}`);
    }
  }
  return out;
}

/** Parse one JSON line into a SyscallEvent; `nextNum` numbers events without `num`. */
export function parseSyscallLine(
  text: string,
  line: number,
  nextNum: () => number,
  fallbackTs: () => bigint,
): ParsedInput<SyscallEvent> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { events: [], issue: { line, reason: `invalid JSON: ${(err as Error).message}` } };
  }
  try {
    if (!isObj(value)) throw new InputError('an event must be a JSON object');
    const type = optStr(value, 'type', 'event');
    if (!type) throw new InputError('missing \'type\' (the syscall name, e.g. "openat")');
    const dir = optStr(value, 'dir', 'event') ?? '<';
    if (dir !== '<' && dir !== '>') throw new InputError('\'dir\' must be "<" (exit) or ">" (enter)');
    if (value.proc === undefined) throw new InputError("missing 'proc' (the process that made the call)");
    const ev: SyscallEvent = {
      source: 'syscall',
      num: optNum(value, 'num', 'event') ?? nextNum(),
      ts: optBig(value, 'ts', 'event') ?? fallbackTs(),
      type,
      dir,
      params: parseParams(value.args),
      thread: parseThread(value.proc, 'proc', 0),
    };
    const res = value.res;
    if (res !== undefined && res !== null) {
      if (typeof res !== 'number' || !Number.isInteger(res)) throw new InputError('res must be an integer');
      ev.res = res;
    }
    const cpu = optNum(value, 'cpu', 'event');
    if (cpu !== undefined) ev.cpu = cpu;
    if (value.fd !== undefined && value.fd !== null) ev.fd = parseFd(value.fd);
    if (value.container !== undefined && value.container !== null) {
      ev.container = parseContainer(value.container);
      ev.thread.containerId ??= ev.container.id;
    }
    const host = optStr(value, 'hostname', 'event');
    if (host !== undefined) ev.hostname = host;
    return { events: [ev] };
  } catch (err) {
    if (err instanceof InputError)
      return { events: [], issue: { line, reason: err.message } satisfies InputIssue };
    throw err;
  }
}
