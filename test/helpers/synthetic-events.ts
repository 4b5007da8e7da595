/**
 * Synthetic syscall events for the libsinsp `eval_event` vectors.
 *
 * Each libsinsp test builds its events with `sinsp_with_test_input` (a default `init` thread with
 * `/dev/null` on fd 0, then `add_event_advance_ts(...)` calls whose arguments follow the driver's
 * event table). We rebuild the same situation in Vigil's event model (`src/engine/event.ts`), as the
 * state engine would have left it after processing those events: the thread (with its fd table and
 * ancestors), the fd the event acts on, and the event parameters with raw values and Falco's
 * rendered text. Parameter names follow `field_catalog/syscall_events.json`.
 *
 * `syntheticEventFor(vector)` returns the event for one vector, or `{ skip }` with the reason it
 * cannot be rebuilt here (so the conformance suite can list it).
 */
import type { EventParam, FdInfo, SyscallEvent, ThreadInfo } from '../../src/engine/event.js';

/** The identifying part of an `eval_event` vector. */
export interface EvalVectorRef {
  source: string;
  test: string;
  line: number;
  input: string;
}

export type SyntheticEvent = { event: SyscallEvent } | { skip: string };

// ---------------------------------------------------------------------------------------------
// building blocks

const BASE_TS = 1_700_000_000_000_000_000n;

/** `add_default_init_thread()`: pid 1 `init`, cwd `/root/`, `/dev/null` open read-only on fd 0. */
export function initThread(): ThreadInfo {
  const devNull: FdInfo = {
    num: 0,
    type: 'file',
    name: '/dev/null',
    nameRaw: '/dev/null',
    openFlags: 0,
    ino: 5,
    devMajor: 0,
    devMinor: 0,
  };
  return {
    tid: 1,
    pid: 1,
    ppid: 0,
    vtid: 1,
    vpid: 1,
    sid: 0,
    vpgid: 1,
    pgid: 1,
    comm: 'init',
    exe: '/sbin/init',
    exepath: '/sbin/init',
    args: [],
    env: ['TEST_ENV_PARENT_LINEAGE=secret', 'HOME=/home/user/parent'],
    cwd: '/root/',
    tty: 0,
    uid: 0,
    gid: 0,
    euid: 0,
    egid: 0,
    loginuid: 0,
    userName: 'root',
    groupName: 'root',
    containerId: 'host',
    startTs: BASE_TS,
    fds: new Map([[0, devNull]]),
  };
}

function param(name: string, raw: EventParam['raw'], text?: string, rawText?: string): EventParam {
  const p: EventParam = { name, raw };
  if (text !== undefined) p.text = text;
  if (rawText !== undefined && rawText !== text) p.rawText = rawText;
  return p;
}

const ERRNO_NAMES: Record<number, string> = { [-1]: 'EPERM', [-2]: 'ENOENT', [-22]: 'EINVAL' };

/** An errno-typed parameter: text `EPERM`, raw text `-1` (libsinsp prints `-1(EPERM)`). */
function errnoParam(name: string, v: number): EventParam {
  return param(name, v, v < 0 ? (ERRNO_NAMES[v] ?? String(v)) : String(v), String(v));
}

/** An fd parameter: text `<f>/tmp/file`, raw text `3` (libsinsp prints `3(<f>/tmp/file)`). */
function fdParam(name: string, num: number, fd: FdInfo | undefined): EventParam {
  if (num < 0) return errnoParam(name, num);
  const letter: Record<string, string> = { file: 'f', directory: 'd', ipv4: '4', ipv6: '6', unix: 'u' };
  return param(name, num, fd ? `<${letter[fd.type] ?? 'f'}>${fd.name}` : String(num), String(num));
}

/** Printable bytes as-is, others as `.` (libsinsp's default buffer rendering). */
function bufferText(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
  return s;
}

