import { describe, expect, it } from 'vitest';
import type { SyscallEvent } from '../../engine/event.js';
import { SCAP_FD } from '../scap/reader.js';
import { P } from '../scap/writer.js';
import { StateEngine, type StateEngineOptions } from './state-engine.js';

const CID = 'a'.repeat(64);

/** A small world: init(1) → bash(100, uid 1000) with stdin and a listening socket. */
function world(options: StateEngineOptions = {}): {
  engine: StateEngine;
  run: (type: number, tid: number, params: Uint8Array[]) => SyscallEvent | undefined;
} {
  const engine = new StateEngine({ hostname: 'box', ...options });
  engine.addUser({ uid: 0, gid: 0, name: 'root', homedir: '/root', shell: '/bin/bash' });
  engine.addUser({ uid: 1000, gid: 1000, name: 'alice', homedir: '/home/alice', shell: '/bin/bash' });
  engine.addGroup({ gid: 1000, name: 'alice' });
  engine.addThread({
    tid: 1,
    pid: 1,
    ptid: 0,
    sid: 1,
    comm: 'systemd',
    exe: '/sbin/init',
    args: [],
    cwd: '/',
    uid: 0,
    gid: 0,
  });
  engine.addThread({
    tid: 100,
    pid: 100,
    ptid: 1,
    sid: 100,
    comm: 'bash',
    exe: '-bash',
    exepath: '/bin/bash',
    args: [],
    cwd: '/home/alice',
    uid: 1000,
    gid: 1000,
    loginuid: 1000,
    tty: 34816,
  });
  engine.addFd({ tid: 100, fd: 0, ino: 0, type: SCAP_FD.FILE_V2, name: '/dev/pts/0', openFlags: 3 });
  engine.finishBootstrap();
  let ts = 1000n;
  return {
    engine,
    run: (type, tid, params) => engine.processEvent({ ts: (ts += 10n), tid, cpu: 0, type, params }),
  };
}

const cloneParams = (
  res: number,
  tid: number,
  pid: number,
  ptid: number,
  flags = 0,
  cgroups: string[] = [],
): Uint8Array[] => [
  P.i64(res), // res
  P.str('-bash'), // exe
  P.list([]), // args
  P.i64(tid),
  P.i64(pid),
  P.i64(ptid),
  P.str('/home/alice'), // cwd
  P.i64(1024), // fdlimit
  P.u64(0),
  P.u64(0),
  P.u32(0),
  P.u32(0),
  P.u32(0),
  P.str('bash'), // comm
  P.list(cgroups),
  P.u32(flags),
  P.u32(1000), // uid
  P.u32(1000), // gid
  P.i64(tid), // vtid
  P.i64(pid), // vpid
];

const execveExit = (
  tid: number,
  exe: string,
  comm: string,
  args: string[],
  cgroups: string[] = [],
): Uint8Array[] => [
  P.i64(0),
  P.str(exe),
  P.list(args),
  P.i64(tid),
  P.i64(tid),
  P.i64(100),
  P.str('/home/alice'),
  P.u64(1024),
  P.u64(0),
  P.u64(0),
  P.u32(0),
  P.u32(0),
  P.u32(0),
  P.str(comm),
  P.list(cgroups),
  P.list(['PATH=/bin']),
  P.u32(34816), // tty
  P.i64(tid), // pgid
  P.u32(1000), // loginuid
  P.u32(0), // flags
];

