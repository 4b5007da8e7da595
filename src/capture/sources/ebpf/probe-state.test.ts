/**
 * The state engine on exit-only events in the probe's layouts, without close events (the default
 * capture set, see captureSetFor): chdir/fchdir, fds reused by the other fd-making syscalls,
 * close-on-exec fds at execve, and the flags each call reports.
 */
import { describe, expect, it } from 'vitest';
import { SCAP_FD } from '../../scap/reader.js';
import { P } from '../../scap/writer.js';
import { StateEngine } from '../../state/state-engine.js';
import type { SyscallEvent } from '../../../engine/event.js';

// scap values (ppm_events_public.h) and event codes of the probe (vigil-events.h).
const PPM_O_RDONLY = 1;
const PPM_O_CLOEXEC = 1 << 12;
const PPM_O_NONBLOCK = 1 << 6;
const AT_FDCWD = -100;
const EV = {
  openat: 307,
  close: 5,
  chdir: 95,
  fchdir: 97,
  pipe: 61,
  pipe2: 393,
  socket: 19,
  socketpair: 43,
  eventfd2: 397,
  signalfd4: 399,
  inotify_init1: 395,
  epoll_create1: 377,
  memfd_create: 405,
  pidfd_open: 409,
  dup: 367,
  dup2: 363,
  dup3: 365,
  fcntl: 151,
  accept4: 389,
  execve: 293,
} as const;

/** One process, pid 100 with cwd /home/alice/ and stdin from the terminal. */
function world(): {
  engine: StateEngine;
  run: (type: number, params: Uint8Array[]) => SyscallEvent | undefined;
  fd: (n: number) => ReturnType<Map<number, { name: string; type: string }>['get']>;
} {
  const engine = new StateEngine({ hostname: 'box' });
  engine.addThread({
    tid: 100,
    pid: 100,
    ptid: 1,
    comm: 'sh',
    exe: 'sh',
    args: [],
    cwd: '/home/alice',
    uid: 0,
    gid: 0,
  });
  engine.addFd({ tid: 100, fd: 0, ino: 0, type: SCAP_FD.FILE_V2, name: '/dev/pts/0', openFlags: 3 });
  engine.finishBootstrap();
  let ts = 1000n;
  return {
    engine,
    run: (type, params) => engine.processEvent({ ts: (ts += 10n), tid: 100, cpu: 0, type, params }),
    fd: (n) => engine.table.get(100)?.fds.get(n),
  };
}

const openat = (fd: number, name: string, flags = PPM_O_RDONLY, dirfd = AT_FDCWD): Uint8Array[] => [
  P.i64(fd),
  P.i64(dirfd),
  P.str(name),
  P.u32(flags),
  P.u32(0),
  P.u32(0),
  P.u64(0),
];

/** execve exit of the current schema as the probe writes it (31 parameters, trusted_exepath set). */
function execveExit(exe: string, exepath: string, cwd: string): Uint8Array[] {
  return [
    P.i64(0),
    P.str(exe),
    P.list([]),
    P.i64(100),
    P.i64(100),
    P.i64(1),
    P.str(cwd),
    P.u64(1024),
    P.u64(0),
    P.u64(0),
    P.u32(0),
    P.u32(0),
    P.u32(0),
    P.str(exe),
    P.list([]),
    P.list([]),
    P.u32(0),
    P.i64(100),
    P.u32(0),
    P.u32(4), // flags: PPM_EXE_FROM_MEMFD when exepath is a memfd's
    P.u64(0),
    P.u64(0),
    P.u64(0),
    P.u64(0),
    P.u64(0),
    P.u64(0),
    P.u32(0),
    P.str(exepath),
    P.i64(100),
    P.u32(0),
    P.str(exepath),
  ];
}