const OPEN_FLAGS: [number, string][] = [
  [1, 'O_RDONLY'],
  [2, 'O_WRONLY'],
  [3, 'O_RDWR'],
  [4, 'O_CREAT'],
  [8, 'O_APPEND'],
  [16, 'O_DSYNC'],
  [32, 'O_EXCL'],
  [64, 'O_NONBLOCK'],
  [128, 'O_SYNC'],
  [256, 'O_TRUNC'],
  [512, 'O_DIRECT'],
  [1024, 'O_DIRECTORY'],
  [2048, 'O_LARGEFILE'],
  [4096, 'O_CLOEXEC'],
  [8192, 'O_TMPFILE'],
];
/** PPM open flags as the driver encodes them (the access mode is the two low bits). */
export const PPM_O_RDONLY = 1;
export const PPM_O_RDWR = 3;
export const PPM_O_CREAT = 4;

function openFlagsText(flags: number): string {
  if (flags === 0) return 'O_NONE';
  const out: string[] = [];
  const mode = flags & 3;
  if (mode !== 0) out.push((OPEN_FLAGS.find(([v]) => v === mode) as [number, string])[1]);
  for (const [v, n] of OPEN_FLAGS) if (v > 3 && (flags & v) !== 0) out.push(n);
  return out.join('|');
}

class Scenario {
  readonly thread: ThreadInfo;
  private num = 0;

  constructor(thread: ThreadInfo = initThread()) {
    this.thread = thread;
  }

  event(type: string, dir: '>' | '<', params: EventParam[], extra: Partial<SyscallEvent> = {}): SyscallEvent {
    this.num++;
    return {
      source: 'syscall',
      num: this.num,
      ts: BASE_TS + BigInt(this.num) * 10_000_000n,
      type,
      dir,
      cpu: 1,
      params,
      thread: this.thread,
      hostname: 'test-host',
      ...extra,
    };
  }

  /** PPME_SYSCALL_OPEN_X: fd, name, flags, mode, dev, ino. A negative fd is a failed open. */
  openExit(fdNum: number, path: string, flags: number, dev = 0, ino = 0): SyscallEvent {
    const fd: FdInfo = {
      num: fdNum,
      type: 'file',
      name: path,
      nameRaw: path,
      openFlags: flags,
      devMajor: dev >> 20,
      devMinor: dev & 0xfffff,
      ino,
    };
    if (fdNum >= 0) this.thread.fds?.set(fdNum, fd);
    return this.event(
      'open',
      '<',
      [
        fdParam('fd', fdNum, fd),
        param('name', path, path),
        param('flags', flags, openFlagsText(flags), flags.toString(16)),
        param('mode', 0, '0'),
        param('dev', dev, dev.toString(16)),
        param('ino', BigInt(ino), String(ino)),
      ],
      { res: fdNum, fd },
    );
  }

  /** PPME_SYSCALL_READ_X: res, data, fd, size. */
  readExit(data: Uint8Array, fdNum = 0): SyscallEvent {
    const fd = this.thread.fds?.get(fdNum);
    return this.event(
      'read',
      '<',
      [
        errnoParam('res', 0),
        param('data', data, bufferText(data)),
        fdParam('fd', fdNum, fd),
        param('size', 0, '0'),
      ],
      { res: 0, ...(fd ? { fd } : {}) },
    );
  }

  /** socket() then connect(): the connect exit event with the client/server tuple. */
  connectExit(
    family: 'ipv4' | 'ipv6',
    client: string,
    cport: number,
    server: string,
    sport: number,
    proto: 'tcp' | 'udp',
  ): SyscallEvent {
    const fdNum = 9;
    const name =
      family === 'ipv4' ? `${client}:${cport}->${server}:${sport}` : `${client}:${cport}->${server}:${sport}`;
    const fd: FdInfo = {
      num: fdNum,
      type: family,
      name,
      l4proto: proto,
      cip: client,
      cport,
      sip: server,
      sport,
      isServer: false,
      connected: true,
      nameChanged: true,
    };
    this.thread.fds?.set(fdNum, fd);
    const tuple = `${client}:${cport}->${server}:${sport}`;
    return this.event(
      'connect',
      '<',
      [
        errnoParam('res', 0),
        param('tuple', tuple, tuple),
        fdParam('fd', fdNum, fd),
        param('addr', `${server}:${sport}`, `${server}:${sport}`),
      ],
      { res: 0, fd },
    );
  }