describe('StateEngine: processes', () => {
  it('creates children on clone, updates them on execve and gives exit events only', () => {
    const { run } = world();
    expect(run(222, 100, [])).toBeUndefined(); // clone enter: state only
    const parentSide = run(223, 100, cloneParams(200, 100, 100, 1));
    expect(parentSide).toMatchObject({
      type: 'clone',
      dir: '<',
      res: 200,
      category: 'process',
      hostname: 'box',
    });
    expect(parentSide?.thread.comm).toBe('bash');

    run(292, 200, [P.str('/usr/bin/cat')]); // execve enter (filename)
    const exec = run(293, 200, execveExit(200, 'cat', 'cat', ['/etc/passwd'], [`cpu=/docker/${CID}`]));
    expect(exec?.type).toBe('execve');
    expect(exec?.thread).toMatchObject({
      tid: 200,
      pid: 200,
      comm: 'cat',
      exe: 'cat',
      args: ['/etc/passwd'],
      exepath: '/usr/bin/cat',
      tty: 34816,
    });
    expect(exec?.thread.parent?.comm).toBe('bash');
    expect(exec?.thread.parent?.parent?.comm).toBe('systemd');
    expect(exec?.thread.userName).toBe('alice');
    expect(exec?.container?.id).toBe(CID.slice(0, 12));
    expect(exec?.thread.cwd).toBe('/home/alice/');
  });

  it('makes threads share their process and report its parent', () => {
    const { run, engine } = world();
    run(222, 100, []);
    run(223, 100, cloneParams(101, 100, 100, 1, 1 << 13)); // CLONE_THREAD
    const thread = engine.table.get(101);
    expect(thread?.pid).toBe(100);
    expect(thread?.parent?.comm).toBe('systemd');
    expect(thread?.fds.get(0)?.name).toBe('/dev/pts/0');
  });

  it('creates the child when its clone exit comes first (inverted clone)', () => {
    const { run, engine } = world();
    const child = run(223, 300, cloneParams(0, 300, 300, 100));
    expect(child?.thread.tid).toBe(300);
    expect(child?.thread.parent?.comm).toBe('bash');
    expect(engine.table.get(300)?.comm).toBe('bash');
  });

  it('removes exited threads one event later and gives placeholders for unknown tids', () => {
    const { run, engine } = world();
    run(222, 100, []);
    run(223, 100, cloneParams(200, 100, 100, 1));
    const exit = run(186, 200, [P.i64(0), P.i64(0), P.u8(0), P.u8(0)]);
    expect(exit?.type).toBe('procexit');
    expect(exit?.thread.tid).toBe(200);
    expect(engine.table.get(200)).toBeDefined();
    const next = run(7, 777, [P.i64(0), P.buf('x')]);
    expect(engine.table.get(200)).toBeUndefined();
    expect(next?.thread).toMatchObject({ tid: 777, comm: '<NA>', exe: '<NA>', uid: 0xffffffff });
    expect(next?.container?.id).toBe('host');
  });

  it('marks idle-task switches as having no thread', () => {
    const { run } = world({ enterEvents: true });
    const sw = run(152, 0, [P.i64(100), P.u64(0), P.u64(0), P.u32(0), P.u32(0), P.u32(0)]);
    expect(sw).toMatchObject({ type: 'switch', category: 'scheduler' });
    expect(sw?.thread).toMatchObject({ tid: 0, missing: true });
    expect(sw?.container).toBeUndefined();
  });

  it('tracks uid, gid, sid and cwd changes', () => {
    const { run, engine } = world();
    run(198, 100, [P.u32(0)]);
    run(199, 100, [P.i64(0)]);
    run(200, 100, [P.u32(0)]);
    run(201, 100, [P.i64(0)]);
    run(274, 100, []);
    run(275, 100, [P.i64(100)]);
    run(94, 100, []);
    run(95, 100, [P.i64(0), P.str('../tmp')]);
    expect(engine.table.get(100)).toMatchObject({ uid: 0, gid: 0, sid: 100, cwd: '/home/tmp/' });
  });
});

