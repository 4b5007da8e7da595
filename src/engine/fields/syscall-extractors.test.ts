import { describe, expect, it } from 'vitest';
import type { ContainerInfo, EventParam, FdInfo, SyscallEvent, ThreadInfo } from '../event.js';
import { syscallFields } from './index.js';
import { capabilitiesText, isoTimeString, _internals } from './syscall-extractors.js';
import type { FieldValue } from './types.js';

/** Extracts a field written as in a condition (`proc.aname[2]`, `evt.arg.flags`). */
function get(event: SyscallEvent, text: string): FieldValue {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(text)!;
  const found = syscallFields.lookup(m[1]!);
  if (!found) throw new Error(`unknown field ${m[1]!}`);
  return syscallFields.extractor(found.def)(event, m[2] ?? found.argFromName);
}

const T0 = 1_700_000_000_000_000_000n;

function thread(over: Partial<ThreadInfo> = {}): ThreadInfo {
  return { tid: 1, pid: 1, comm: 'proc', exe: 'proc', args: [], ...over };
}

function lineageOf(): { init: ThreadInfo; sshd: ThreadInfo; bash: ThreadInfo; cat: ThreadInfo } {
  const init = thread({
    tid: 1,
    pid: 1,
    comm: 'systemd',
    exe: '/sbin/init',
    exepath: '/usr/lib/systemd/systemd',
    sid: 1,
  });
  const sshd = thread({
    tid: 900,
    pid: 900,
    ppid: 1,
    comm: 'sshd',
    exe: '/usr/sbin/sshd',
    exepath: '/usr/sbin/sshd',
    args: ['-D'],
    parent: init,
    sid: 900,
    env: ['SSHD_OPT=x'],
  });
  const bash = thread({
    tid: 1000,
    pid: 1000,
    ppid: 900,
    comm: 'bash',
    exe: '-bash',
    exepath: '/usr/bin/bash',
    args: [],
    parent: sshd,
    sid: 1000,
    vpgid: 1000,
    pgid: 1000,
    env: ['HOME=/root', 'SHELL=/bin/bash', '', 'LANG=C'],
    startTs: T0 - 60_000_000_000n,
  });
  const cat = thread({
    tid: 1001,
    pid: 1001,
    ppid: 1000,
    vpid: 1001,
    comm: 'cat',
    exe: 'cat',
    exepath: '/usr/bin/cat',
    args: ['/etc/shadow', '-n'],
    parent: bash,
    sid: 1000,
    vpgid: 1001,
    pgid: 1001,
    cwd: '/root/',
    tty: 34816,
    env: ['HOME=/root', 'TERM=xterm'],
    startTs: T0,
    uid: 0,
    gid: 0,
    euid: 0,
    loginuid: 1000,
    userName: 'root',
    loginName: 'alice',
    homedir: '/root',
    shell: '/bin/bash',
    groupName: 'root',
    capEffective: (1n << 21n) | (1n << 12n) | (1n << 0n),
    capPermitted: 0n,
    isExeFromMemfd: false,
    isExeUpperLayer: true,
    exeIno: 1234,
    exeInoCtime: T0 - 5_000_000_000n,
    exeInoMtime: T0 - 7_000_000_000n,
  });
  return { init, sshd, bash, cat };
}

function evt(over: Partial<SyscallEvent> & { thread: ThreadInfo }): SyscallEvent {
  return {
    source: 'syscall',
    num: 42,
    ts: T0 + 1_500_000_000n,
    type: 'execve',
    dir: '<',
    params: [],
    ...over,
  };
}

function p(name: string, raw: EventParam['raw'], text?: string, rawText?: string): EventParam {
  const out: EventParam = { name, raw };
  if (text !== undefined) out.text = text;
  if (rawText !== undefined) out.rawText = rawText;
  return out;
}

