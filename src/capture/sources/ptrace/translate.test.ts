import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyscallEvent } from '../../../engine/event.js';
import { syscallFields } from '../../../engine/fields/index.js';
import { StateEngine } from '../../state/state-engine.js';
import {
  PTRACE_STATE_SYSCALLS,
  PTRACE_SYSCALLS,
  StraceTranslator,
  applyFdHints,
  ipv6Bytes,
  ptraceCaptureSet,
  type TranslateContext,
} from './translate.js';

const GOLDEN = join(import.meta.dirname, '../../../../test/capture/strace-golden');

function field(ev: SyscallEvent, name: string): unknown {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(name);
  const found = syscallFields.lookup(m?.[1] ?? name);
  if (!found) throw new Error(`unknown field ${name}`);
  return syscallFields.extractor(found.def)(ev, m?.[2] ?? found.argFromName);
}

interface Replay {
  events: SyscallEvent[];
  translator: StraceTranslator;
  state: StateEngine;
}

/**
 * Replays a golden fixture through the translator and the state engine, as the source does. /proc
 * is not there to read: a thread nobody announced is seeded from what the trace itself shows (its
 * comm, and the working directory its first AT_FDCWD decoration names), with pid 1 as its parent.
 */
function replay(file: string, extra: Partial<TranslateContext> = {}): Replay {
  const text = readFileSync(join(GOLDEN, file), 'utf8');
  const state = new StateEngine();
  state.addThread({
    tid: 1,
    pid: 1,
    ptid: 0,
    comm: 'init',
    exe: '/sbin/init',
    args: [],
    cwd: '/',
    uid: 0,
    gid: 0,
  });
  const cwdOf = (tid: number): string =>
    new RegExp(`^${tid}<[^>]*> \\S+ .*?AT_FDCWD<([^>]*)>`, 'm').exec(text)?.[1] ?? '/';
  const translator = new StraceTranslator({
    thread: (tid) => state.table.get(tid),
    discover: (tid, comm) => {
      state.addThread({
        tid,
        pid: tid,
        ptid: 1,
        comm: comm ?? '',
        exe: comm ?? '',
        args: [],
        cwd: cwdOf(tid),
        uid: 0,
        gid: 0,
      });
    },
    ...extra,
  });
  const events: SyscallEvent[] = [];
  for (const line of text.split('\n')) {
    for (const t of translator.push(line)) {
      applyFdHints(state, t.fdHints);
      const ev = state.processEvent(t.raw);
      if (ev) events.push(ev);
    }
  }
  translator.finish();
  return { events, translator, state };
}

function ofType(r: Replay, type: string): SyscallEvent[] {
  return r.events.filter((e) => e.type === type);
}

function noUnparsed(r: Replay): void {
  const u = r.translator.stats.unparsed;
  expect(
    u.malformed + u['no-timestamp'] + u['unknown-syscall'] + u['unmatched-resume'] + u['bad-arguments'],
  ).toBe(0);
}