  /** generate_socket_exit_event(): a new IPv4 TCP socket on fd 4. */
  socketExit(): SyscallEvent {
    const fdNum = 4;
    const fd: FdInfo = { num: fdNum, type: 'ipv4', name: '', l4proto: 'tcp' };
    this.thread.fds?.set(fdNum, fd);
    return this.event(
      'socket',
      '<',
      [
        fdParam('fd', fdNum, fd),
        param('domain', 2, 'AF_INET'),
        param('type', 1, '1'),
        param('proto', 0, '0'),
        param('flags', 0, '0'),
      ],
      { res: fdNum, fd },
    );
  }

  /** The calling thread execs `exe` with comm `comm` (generate_execve_enter_and_exit_event). */
  execveExit(exe: string, comm: string): SyscallEvent {
    const t = this.thread;
    t.exe = exe;
    t.exepath = exe;
    t.comm = comm;
    t.args = [];
    return this.event(
      'execve',
      '<',
      [
        errnoParam('res', 0),
        param('exe', exe, exe),
        param('args', new Uint8Array(), ''),
        param('tid', t.tid, String(t.tid)),
        param('pid', t.pid, String(t.pid)),
        param('ptid', t.ppid ?? 0, String(t.ppid ?? 0)),
        param('cwd', t.cwd ?? '', t.cwd ?? ''),
        param('comm', comm, comm),
        param('loginuid', 0, '0'),
        param('cap_inheritable', 0n, '0'),
        param('exe_ino_ctime', 0n, '0'),
        param('uid', 0, '0'),
        param('trusted_exepath', exe, exe),
        param('pgid', 0, '0'),
        param('gid', 0, '0'),
      ],
      { res: 0 },
    );
  }
}

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

// ---------------------------------------------------------------------------------------------
// one builder per libsinsp test (by test name, then by line when a test builds several events)

type Builder = (line: number) => SyscallEvent | { skip: string };

/** generate_getcwd_failed_entry_event(): getcwd exit, res -1, path /test/dir. */
function getcwdFailed(): SyscallEvent {
  return new Scenario().event(
    'getcwd',
    '<',
    [errnoParam('res', -1), param('path', '/test/dir', '/test/dir')],
    { res: -1 },
  );
}

const SAMPLE_PLUGIN =
  "needs libsinsp's test plugin 'sample' (fields sample.*), which has no counterpart here";

function fileToRun(): SyscallEvent {
  return new Scenario().openExit(3, '/tmp/file_to_run', 0);
}

/** generate_execve_enter_and_exit_event(0, INIT_TID, INIT_TID, INIT_PID, INIT_PTID, "/myexe", "myexe") */
function myexe(): SyscallEvent {
  return new Scenario().execveExit('/myexe', 'myexe');
}

const v4Connect = (): SyscallEvent =>
  new Scenario().connectExit('ipv4', '172.40.111.222', 54321, '142.251.111.147', 443, 'tcp');