describe('evt.* fields', () => {
  const { cat } = lineageOf();
  const openOk = evt({
    type: 'openat',
    res: 3,
    cpu: 2,
    hostname: 'node-1',
    params: [
      p('fd', 3, '<f>/etc/shadow', '3'),
      p('dirfd', -100, 'AT_FDCWD', '-100'),
      p('name', 'shadow', '/root/shadow', 'shadow'),
      p('flags', 4097, 'O_RDONLY|O_CLOEXEC', '4097'),
      p('mode', 0),
    ],
    thread: cat,
    fd: { num: 3, type: 'file', name: '/etc/shadow', openFlags: 4097 },
  });

  it('gives the event identity and time', () => {
    expect(get(openOk, 'evt.num')).toBe(42);
    expect(get(openOk, 'evt.type')).toBe('openat');
    expect(get(openOk, 'evt.dir')).toBe('<');
    expect(get(openOk, 'evt.cpu')).toBe(2);
    expect(get(openOk, 'evt.hostname')).toBe('node-1');
    expect(get(openOk, 'evt.source')).toBe('syscall');
    expect(get(openOk, 'evt.rawtime')).toBe(T0 + 1_500_000_000n);
    expect(get(openOk, 'evt.rawtime.s')).toBe(1_700_000_001);
    expect(get(openOk, 'evt.rawtime.ns')).toBe(500_000_000);
    expect(get(openOk, 'evt.time.iso8601')).toBe('2023-11-14T22:13:21.500000000+0000');
    expect(get(openOk, 'evt.reltime')).toBeUndefined();
  });

  it('formats local times like libsinsp (offset of the host time zone)', () => {
    const offset = -new Date(1_700_000_001_000).getTimezoneOffset() * 60;
    const local = new Date((1_700_000_001 + offset) * 1000);
    const hh = String(local.getUTCHours()).padStart(2, '0');
    const mm = String(local.getUTCMinutes()).padStart(2, '0');
    const ss = String(local.getUTCSeconds()).padStart(2, '0');
    expect(get(openOk, 'evt.time')).toBe(`${hh}:${mm}:${ss}.500000000`);
    expect(get(openOk, 'evt.time.s')).toBe(`${hh}:${mm}:${ss}`);
    expect(String(get(openOk, 'evt.datetime'))).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.500000000$/);
    expect(_internals.localTimeString(5n, false, true)).toMatch(/\.000000005$/);
    expect(isoTimeString(0n)).toBe('1970-01-01T00:00:00.000000000+0000');
  });

  it('renders the result: SUCCESS, errno name, raw number, failure flag', () => {
    expect(get(openOk, 'evt.res')).toBe('SUCCESS');
    expect(get(openOk, 'evt.rawres')).toBe(3);
    expect(get(openOk, 'evt.failed')).toBe(false);
    const failed = evt({ type: 'openat', res: -2, thread: cat });
    expect(get(failed, 'evt.res')).toBe('ENOENT');
    expect(get(failed, 'evt.rawres')).toBe(-2);
    expect(get(failed, 'evt.failed')).toBe(true);
    expect(get(evt({ type: 'connect', res: -115, thread: cat }), 'evt.res')).toBe('EINPROGRESS');
    expect(get(evt({ type: 'x', res: -4000, thread: cat }), 'evt.res')).toBe('-4000');
    // Enter events and events without a return value have no result.
    const enter = evt({ type: 'openat', dir: '>', thread: cat });
    expect(get(enter, 'evt.res')).toBeUndefined();
    expect(get(enter, 'evt.rawres')).toBeUndefined();
    // Current libsinsp (evt.failed shares evt.count.error's extraction): no return value, no value;
    // sysdig 0.29.3 printed false here.
    expect(get(enter, 'evt.failed')).toBeUndefined();
    expect(get(evt({ type: 'procexit', thread: cat }), 'evt.failed')).toBeUndefined();
  });

  it('reads parameters by position, by name (dotted or bracket) and raw', () => {
    expect(get(openOk, 'evt.arg.flags')).toBe('O_RDONLY|O_CLOEXEC');
    expect(get(openOk, 'evt.arg[flags]')).toBe('O_RDONLY|O_CLOEXEC');
    expect(get(openOk, 'evt.arg[3]')).toBe('O_RDONLY|O_CLOEXEC');
    expect(get(openOk, 'evt.arg[0]')).toBe('<f>/etc/shadow');
    expect(get(openOk, 'evt.arg[9]')).toBeUndefined();
    expect(get(openOk, 'evt.arg.mode')).toBe('0');
    expect(get(openOk, 'evt.arg.res')).toBeUndefined();
    expect(get(openOk, 'evt.rawarg.flags')).toBe(4097);
    expect(get(openOk, 'evt.rawarg.name')).toBe('shadow');
    expect(get(openOk, 'evt.rawarg.res')).toBeUndefined();
  });

  it('renders evt.args with raw(resolved) pairs', () => {
    expect(get(openOk, 'evt.args')).toBe(
      'fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=shadow(/root/shadow) flags=4097(O_RDONLY|O_CLOEXEC) mode=0',
    );
    expect(get(openOk, 'evt.info')).toBe(get(openOk, 'evt.args'));
    const buf = evt({
      type: 'write',
      thread: cat,
      params: [p('res', 5), p('data', new Uint8Array([0x68, 0x69, 0x0a, 0x00]))],
    });
    expect(get(buf, 'evt.args')).toBe('res=5 data=hi..');
    expect(get(evt({ thread: cat }), 'evt.args')).toBe('');
  });

  it('prints no evt.args for generic syscall exit events, whose ID parameter is internal', () => {
    // Current libsinsp: only the exit event (PPME_GENERIC_X) is skipped; no space after the last pair.
    const exit = evt({ type: 'rt_sigaction', thread: cat, params: [p('ID', 13, 'rt_sigaction', '13')] });
    expect(get(exit, 'evt.args')).toBe('');
    const enter = evt({
      type: 'rt_sigaction',
      dir: '>',
      thread: cat,
      params: [p('ID', 13, 'rt_sigaction', '13'), p('nativeID', 13)],
    });
    expect(get(enter, 'evt.args')).toBe('ID=13(rt_sigaction) nativeID=13');
  });

  it('classifies opens by their flags (driver encoding)', () => {
    expect(get(openOk, 'evt.is_open_read')).toBe(true);
    expect(get(openOk, 'evt.is_open_write')).toBe(false);
    expect(get(openOk, 'evt.is_open_exec')).toBe(false);
    const rw = evt({
      type: 'open',
      res: 4,
      thread: cat,
      params: [p('fd', 4), p('name', '/tmp/x'), p('flags', 3 | 4 | 16384), p('mode', 0o755)],
    });
    expect(get(rw, 'evt.is_open_read')).toBe(true);
    expect(get(rw, 'evt.is_open_write')).toBe(true);
    expect(get(rw, 'evt.is_open_exec')).toBe(true);
    expect(get(rw, 'evt.is_open_create')).toBe(true);
    const noExec = evt({
      type: 'openat2',
      res: 4,
      thread: cat,
      params: [p('flags', 2 | 4), p('mode', 0o644)],
    });
    expect(get(noExec, 'evt.is_open_exec')).toBe(false);
    expect(get(noExec, 'evt.is_open_create')).toBe(false);
    const tmp = evt({ type: 'openat', res: 5, thread: cat, params: [p('flags', 2 | 8192)] });
    expect(get(tmp, 'evt.is_open_create')).toBe(true);
    expect(
      get(evt({ type: 'creat', res: 5, thread: cat, params: [p('mode', 0o700)] }), 'evt.is_open_exec'),
    ).toBe(true);
    // Not an open, or the enter event: false rather than missing.
    expect(get(evt({ type: 'read', thread: cat, params: [p('flags', 1)] }), 'evt.is_open_read')).toBe(false);
    expect(
      get(evt({ type: 'open', dir: '>', thread: cat, params: [p('flags', 1)] }), 'evt.is_open_read'),
    ).toBe(false);
  });

  it('knows event categories and I/O flags from the event table', () => {
    expect(get(openOk, 'evt.category')).toBe('file');
    const read = evt({
      type: 'read',
      res: 10,
      thread: cat,
      fd: { num: 5, type: 'ipv4', name: 'x' },
      params: [p('res', 10)],
    });
    expect(get(read, 'evt.category')).toBe('net');
    expect(get(read, 'evt.is_io')).toBe(true);
    expect(get(read, 'evt.is_io_read')).toBe(true);
    expect(get(read, 'evt.is_io_write')).toBe(false);
    expect(get(read, 'evt.io_dir')).toBe('read');
    expect(get(read, 'evt.buflen')).toBe(10);
    expect(get(read, 'evt.buflen.net.in')).toBe(10);
    expect(get(read, 'evt.buflen.file')).toBeUndefined();
    expect(get(read, 'evt.buflen.out')).toBeUndefined();
    const pipeWrite = evt({
      type: 'write',
      res: 1,
      thread: cat,
      fd: { num: 1, type: 'pipe', name: 'pipe:[1]' },
    });
    expect(get(pipeWrite, 'evt.category')).toBe('ipc');
    expect(get(pipeWrite, 'evt.io_dir')).toBe('write');
    expect(get(evt({ type: 'close', thread: cat }), 'evt.category')).toBe('unknown');
    expect(get(evt({ type: 'poll', thread: cat }), 'evt.is_wait')).toBe(true);
    expect(get(evt({ type: 'futex', thread: cat }), 'evt.category')).toBe('IPC');
    expect(get(evt({ type: 'execve', thread: cat }), 'evt.category')).toBe('process');
    expect(get(evt({ type: 'execve', thread: cat, category: 'custom' }), 'evt.category')).toBe('custom');
    expect(get(evt({ type: 'execve', thread: cat }), 'evt.is_io')).toBe(false);
    expect(get(evt({ type: 'execve', thread: cat }), 'evt.io_dir')).toBeUndefined();
    const syslog = evt({ type: 'sendto', thread: cat, fd: { num: 3, type: 'unix', name: '/dev/log' } });
    expect(get(syslog, 'evt.is_syslog')).toBe(true);
    expect(get(pipeWrite, 'evt.is_syslog')).toBe(false);
  });

  it('tells system calls from other events', () => {
    expect(get(openOk, 'syscall.type')).toBe('openat');
    expect(get(evt({ type: 'procexit', thread: cat }), 'syscall.type')).toBeUndefined();
    expect(get(evt({ type: 'switch', thread: cat }), 'syscall.type')).toBeUndefined();
    expect(get(evt({ type: 'container', thread: cat }), 'evt.is_async')).toBe(true);
    expect(get(evt({ type: 'container', thread: cat }), 'evt.asynctype')).toBe('container');
    expect(get(openOk, 'evt.is_async')).toBe(false);
    expect(get(openOk, 'evt.asynctype')).toBeUndefined();
  });

  it('counts errors by area', () => {
    const failedOpen = evt({ type: 'openat', res: -13, thread: cat });
    expect(get(failedOpen, 'evt.count')).toBe(1);
    expect(get(failedOpen, 'evt.count.error')).toBe(1);
    expect(get(failedOpen, 'evt.count.error.file')).toBe(1);
    expect(get(failedOpen, 'evt.count.error.net')).toBeUndefined();
    expect(get(failedOpen, 'evt.count.error.other')).toBeUndefined();
    expect(get(failedOpen, 'evt.count.exit')).toBe(1);
    expect(get(openOk, 'evt.count.error.file')).toBe(0);
    const brk = evt({ type: 'brk', res: -12, thread: cat });
    expect(get(brk, 'evt.count.error.memory')).toBe(1);
    expect(get(brk, 'evt.count.error.other')).toBeUndefined();
    const kill = evt({ type: 'kill', res: -1, thread: cat });
    expect(get(kill, 'evt.count.error.other')).toBe(1);
    expect(get(evt({ type: 'open', dir: '>', thread: cat }), 'evt.count.exit')).toBeUndefined();
  });

  it('keeps the delta to the previous event per compiled field', () => {
    const found = syscallFields.lookup('evt.deltatime')!;
    const x = syscallFields.extractor(found.def);
    expect(x(evt({ thread: cat, ts: 1_000n }), undefined)).toBe(0);
    expect(x(evt({ thread: cat, ts: 3_500n }), undefined)).toBe(2_500);
    const other = syscallFields.extractor(found.def);
    expect(other(evt({ thread: cat, ts: 10_000n }), undefined)).toBe(0);
  });

  it('reads buffers and the event type test', () => {
    const data = new Uint8Array([1, 2, 3]);
    const w = evt({ type: 'write', thread: cat, params: [p('res', 3), p('data', data)] });
    expect(get(w, 'evt.buffer')).toBe(data);
    expect(get(evt({ type: 'write', thread: cat, params: [p('data', 'hi')] }), 'evt.buffer')).toEqual(
      new Uint8Array([104, 105]),
    );
    expect(get(openOk, 'evt.buffer')).toBeUndefined();
    expect(get(openOk, 'evt.type.is.openat')).toBe(1);
    expect(get(openOk, 'evt.type.is[open]')).toBe(0);
  });

  it('computes evt.abspath from the dirfd', () => {
    const dirs = new Map<number, FdInfo>([[7, { num: 7, type: 'directory', name: '/var/lib' }]]);
    const t = { ...cat, fds: dirs };
    const rename = evt({
      type: 'renameat2',
      res: 0,
      thread: t,
      params: [p('res', 0), p('olddirfd', 7), p('oldpath', 'a/../b'), p('newdirfd', -100), p('newpath', 'c')],
    });
    expect(get(rename, 'evt.abspath')).toBe('/var/lib/b');
    expect(get(rename, 'evt.abspath.src')).toBe('/var/lib/b');
    expect(get(rename, 'evt.abspath.dst')).toBe('/root/c');
    const unknownDir = evt({
      type: 'unlinkat',
      thread: cat,
      params: [p('res', 0), p('dirfd', 9), p('name', 'x')],
    });
    expect(get(unknownDir, 'evt.abspath')).toBe('<UNKNOWN>/x');
    expect(
      get(evt({ type: 'mkdirat', thread: cat, params: [p('dirfd', 9), p('path', '/abs/p')] }), 'evt.abspath'),
    ).toBe('/abs/p');
    expect(get(evt({ type: 'execve', thread: cat }), 'evt.abspath')).toBeUndefined();
  });

  it('keeps obsolete latency fields at zero', () => {
    expect(get(openOk, 'evt.latency')).toBe(0);
    expect(get(openOk, 'evt.latency.human')).toBe('0ns');
    expect(get(openOk, 'evt.wait_latency')).toBe(0);
  });
});

