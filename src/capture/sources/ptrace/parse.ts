/**
 * Reading strace's output: lines, argument values and fd decorations.
 *
 * The ptrace driver runs strace with options that make every line self-contained and exact (see
 * {@link straceArgs}): `PID<comm> SECONDS.NANOS name(args) = result <duration>` with fd arguments
 * decorated (`3</etc/passwd>`, `5<TCP:[127.0.0.1:4000->127.0.0.1:80]>`), full argument arrays and
 * strings up to 4096 bytes. A syscall that another traced thread interrupts comes as two lines, an
 * `<unfinished ...>` one and a `<... name resumed>` one; process ends come as `+++ exited with N +++`
 * or `+++ killed by SIG +++`.
 *
 * This module only reads text: {@link parseStraceLine} splits a line, {@link parseStraceArgs} turns
 * the argument text into values, {@link parseFdDecoration} reads what strace says an fd is. Turning
 * syscalls into scap events is `translate.ts`.
 */

/** strace's options for machine-readable output; the golden fixtures are recorded with the same. */
export const STRACE_FORMAT_OPTIONS: readonly string[] = [
  '-f',
  '--absolute-timestamps=format:unix,precision:ns',
  '--syscall-times=ns',
  '-yy',
  '-Y',
  '-v',
  '-s',
  '4096',
  '-e',
  'signal=none',
];

/** Options of {@link straceArgs}. */
export interface StraceArgsOptions {
  /** strace syscall names to trace (each is prefixed with `?` so names this architecture lacks are skipped). */
  syscalls: readonly string[];
  /** Where strace writes the trace (a FIFO the source reads). */
  output: string;
  /** Run and trace this command (`argv`). */
  command?: readonly string[];
  /** Attach to these processes (all their threads; children with -f). */
  pids?: readonly number[];
  /** Let the kernel skip untraced syscalls (`--seccomp-bpf`; command mode only). Default true. */
  seccompBpf?: boolean;
}

/**
 * strace's command line (without the executable). In attach mode, attach messages stay on (they tell
 * the source when strace is attached); the trace itself goes to `output` either way.
 */
export function straceArgs(o: StraceArgsOptions): string[] {
  const args = [...STRACE_FORMAT_OPTIONS];
  const attach = (o.pids?.length ?? 0) > 0;
  args.push('-e', attach ? 'quiet=personality' : 'quiet=attach,personality');
  args.push('-e', `trace=${o.syscalls.map((s) => `?${s}`).join(',')}`);
  if (!attach && o.seccompBpf !== false) args.push('--seccomp-bpf');
  args.push('-o', o.output);
  if (attach) {
    for (const p of o.pids ?? []) args.push('-p', String(p));
  }
  if (o.command && o.command.length > 0) args.push('--', ...o.command);
  return args;
}

// -------------------------------------------------------------------------------------------------
// Lines

/** One line of strace output, split. */
export type StraceLine =
  | {
      kind: 'call' | 'unfinished' | 'resumed';
      pid: number;
      /** comm at the time of the line (`-Y`), when present. */
      comm?: string;
      /** Epoch nanoseconds (syscall entry for calls and unfinished lines). */
      ts: bigint;
      name: string;
      /** Argument text (calls: all of it; unfinished: the entry part; resumed: the rest). */
      args: string;
      /** Result text (`3</etc/hostname>`, `-1 ENOENT (No such file or directory)`, `?`). */
      result?: string;
      /** Time spent in the syscall (`-T`), ns. */
      durationNs?: bigint;
    }
  | { kind: 'exited'; pid: number; comm?: string; ts: bigint; code: number }
  | { kind: 'killed'; pid: number; comm?: string; ts: bigint; signal: string; core: boolean }
  | { kind: 'superseded'; pid: number; comm?: string; ts: bigint; byPid: number }
  | { kind: 'signal'; pid: number; comm?: string; ts: bigint; signal: string }
  | { kind: 'detached'; pid: number; comm?: string; ts: bigint };

/** Why a line was not understood. */
export type UnparsedReason =
  | 'malformed'
  | 'no-timestamp'
  | 'unknown-syscall'
  | 'unmatched-resume'
  | 'bad-arguments'
  | 'no-result'
  | 'not-traced';