describe('state on probe events: working directory', () => {
  it('chdir to an absolute and a relative path moves proc.cwd; later relative opens follow it', () => {
    const { run, engine } = world();
    run(EV.chdir, [P.i64(0), P.str('/etc')]);
    expect(engine.table.get(100)?.cwd).toBe('/etc/');
    const open = run(EV.openat, openat(3, 'shadow'));
    expect(open?.fd?.name).toBe('/etc/shadow');
    run(EV.chdir, [P.i64(0), P.str('../usr/./lib')]);
    expect(engine.table.get(100)?.cwd).toBe('/usr/lib/');
    // A failed chdir moves nowhere.
    run(EV.chdir, [P.i64(-2), P.str('/nonexistent')]);
    expect(engine.table.get(100)?.cwd).toBe('/usr/lib/');
  });

  it('fchdir takes the name of the directory fd', () => {
    const { run, engine } = world();
    run(EV.openat, openat(4, '/var/log', PPM_O_RDONLY | (1 << 10)));
    const ev = run(EV.fchdir, [P.i64(0), P.i64(4)]);
    expect(ev?.type).toBe('fchdir');
    expect(engine.table.get(100)?.cwd).toBe('/var/log/');
    expect(run(EV.openat, openat(5, 'syslog'))?.fd?.name).toBe('/var/log/syslog');
  });
});

describe('state on probe events: fd numbers reused without close events', () => {
  it('a pipe, an eventfd, an epoll fd... replace the closed file their number named', () => {
    const { run, fd } = world();
    const cases: [number, Uint8Array[], string][] = [
      [EV.pipe, [P.i64(0), P.i64(3), P.i64(4), P.u64(77)], 'pipe'],
      [EV.eventfd2, [P.i64(3), P.u16(0), P.u64(0)], 'event'],
      [EV.signalfd4, [P.i64(3), P.u16(0), P.i64(-1), P.u32(0)], 'signalfd'],
      [EV.inotify_init1, [P.i64(3), P.u16(0)], 'inotify'],
      [EV.epoll_create1, [P.i64(3), P.u32(0)], 'eventpoll'],
      [EV.memfd_create, [P.i64(3), P.str('x'), P.u32(0)], 'memfd'],
      [EV.pidfd_open, [P.i64(3), P.i64(1), P.u32(0)], 'pidfd'],
      [
        EV.socketpair,
        [P.i64(0), P.i64(3), P.i64(4), P.u64(1), P.u64(2), P.u32(1), P.u32(1), P.u32(0)],
        'unix',
      ],
    ];
    for (const [type, params, fdType] of cases) {
      run(EV.openat, openat(3, '/etc/hostname')); // then closed, without a close event
      expect(fd(3)?.type).toBe('file');
      run(type, params);
      expect(fd(3)?.type, `after event ${type}`).toBe(fdType);
      expect(fd(3)?.name).not.toBe('/etc/hostname');
    }
  });

  it('a socket of a family the table does not track, and a dup of an unknown fd, drop the old entry', () => {
    const { run, fd } = world();
    run(EV.openat, openat(3, '/etc/hostname'));
    run(EV.socket, [P.i64(3), P.u32(17 /* AF_PACKET */), P.u32(3), P.u32(0), P.u32(0)]);
    expect(fd(3)).toBeUndefined();
    run(EV.openat, openat(5, '/etc/hostname'));
    run(EV.dup2, [P.i64(5), P.i64(42), P.i64(5)]); // fd 42 was never seen
    expect(fd(5)).toBeUndefined();
  });

  it('dup into a number keeps a copy of the source, close or no close', () => {
    const { run, fd } = world();
    run(EV.openat, openat(3, '/etc/hostname'));
    run(EV.openat, openat(4, '/etc/passwd'));
    const ev = run(EV.dup2, [P.i64(3), P.i64(4), P.i64(3)]);
    expect(ev?.fd?.name).toBe('/etc/passwd');
    expect(fd(3)?.name).toBe('/etc/passwd');
  });
});