describe('golden: sh -c "cat /etc/hostname; ls /tmp > /dev/null"', () => {
  const r = replay('sh-cat-ls.txt');

  it('reads every line', () => {
    noUnparsed(r);
    expect(r.translator.stats.lostUnfinished).toBe(0);
    // vfork children ran before their parent's vfork returned: their clone was synthesised.
    expect(r.translator.stats.adoptedChildren).toBe(2);
  });

  it('tracks processes: names, command lines, parents, executables', () => {
    const execs = ofType(r, 'execve');
    expect(execs.map((e) => field(e, 'proc.name'))).toEqual(['sh', 'cat', 'ls']);
    // The shell's parent is what /proc would have said; the test seeds pid 1 there.
    expect(execs.map((e) => field(e, 'proc.pname'))).toEqual(['init', 'sh', 'sh']);
    expect(execs.map((e) => field(e, 'proc.cmdline'))).toEqual([
      'sh -c cat /etc/hostname; ls /tmp > /dev/null',
      'cat /etc/hostname',
      'ls /tmp',
    ]);
    expect(field(execs[1]!, 'proc.exepath')).toBe('/usr/bin/cat');
    expect(field(execs[1]!, 'evt.res')).toBe('SUCCESS');
    expect(field(execs[1]!, 'proc.aname[2]')).toBe('init');
    expect(field(execs[1]!, 'proc.env[PWD]')).toBe('/tmp/tmp.ylbFspceja');
  });

  it('gives opens their file, flags and fd', () => {
    const open = ofType(r, 'openat').find((e) => field(e, 'fd.name') === '/etc/hostname');
    expect(open).toBeDefined();
    expect(field(open!, 'proc.name')).toBe('cat');
    expect(field(open!, 'evt.arg.flags')).toBe('O_RDONLY');
    expect(field(open!, 'evt.rawres')).toBe(3);
    expect(field(open!, 'fd.typechar')).toBe('f');
    expect(field(open!, 'evt.is_open_read')).toBe(true);
    const dir = ofType(r, 'openat').find((e) => field(e, 'fd.name') === '/tmp');
    expect(field(dir!, 'fd.type')).toBe('directory');
    expect(field(dir!, 'evt.arg.flags')).toBe('O_DIRECTORY|O_NONBLOCK|O_RDONLY|O_CLOEXEC');
  });

  it('follows fds through dup2 and close', () => {
    const dup = ofType(r, 'dup2')[0]!;
    expect(field(dup, 'fd.name')).toBe('/dev/null');
    expect(field(dup, 'evt.rawres')).toBe(1);
    const closeStdout = ofType(r, 'close').find((e) => field(e, 'proc.name') === 'ls' && e.fd?.num === 1);
    expect(field(closeStdout!, 'fd.name')).toBe('/dev/null');
  });

  it('reports process exits, then forgets the processes', () => {
    const exits = ofType(r, 'procexit');
    expect(exits.map((e) => field(e, 'proc.name'))).toEqual(['cat', 'ls', 'sh']);
    expect(r.state.table.get(27206)).toBeUndefined();
  });

  it('orders each event between its entry time and its end', () => {
    const open = ofType(r, 'openat').find((e) => field(e, 'fd.name') === '/etc/hostname')!;
    // Entry at …261337908 plus the <0.000119526> strace measured.
    expect(open.ts).toBe(1795651137261337908n + 119526n);
  });
});

describe('golden: file operations (sh, mkdir, ln, mv, chmod, rm)', () => {
  const r = replay('file-ops.txt');

  it('reads every line', () => noUnparsed(r));

  it('resolves relative paths against the working directory after cd', () => {
    const open = ofType(r, 'openat').find((e) => field(e, 'evt.rawarg.name') === 'f')!;
    expect(field(open, 'fd.name')).toBe('/tmp/tmp.ylbFspceja/d/f');
    expect(field(open, 'evt.arg.flags')).toBe('O_TRUNC|O_CREAT|O_WRONLY');
    const sym = ofType(r, 'symlinkat')[0]!;
    expect(field(sym, 'evt.arg.target')).toBe('f');
    expect(field(sym, 'evt.arg.linkpath')).toBe('/tmp/tmp.ylbFspceja/d/s');
    expect(field(sym, 'proc.pname')).toBe('sh');
  });

  it('decodes renames, links, chmods and removals', () => {
    const ren = ofType(r, 'renameat2')[0]!;
    expect(field(ren, 'evt.arg.flags')).toBe('RENAME_NOREPLACE');
    expect(field(ren, 'evt.arg.newpath')).toBe('/tmp/tmp.ylbFspceja/d/h2');
    expect(field(ofType(r, 'linkat')[0]!, 'evt.arg.newpath')).toBe('/tmp/tmp.ylbFspceja/d/h');
    expect(field(ofType(r, 'fchmodat')[0]!, 'evt.arg.mode')).toBe('S_IWUSR|S_IRUSR');
    expect(field(ofType(r, 'fchmodat')[0]!, 'evt.rawarg.mode')).toBe(0o600);
    const rmdir = ofType(r, 'unlinkat').find((e) => field(e, 'evt.arg.flags') === 'AT_REMOVEDIR')!;
    expect(field(rmdir, 'evt.arg.name')).toBe('/tmp/tmp.ylbFspceja/d');
    expect(field(ofType(r, 'mkdir')[0]!, 'evt.arg.path')).toBe('/tmp/tmp.ylbFspceja/d');
  });

  it('learns an fd dup-ed by an untraced fcntl from its decoration', () => {
    // rm dup-ed the directory fd 3 to 4 with fcntl(F_DUPFD), which is not traced.
    const un = ofType(r, 'unlinkat').find(
      (e) => field(e, 'evt.arg.dirfd') !== 'AT_FDCWD' && field(e, 'evt.rawarg.dirfd') === 4,
    )!;
    expect(un).toBeDefined();
    expect(field(un, 'evt.arg.name')).toBe('/tmp/tmp.ylbFspceja/d/f');
  });

  it('sees the shell kill its background child', () => {
    const kill = ofType(r, 'kill')[0]!;
    expect(field(kill, 'evt.arg.sig')).toBe('SIGKILL');
    expect(field(kill, 'evt.rawarg.pid')).toBe(27259);
  });
});