const HEAD = /^(?:\[pid\s+(\d+)\]\s+|(\d+)(?:<(.*?)>)?\s+)?(\d+)\.(\d+)\s+(.*)$/;

function epochNs(sec: string, frac: string): bigint {
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0'));
}

/**
 * Splits one line. Lines without a pid take `defaultPid` (strace omits the pid while it traces a
 * single process and writes to stderr). Returns the reason when the line is not strace output.
 */
export function parseStraceLine(line: string, defaultPid = 0): StraceLine | UnparsedReason {
  const m = HEAD.exec(line);
  if (!m)
    return /^(?:\[pid\s+\d+\]\s+|\d+(?:<.*?>)?\s+)?[a-z_0-9]+\(/.test(line) ? 'no-timestamp' : 'malformed';
  const pid = Number(m[1] ?? m[2] ?? defaultPid);
  const comm = m[3];
  const ts = epochNs(m[4] ?? '0', m[5] ?? '0');
  let rest = m[6] ?? '';
  const base = comm !== undefined ? { pid, comm, ts } : { pid, ts };

  if (rest.startsWith('+++ ')) {
    let x = /^\+\+\+ exited with (-?\d+) \+\+\+$/.exec(rest);
    if (x) return { kind: 'exited', ...base, code: Number(x[1]) };
    x = /^\+\+\+ killed by (\w+)( \(core dumped\))? \+\+\+$/.exec(rest);
    if (x) return { kind: 'killed', ...base, signal: x[1] ?? '', core: x[2] !== undefined };
    x = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/.exec(rest);
    if (x) return { kind: 'superseded', ...base, byPid: Number(x[1]) };
    return 'malformed';
  }
  if (rest.startsWith('--- ')) {
    const x = /^--- (\w+)/.exec(rest);
    return x ? { kind: 'signal', ...base, signal: x[1] ?? '' } : 'malformed';
  }

  // Duration suffix (-T): ` <0.000123456>`.
  let durationNs: bigint | undefined;
  const d = /\s<(\d+)\.(\d+)>$/.exec(rest);
  if (d) {
    durationNs = epochNs(d[1] ?? '0', d[2] ?? '0');
    rest = rest.slice(0, d.index);
  }

  if (rest.startsWith('<... ')) {
    const x = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/.exec(rest);
    if (!x) return 'malformed';
    const split = splitCallTail(x[2] ?? '', 0);
    if (!split) return 'malformed';
    return withOptional(
      { kind: 'resumed' as const, ...base, name: x[1] ?? '', args: split.args },
      split,
      durationNs,
    );
  }

  const call = /^([a-z0-9_]+)\(/.exec(rest);
  if (!call) return 'malformed';
  const name = call[1] ?? '';
  const body = rest.slice(call[0].length);
  const unfinished = /\s*<unfinished \.\.\.>$/.exec(body);
  if (unfinished) {
    return { kind: 'unfinished', ...base, name, args: body.slice(0, unfinished.index) };
  }
  if (/\s*<detached \.\.\.>$/.test(body)) return { kind: 'detached', ...base };
  const split = splitCallTail(body, 0);
  if (!split) return 'malformed';
  return withOptional({ kind: 'call' as const, ...base, name, args: split.args }, split, durationNs);
}

function withOptional<T extends object>(
  line: T,
  split: { result?: string },
  durationNs: bigint | undefined,
): T & { result?: string; durationNs?: bigint } {
  const out: T & { result?: string; durationNs?: bigint } = line;
  if (split.result !== undefined) out.result = split.result;
  if (durationNs !== undefined) out.durationNs = durationNs;
  return out;
}

/**
 * Splits `args) = result` at the `)` that closes the argument list (strings, brackets and fd
 * decorations may hold parentheses). A resumed line can itself be unfinished: no result then.
 */
function splitCallTail(text: string, from: number): { args: string; result?: string } | undefined {
  const end = scanTo(text, from, ')');
  if (end < 0) return undefined;
  const args = text.slice(from, end);
  const after = /^\)\s*=\s*(.*)$/.exec(text.slice(end));
  if (after) return { args, result: (after[1] ?? '').trim() };
  if (/^\)\s*$/.test(text.slice(end))) return { args };
  return undefined;
}