describe('proc.* / thread.* fields', () => {
  const { cat, bash } = lineageOf();
  const e = evt({ thread: cat });

  it('gives the process, its parent and its command line', () => {
    expect(get(e, 'proc.name')).toBe('cat');
    expect(get(e, 'proc.exe')).toBe('cat');
    expect(get(e, 'proc.exepath')).toBe('/usr/bin/cat');
    expect(get(e, 'proc.args')).toBe('/etc/shadow -n');
    expect(get(e, 'proc.cmdline')).toBe('cat /etc/shadow -n');
    expect(get(e, 'proc.exeline')).toBe('cat /etc/shadow -n');
    expect(get(e, 'proc.cmdnargs')).toBe(2);
    expect(get(e, 'proc.cmdlenargs')).toBe(13);
    expect(get(e, 'proc.pname')).toBe('bash');
    expect(get(e, 'proc.pexe')).toBe('-bash');
    expect(get(e, 'proc.pexepath')).toBe('/usr/bin/bash');
    expect(get(e, 'proc.pcmdline')).toBe('bash');
    expect(get(e, 'proc.pid')).toBe(1001);
    expect(get(e, 'proc.ppid')).toBe(1000);
    expect(get(e, 'proc.vpid')).toBe(1001);
    expect(get(e, 'proc.pvpid')).toBeUndefined();
    expect(get(e, 'thread.tid')).toBe(1001);
    expect(get(e, 'thread.ismain')).toBe(true);
    expect(get(e, 'thread.nametid')).toBe('cat1001');
    expect(get(e, 'proc.cwd')).toBe('/root/');
    expect(get(e, 'proc.tty')).toBe(34816);
  });

  it('walks ancestors by level and gives the lineage without an index', () => {
    expect(get(e, 'proc.aname[0]')).toBe('cat');
    expect(get(e, 'proc.aname[1]')).toBe('bash');
    expect(get(e, 'proc.aname[3]')).toBe('systemd');
    expect(get(e, 'proc.aname[4]')).toBeUndefined();
    expect(get(e, 'proc.aname')).toEqual(['cat', 'bash', 'sshd', 'systemd']);
    expect(get(e, 'proc.apid[2]')).toBe(900);
    expect(get(e, 'proc.apid')).toEqual([1001, 1000, 900, 1]);
    expect(get(e, 'proc.aexe[2]')).toBe('/usr/sbin/sshd');
    expect(get(e, 'proc.aexepath[3]')).toBe('/usr/lib/systemd/systemd');
    expect(get(e, 'proc.acmdline[2]')).toBe('sshd -D');
    expect(get(e, 'proc.aargs[2]')).toBe('-D');
    expect(get(e, 'proc.acmdline')).toEqual(['cat /etc/shadow -n', 'bash', 'sshd -D', 'systemd']);
  });

  it('stops ancestor walks on a parent loop', () => {
    const a = thread({ tid: 5, pid: 5, comm: 'a' });
    const b = thread({ tid: 6, pid: 6, comm: 'b', parent: a });
    a.parent = b;
    expect(get(evt({ thread: a }), 'proc.aname')).toEqual(['a', 'b']);
  });

  it('reads the environment, of the process and of ancestors', () => {
    expect(get(e, 'proc.env')).toBe('HOME=/root TERM=xterm');
    expect(get(e, 'proc.env[TERM]')).toBe('xterm');
    expect(get(e, 'proc.env[NOPE]')).toBe('');
    expect(get(evt({ thread: bash }), 'proc.env')).toBe('HOME=/root SHELL=/bin/bash LANG=C');
    expect(get(e, 'proc.aenv[1]')).toBe('HOME=/root SHELL=/bin/bash LANG=C');
    expect(get(e, 'proc.aenv[0]')).toBe('HOME=/root TERM=xterm');
    // [NAME] skips the process itself and takes the first ancestor that sets it.
    expect(get(e, 'proc.aenv[SHELL]')).toBe('/bin/bash');
    expect(get(e, 'proc.aenv[SSHD_OPT]')).toBe('x');
    expect(get(e, 'proc.aenv[TERM]')).toBe('');
    expect(get(e, 'proc.aenv')).toEqual([
      'HOME=/root TERM=xterm',
      'HOME=/root SHELL=/bin/bash LANG=C',
      'SSHD_OPT=x',
      '',
    ]);
    expect(get(evt({ thread: thread() }), 'proc.env')).toBeUndefined();
  });

  it('finds session and group leaders', () => {
    expect(get(e, 'proc.sid')).toBe(1000);
    expect(get(e, 'proc.sname')).toBe('bash');
    expect(get(e, 'proc.sid.exe')).toBe('-bash');
    expect(get(e, 'proc.sid.exepath')).toBe('/usr/bin/bash');
    expect(get(e, 'proc.vpgid.name')).toBe('cat');
    expect(get(e, 'proc.pgid.name')).toBe('cat');
    expect(get(e, 'proc.is_sid_leader')).toBe(false);
    expect(get(e, 'proc.is_pgid_leader')).toBe(true);
    expect(get(e, 'proc.is_vpgid_leader')).toBe(true);
    expect(get(evt({ thread: bash }), 'proc.is_sid_leader')).toBe(true);
    // The leader is gone: the eldest ancestor of the same session stands in.
    const orphanRoot = thread({ tid: 50, pid: 50, comm: 'init', sid: 1 });
    const s1 = thread({ tid: 60, pid: 60, comm: 'tmux', sid: 55, parent: orphanRoot });
    const s2 = thread({ tid: 61, pid: 61, comm: 'zsh', sid: 55, parent: s1 });
    expect(get(evt({ thread: s2 }), 'proc.sname')).toBe('tmux');
    const withLeader = thread({ comm: 'x', sid: 7, sessionLeader: thread({ comm: 'leader' }) });
    expect(get(evt({ thread: withLeader }), 'proc.sname')).toBe('leader');
    expect(get(evt({ thread: thread() }), 'proc.sname')).toBeUndefined();
  });

  it('finds the eldest login shell', () => {
    expect(get(e, 'proc.loginshellid')).toBe(1000);
    expect(get(evt({ thread: thread({ comm: 'cron' }) }), 'proc.loginshellid')).toBeUndefined();
  });

  it('computes durations and start times', () => {
    expect(get(e, 'proc.duration')).toBe(1_500_000_000);
    expect(get(e, 'proc.ppid.duration')).toBe(61_500_000_000);
    expect(get(e, 'proc.pid.ts')).toBe(T0);
    expect(get(evt({ thread: thread({ startTs: 0n }) }), 'proc.duration')).toBeUndefined();
    expect(get(e, 'proc.exe_ino')).toBe(1234);
    expect(get(e, 'proc.exe_ino.ctime')).toBe(T0 - 5_000_000_000n);
    expect(get(e, 'proc.exe_ino.ctime_duration_proc_start')).toBe(5_000_000_000);
    expect(get(evt({ thread: thread({ exeIno: 0 }) }), 'proc.exe_ino')).toBeUndefined();
  });

  it('renders capability sets by name', () => {
    expect(get(e, 'thread.cap_effective')).toBe('CAP_CHOWN CAP_NET_ADMIN CAP_SYS_ADMIN');
    expect(get(e, 'thread.cap_permitted')).toBe('');
    expect(get(e, 'thread.cap_inheritable')).toBeUndefined();
    expect(capabilitiesText((1n << 41n) - 1n).split(' ')).toHaveLength(41);
  });

  it('reports the executable flags as given', () => {
    expect(get(e, 'proc.is_exe_upper_layer')).toBe(true);
    expect(get(e, 'proc.is_exe_from_memfd')).toBe(false);
    expect(get(e, 'proc.is_exe_writable')).toBeUndefined();
  });

  it('gives user and group data', () => {
    expect(get(e, 'user.uid')).toBe(0);
    expect(get(e, 'user.name')).toBe('root');
    expect(get(e, 'user.homedir')).toBe('/root');
    expect(get(e, 'user.shell')).toBe('/bin/bash');
    expect(get(e, 'user.loginuid')).toBe(1000);
    expect(get(e, 'user.loginname')).toBe('alice');
    expect(get(e, 'group.gid')).toBe(0);
    expect(get(e, 'group.name')).toBe('root');
    expect(get(evt({ thread: thread({ loginuid: 0xffffffff }) }), 'user.loginuid')).toBe(-1);
    expect(get(evt({ thread: thread({ loginuid: -1 }) }), 'user.loginuid')).toBe(-1);
    expect(get(evt({ thread: thread() }), 'user.name')).toBeUndefined();
  });

  it('reads the standard fds of the process', () => {
    const fds = new Map<number, FdInfo>([
      [0, { num: 0, type: 'file', name: '/dev/pts/0' }],
      [1, { num: 1, type: 'pipe', name: 'pipe:[42]' }],
    ]);
    const w = evt({ thread: { ...cat, fds } });
    expect(get(w, 'proc.stdin.type')).toBe('file');
    expect(get(w, 'proc.stdout.name')).toBe('pipe:[42]');
    expect(get(w, 'proc.stderr.type')).toBeUndefined();
    expect(get(w, 'proc.fdopencount')).toBe(2);
  });

  it('answers missing for data the event model does not carry', () => {
    for (const f of [
      'proc.vmsize',
      'thread.cgroups',
      'thread.cgroup.cpuacct',
      'proc.nthreads',
      'thread.cpu',
    ]) {
      expect(get(e, f)).toBeUndefined();
    }
  });

  it('gives no thread-based value when the source has no thread for the event', () => {
    // libsinsp: an event without a thread (the idle task of a scheduler switch) has no proc.*, thread.*
    // (but thread.tid, from the event header), user.*, group.*, container.* or fd.* values.
    const fds = new Map<number, FdInfo>([[3, { num: 3, type: 'file', name: '/etc/passwd' }]]);
    const none: ThreadInfo = { tid: 0, pid: 0, comm: '', exe: '', args: [], missing: true, fds };
    const e = evt({ type: 'read', res: 1, thread: none, params: [p('res', 1), p('fd', 3)] });
    for (const f of [
      'proc.name',
      'proc.pid',
      'proc.exe',
      'proc.cmdline',
      'proc.args',
      'proc.aname[1]',
      'thread.vtid',
      'thread.ismain',
      'user.uid',
      'user.name',
      'group.gid',
      'container.id',
      'container.name',
      'k8s.pod.name',
      'fd.num',
      'fd.name',
      'fd.typechar',
    ]) {
      expect([f, get(e, f)]).toEqual([f, undefined]);
    }
    expect(get(e, 'thread.tid')).toBe(0);
    expect(get(e, 'evt.type')).toBe('read');
    // The same event with a thread has values.
    const known = { ...e, thread: { ...none, missing: false, comm: 'swapper' } };
    expect(get(known, 'proc.name')).toBe('swapper');
    expect(get(known, 'container.id')).toBe('host');
    expect(get(known, 'fd.name')).toBe('/etc/passwd');
  });
});

