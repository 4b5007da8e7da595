import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addProcThread,
  bootstrapFromProc,
  openFlagsToPpm,
  parseProcCgroups,
  parseProcStat,
  parseProcStatus,
  readExecInfo,
  readParentOf,
  readProcThread,
  readSocketEnds,
  readUsers,
} from './proc-bootstrap.js';
import { StateEngine } from './state/state-engine.js';

describe('/proc parsers', () => {
  it('reads stat with a comm holding spaces and parentheses', () => {
    const s = parseProcStat('42 (a) (b c) S 7 42 40 34817 42 4194304 1 2 3 4 5 6 7 8 20 0 1 0 12345 1000 0');
    expect(s).toEqual({
      pid: 42,
      comm: 'a) (b c',
      state: 'S',
      ppid: 7,
      pgrp: 42,
      session: 40,
      ttyNr: 34817,
      startTime: 12345,
    });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads status: effective ids, capabilities, namespace pid', () => {
    const s = parseProcStatus(
      'Name:\tx\nTgid:\t9\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t100\t50\t50\t50\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000200000\nNSpid:\t9\t1\n',
    );
    expect(s).toMatchObject({ tgid: 9, ppid: 1, uid: 1000, euid: 0, gid: 100, egid: 50, nsPid: 1 });
    expect(s.capEffective).toBe(0x200000n);
    expect(s.capPermitted).toBe(0x1ffffffffffn);
  });

  it('reads cgroups of both versions', () => {
    expect(parseProcCgroups('12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n', [])).toEqual([
      'cpu=/docker/abc',
      'cpuacct=/docker/abc',
      'memory=/docker/abc',
    ]);
    expect(parseProcCgroups('0::/system.slice/x.scope\n', ['cpu', 'io'])).toEqual([
      'cpu=/system.slice/x.scope',
      'io=/system.slice/x.scope',
    ]);
  });

  it('turns kernel open flags into the capture format', () => {
    expect(openFlagsToPpm(0)).toBe(1); // O_RDONLY
    expect(openFlagsToPpm(0o2000000 | 0o2)).toBe(3 | 4096); // O_RDWR|O_CLOEXEC
    expect(openFlagsToPpm(0o1 | 0o100 | 0o1000)).toBe(2 | 4 | 256); // O_WRONLY|O_CREAT|O_TRUNC
  });
});