/** Index of the first `stop` character at nesting depth 0 from `i`, or -1. */
function scanTo(s: string, i: number, stop: string): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i = skipString(s, i);
      continue;
    }
    if (depth === 0 && c === stop) return i;
    if (c === '(' || c === '[' || c === '{' || c === '<') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '>' && s[i - 1] !== '-' && s[i - 1] !== '=') depth--;
    if (depth < 0) return stop === ')' && c === ')' ? i : -1;
  }
  return -1;
}

/** Index of the closing quote of the string starting at `i`. */
function skipString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j;
  }
  return s.length;
}

// -------------------------------------------------------------------------------------------------
// Values

/** An argument value as strace prints it. */
export type StraceValue =
  | { k: 'str'; s: string; truncated: boolean }
  | { k: 'arr'; items: StraceValue[]; truncated: boolean }
  | { k: 'obj'; fields: StraceArg[] }
  | { k: 'atom'; text: string }
  /** In/out arguments: `{...} => {...}` (the value before the call and after). */
  | { k: 'io'; before: StraceValue; after: StraceValue };

/** One argument or struct member: `value` or `key=value`. */
export interface StraceArg {
  key?: string;
  value: StraceValue;
}

const utf8 = new TextDecoder('utf-8');

/** Decodes a C string literal body (strace's escapes: `\n`, `\"`, octal `\303`, hex `\xc3`). */
export function decodeStraceString(body: string): string {
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      const code = c.charCodeAt(0);
      if (code < 0x80) bytes.push(code);
      else for (const b of enc.encode(c)) bytes.push(b);
      continue;
    }
    const n = body[++i] ?? '';
    switch (n) {
      case 'n':
        bytes.push(10);
        break;
      case 't':
        bytes.push(9);
        break;
      case 'r':
        bytes.push(13);
        break;
      case 'v':
        bytes.push(11);
        break;
      case 'f':
        bytes.push(12);
        break;
      case 'x': {
        const h = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))?.[0] ?? '';
        bytes.push(parseInt(h || '0', 16));
        i += h.length;
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const o = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? '0';
          bytes.push(parseInt(o, 8) & 0xff);
          i += o.length - 1;
        } else bytes.push(n.charCodeAt(0));
    }
  }
  return utf8.decode(Uint8Array.from(bytes));
}

class ValueScanner {
  pos = 0;
  constructor(private readonly s: string) {}

  private ws(): void {
    for (;;) {
      while (this.pos < this.s.length && /\s/.test(this.s[this.pos] ?? '')) this.pos++;
      if (this.s.startsWith('/*', this.pos)) {
        const e = this.s.indexOf('*/', this.pos + 2);
        this.pos = e < 0 ? this.s.length : e + 2;
        continue;
      }
      return;
    }
  }

  list(end: string | undefined): StraceArg[] {
    const out: StraceArg[] = [];
    for (;;) {
      this.ws();
      if (this.pos >= this.s.length) return out;
      const c = this.s[this.pos];
      if (end !== undefined && c === end) return out;
      if (c === ',') {
        this.pos++;
        continue;
      }
      const start = this.pos;
      const key = /^([A-Za-z_][A-Za-z0-9_.[\]]*)=(?![=>])/.exec(this.s.slice(this.pos, this.pos + 80));
      let k: string | undefined;
      if (key) {
        k = key[1];
        this.pos += key[0].length;
      }
      let value = this.value();
      this.ws();
      if (this.s.startsWith('=>', this.pos)) {
        this.pos += 2;
        this.ws();
        value = { k: 'io', before: value, after: this.value() };
      }
      out.push(k !== undefined ? { key: k, value } : { value });
      if (this.pos === start) this.pos++; // never loop on a character no rule takes
    }
  }