describe('fd.* fields', () => {
  const { cat } = lineageOf();

  it('describes a file fd', () => {
    const e = evt({
      type: 'openat',
      res: 3,
      thread: cat,
      fd: {
        num: 3,
        type: 'file',
        name: '/etc/ssl/certs/ca.pem',
        nameRaw: 'certs//ca.pem',
        devMajor: 8,
        devMinor: 1,
        ino: 77,
        openFlags: 1 | 32768,
      },
    });
    expect(get(e, 'fd.num')).toBe(3);
    expect(get(e, 'fd.type')).toBe('file');
    expect(get(e, 'fd.typechar')).toBe('f');
    expect(get(e, 'fd.name')).toBe('/etc/ssl/certs/ca.pem');
    expect(get(e, 'fd.directory')).toBe('/etc/ssl/certs');
    expect(get(e, 'fd.filename')).toBe('ca.pem');
    expect(get(e, 'fd.nameraw')).toBe('certs/ca.pem');
    expect(get(e, 'fd.dev')).toBe((8 << 20) | 1);
    expect(get(e, 'fd.dev.major')).toBe(8);
    expect(get(e, 'fd.dev.minor')).toBe(1);
    expect(get(e, 'fd.ino')).toBe(77);
    expect(get(e, 'fd.is_upper_layer')).toBe(true);
    expect(get(e, 'fd.is_lower_layer')).toBe(false);
    expect(get(e, 'fd.l4proto')).toBe('<NA>');
    expect(get(e, 'fd.sockfamily')).toBeUndefined();
    expect(get(e, 'fd.is_server')).toBe(false);
    expect(get(e, 'fd.connected')).toBe(false);
    expect(get(e, 'fd.name_changed')).toBe(false);
    expect(get(e, 'fd.cip')).toBeUndefined();
    expect(get(e, 'fd.ip')).toBeUndefined();
    expect(get(e, 'fd.uid')).toBe('10013');
    expect(get(e, 'fd.containername')).toBe(':/etc/ssl/certs/ca.pem');
    expect(get(e, 'fd.containerdirectory')).toBe(':/etc/ssl/certs');
  });

  it('splits paths the libsinsp way', () => {
    const at = (name: string, type: FdInfo['type'] = 'file'): SyscallEvent =>
      evt({ type: 'read', thread: cat, fd: { num: 3, type, name } });
    expect(get(at('/etc'), 'fd.directory')).toBe('/');
    expect(get(at('/etc'), 'fd.filename')).toBe('etc');
    expect(get(at('/var/log/'), 'fd.directory')).toBe('/var/log/');
    expect(get(at('/var/log/'), 'fd.filename')).toBe('/var/log/');
    expect(get(at('relative'), 'fd.filename')).toBe('/');
    expect(get(at('/srv/data', 'directory'), 'fd.directory')).toBe('/srv/data');
    expect(get(at('/srv/data', 'directory'), 'fd.filename')).toBeUndefined();
    expect(get(at('pipe:[3]', 'pipe'), 'fd.directory')).toBeUndefined();
  });

  it('gives the typechar and type string of every kind', () => {
    const expected: [FdInfo['type'], string, string][] = [
      ['file', 'f', 'file'],
      ['directory', 'd', 'directory'],
      ['ipv4', '4', 'ipv4'],
      ['ipv6', '6', 'ipv6'],
      ['unix', 'u', 'unix'],
      ['pipe', 'p', 'pipe'],
      ['event', 'e', 'event'],
      ['signalfd', 's', 'signalfd'],
      ['eventpoll', 'l', 'eventpoll'],
      ['inotify', 'i', 'inotify'],
      ['timerfd', 't', 'timerfd'],
      ['netlink', 'n', 'netlink'],
      ['bpf', 'b', 'bpf'],
      ['userfaultfd', 'u', 'userfaultfd'],
      ['io_uring', 'r', 'io_uring'],
      ['memfd', 'm', 'memfd'],
      ['pidfd', 'P', 'pidfd'],
      ['unknown', 'o', '<NA>'],
    ];
    for (const [type, ch, str] of expected) {
      const e = evt({ type: 'read', thread: cat, fd: { num: 3, type, name: 'x' } });
      expect([type, get(e, 'fd.typechar'), get(e, 'fd.type')]).toEqual([type, ch, str]);
    }
  });

  it('takes names from the parameters when a creating call failed', () => {
    const failedOpenat = evt({
      type: 'openat',
      res: -2,
      thread: cat,
      params: [p('fd', -2, 'ENOENT', '-2'), p('dirfd', -100), p('name', '../etc//missing'), p('flags', 1)],
    });
    // libsinsp: the thread's last fd stays -1 (set by the enter event) when the open fails.
    expect(get(failedOpenat, 'fd.num')).toBe(-1);
    expect(get(failedOpenat, 'fd.uid')).toBe('1001-1');
    expect(get(failedOpenat, 'fd.name')).toBe('/etc/missing');
    expect(get(failedOpenat, 'fd.nameraw')).toBe('../etc/missing');
    expect(get(failedOpenat, 'fd.directory')).toBe('/etc');
    expect(get(failedOpenat, 'fd.filename')).toBeUndefined();
    expect(get(failedOpenat, 'fd.typechar')).toBe('f');
    expect(get(failedOpenat, 'fd.type')).toBeUndefined();
    const failedOpen = evt({
      type: 'open',
      res: -13,
      thread: cat,
      params: [p('fd', -13), p('name', 'x', '/root/x')],
    });
    expect(get(failedOpen, 'fd.name')).toBe('/root/x');
    const failedConnect = evt({
      type: 'connect',
      res: -111,
      thread: cat,
      params: [p('res', -111), p('tuple', null as never, '10.0.0.1:4000->10.0.0.2:80')],
      fd: { num: 4, type: 'ipv4', name: 'old-name' },
    });
    expect(get(failedConnect, 'fd.name')).toBe('10.0.0.1:4000->10.0.0.2:80');
    // An enter event of a creating call has no name yet; another fd event without fd an empty one.
    expect(get(evt({ type: 'openat', dir: '>', thread: cat }), 'fd.name')).toBeUndefined();
    expect(get(evt({ type: 'close', res: 0, thread: cat }), 'fd.name')).toBe('');
    expect(get(evt({ type: 'socket', res: -1, thread: cat }), 'fd.typechar')).toBe('4');
    expect(get(evt({ type: 'close', thread: cat }), 'fd.typechar')).toBe('o');
  });

  it("gives fd.num as the thread's last event fd", () => {
    // Kept by the state engine: it wins over the event's own parameters.
    const kept = evt({ type: 'read', res: 4, thread: { ...cat, lastEventFd: 7 }, params: [p('fd', 3)] });
    expect(get(kept, 'fd.num')).toBe(7);
    expect(get(kept, 'fd.uid')).toBe('10017');
    // Without it: -1 on the enter event of a creating call, the fd on the enter of a using call.
    expect(get(evt({ type: 'openat', dir: '>', thread: cat, params: [p('dirfd', -100)] }), 'fd.num')).toBe(
      -1,
    );
    expect(get(evt({ type: 'socket', dir: '>', thread: cat, params: [p('domain', 2)] }), 'fd.num')).toBe(-1);
    expect(
      get(evt({ type: 'read', dir: '>', thread: cat, params: [p('fd', 5), p('size', 10)] }), 'fd.num'),
    ).toBe(5);
    // On an exit: the event's fd, the fd the call used, -1 when a creating call failed or nothing says.
    expect(
      get(evt({ type: 'close', res: 0, thread: cat, params: [p('res', 0), p('fd', 6)] }), 'fd.num'),
    ).toBe(6);
    expect(get(evt({ type: 'close', res: 0, thread: cat, params: [p('res', 0)] }), 'fd.num')).toBe(-1);
    expect(get(evt({ type: 'socket', res: -24, thread: cat, params: [p('fd', -24)] }), 'fd.num')).toBe(-1);
  });

  it('has no fd on enter events whose exit event alone carries the fd (setsockopt, fchown...)', () => {
    for (const type of ['setsockopt', 'getsockopt', 'fchown', 'newfstatat']) {
      const enter = evt({ type, dir: '>', thread: cat });
      expect([type, get(enter, 'fd.typechar'), get(enter, 'fd.num')]).toEqual([type, undefined, undefined]);
      // The exit event is an fd event: no fd in the table, so the generic 'o'.
      expect([type, get(evt({ type, res: 0, thread: cat }), 'fd.typechar')]).toEqual([type, 'o']);
    }
  });

  it('answers missing on events that have nothing to do with fds', () => {
    const e = evt({ type: 'execve', thread: cat });
    for (const f of ['fd.num', 'fd.name', 'fd.typechar', 'fd.type', 'fd.directory', 'fd.uid', 'fd.types']) {
      expect(get(e, f)).toBeUndefined();
    }
  });

  it('finds the fd in the process table through the fd parameter', () => {
    const fds = new Map<number, FdInfo>([[9, { num: 9, type: 'file', name: '/var/log/syslog' }]]);
    const e = evt({ type: 'write', res: 10, thread: { ...cat, fds }, params: [p('res', 10), p('fd', 9)] });
    expect(get(e, 'fd.name')).toBe('/var/log/syslog');
    expect(get(e, 'fd.num')).toBe(9);
  });

  it('resolves a relative openat against a directory fd', () => {
    const fds = new Map<number, FdInfo>([[5, { num: 5, type: 'directory', name: '/opt/app' }]]);
    const e = evt({
      type: 'openat',
      res: -2,
      thread: { ...cat, fds },
      params: [p('fd', -2), p('dirfd', 5), p('name', 'conf/a.yaml')],
    });
    expect(get(e, 'fd.name')).toBe('/opt/app/conf/a.yaml');
  });

  describe('sockets', () => {
    const client: FdInfo = {
      num: 4,
      type: 'ipv4',
      name: '10.0.0.5:51000->93.184.216.34:443',
      l4proto: 'tcp',
      cip: '10.0.0.5',
      cport: 51000,
      sip: '93.184.216.34',
      sport: 443,
      connected: true,
      nameChanged: true,
    };
    const server: FdInfo = {
      ...client,
      name: '1.2.3.4:6000->10.0.0.5:22',
      cip: '1.2.3.4',
      cport: 6000,
      sip: '10.0.0.5',
      sport: 22,
      isServer: true,
    };
    const listening: FdInfo = {
      num: 3,
      type: 'ipv6',
      name: ':::8080',
      l4proto: 'tcp',
      sip: '::',
      sport: 8080,
    };

    it('gives client, server, local and remote ends', () => {
      const e = evt({ type: 'connect', res: 0, thread: cat, fd: client });
      expect(get(e, 'fd.cip')).toBe('10.0.0.5');
      expect(get(e, 'fd.sip')).toBe('93.184.216.34');
      expect(get(e, 'fd.cport')).toBe(51000);
      expect(get(e, 'fd.sport')).toBe(443);
      expect(get(e, 'fd.lip')).toBe('10.0.0.5');
      expect(get(e, 'fd.rip')).toBe('93.184.216.34');
      expect(get(e, 'fd.lport')).toBe(51000);
      expect(get(e, 'fd.rport')).toBe(443);
      expect(get(e, 'fd.lnet')).toBe('10.0.0.5');
      expect(get(e, 'fd.rnet')).toBe('93.184.216.34');
      expect(get(e, 'fd.cnet')).toBe('10.0.0.5');
      expect(get(e, 'fd.snet')).toBe('93.184.216.34');
      expect(get(e, 'fd.sproto')).toBe('443');
      expect(get(e, 'fd.lproto')).toBe('51000');
      expect(get(e, 'fd.l4proto')).toBe('tcp');
      expect(get(e, 'fd.sockfamily')).toBe('ip');
      expect(get(e, 'fd.is_server')).toBe(false);
      expect(get(e, 'fd.connected')).toBe(true);
      expect(get(e, 'fd.name_changed')).toBe(true);
      expect(get(e, 'fd.typechar')).toBe('4');
    });

    it('swaps local and remote for the accepting side', () => {
      const e = evt({ type: 'accept4', res: 5, thread: cat, fd: server });
      expect(get(e, 'fd.lip')).toBe('10.0.0.5');
      expect(get(e, 'fd.rip')).toBe('1.2.3.4');
      expect(get(e, 'fd.lport')).toBe(22);
      expect(get(e, 'fd.rport')).toBe(6000);
      expect(get(e, 'fd.rproto')).toBe('6000');
      expect(get(e, 'fd.is_server')).toBe(true);
    });

    it('gives both ends for fd.ip / fd.net / fd.port / fd.proto', () => {
      const e = evt({ type: 'connect', res: 0, thread: cat, fd: client });
      expect(get(e, 'fd.ip')).toEqual(['10.0.0.5', '93.184.216.34']);
      expect(get(e, 'fd.net')).toEqual(['10.0.0.5', '93.184.216.34']);
      expect(get(e, 'fd.port')).toEqual([51000, 443]);
      expect(get(e, 'fd.proto')).toEqual([51000, 443]);
      expect(syscallFields.lookup('fd.ip')!.def.multiValue).toBe('either-end');
    });

    it('treats a listening socket as server-only', () => {
      const e = evt({ type: 'listen', res: 0, thread: cat, fd: listening });
      expect(get(e, 'fd.sip')).toBe('::');
      expect(get(e, 'fd.sport')).toBe(8080);
      expect(get(e, 'fd.cip')).toBeUndefined();
      expect(get(e, 'fd.lip')).toBeUndefined();
      expect(get(e, 'fd.ip')).toEqual(['::']);
      expect(get(e, 'fd.port')).toEqual([8080]);
      expect(get(e, 'fd.is_server')).toBe(true);
      expect(get(e, 'fd.typechar')).toBe('6');
    });

    it('has no IP data on unix sockets', () => {
      const e = evt({
        type: 'connect',
        res: 0,
        thread: cat,
        fd: { num: 3, type: 'unix', name: '/run/docker.sock' },
      });
      expect(get(e, 'fd.sockfamily')).toBe('unix');
      expect(get(e, 'fd.l4proto')).toBe('<NA>');
      expect(get(e, 'fd.sip')).toBeUndefined();
      expect(get(e, 'fd.ip')).toBeUndefined();
      expect(get(e, 'fd.typechar')).toBe('u');
    });

    it('has no DNS names (no resolver in the engine)', () => {
      expect(get(evt({ type: 'connect', thread: cat, fd: client }), 'fd.sip.name')).toBeUndefined();
    });
  });

  it('lists the kinds of open fds', () => {
    const fds = new Map<number, FdInfo>([
      [0, { num: 0, type: 'file', name: '/dev/null' }],
      [1, { num: 1, type: 'pipe', name: 'p' }],
      [2, { num: 2, type: 'file', name: '/dev/null' }],
      [3, { num: 3, type: 'ipv4', name: 's' }],
    ]);
    const e = evt({ type: 'read', thread: { ...cat, fds }, fd: fds.get(3)! });
    expect(get(e, 'fd.types')).toEqual(['file', 'pipe', 'ipv4']);
    expect(get(e, 'fd.types[1]')).toEqual(['pipe']);
    expect(get(e, 'fd.types[7]')).toBeUndefined();
  });
});