describe('golden: python syscalls (memfd, setuid, ptrace, modules, mount, namespaces, execveat)', () => {
  const r = replay('misc.txt');

  it('reads every line', () => noUnparsed(r));

  it('decodes each syscall', () => {
    const memfd = ofType(r, 'memfd_create')[0]!;
    expect(field(memfd, 'fd.name')).toBe('memfd:vigil-memfd');
    expect(field(memfd, 'fd.type')).toBe('memfd');
    expect(field(memfd, 'evt.arg.flags')).toBe('MFD_CLOEXEC');
    const setuid = ofType(r, 'setuid')[0]!;
    expect(field(setuid, 'user.uid')).toBe(65534);
    expect(field(setuid, 'evt.arg.uid')).toBeDefined();
    expect(field(ofType(r, 'setgid')[0]!, 'group.gid')).toBe(65534);
    const ptrace = ofType(r, 'ptrace')[0]!;
    expect(field(ptrace, 'evt.arg.request')).toBe('PTRACE_TRACEME');
    expect(field(ptrace, 'evt.res')).toBe('EPERM');
    expect(field(ofType(r, 'init_module')[0]!, 'evt.res')).toBe('ENOSYS');
    expect(field(ofType(r, 'finit_module')[0]!, 'evt.type')).toBe('finit_module');
    const mount = ofType(r, 'mount')[0]!;
    expect([field(mount, 'evt.arg.dev'), field(mount, 'evt.arg.dir'), field(mount, 'evt.arg.type')]).toEqual([
      'none',
      '/mnt',
      'tmpfs',
    ]);
    expect(field(ofType(r, 'umount2')[0]!, 'evt.arg.flags')).toBe('DETACH');
    expect(field(ofType(r, 'setns')[0]!, 'evt.rawarg.nstype')).toBe(128); // CLONE_NEWUTS in the capture format
    expect(field(ofType(r, 'unshare')[0]!, 'evt.rawarg.flags')).toBe(32); // CLONE_NEWNS in the capture format
    expect(field(ofType(r, 'kill')[0]!, 'evt.arg.sig')).toBe('SIGTERM');
    const sp = ofType(r, 'socketpair')[0]!;
    expect(field(sp, 'fd.type')).toBe('unix');
  });

  it('reports failed calls with their errno', () => {
    const failed = ofType(r, 'openat').filter((e) => field(e, 'evt.res') === 'ENOENT');
    expect(failed.length).toBeGreaterThan(0);
    expect(field(failed[0]!, 'evt.rawres')).toBe(-2);
    expect(field(failed[0]!, 'evt.failed')).toBe(true);
    // As libsinsp does, a failed open still names the file it tried.
    expect(field(failed[0]!, 'fd.name')).toBe('/usr/lib/locale/locale-archive');
  });

  it('runs a program by fd with execveat', () => {
    const ex = ofType(r, 'execveat')[0]!;
    expect(field(ex, 'proc.name')).toBe('true');
    expect(field(ex, 'proc.exepath')).toBe('/usr/bin/true');
    expect(field(ex, 'proc.pname')).toBe('python3');
  });

  it('keeps the exit status of a process', () => {
    const exit = ofType(r, 'procexit').find((e) => field(e, 'user.uid') === 65534)!;
    expect(field(exit, 'evt.arg.ret')).toBe('3');
  });

  it('follows pipes through dup, dup2, dup3', () => {
    const dups = [...ofType(r, 'dup'), ...ofType(r, 'dup2'), ...ofType(r, 'dup3')].filter(
      (e) => field(e, 'proc.name') === 'python3',
    );
    expect(dups.length).toBe(3);
    for (const d of dups) expect(field(d, 'fd.type')).toBe('pipe');
  });
});