  value(): StraceValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === '"') {
      const e = skipString(this.s, this.pos);
      const s = decodeStraceString(this.s.slice(this.pos + 1, e));
      this.pos = e + 1;
      const truncated = this.s.startsWith('...', this.pos);
      if (truncated) this.pos += 3;
      return { k: 'str', s, truncated };
    }
    if (c === '[' || c === '{') {
      this.pos++;
      const items = this.list(c === '[' ? ']' : '}');
      if (this.s[this.pos] === (c === '[' ? ']' : '}')) this.pos++;
      if (c === '{') return { k: 'obj', fields: items };
      const values = items.map((a) => a.value);
      const last = values[values.length - 1];
      const truncated = last?.k === 'atom' && last.text === '...';
      if (truncated) values.pop();
      return { k: 'arr', items: values, truncated };
    }
    return { k: 'atom', text: this.atom() };
  }

  private atom(): string {
    const start = this.pos;
    let depth = 0;
    for (; this.pos < this.s.length; this.pos++) {
      const ch = this.s[this.pos] ?? '';
      if (ch === '"') {
        this.pos = skipString(this.s, this.pos);
        continue;
      }
      if (depth === 0 && (ch === ',' || ch === ')' || ch === ']' || ch === '}' || /\s/.test(ch))) break;
      if (ch === '(' || ch === '[' || ch === '{' || ch === '<') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') depth--;
      else if (ch === '>' && this.s[this.pos - 1] !== '-') depth--;
    }
    return this.s.slice(start, this.pos);
  }
}

/** Parses an argument list (`3</a>, "b", [1, 2], {x=1}`) into values. */
export function parseStraceArgs(text: string): StraceArg[] {
  return new ValueScanner(text).list(undefined);
}

/** A syscall result: a number (with the fd decoration strace adds) or an error. */
export interface StraceResult {
  /** The return value; errors are `-errno`. Undefined when strace printed `?` (no return). */
  value?: number;
  /** errno name of a failure (`ENOENT`). */
  errno?: string;
  /** Decoration of a returned fd or pid (`/etc/hostname`, `TCP:[...]`, a comm). */
  decoration?: string;
}

/** Parses a result text (`3</etc/hostname>`, `-1 ENOENT (...)`, `?`). */
export function parseStraceResult(text: string): StraceResult | undefined {
  const m = /^(-?\d+|0x[0-9a-fA-F]+|\?)(<.*>)?(?:\S*)(?:\s+([A-Z][A-Z0-9_]*))?/.exec(text);
  if (!m) return undefined;
  const out: StraceResult = {};
  if (m[1] !== '?') out.value = Number(m[1]);
  if (m[2]) {
    const inner = m[2].slice(1, closingAngle(m[2], 0));
    out.decoration = inner;
  }
  if (m[3]) out.errno = m[3];
  return out;
}

/** Index of the `>` that closes the `<` at `i` (nested decorations: `/dev/null<char 1:3>`). */
function closingAngle(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (c === '"') {
      j = skipString(s, j);
      continue;
    }
    if (c === '<') depth++;
    else if (c === '>' && s[j - 1] !== '-') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return s.length;
}