const BUILDERS: Record<string, Builder> = {
  'filter_compiler.ut.cpp:filter_simple_evaluation': getcwdFailed,
  'filter_compiler.ut.cpp:filter_val_transformer': getcwdFailed,
  'filter_compiler.ut.cpp:filter_transformers_combination': getcwdFailed,
  'filter_compiler.ut.cpp:filter_cache_disabled': getcwdFailed,
  'filter_compiler.ut.cpp:filter_cache_enabled': getcwdFailed,
  'filter_compiler.ut.cpp:filter_cache_corner_cases': (line) =>
    line <= 851 ? { skip: SAMPLE_PLUGIN } : getcwdFailed(),
  'filter_compiler.ut.cpp:filter_cache_pointer_instability': () =>
    // generate_proc_exit_event(2, INIT_TID): procexit status 0, ret -1, sig 0, core 0, reaper_tid 1
    new Scenario().event('procexit', '>', [
      param('status', 0, '0'),
      errnoParam('ret', -1),
      param('sig', 0, '0'),
      param('core', 0, '0'),
      param('reaper_tid', 1, '1'),
    ]),
  'filter_compiler.ut.cpp:filter_cache_unary_check_plugin_ptr_instability': () => ({ skip: SAMPLE_PLUGIN }),
  'filter_compiler.ut.cpp:filter_regex_operator_evaluation': getcwdFailed,
  'filter_compiler.ut.cpp:filter_str_op_modifier_compilation': getcwdFailed,
  'filter_compiler.ut.cpp:filter_str_op_modifier_evaluation': getcwdFailed,

  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_eq': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_ne': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_contains': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_icontains': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_startswith': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_endswith': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_glob': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_iglob': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_regex': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_transformer_lhs': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_compound': myexe,
  'cmp_operator_modifiers.cpp:FILTERCHECK_MOD_empty_rhs': myexe,

  'filter_transformer.ut.cpp:basename_transformer': fileToRun,
  'filter_transformer.ut.cpp:len_transformer': (line) => {
    const s = new Scenario();
    const open = s.openExit(3, '/tmp/file_to_run', 0);
    if (line <= 393) return open;
    const sock = s.socketExit();
    if (line <= 397) return sock;
    return s.readExit(Uint8Array.from([1, 2, 3, 4, 5, 6]));
  },
  'filter_transformer.ut.cpp:multivalue_transformer_join': fileToRun,
  'filter_transformer.ut.cpp:multivalue_transformer_concat': fileToRun,
  'filter_transformer.ut.cpp:multivalue_transformer_with_outer_transformer': fileToRun,
  'filter_transformer.ut.cpp:multivalue_transformer_getopt': fileToRun,

  'filter_op_net_compare.ut.cpp:net_ipv4_compare': v4Connect,
  'filter_op_net_compare.ut.cpp:net_modifier_ip_compare': v4Connect,
  'filter_op_net_compare.ut.cpp:net_ipv6_compare': () =>
    new Scenario().connectExit('ipv6', '::1', 54321, '2001:4860:4860::8888', 443, 'udp'),

  'filter_op_bytebuf.ut.cpp:bytebuf_bcontains_bstartswith': () => new Scenario().readExit(bytes('hello')),
  'filter_op_bytebuf.ut.cpp:bytebuf_matches_nul': () => new Scenario().readExit(bytes('a\0b')),

  'filter_op_numeric_compare.ut.cpp:signed_int_compare': (line) => {
    const s = new Scenario();
    const epoll = s.event('epoll_create', '<', [errnoParam('res', -22), param('size', 0, '0')], {
      res: -22,
    });
    if (line <= 52) return epoll;
    return s.openExit(-1, '/tmp/the_file', 0, 123, 456);
  },

  'filter_op_pmatch.ut.cpp:pmatch': () => new Scenario().openExit(3, '/opt/dir/subdir/file.txt', 0),
  'filter_op_contains.ut.cpp:contains_icontains': () =>
    new Scenario().openExit(1, '/opt/dir/SUBDIR/file.txt', PPM_O_RDWR | PPM_O_CREAT),

  'invalid_utf8.cpp:fd_fields_invalid_utf8_match': () =>
    new Scenario().openExit(3, '/p\u00ff/q\u00ff', PPM_O_RDWR, 5, 123),
  'invalid_utf8.cpp:proc_fields_invalid_utf8_match': () =>
    new Scenario().execveExit('/bin/bad\u00ff', 'bad\u00ff'),
  'invalid_utf8.cpp:fspath_fields_invalid_utf8_match': () =>
    new Scenario().event(
      'rename',
      '<',
      [
        errnoParam('res', 0),
        param('oldpath', '/tmp/s\u00ff', '/tmp/s\u00ff'),
        param('newpath', '/tmp/t\u00ff', '/tmp/t\u00ff'),
      ],
      {
        res: 0,
      },
    ),
  'invalid_utf8.cpp:evt_abspath_invalid_utf8_match': () => {
    const s = new Scenario();
    const fd: FdInfo = { num: 4, type: 'file', name: '/tmp/a\u00ff', openFlags: PPM_O_RDWR };
    s.thread.fds?.set(4, fd);
    return s.event(
      'open_by_handle_at',
      '<',
      [
        fdParam('fd', 4, fd),
        param('mountfd', 5, '5'),
        param('flags', PPM_O_RDWR, 'O_RDWR'),
        param('path', '/tmp/a\u00ff', '/tmp/a\u00ff'),
      ],
      { res: 4, fd },
    );
  },
  'invalid_utf8.cpp:proc_cwd_invalid_utf8_match': () => {
    const s = new Scenario();
    s.thread.cwd = '/tmp/c\u00ff/'; // the state engine keeps directories with a trailing slash
    return s.event('chdir', '<', [errnoParam('res', 0), param('path', '/tmp/c\u00ff', '/tmp/c\u00ff')], {
      res: 0,
    });
  },

  'rawarg.cpp:EVT_FILTER_rawarg_madness': (line) => {
    const s = new Scenario();
    if (line <= 37) return s.event('epoll_create', '>', [param('size', -22, '-22')]);
    if (line <= 51) {
      return s.event(
        'signalfd4',
        '<',
        [errnoParam('res', -1), param('flags', 512, '200'), param('fd', 9, '9'), param('mask', 0, '0')],
        { res: -1 },
      );
    }
    if (line <= 66)
      return s.event('timerfd_create', '>', [param('clockid', 255, '255'), param('flags', 255, 'FF')]);
    if (line <= 90) {
      return s.event('splice', '>', [
        param('fd_in', -1, '-1'),
        param('fd_out', -1, '-1'),
        param('size', 512n, '512'),
        param('flags', 0, '0'),
      ]);
    }
    if (line <= 95) return s.execveExit('/bin/test-exe', 'test-exe');
    return {
      skip: 'needs the driver parameter types SOCKADDR/SOCKTUPLE of evt.rawarg.addr/tuple, which the field table does not model (they are not comparable in libsinsp)',
    };
  },

  'proc.cpp:PROC_FILTER_aname': () => {
    // init → bash → good-exe
    const init = initThread();
    const bash: ThreadInfo = {
      ...initThread(),
      tid: 2,
      pid: 2,
      ppid: 1,
      vtid: 2,
      vpid: 2,
      comm: 'bash',
      exe: '/bin/bash',
      exepath: '/bin/bash',
      parent: init,
    };
    const good: ThreadInfo = {
      ...initThread(),
      tid: 3,
      pid: 3,
      ppid: 2,
      vtid: 3,
      vpid: 3,
      comm: 'good-exe',
      exe: '/good-exe',
      exepath: '/good-exe',
      parent: bash,
    };
    return new Scenario(good).execveExit('/good-exe', 'good-exe');
  },

  'evt.cpp:EVT_FILTER_data_buffer_str': () => new Scenario().readExit(bytes('gigi')),
};

function key(v: EvalVectorRef): string {
  const file = v.source.split('/').pop() ?? v.source;
  const test = v.test.split('.').pop() ?? v.test;
  return `${file}:${test}`;
}

/** The synthetic event of one `eval_event` vector, or why there is none. */
export function syntheticEventFor(v: EvalVectorRef): SyntheticEvent {
  const build = BUILDERS[key(v)];
  if (!build) return { skip: `no synthetic event for ${key(v)}` };
  const r = build(v.line);
  return 'skip' in r ? r : { event: r };
}