describe('fs.path.* fields', () => {
  const { cat } = lineageOf();

  it('reads the path of successful path calls, made absolute', () => {
    const mkdir = evt({
      type: 'mkdirat',
      res: 0,
      thread: cat,
      params: [p('res', 0), p('dirfd', -100), p('path', 'new/dir')],
    });
    expect(get(mkdir, 'fs.path.name')).toBe('/root/new/dir');
    expect(get(mkdir, 'fs.path.nameraw')).toBe('new/dir');
    expect(get(mkdir, 'fs.path.source')).toBeUndefined();
    const failed = evt({ type: 'unlink', res: -2, thread: cat, params: [p('res', -2), p('path', '/x')] });
    expect(get(failed, 'fs.path.name')).toBeUndefined();
    const open = evt({ type: 'openat', res: 3, thread: cat, params: [p('fd', 3), p('name', '/etc/passwd')] });
    expect(get(open, 'fs.path.name')).toBe('/etc/passwd');
    const openFailed = evt({
      type: 'open',
      res: -1,
      thread: cat,
      params: [p('fd', -1), p('name', '/etc/passwd')],
    });
    expect(get(openFailed, 'fs.path.name')).toBeUndefined();
    const fchmod = evt({
      type: 'fchmod',
      res: 0,
      thread: cat,
      params: [p('res', 0), p('fd', 3)],
      fd: { num: 3, type: 'file', name: '/srv/f' },
    });
    expect(get(fchmod, 'fs.path.name')).toBe('/srv/f');
  });

  it('reads source and target of two-path calls', () => {
    const link = evt({
      type: 'linkat',
      res: 0,
      thread: cat,
      params: [p('res', 0), p('oldpath', '/etc/shadow'), p('newpath', 'sh')],
    });
    expect(get(link, 'fs.path.source')).toBe('/root/sh');
    expect(get(link, 'fs.path.sourceraw')).toBe('sh');
    expect(get(link, 'fs.path.target')).toBe('/etc/shadow');
    const symlink = evt({
      type: 'symlinkat',
      res: 0,
      thread: cat,
      params: [p('res', 0), p('target', '/etc'), p('linkpath', '/tmp/l')],
    });
    expect(get(symlink, 'fs.path.source')).toBe('/tmp/l');
    expect(get(symlink, 'fs.path.target')).toBe('/etc');
    expect(get(symlink, 'fs.path.name')).toBeUndefined();
  });
});