/** An atom read as a number (decimal, `0x` hex, `0` octal), undefined when it is not one. */
export function atomNumber(text: string): number | undefined {
  const m = /^(-?)(0x[0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(text);
  if (!m?.[2]) return undefined;
  const body = m[2];
  const v = body.startsWith('0x')
    ? parseInt(body, 16)
    : body.length > 1 && body.startsWith('0')
      ? parseInt(body, 8)
      : Number(body);
  return m[1] === '-' ? -v : v;
}

/** An fd argument: `3</path>`, `AT_FDCWD</dir>`, `-1`. */
export function atomFd(text: string): { fd: number; decoration?: string } | undefined {
  const m = /^(-?\d+|AT_FDCWD)(<.*>)?/.exec(text);
  if (!m?.[1]) return undefined;
  const fd = m[1] === 'AT_FDCWD' ? -100 : Number(m[1]);
  if (!m[2]) return { fd };
  return { fd, decoration: m[2].slice(1, closingAngle(m[2], 0)) };
}

/** The names in a flag expression (`O_RDONLY|O_CLOEXEC|0x80000`); numbers come back as text. */
export function flagNames(text: string): string[] {
  return text.split('|').map((s) => s.trim());
}

// -------------------------------------------------------------------------------------------------
// Decorations

/** What strace says an fd is (`-yy`). */
export type FdDecoration =
  | { kind: 'path'; path: string; devMajor?: number; devMinor?: number; deleted?: boolean }
  | { kind: 'pipe'; inode: number }
  | {
      kind: 'inet';
      family: 'ipv4' | 'ipv6';
      proto: 'tcp' | 'udp' | 'raw' | 'icmp';
      inode?: number;
      local?: { ip: string; port: number };
      remote?: { ip: string; port: number };
    }
  | { kind: 'unix'; inode?: number; peer?: number; path?: string }
  | { kind: 'netlink' }
  | { kind: 'anon'; what: string }
  | { kind: 'memfd'; name: string }
  | { kind: 'other'; text: string };

const INET_PROTOS: Readonly<Record<string, ['ipv4' | 'ipv6', 'tcp' | 'udp' | 'raw' | 'icmp']>> = {
  TCP: ['ipv4', 'tcp'],
  TCPv6: ['ipv6', 'tcp'],
  UDP: ['ipv4', 'udp'],
  UDPv6: ['ipv6', 'udp'],
  UDPLITE: ['ipv4', 'udp'],
  UDPLITEv6: ['ipv6', 'udp'],
  RAW: ['ipv4', 'raw'],
  RAWv6: ['ipv6', 'raw'],
  PING: ['ipv4', 'icmp'],
  PINGv6: ['ipv6', 'icmp'],
};

function endpointOf(text: string): { ip: string; port: number } | undefined {
  const v6 = /^\[(.*)\]:(\d+)$/.exec(text);
  if (v6) return { ip: v6[1] ?? '', port: Number(v6[2]) };
  const v4 = /^([\d.]+):(\d+)$/.exec(text);
  if (v4) return { ip: v4[1] ?? '', port: Number(v4[2]) };
  return undefined;
}

/** Reads an fd decoration (the text between `<` and `>` after an fd). */
export function parseFdDecoration(text: string): FdDecoration {
  if (text.startsWith('/memfd:')) {
    return { kind: 'memfd', name: decodeStraceString(text.slice('/memfd:'.length)) };
  }
  if (text.startsWith('/')) {
    // A device adds its own decoration: `/dev/null<char 1:3>`.
    const dev = /<(?:char|block) (\d+):(\d+)>$/.exec(text);
    const path = decodeStraceString(dev ? text.slice(0, dev.index) : text);
    const out: FdDecoration = { kind: 'path', path };
    if (dev) {
      out.devMajor = Number(dev[1]);
      out.devMinor = Number(dev[2]);
    }
    return out;
  }
  const pipe = /^pipe:\[(\d+)\]$/.exec(text);
  if (pipe) return { kind: 'pipe', inode: Number(pipe[1]) };
  const sock = /^([A-Za-z0-9-]+):\[(.*)\]$/.exec(text);
  if (sock) {
    const proto = sock[1] ?? '';
    const inner = sock[2] ?? '';
    const inet = INET_PROTOS[proto];
    if (inet) {
      const out: FdDecoration = { kind: 'inet', family: inet[0], proto: inet[1] };
      if (/^\d+$/.test(inner)) out.inode = Number(inner);
      else {
        const [l, r] = inner.split('->');
        const local = l !== undefined ? endpointOf(l) : undefined;
        const remote = r !== undefined ? endpointOf(r) : undefined;
        if (local) out.local = local;
        if (remote) out.remote = remote;
      }
      return out;
    }
    if (proto.startsWith('UNIX')) {
      const u = /^(\d+)(?:->(\d+))?(?:,"(.*)")?$/.exec(inner);
      const out: FdDecoration = { kind: 'unix' };
      if (u?.[1]) out.inode = Number(u[1]);
      if (u?.[2]) out.peer = Number(u[2]);
      if (u?.[3] !== undefined) out.path = decodeStraceString(u[3]);
      return out;
    }
    if (proto === 'NETLINK') return { kind: 'netlink' };
  }
  const anon = /^anon_inode:\[?([^\]]*)\]?$/.exec(text);
  if (anon) return { kind: 'anon', what: anon[1] ?? '' };
  return { kind: 'other', text };
}