describe('state on probe events: close-on-exec', () => {
  it('a successful execve drops the fds made close-on-exec and keeps the others', () => {
    const { run, fd, engine } = world();
    run(EV.openat, openat(3, '/etc/hostname', PPM_O_RDONLY | PPM_O_CLOEXEC));
    run(EV.openat, openat(4, '/etc/passwd'));
    run(EV.pipe2, [P.i64(0), P.i64(5), P.i64(6), P.u64(9), P.u32(PPM_O_CLOEXEC | PPM_O_NONBLOCK)]);
    run(EV.pipe2, [P.i64(0), P.i64(7), P.i64(8), P.u64(9), P.u32(PPM_O_NONBLOCK)]);
    run(EV.socket, [P.i64(9), P.u32(2), P.u32(1), P.u32(6), P.u32(PPM_O_CLOEXEC)]);
    run(EV.socket, [P.i64(10), P.u32(2), P.u32(2), P.u32(17), P.u32(0)]);
    run(EV.eventfd2, [P.i64(11), P.u16(PPM_O_CLOEXEC), P.u64(0)]);
    run(EV.epoll_create1, [P.i64(12), P.u32(1 /* EPOLL_CLOEXEC */)]);
    run(EV.memfd_create, [P.i64(13), P.str('m'), P.u32(1 /* MFD_CLOEXEC */)]);
    run(EV.memfd_create, [P.i64(14), P.str('kept'), P.u32(0)]);
    run(EV.pidfd_open, [P.i64(15), P.i64(1), P.u32(0)]);
    run(EV.inotify_init1, [P.i64(16), P.u16(PPM_O_CLOEXEC)]);
    run(EV.signalfd4, [P.i64(17), P.u16(PPM_O_CLOEXEC), P.i64(-1), P.u32(0)]);
    // accept4 with SOCK_CLOEXEC (raw flags) and without.
    const tuple = P.tuple4('10.0.0.2', 5000, '10.0.0.1', 80);
    run(EV.accept4, [P.i64(18), tuple, P.u8(0), P.u32(0), P.u32(0), P.u32(0o2000000)]);
    run(EV.accept4, [P.i64(19), tuple, P.u8(0), P.u32(0), P.u32(0), P.u32(0)]);
    // A failed execve changes nothing.
    const failed = execveExit('sh', '/bin/sh', '/home/alice');
    failed[0] = P.i64(-2);
    run(EV.execve, failed);
    expect(fd(3)?.name).toBe('/etc/hostname');

    run(EV.execve, execveExit('cat', '/usr/bin/cat', '/home/alice'));
    const left = [...(engine.table.get(100)?.fds.keys() ?? [])].sort((a, b) => a - b);
    expect(left).toEqual([0, 4, 7, 8, 10, 14, 19]);
  });

  it('dup and dup2 copies are inheritable, dup3 and F_DUPFD_CLOEXEC copies are not', () => {
    const { run, engine } = world();
    run(EV.openat, openat(3, '/etc/hostname', PPM_O_RDONLY | PPM_O_CLOEXEC));
    run(EV.dup, [P.i64(4), P.i64(3)]);
    run(EV.dup2, [P.i64(5), P.i64(3), P.i64(5)]);
    run(EV.dup3, [P.i64(6), P.i64(3), P.i64(6), P.u32(PPM_O_CLOEXEC)]);
    run(EV.dup3, [P.i64(7), P.i64(3), P.i64(7), P.u32(0)]);
    run(EV.fcntl, [P.i64(8), P.i64(3), P.u8(26 /* F_DUPFD_CLOEXEC */), P.u64(0)]);
    run(EV.fcntl, [P.i64(9), P.i64(3), P.u8(1 /* F_DUPFD */), P.u64(0)]);
    run(EV.execve, execveExit('cat', '/usr/bin/cat', '/home/alice'));
    const left = [...(engine.table.get(100)?.fds.keys() ?? [])].sort((a, b) => a - b);
    expect(left).toEqual([0, 4, 5, 7, 9]);
    expect(engine.table.get(100)?.fds.get(4)?.name).toBe('/etc/hostname');
  });

  it('fds read from /proc keep their close-on-exec flag', () => {
    const { run, engine } = world();
    engine.addFd({
      tid: 100,
      fd: 3,
      ino: 0,
      type: SCAP_FD.FILE_V2,
      name: '/var/lib/db',
      openFlags: PPM_O_RDONLY | PPM_O_CLOEXEC,
    });
    engine.addFd({ tid: 100, fd: 4, ino: 0, type: SCAP_FD.FILE_V2, name: '/var/log/x', openFlags: 2 });
    run(EV.execve, execveExit('cat', '/usr/bin/cat', '/home/alice'));
    expect([...(engine.table.get(100)?.fds.keys() ?? [])].sort()).toEqual([0, 4]);
  });
});

describe('state on probe events: memfd execution', () => {
  it('takes proc.exepath from trusted_exepath as the probe reports a memfd (memfd:NAME)', () => {
    const { run, engine } = world();
    const ev = run(EV.execve, execveExit('true', 'memfd:vigil', '/home/alice'));
    expect(ev?.thread.exepath).toBe('memfd:vigil');
    expect(engine.table.get(100)?.isExeFromMemfd).toBe(true);
  });
});