describe('fdlist.* fields', () => {
  it('lists the fds of a poll call', () => {
    const { cat } = lineageOf();
    const fds = new Map<number, FdInfo>([
      [3, { num: 3, type: 'ipv4', name: 'a', cip: '1.1.1.1', cport: 10, sip: '2.2.2.2', sport: 20 }],
      [4, { num: 4, type: 'file', name: '/f' }],
    ]);
    const e = evt({
      type: 'poll',
      thread: { ...cat, fds },
      params: [p('res', 1), p('fds', '3:i1 4:i1 8:o1')],
    });
    expect(get(e, 'fdlist.nums')).toBe('3,4,8');
    expect(get(e, 'fdlist.names')).toBe('a,/f');
    expect(get(e, 'fdlist.cips')).toBe('1.1.1.1');
    expect(get(e, 'fdlist.sports')).toBe('20');
    expect(get(evt({ type: 'poll', thread: cat }), 'fdlist.nums')).toBeUndefined();
  });
});

describe('container.* and k8s.* fields', () => {
  const { cat } = lineageOf();

  it('treats processes outside containers as the host pseudo-container', () => {
    const e = evt({ thread: cat });
    expect(get(e, 'container.id')).toBe('host');
    expect(get(e, 'container.full_id')).toBe('host');
    expect(get(e, 'container.name')).toBe('host');
    expect(get(e, 'container.type')).toBe('host');
    expect(get(e, 'container.image')).toBe('');
    expect(get(e, 'container.image.repository')).toBe('');
    expect(get(e, 'container.privileged')).toBe(false);
    expect(get(e, 'container.labels')).toBe('');
    expect(get(e, 'container.label[app]')).toBeUndefined();
    expect(get(e, 'k8s.ns.name')).toBeUndefined();
    expect(get(e, 'k8s.pod.name')).toBeUndefined();
    expect(get(e, 'k8s.pod.sandbox_id')).toBe('');
    expect(get(evt({ thread: { ...cat, containerId: 'host' } }), 'container.id')).toBe('host');
  });

  const info: ContainerInfo = {
    id: '3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e',
    fullId: '3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e',
    name: 'k8s_web_shop',
    image: 'registry.local/shop/web:1.2',
    imageRepository: 'registry.local/shop/web',
    imageTag: '1.2',
    imageDigest: 'sha256:abc',
    type: 'containerd',
    privileged: true,
    hostNetwork: true,
    startTs: T0 - 3_000_000_000n,
    ip: '10.1.2.3',
    labels: { app: 'web', 'io.kubernetes.pod.name': 'web-1', 'annotation.x': 'y', team: '' },
    mounts: [
      {
        source: '/var/run/docker.sock',
        dest: '/var/run/docker.sock',
        mode: '',
        rdwr: true,
        propagation: 'rprivate',
      },
      { source: '/data', dest: '/srv', mode: 'ro', rdwr: false, propagation: '' },
    ],
    k8s: {
      namespace: 'shop',
      podName: 'web-1',
      podUid: '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
      podLabels: { tier: 'front', app: 'web' },
      sandboxId: '63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a',
    },
  };

  it('reads container metadata', () => {
    const e = evt({ thread: { ...cat, containerId: '3ad7b26ded6d' }, container: info });
    expect(get(e, 'container.id')).toBe('3ad7b26ded6d');
    expect(get(e, 'container.full_id')).toBe(info.fullId);
    expect(get(e, 'container.name')).toBe('k8s_web_shop');
    expect(get(e, 'container.image')).toBe('registry.local/shop/web:1.2');
    expect(get(e, 'container.image.repository')).toBe('registry.local/shop/web');
    expect(get(e, 'container.image.tag')).toBe('1.2');
    expect(get(e, 'container.image.digest')).toBe('sha256:abc');
    expect(get(e, 'container.image.id')).toBe('');
    expect(get(e, 'container.type')).toBe('containerd');
    expect(get(e, 'container.privileged')).toBe(true);
    expect(get(e, 'container.host_network')).toBe(true);
    expect(get(e, 'container.host_pid')).toBe(false);
    expect(get(e, 'container.ip')).toBe('10.1.2.3');
    expect(get(e, 'container.start_ts')).toBe(T0 - 3_000_000_000n);
    expect(get(e, 'container.duration')).toBe(4_500_000_000);
    expect(get(e, 'container.label[app]')).toBe('web');
    expect(get(e, 'container.label.app')).toBe('web');
    expect(get(e, 'container.label[nope]')).toBeUndefined();
    expect(get(e, 'container.labels')).toBe('app:web, team');
    expect(get(e, 'container.healthcheck')).toBe('NONE');
  });

  it('reads mounts by index, by source and by destination', () => {
    const e = evt({ thread: cat, container: info });
    expect(get(e, 'container.mounts')).toBe(
      '/var/run/docker.sock:/var/run/docker.sock::true:rprivate,/data:/srv:ro:false:',
    );
    expect(get(e, 'container.mount[1]')).toBe('/data:/srv:ro:false:');
    expect(get(e, 'container.mount[/var/run/*]')).toBe(
      '/var/run/docker.sock:/var/run/docker.sock::true:rprivate',
    );
    expect(get(e, 'container.mount.dest[/data]')).toBe('/srv');
    expect(get(e, 'container.mount.source[/srv]')).toBe('/data');
    expect(get(e, 'container.mount.rdwr[0]')).toBe('true');
    expect(get(e, 'container.mount.mode[/data]')).toBe('ro');
    expect(get(e, 'container.mount[5]')).toBeUndefined();
    expect(_internals.globMatch('/a?c/*', '/abc/x/y')).toBe(true);
    expect(_internals.globMatch('/a.c', '/abc')).toBe(false);
  });

  it('reads pod metadata', () => {
    const e = evt({ thread: cat, container: info });
    expect(get(e, 'k8s.ns.name')).toBe('shop');
    expect(get(e, 'k8s.pod.name')).toBe('web-1');
    expect(get(e, 'k8s.pod.uid')).toBe('3e41dc6b-08a8-44db-bc2a-3724b18ab19a');
    expect(get(e, 'k8s.pod.id')).toBe('3e41dc6b-08a8-44db-bc2a-3724b18ab19a');
    expect(get(e, 'k8s.pod.sandbox_id')).toBe('63060edc2d3a');
    expect(get(e, 'k8s.pod.full_sandbox_id')).toBe(info.k8s!.sandboxId);
    expect(get(e, 'k8s.pod.label[tier]')).toBe('front');
    expect(get(e, 'k8s.pod.label.app')).toBe('web');
    expect(get(e, 'k8s.pod.labels')).toBe('app:web, tier:front');
    expect(get(e, 'k8s.pod.ip')).toBe('10.1.2.3');
    expect(get(e, 'k8s.rc.name')).toBeUndefined();
    const noPod = evt({ thread: cat, container: { id: 'abc', name: 'plain' } });
    expect(get(noPod, 'k8s.ns.name')).toBeUndefined();
    expect(get(noPod, 'container.name')).toBe('plain');
    expect(get(noPod, 'container.image')).toBe('');
  });

  it('gives empty strings while a container has no metadata yet', () => {
    const e = evt({ thread: { ...cat, containerId: 'deadbeef0001' } });
    expect(get(e, 'container.id')).toBe('deadbeef0001');
    expect(get(e, 'container.name')).toBe('');
    expect(get(e, 'container.image.repository')).toBe('');
    expect(get(e, 'k8s.ns.name')).toBe('');
    expect(get(e, 'container.privileged')).toBeUndefined();
    expect(get(e, 'fd.containername')).toBeUndefined();
  });
});