/** A small /proc (and /etc) in a temporary directory. */
function fakeProc(): { root: string; etc: string; cgroup: string } {
  const base = mkdtempSync(join(tmpdir(), 'vigil-fakeproc-'));
  const root = join(base, 'proc');
  const etc = join(base, 'etc');
  const cgroup = join(base, 'cgroup');
  const file = (p: string, text: string): void => {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  };
  const link = (p: string, target: string): void => {
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
  };
  const stat = (pid: number, comm: string, ppid: number, start: number): string =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 34816 ${pid} 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 100 0\n`;
  const status = (pid: number, tgid: number, ppid: number, uid: number): string =>
    `Name:\tx\nTgid:\t${tgid}\nPPid:\t${ppid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nNSpid:\t${pid}\n`;

  file(join(root, 'stat'), 'cpu 1 2 3\nbtime 1700000000\n');
  // 100: a shell with a thread, a file, a socket and a pipe open.
  const p = join(root, '100');
  file(join(p, 'stat'), stat(100, 'bash', 1, 250));
  file(join(p, 'status'), status(100, 100, 1, 1000));
  file(join(p, 'cmdline'), 'bash\0-l\0');
  file(join(p, 'environ'), 'HOME=/home/u\0TERM=xterm\0');
  file(join(p, 'cgroup'), '0::/user.slice/session-1.scope\n');
  file(join(p, 'loginuid'), '1000');
  file(
    join(p, 'limits'),
    'Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 4096                 files\n',
  );
  link(join(p, 'exe'), '/usr/bin/bash');
  link(join(p, 'cwd'), '/home/u');
  link(join(p, 'root'), '/');
  link(join(p, 'ns', 'net'), 'net:[4026531840]');
  file(join(p, 'task', '100', 'stat'), stat(100, 'bash', 1, 250));
  file(join(p, 'task', '100', 'status'), status(100, 100, 1, 1000));
  file(join(p, 'task', '101', 'stat'), stat(101, 'worker', 1, 260));
  file(join(p, 'task', '101', 'status'), status(101, 100, 1, 1000));
  link(join(p, 'fd', '0'), '/dev/pts/0');
  file(join(p, 'fdinfo', '0'), 'pos:\t0\nflags:\t02100002\nmnt_id:\t1\n');
  link(join(p, 'fd', '3'), 'socket:[5555]');
  link(join(p, 'fd', '4'), 'pipe:[777]');
  link(join(p, 'fd', '5'), 'anon_inode:[eventfd]');
  file(
    join(p, 'net', 'tcp'),
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:9C40 0100007F:0050 01 00000000:00000000 00:00000000 00000000  1000        0 5555 1 0000000000000000 20 4 0 10 -1\n',
  );
  file(join(p, 'net', 'tcp6'), 'header\n');
  // 200: listed, but gone before it could be read.
  file(join(root, '200', 'cmdline'), '');
  // 300: a child of 100 inside a docker container.
  const c = join(root, '300');
  const cid = 'a'.repeat(64);
  file(join(c, 'stat'), stat(300, 'nginx', 100, 400));
  file(join(c, 'status'), status(300, 300, 100, 0));
  file(join(c, 'cmdline'), 'nginx\0-g\0daemon off;\0');
  file(join(c, 'cgroup'), `12:cpu,cpuacct:/docker/${cid}\n`);
  link(join(c, 'exe'), '/usr/sbin/nginx');
  link(join(c, 'cwd'), '/');
  file(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/bin/bash\n');
  file(join(etc, 'group'), 'root:x:0:\nu:x:1000:\n');
  file(join(cgroup, 'cgroup.controllers'), 'cpu memory\n');
  return { root, etc, cgroup };
}

describe('bootstrapFromProc (a fake /proc)', () => {
  const fake = fakeProc();
  afterAll(() => rmSync(dirname(fake.root), { recursive: true, force: true }));
  const engine = new StateEngine();
  const stats = bootstrapFromProc(engine, {
    procRoot: fake.root,
    etcRoot: fake.etc,
    cgroupRoot: fake.cgroup,
    fds: new Set([100]),
  });

  it('counts what it read and what vanished', () => {
    expect(stats).toMatchObject({ processes: 2, threads: 3, vanished: 1, users: 2, groups: 2, fds: 4 });
  });

  it('fills each process from stat, status, cmdline, links and cgroups', () => {
    const t = engine.table.get(100)!;
    expect(t).toMatchObject({ comm: 'bash', exe: 'bash', args: ['-l'], exepath: '/usr/bin/bash', uid: 1000 });
    expect(t.cwd).toBe('/home/u/');
    expect(t.env).toEqual(['HOME=/home/u', 'TERM=xterm']);
    expect(t.loginuid).toBe(1000);
    expect(t.tty).toBe(34816);
    expect(t.sid).toBe(100);
    expect(t.fdlimit).toBe(1024);
    expect(t.capEffective).toBe(0xa80425fbn);
    expect(t.startTs).toBe(1700000000n * 1_000_000_000n + 2_500_000_000n);
    expect(t.cgroups).toEqual(['cpu=/user.slice/session-1.scope', 'memory=/user.slice/session-1.scope']);
    expect(t.containerId).toBe('host');
    expect(t.userName).toBe('u');
  });

  it('links threads to their process and children to their parent', () => {
    const worker = engine.table.get(101)!;
    expect(worker.pid).toBe(100);
    expect(worker.comm).toBe('worker');
    expect(worker.fdTable).toBe(engine.table.get(100)!.fdTable);
    const nginx = engine.table.get(300)!;
    expect(nginx.parent?.comm).toBe('bash');
    expect(nginx.args).toEqual(['-g', 'daemon off;']);
    expect(nginx.containerId).toBe('aaaaaaaaaaaa');
  });

  it('reads open fds: files with flags, sockets with their ends, pipes, event fds', () => {
    const fds = engine.table.get(100)!.fdTable;
    expect(fds.get(0)).toMatchObject({ type: 'file', name: '/dev/pts/0', openFlags: 3 | 2048 | 4096 }); // O_RDWR|O_LARGEFILE|O_CLOEXEC
    expect(fds.get(3)).toMatchObject({
      type: 'ipv4',
      cip: '127.0.0.1',
      cport: 40000,
      sip: '127.0.0.1',
      sport: 80,
    });
    expect(fds.get(3)?.name).toBe('127.0.0.1:40000->127.0.0.1:80');
    expect(fds.get(4)).toMatchObject({ type: 'pipe' });
    expect(fds.get(5)).toMatchObject({ type: 'event' });
    expect(engine.table.get(300)!.fdTable.size).toBe(0); // fds only for the pids asked
  });

  it('reads one process on demand, and the look-ups live drivers make', () => {
    const e2 = new StateEngine();
    const t = readProcThread(300, { procRoot: fake.root, cgroupRoot: fake.cgroup });
    expect(t?.seed.comm).toBe('nginx');
    addProcThread(e2, t!);
    expect(e2.table.get(300)?.containerId).toBe('aaaaaaaaaaaa');
    expect(readProcThread(200, { procRoot: fake.root })).toBeUndefined();
    expect(readExecInfo(100, fake.root, fake.cgroup)).toMatchObject({
      uid: 1000,
      loginuid: 1000,
      exepath: '/usr/bin/bash',
      tty: 34816,
    });
    expect(readSocketEnds(100, 5555, fake.root)).toEqual({
      local: { ip: '127.0.0.1', port: 40000 },
      remote: { ip: '127.0.0.1', port: 80 },
    });
    expect(readSocketEnds(100, 1, fake.root)).toBeUndefined();
    expect(readParentOf(300, fake.root)).toEqual({ ppid: 100, tgid: 300 });
  });

  it('bounds the number of processes read', () => {
    const e3 = new StateEngine();
    const s = bootstrapFromProc(e3, { procRoot: fake.root, etcRoot: fake.etc, maxProcesses: 1 });
    expect(s.processes).toBe(1);
    expect(s.skipped + s.vanished).toBe(2);
  });

  it('fails clearly when /proc cannot be listed', () => {
    expect(() => bootstrapFromProc(new StateEngine(), { procRoot: join(fake.root, 'nope') })).toThrow(
      /cannot list .*nope/,
    );
  });

  it('reads users and groups', () => {
    const { users, groups } = readUsers(fake.etc);
    expect(users).toContainEqual({ name: 'u', uid: 1000, gid: 1000, homedir: '/home/u', shell: '/bin/bash' });
    expect(groups).toContainEqual({ name: 'root', gid: 0 });
  });
});

describe.skipIf(process.platform !== 'linux')('bootstrapFromProc (this machine)', () => {
  it('finds this test process with its executable, parent and fds', () => {
    const engine = new StateEngine();
    const stats = bootstrapFromProc(engine, { fds: new Set([process.pid]) });
    expect(stats.processes).toBeGreaterThan(1);
    const me = engine.table.get(process.pid)!;
    expect(me.exepath).toBe(process.execPath);
    expect(me.ppid).toBe(process.ppid);
    expect(me.cwd).toBe(process.cwd().endsWith('/') ? process.cwd() : `${process.cwd()}/`);
    expect(me.uid).toBe(process.geteuid?.());
    expect(me.fdTable.size).toBeGreaterThan(2);
  });
});