describe('golden: node networking (TCP v4/v6, UDP, unix)', () => {
  // The local end of a connecting socket is read from /proc live; without it the tuple's source
  // stays unspecified.
  const r = replay('net-client.txt');
  const text = readFileSync(join(GOLDEN, 'net-client.txt'), 'utf8');

  it('reads every line', () => noUnparsed(r));

  it('gives connect its tuple', () => {
    const [c4, c6] = ofType(r, 'connect');
    expect(field(c4!, 'fd.cip')).toBe('0.0.0.0');
    expect(field(c4!, 'fd.sip')).toBe('127.0.0.1');
    expect(field(c4!, 'fd.sport')).toBeGreaterThan(0);
    expect(field(c4!, 'fd.l4proto')).toBe('tcp');
    expect(field(c4!, 'evt.res')).toBe('EINPROGRESS');
    expect(field(c4!, 'fd.type')).toBe('ipv4');
    expect(field(c6!, 'fd.sip')).toBe('::1');
    expect(field(c6!, 'fd.type')).toBe('ipv6');
  });

  it('gives accept the client and server ends', () => {
    const a = ofType(r, 'accept4')[0]!;
    const c = ofType(r, 'connect')[0]!;
    expect(field(a, 'fd.sport')).toBe(field(c, 'fd.sport'));
    expect(field(a, 'fd.cip')).toBe('127.0.0.1');
    expect(field(a, 'fd.is_server')).toBe(true);
    expect(field(a, 'fd.name')).toMatch(/^127\.0\.0\.1:\d+->127\.0\.0\.1:\d+$/);
  });

  it('uses the socket ends the context reads for the connecting side', () => {
    const r2 = replay('net-client.txt', {
      socketEnds: () => ({ local: { ip: '127.0.0.1', port: 40000 } }),
    });
    const c = ofType(r2, 'connect')[0]!;
    expect(field(c, 'fd.cport')).toBe(40000);
    expect(field(c, 'fd.name')).toMatch(/^127\.0\.0\.1:40000->127\.0\.0\.1:\d+$/);
  });

  it('names UDP sends and unix connections', () => {
    const send = ofType(r, 'sendmsg')[0]!;
    expect(field(send, 'fd.l4proto')).toBe('udp');
    expect(field(send, 'fd.sport')).toBe(9);
    const udpPort = Number(/sendmsg\(\d+<UDP:\[0\.0\.0\.0:(\d+)\]>/.exec(text)?.[1]);
    expect(udpPort).toBeGreaterThan(0);
    expect(field(send, 'fd.cport')).toBe(udpPort);
    const unix = ofType(r, 'connect').find((e) => field(e, 'fd.type') === 'unix')!;
    expect(field(unix, 'fd.name')).toMatch(/vigil\.sock$/);
  });

  it('sees node threads as threads of one process', () => {
    const clones = ofType(r, 'clone3');
    expect(clones.length).toBeGreaterThan(3);
    const tid = Number(field(clones[0]!, 'evt.rawres'));
    const t = r.state.table.get(tid);
    // Threads that exited are gone; a live one shares the node process's pid.
    if (t) expect(t.pid).not.toBe(tid);
    expect(field(clones[0]!, 'evt.arg.flags')).toContain('CLONE_THREAD');
  });
});

describe('golden: attaching to a running shell loop', () => {
  const r = replay('attach.txt');

  it('reads every line and places the processes it did not see start', () => {
    noUnparsed(r);
    const execs = ofType(r, 'execve');
    expect(execs.length).toBeGreaterThan(2);
    for (const e of execs) expect(field(e, 'proc.pname')).toBe('sh');
    expect(new Set(execs.map((e) => field(e, 'proc.name')))).toEqual(new Set(['cat', 'sleep']));
  });
});

describe('translator behaviour', () => {
  function run(lines: string[], ctx: Partial<TranslateContext> = {}, more: number[] = []): Replay {
    const state = new StateEngine();
    for (const tid of [10, ...more])
      state.addThread({ tid, pid: tid, ptid: 1, comm: 'sh', exe: 'sh', args: [], cwd: '/w', uid: 0, gid: 0 });
    const translator = new StraceTranslator({ thread: (tid) => state.table.get(tid), ...ctx });
    const events: SyscallEvent[] = [];
    for (const l of lines)
      for (const t of translator.push(l)) {
        applyFdHints(state, t.fdHints);
        const ev = state.processEvent(t.raw);
        if (ev) events.push(ev);
      }
    translator.finish();
    return { events, translator, state };
  }

  it('joins an unfinished call with its resumption across other threads', () => {
    const r = run([
      '10<sh> 1.000000000 openat(AT_FDCWD</w>, "a", O_RDONLY <unfinished ...>',
      '11<sh> 1.100000000 close(5) = 0 <0.000001000>',
      '10<sh> 1.200000000 <... openat resumed>) = 3</w/a> <0.200000000>',
    ]);
    const open = ofType(r, 'openat')[0]!;
    expect(field(open, 'fd.name')).toBe('/w/a');
    expect(open.ts).toBe(1_200_000_000n);
  });

  it('counts a resumption without its start, and calls that never end', () => {
    const r = run([
      '10<sh> 1.0 <... openat resumed>) = 3 <0.1>',
      '10<sh> 1.0 read(3, "x", 1) = 1 <0.1>',
      '10<sh> 1.0 openat(AT_FDCWD, "b", O_RDONLY <unfinished ...>',
      '10<sh> 2.0 +++ killed by SIGKILL +++',
    ]);
    expect(r.translator.stats.unparsed['unmatched-resume']).toBe(1);
    expect(r.translator.stats.unparsed['unknown-syscall']).toBe(1);
    expect(r.translator.stats.lostUnfinished).toBe(1);
    const exit = ofType(r, 'procexit')[0]!;
    expect(field(exit, 'evt.arg.sig')).toBe('SIGKILL');
    expect(r.translator.stats.samples[0]).toMatch(/^unmatched-resume: /);
  });

  it('asks the context about threads nobody announced', () => {
    const asked: number[] = [];
    run(['77<x> 1.0 close(3) = 0 <0.1>', '77<x> 1.1 close(4) = 0 <0.1>'], {
      discover: (tid) => asked.push(tid),
    });
    expect(asked).toEqual([77]);
  });

  it('picks the parent of an early child by what /proc says', () => {
    const r = run(
      [
        '10<sh> 1.0 vfork( <unfinished ...>',
        '20<sh> 1.0 vfork( <unfinished ...>',
        '30<sh> 1.1 close(3) = 0 <0.1>',
      ],
      { parentOf: (tid) => (tid === 30 ? { ppid: 10, tgid: 30 } : undefined) },
      [20],
    );
    // 20 forked last, but /proc says 30's parent is 10.
    expect(r.state.table.get(30)?.ptid).toBe(10);
    expect(r.translator.stats.adoptedChildren).toBe(1);
  });

  it('uses /proc credentials after execve when the context has them', () => {
    const r = run(['10<sh> 1.0 execve("/usr/bin/sudo", ["sudo", "id"], []) = 0 <0.1>'], {
      execInfo: () => ({ uid: 0, gid: 0, loginuid: 1000, exepath: '/usr/bin/sudo', capEffective: 0x1ffn }),
    });
    const ex = ofType(r, 'execve')[0]!;
    expect(field(ex, 'user.loginuid')).toBe(1000);
    expect(field(ex, 'proc.exepath')).toBe('/usr/bin/sudo');
    expect(field(ex, 'proc.name')).toBe('sudo');
  });

  it('keeps the calling process on a failed execve', () => {
    const r = run(['10<sh> 1.0 execve("/nope", ["nope"], []) = -1 ENOENT (No such file or directory) <0.1>']);
    const ex = ofType(r, 'execve')[0]!;
    expect(field(ex, 'evt.res')).toBe('ENOENT');
    expect(field(ex, 'proc.name')).toBe('sh');
  });

  it('counts strings strace cut short', () => {
    const r = run([
      '10<sh> 1.0 openat(AT_FDCWD, "aaaa"..., O_RDONLY) = -1 ENAMETOOLONG (File name too long) <0.1>',
    ]);
    expect(r.translator.stats.truncated).toBe(1);
    expect(field(ofType(r, 'openat')[0]!, 'evt.res')).toBe('ENAMETOOLONG');
  });

  it('skips restarted calls until they complete', () => {
    const r = run([
      '10<sh> 1.0 connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}, 16) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <0.1>',
    ]);
    expect(r.events).toEqual([]);
    expect(r.translator.stats.unparsed['no-result']).toBe(1);
  });
});

describe('capture set', () => {
  it('adds what the state needs and names what it cannot see', () => {
    const set = ptraceCaptureSet(['openat', 'umount', 'procexit', 'read', 'execve']);
    expect(set.syscalls).toContain('umount2');
    expect(set.syscalls).toContain('clone');
    expect(set.syscalls).not.toContain('procexit');
    expect(set.unsupported).toEqual(['read']);
    for (const s of PTRACE_STATE_SYSCALLS) expect(PTRACE_SYSCALLS).toContain(s);
    expect(ptraceCaptureSet(['openat'], { withState: false }).syscalls).toEqual(['openat']);
  });

  it('writes IPv6 addresses in network order', () => {
    expect([...ipv6Bytes('::1')]).toEqual([...Array(15).fill(0), 1]);
    expect([...ipv6Bytes('fe80::1:2')].slice(0, 2)).toEqual([0xfe, 0x80]);
    expect([...ipv6Bytes('::ffff:10.0.0.1')].slice(10)).toEqual([0xff, 0xff, 10, 0, 0, 1]);
  });
});