describe('StateEngine: file descriptors', () => {
  it('opens, uses and closes files, with the close visible on its own exit', () => {
    const { run, engine } = world({ enterEvents: true });
    run(306, 100, [P.i64(-100), P.str('notes.txt'), P.u32(1), P.u32(0)]);
    const open = run(307, 100, [P.i64(3), P.i64(-100), P.str('notes.txt'), P.u32(4097), P.u32(0), P.u32(0)]);
    expect(open?.fd).toMatchObject({
      num: 3,
      type: 'file',
      name: '/home/alice/notes.txt',
      nameRaw: 'notes.txt',
      openFlags: 4097,
      nameChanged: true,
    });
    expect(open?.params.find((p) => p.name === 'flags')?.text).toBe('O_RDONLY|O_CLOEXEC');
    expect(open?.params.find((p) => p.name === 'name')).toMatchObject({
      rawText: 'notes.txt',
      text: '/home/alice/notes.txt',
    });

    const readEnter = run(6, 100, [P.i64(3), P.u32(10)]);
    expect(readEnter?.params[0]).toMatchObject({ rawText: '3', text: '<f>/home/alice/notes.txt' });
    const readExit = run(7, 100, [P.i64(5), P.buf('hello')]);
    expect(readExit).toMatchObject({ res: 5, category: 'file' });
    expect(readExit?.fd).toMatchObject({ num: 3, nameChanged: false });

    run(4, 100, [P.i64(3)]);
    const close = run(5, 100, [P.i64(0)]);
    expect(close?.fd?.name).toBe('/home/alice/notes.txt');
    expect(engine.table.get(100)?.fds.has(3)).toBe(true);
    run(6, 100, [P.i64(3), P.u32(10)]);
    expect(engine.table.get(100)?.fds.has(3)).toBe(false);
  });

  it('adds the enter parameters to exit events unless asked not to', () => {
    const merged = world();
    merged.run(4, 100, [P.i64(0)]);
    const close = merged.run(5, 100, [P.i64(0)]);
    expect(close?.params.map((p) => p.name)).toEqual(['res', 'fd']);
    expect(close?.params[1]?.text).toBe('<f>/dev/pts/0');

    const raw = world({ mergeEnterParams: false });
    raw.run(4, 100, [P.i64(0)]);
    expect(raw.run(5, 100, [P.i64(0)])?.params.map((p) => p.name)).toEqual(['res']);
  });

  it('names sockets after their tuple on connect and accept', () => {
    const { run } = world({ enterEvents: true });
    run(18, 100, [P.u32(2), P.u32(1), P.u32(0)]);
    const sock = run(19, 100, [P.i64(4)]);
    expect(sock?.fd).toMatchObject({ num: 4, type: 'ipv4', name: '' });
    expect(sock?.fd?.l4proto).toBeUndefined(); // no role yet: libsinsp reports no protocol
    run(22, 100, [P.i64(4), P.addr4('10.0.0.2', 80)]);
    const conn = run(23, 100, [P.i64(-115), P.tuple4('10.0.0.1', 40000, '10.0.0.2', 80)]);
    expect(conn?.fd).toMatchObject({
      name: '10.0.0.1:40000->10.0.0.2:80',
      cip: '10.0.0.1',
      cport: 40000,
      sip: '10.0.0.2',
      sport: 80,
      l4proto: 'tcp',
      connected: true,
      nameChanged: true,
    });
    expect(conn?.params[0]?.text).toBe('EINPROGRESS');

    run(246, 100, []);
    const acc = run(247, 100, [
      P.i64(5),
      P.tuple4('10.0.0.9', 5555, '10.0.0.1', 22),
      P.u8(0),
      P.u32(0),
      P.u32(128),
    ]);
    expect(acc?.fd).toMatchObject({
      num: 5,
      name: '10.0.0.9:5555->10.0.0.1:22',
      isServer: true,
      l4proto: 'tcp',
    });
    expect(acc?.res).toBe(5);
  });

  it('keeps the first peer of a UDP socket connected twice, as libsinsp does', () => {
    const { run } = world({ enterEvents: true });
    run(18, 100, [P.u32(2), P.u32(2), P.u32(0)]);
    run(19, 100, [P.i64(6)]);
    run(22, 100, [P.i64(6), P.addr4('10.0.0.2', 53)]);
    const first = run(23, 100, [P.i64(0), P.tuple4('10.0.0.1', 40000, '10.0.0.2', 53)]);
    expect(first?.fd?.name).toBe('10.0.0.1:40000->10.0.0.2:53');
    run(22, 100, [P.i64(6), P.addr4('8.8.8.8', 53)]);
    const second = run(23, 100, [P.i64(0), P.tuple4('10.0.0.1', 40000, '8.8.8.8', 53)]);
    // Only an empty destination is overwritten on connect (libsinsp's set_*_addresses_and_ports).
    expect(second?.fd).toMatchObject({
      name: '10.0.0.1:40000->10.0.0.2:53',
      sip: '10.0.0.2',
      nameChanged: false,
    });
    expect(second?.params[1]?.text).toBe('10.0.0.1:40000->8.8.8.8:53');
  });

  it('duplicates and pipes', () => {
    const { run, engine } = world();
    run(124, 100, [P.i64(0)]);
    const dup = run(125, 100, [P.i64(7)]);
    expect(dup?.fd).toMatchObject({ num: 7, name: '/dev/pts/0', nameChanged: false });
    run(60, 100, []);
    run(61, 100, [P.i64(0), P.i64(8), P.i64(9), P.u64(1234)]);
    const fds = engine.table.get(100)?.fds;
    expect([fds?.get(8)?.type, fds?.get(9)?.type]).toEqual(['pipe', 'pipe']);
  });

  it('copies the fd table to forked children but not to threads', () => {
    const { run, engine } = world();
    run(222, 100, []);
    run(223, 100, cloneParams(200, 100, 100, 1));
    engine.table.get(200)?.fdTable.delete(0);
    expect(engine.table.get(100)?.fds.has(0)).toBe(true);
  });
});

describe('StateEngine: containers', () => {
  it('takes container metadata from container events', () => {
    const { run } = world();
    const json = JSON.stringify({
      container: {
        id: 'aaaaaaaaaaaa',
        name: 'web',
        image: 'nginx:latest',
        imagerepo: 'nginx',
        imagetag: 'latest',
        privileged: true,
        type: 0,
        labels: { 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.name': 'web-1' },
      },
    });
    const ev = run(272, -1, [P.str(json)]);
    expect(ev).toMatchObject({ type: 'container', category: 'process' });
    expect(ev?.thread).toMatchObject({ tid: -1, comm: 'container:aaaaaaaaaaaa' });
    expect(ev?.container).toMatchObject({
      id: 'aaaaaaaaaaaa',
      name: 'web',
      imageRepository: 'nginx',
      privileged: true,
      type: 'docker',
      k8s: { namespace: 'default', podName: 'web-1' },
    });
    run(222, 100, []);
    run(223, 100, cloneParams(200, 100, 100, 1));
    run(292, 200, [P.str('/usr/sbin/nginx')]);
    const exec = run(293, 200, execveExit(200, 'nginx', 'nginx', [], [`cpu=/docker/${CID}`]));
    expect(exec?.container).toMatchObject({ id: 'aaaaaaaaaaaa', name: 'web' });
  });
});
