/**
 * The eBPF capture driver on this machine's kernel: the real probe, loaded and attached, watching a
 * real program (native/bpf/build/vigil-workload) open a file, make a directory, connect to a
 * loopback port and exec a binary. Events are read back through the scap decoder, as `vigil` does.
 *
 * Needs root, a kernel with BTF and the probe built (scripts/build-bpf.sh); each suite skips naming
 * what is missing. The layout checks need only the built loader.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEbpf } from '../../src/capture/driver-select.js';
import { eventInfo } from '../../src/capture/scap/event-table.js';
import { decodeSockAddr, decodeTuple, splitArgs } from '../../src/capture/scap/params.js';
import { decodeEbpfEvent, EBPF_SYSCALLS, type EbpfEvent } from '../../src/capture/sources/ebpf/parse.js';
import { DEFAULT_FLUSH_MS, parseFlushMs } from '../../src/capture/sources/ebpf/flush.js';
import { BpfSource, EbpfError, parseCaptureSched } from '../../src/capture/sources/ebpf/source.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { withHostLock } from '../helpers/host-lock.js';

const BUILD = join(REPO_ROOT, 'native', 'bpf', 'build');
const LOADER = join(BUILD, 'vigil-capture');
const WORKLOAD = join(BUILD, 'vigil-workload');
const built = existsSync(LOADER) && existsSync(WORKLOAD);
const BUILD_SKIP = `${LOADER} is not built: run scripts/build-bpf.sh (Debian packages clang libbpf-dev bpftool)`;

async function liveSkipReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'eBPF capture needs Linux';
  if (!built) return BUILD_SKIP;
  if (process.getuid?.() !== 0) return 'loading eBPF programs needs root';
  const check = await checkEbpf({ loaderPath: LOADER });
  return check.ok ? undefined : `this kernel refuses the probe: ${check.reason}`;
}
const LIVE_SKIP = await liveSkipReason();
if (!built) console.warn(`[vigil tests] skipping eBPF layout suite: ${BUILD_SKIP}`);
if (LIVE_SKIP) console.warn(`[vigil tests] skipping live eBPF capture: ${LIVE_SKIP}`);

// scap values the assertions use (ppm_events_public.h).
const PPM_O_RDONLY = 1 << 0;
const PPM_O_WRONLY = 1 << 1;
const PPM_O_APPEND = 1 << 3;
const PPM_O_CLOEXEC = 1 << 12;
const PPM_RESOLVE_NO_SYMLINKS = 1 << 3;
const PPM_CL_CLONE_NEWUTS = 1 << 7;
const PPM_CL_CLONE_VM = 1 << 15;
const PPM_CL_CLONE_CHILD_SETTID = 1 << 24;
const PPM_CL_CLONE_VFORK = 1 << 27;
const PPM_PTRACE_PEEKDATA = 3;
const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MNT_DETACH = 2;
const ENOENT = 2;
const ESRCH = 3;
const CLONE_EVENTS = new Set(['clone', 'fork', 'vfork', 'clone3']);

interface LoaderEntry {
  name: string;
  nr: number;
  event: number;
  nparams: number;
}

describe.skipIf(!built)('eBPF probe layouts', () => {
  it('emits, for every syscall it handles, the event code and parameter count of the scap event table', () => {
    const r = spawnSync(LOADER, ['--list'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as LoaderEntry[];
    expect(list.map((e) => e.name)).toEqual([...EBPF_SYSCALLS]);
    for (const e of list) {
      const info = eventInfo(e.event);
      expect(info, e.name).toBeDefined();
      expect(info?.name, `event ${e.event}`).toBe(e.name);
      // procexit is a single (enter-direction) event; everything else is a syscall exit.
      expect(info?.dir, e.name).toBe(e.name === 'procexit' ? '>' : '<');
      expect(e.nparams, `${e.name} parameter count`).toBe(info?.params.length);
    }
  });

  it('rejects an unknown syscall name with a bad-args error on stderr', () => {
    const r = spawnSync(LOADER, ['--syscalls', 'openat,not_a_syscall'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const err = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as {
      type: string;
      code: string;
      message: string;
    };
    expect(err).toMatchObject({ type: 'error', code: 'bad-args' });
    expect(err.message).toContain('not_a_syscall');
  });
});

/** Collects the events of one workload run. */
interface Run {
  pid: number;
  printed: { pid: number; tid: number };
  events: EbpfEvent[];
  all: Map<string, number>;
  stats: Awaited<ReturnType<BpfSource['stop']>>;
  remotePorts: number[];
  port: number;
  startMs: number;
  endMs: number;
}

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return pred();
}

describe.skipIf(LIVE_SKIP !== undefined)('eBPF capture on this kernel', () => {
  let dir: string;
  let file: string;
  let sub: string;
  let server: Server;
  const remotePorts: number[] = [];

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'vigil-ebpf-')));
    file = join(dir, 'known-file.txt');
    sub = join(dir, 'made-by-workload');
    writeFileSync(file, 'watched\n');
    server = createServer((sock) => {
      if (sock.remotePort !== undefined) remotePorts.push(sock.remotePort);
      sock.end();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  });

  afterAll(async () => {
    await new Promise<void>((res) => server.close(() => res()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Captures `syscalls` while the workload runs; keeps the events of the workload's pid. */
  async function capture(syscalls: string[]): Promise<Run> {
    const port = (server.address() as AddressInfo).port;
    const source = new BpfSource({ loaderPath: LOADER, syscalls, statsIntervalMs: 200 });
    await source.start();
    const startMs = Date.now();
    let pid = -1;
    const events: EbpfEvent[] = [];
    const all = new Map<string, number>();
    const pump = (async () => {
      for await (const e of source.events()) {
        all.set(e.name, (all.get(e.name) ?? 0) + 1);
        const isParentClone = CLONE_EVENTS.has(e.name) && e.args.res === pid;
        if (pid > 0 && (e.tid === pid || isParentClone)) events.push(e);
      }
    })();

    const child = spawn(WORKLOAD, ['scenario', file, sub, String(port), '/bin/echo', 'vigil-probe-arg'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    pid = child.pid ?? -1;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(0);
    const endMs = Date.now();
    // The loader drains every 10 ms; the exit is the last event of the run.
    if (syscalls.includes('procexit')) {
      await waitFor(() => events.some((e) => e.name === 'procexit'), 10_000);
    } else {
      await new Promise((r) => setTimeout(r, 300));
    }
    const stats = await source.stop();
    await pump;
    const printed = JSON.parse(out.split('\n')[0] ?? '{}') as { pid: number; tid: number };
    return { pid, printed, events, all, stats, remotePorts: [...remotePorts], port, startMs, endMs };
  }

  const byName = (run: Run, name: string): EbpfEvent[] => run.events.filter((e) => e.name === name);

  describe('a run capturing files, sockets and processes (but not mkdir)', () => {
    let run: Run;
    beforeAll(async () => {
      run = await capture([
        'openat',
        'close',
        'socket',
        'connect',
        'execve',
        'clone',
        'clone3',
        'fork',
        'vfork',
        'procexit',
      ]);
    }, 60_000);

    it('reports the workload with its own pid and tid, and loses nothing', () => {
      expect(run.printed.pid).toBe(run.pid);
      expect(run.printed.tid).toBe(run.pid);
      expect(run.stats.kernel.events).toBeGreaterThan(0);
      expect(run.stats.kernel.delivered).toBe(run.stats.kernel.events);
      expect(run.stats.kernel.drops).toEqual({ buffer: 0, maxEventSize: 0, noScratch: 0 });
      expect(run.stats.events).toBe(run.stats.kernel.delivered);
      expect(run.stats.warnings).toBe(0);
    });

    it('sees the openat of the known file with its fd, flags, dirfd, device and inode', () => {
      const opens = byName(run, 'openat').filter((e) => e.args.name === file);
      expect(opens).toHaveLength(1);
      const open = opens[0]!;
      const st = statSync(file);
      expect(open.tid).toBe(run.pid);
      expect(open.dir).toBe('<');
      expect(open.type).toBe(307);
      expect(open.args.fd).toBeGreaterThanOrEqual(3);
      expect(open.args.dirfd).toBe(AT_FDCWD);
      expect(open.args.flags).toBe(PPM_O_RDONLY | PPM_O_CLOEXEC);
      expect(open.args.mode).toBe(0);
      expect(open.args.ino).toBe(st.ino);
      expect(open.args.dev).toBe(st.dev);
      const ms = Number(open.ts / 1_000_000n);
      expect(ms).toBeGreaterThanOrEqual(run.startMs - 1000);
      expect(ms).toBeLessThanOrEqual(run.endMs + 1000);
      // The close of that fd follows, successful.
      const close = byName(run, 'close').find((e) => e.args.fd === open.args.fd && e.ts > open.ts);
      expect(close?.args.res).toBe(0);
    });

    it('sees the socket and the connect to the loopback port, with the tuple the server saw', () => {
      const sock = byName(run, 'socket');
      expect(sock).toHaveLength(1);
      expect(sock[0]!.args).toMatchObject({ domain: 2, type: 1, proto: 0 });
      const conns = byName(run, 'connect');
      expect(conns).toHaveLength(1);
      const c = conns[0]!;
      expect(c.args.res).toBe(0);
      expect(c.args.fd).toBe(sock[0]!.args.fd);
      expect(decodeSockAddr(c.args.addr as Uint8Array)).toEqual({
        family: 'ipv4',
        ip: '127.0.0.1',
        port: run.port,
      });
      const tuple = decodeTuple(c.args.tuple as Uint8Array);
      expect(tuple).toMatchObject({ family: 'ipv4', sip: '127.0.0.1', dip: '127.0.0.1', dport: run.port });
      expect(run.remotePorts).toContain(tuple?.sport);
    });

    it('sees both execs of the process: the workload, then the binary it runs, with their details', () => {
      const execs = byName(run, 'execve');
      expect(execs.map((e) => e.args.exe)).toEqual([WORKLOAD, '/bin/echo']);
      const echo = execs[1]!;
      expect(echo.args).toMatchObject({
        res: 0,
        tid: run.pid,
        pid: run.pid,
        ptid: process.pid,
        cwd: dir,
        comm: 'echo',
      });
      expect(echo.args.filename).toBe('/bin/echo');
      expect(splitArgs(echo.args.args as Uint8Array)).toEqual(['vigil-probe-arg']);
      expect(splitArgs(execs[0]!.args.args as Uint8Array)).toEqual([
        'scenario',
        file,
        sub,
        String(run.port),
        '/bin/echo',
        'vigil-probe-arg',
      ]);
      expect(echo.args.uid).toBe(process.geteuid?.());
      expect(echo.args.gid).toBe(process.getegid?.());
      // Root: every capability is effective; CAP_SYS_ADMIN (21) at least.
      expect((echo.args.cap_effective as number | bigint) !== 0).toBe(true);
      expect(BigInt(echo.args.cap_effective as number | bigint) & (1n << 21n)).toBe(1n << 21n);
      expect(echo.args.loginuid).toBeTypeOf('number');
      expect(echo.args.exe_ino).toBe(statSync('/bin/echo').ino);
      expect(echo.args.trusted_exepath).toBe(realpathSync('/bin/echo'));
      // The environment is passed through; cgroups are `subsystem=path` entries.
      const env = splitArgs(echo.args.env as Uint8Array);
      expect(env.some((v) => v.startsWith('PATH='))).toBe(true);
      const cgroups = splitArgs(echo.args.cgroups as Uint8Array);
      expect(cgroups.length).toBeGreaterThan(0);
      for (const c of cgroups) expect(c).toMatch(/^[a-z_]+=\//);
    });

    it('sees the fork that made the process, from both sides', () => {
      const clones = run.events.filter((e) => CLONE_EVENTS.has(e.name));
      const parent = clones.find((e) => e.args.res === run.pid);
      const child = clones.find((e) => e.tid === run.pid && e.args.res === 0);
      expect(parent?.tid).toBeTypeOf('number');
      expect(parent?.args.pid).toBe(process.pid);
      expect(child?.args).toMatchObject({ tid: run.pid, pid: run.pid, ptid: process.pid });
    });

    it('sees the process exit with its status', () => {
      const exits = byName(run, 'procexit');
      expect(exits).toHaveLength(1);
      expect(exits[0]!.args).toMatchObject({ status: 0, ret: 0, sig: 0 });
    });

    it('filters in the kernel: mkdir and rmdir, not in the set, produce no events at all', () => {
      expect(run.all.get('mkdir')).toBeUndefined();
      expect(run.all.get('rmdir')).toBeUndefined();
      expect(byName(run, 'mkdir')).toHaveLength(0);
    });
  });

  describe('a run capturing only mkdir and rmdir', () => {
    let run: Run;
    beforeAll(async () => {
      run = await capture(['mkdir', 'rmdir']);
    }, 60_000);

    it('sees the directory the workload made and removed, with its mode', () => {
      const mk = byName(run, 'mkdir');
      expect(mk).toHaveLength(1);
      expect(mk[0]!.args).toMatchObject({ res: 0, path: sub, mode: 0o750 });
      const rm = byName(run, 'rmdir');
      expect(rm).toHaveLength(1);
      expect(rm[0]!.args).toMatchObject({ res: 0, path: sub });
    });

    it('sees nothing else, from any process', () => {
      expect([...run.all.keys()].sort()).toEqual(['mkdir', 'rmdir'].filter((n) => run.all.has(n)).sort());
      expect(run.all.has('openat')).toBe(false);
      expect(run.all.has('execve')).toBe(false);
    });
  });

  describe('a run capturing everything the probe decodes, while the workload makes one call of each', () => {
    interface Tour {
      pid: number;
      udpPort: number;
      listenPort: number;
      clientPort: number;
      dirfd: number;
      fork: number;
      vfork: number;
      clone3: number;
      killed: number;
      unshare: number;
      setns: number;
      mount: number;
    }
    let tour: Tour;
    let events: EbpfEvent[];
    let tourDir: string;
    let stats: Awaited<ReturnType<BpfSource['stop']>>;

    beforeAll(async () => {
      tourDir = join(dir, 'tour');
      mkdirSync(tourDir);
      const source = new BpfSource({ loaderPath: LOADER, syscalls: [...EBPF_SYSCALLS], exactExecveat: true });
      await source.start();
      let pid = Number.MAX_SAFE_INTEGER;
      const kept: EbpfEvent[] = [];
      const pump = (async () => {
        // Children get higher pids than the workload; the exact family is known once it reports.
        for await (const e of source.events()) if (e.tid >= pid) kept.push(e);
      })();
      const child = spawn(WORKLOAD, ['tour', tourDir], {
        cwd: tourDir,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      pid = child.pid ?? Number.MAX_SAFE_INTEGER;
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      expect(code).toBe(0);
      await waitFor(() => kept.some((e) => e.name === 'procexit' && e.tid === pid), 10_000);
      stats = await source.stop();
      await pump;
      tour = JSON.parse(out.trim().split('\n')[0] ?? '{}') as Tour;
      const family = new Set([tour.pid, tour.fork, tour.vfork, tour.clone3, tour.killed]);
      // Before its exec the pid is Node's forked child setting up stdio (dup2...): not the workload's.
      const started =
        kept.find((e) => e.name === 'execve' && e.tid === tour.pid && e.args.exe === WORKLOAD)?.ts ?? 0n;
      events = kept.filter((e) => family.has(e.tid) && e.ts >= started);
    }, 60_000);

    /** The one event `name` of the workload itself matching `where`. */
    const one = (name: string, where: (e: EbpfEvent) => boolean = () => true): EbpfEvent => {
      const found = events.filter((e) => e.name === name && e.tid === tour.pid && where(e));
      expect(found, `${name} events`).toHaveLength(1);
      return found[0]!;
    };
    const p = (name: string): string => join(tourDir, name);

    it('loses nothing', () => {
      expect(tour.pid).toBeGreaterThan(0);
      expect(stats.kernel.drops).toEqual({ buffer: 0, maxEventSize: 0, noScratch: 0 });
    });

    it('decodes creat, open, openat2 and the dup family', () => {
      const c = p('c.txt');
      expect(one('creat').args).toMatchObject({
        name: c,
        mode: 0o640,
        ino: statSync(c).ino,
        dev: statSync(c).dev,
      });
      expect(one('open').args).toMatchObject({ name: c, flags: PPM_O_WRONLY | PPM_O_APPEND, mode: 0 });
      expect(one('openat2').args).toMatchObject({
        name: c,
        dirfd: AT_FDCWD,
        flags: PPM_O_RDONLY,
        resolve: PPM_RESOLVE_NO_SYMLINKS,
      });
      const ro = one(
        'openat',
        (e) => e.args.name === c && e.args.flags === PPM_O_RDONLY && e.ts < one('dup').ts,
      );
      const fd = ro.args.fd;
      expect(one('dup').args).toMatchObject({ oldfd: fd });
      expect(one('dup2').args).toMatchObject({ res: 50, oldfd: fd, newfd: 50 });
      expect(one('dup3').args).toMatchObject({ res: 51, oldfd: fd, newfd: 51, flags: PPM_O_CLOEXEC });
    });

    it('decodes links, renames, permission changes, directories and memfd_create', () => {
      const c = p('c.txt');
      expect(one('symlink').args).toMatchObject({ res: 0, target: 'c.txt', linkpath: p('s.lnk') });
      expect(one('symlinkat').args).toMatchObject({
        res: 0,
        target: 'c.txt',
        linkdirfd: tour.dirfd,
        linkpath: 's2.lnk',
      });
      expect(one('link').args).toMatchObject({ res: 0, oldpath: c, newpath: p('h.txt') });
      expect(one('linkat').args).toMatchObject({
        res: 0,
        olddir: AT_FDCWD,
        oldpath: c,
        newdir: AT_FDCWD,
        newpath: p('h2.txt'),
        flags: 0,
      });
      expect(one('rename').args).toMatchObject({ res: 0, oldpath: p('h.txt'), newpath: p('h3.txt') });
      expect(one('renameat').args).toMatchObject({
        res: 0,
        olddirfd: AT_FDCWD,
        oldpath: p('h3.txt'),
        newpath: p('h4.txt'),
      });
      expect(one('renameat2').args).toMatchObject({
        res: 0,
        oldpath: p('h4.txt'),
        newpath: p('h5.txt'),
        flags: 1,
      });
      expect(one('chmod').args).toMatchObject({ res: 0, filename: c, mode: 0o600 });
      expect(one('fchmod').args).toMatchObject({ res: 0, mode: 0o644 });
      expect(one('fchmodat').args).toMatchObject({ res: 0, dirfd: AT_FDCWD, filename: c, mode: 0o604 });
      expect(one('mkdirat').args).toMatchObject({ res: 0, dirfd: AT_FDCWD, path: p('d'), mode: 0o700 });
      expect(one('unlinkat', (e) => e.args.name === p('d')).args).toMatchObject({
        res: 0,
        flags: AT_REMOVEDIR,
      });
      expect(one('unlinkat', (e) => e.args.name === p('h2.txt')).args).toMatchObject({ res: 0, flags: 0 });
      expect(one('unlink').args).toMatchObject({ res: 0, path: p('h5.txt') });
      const memfd = one('memfd_create').args;
      expect(memfd).toMatchObject({ name: 'vigil-memfd', flags: 1 });
      expect(memfd.fd).toBeGreaterThanOrEqual(0);
    });

    it('decodes UDP socket, bind, sendto and sendmsg with data and tuples', () => {
      const udp = one('socket', (e) => e.args.type === (SOCK_DGRAM | SOCK_CLOEXEC)).args;
      expect(udp).toMatchObject({ domain: 2, proto: 0, flags: PPM_O_CLOEXEC });
      const bind = one('bind', (e) => e.args.fd === udp.fd && e.ts < one('sendto').ts).args;
      expect(bind.res).toBe(0);
      expect(decodeSockAddr(bind.addr as Uint8Array)).toEqual({ family: 'ipv4', ip: '127.0.0.1', port: 0 });
      const self = {
        family: 'ipv4',
        sip: '127.0.0.1',
        sport: tour.udpPort,
        dip: '127.0.0.1',
        dport: tour.udpPort,
      };
      const sendto = one('sendto').args;
      expect(sendto).toMatchObject({ res: 11, fd: udp.fd, size: 11 });
      expect(Buffer.from(sendto.data as Uint8Array).toString()).toBe('hello-vigil');
      expect(decodeTuple(sendto.tuple as Uint8Array)).toEqual(self);
      const sendmsg = one('sendmsg').args;
      expect(sendmsg).toMatchObject({ res: 9, fd: udp.fd, size: 9 });
      expect(Buffer.from(sendmsg.data as Uint8Array).toString()).toBe('msg-vigil');
      expect(decodeTuple(sendmsg.tuple as Uint8Array)).toEqual(self);
    });

    it('decodes TCP listen, connect and accept4, each tuple from its own side', () => {
      expect(one('listen').args).toMatchObject({ res: 0, backlog: 5 });
      const client = { sip: '127.0.0.1', sport: tour.clientPort, dip: '127.0.0.1', dport: tour.listenPort };
      expect(decodeTuple(one('connect').args.tuple as Uint8Array)).toMatchObject(client);
      const acc = one('accept4').args;
      expect(acc).toMatchObject({ flags: SOCK_CLOEXEC, queuemax: 5 });
      expect(acc.fd).toBeGreaterThanOrEqual(0);
      // Accepted: the peer is the source, the listening side the destination (as for connect).
      expect(decodeTuple(acc.tuple as Uint8Array)).toMatchObject(client);
    });

    it('decodes credentials, signals, namespaces, ptrace, modules and mounts', () => {
      expect(one('setuid').args).toMatchObject({ res: 0, uid: process.getuid?.() });
      expect(one('setgid').args).toMatchObject({ res: 0, gid: process.getgid?.() });
      expect(one('kill', (e) => e.args.pid === tour.pid).args).toMatchObject({ res: 0, sig: 0 });
      expect(one('kill', (e) => e.args.pid === tour.killed).args).toMatchObject({ res: 0, sig: 9 });
      expect(one('tgkill').args).toMatchObject({ res: 0, pid: tour.pid, tid: tour.pid, sig: 0 });
      expect(one('tkill').args).toMatchObject({ res: 0, tid: tour.pid, sig: 0 });
      expect(one('unshare').args).toMatchObject({ res: tour.unshare, flags: PPM_CL_CLONE_NEWUTS });
      expect(one('setns').args).toMatchObject({ res: tour.setns, nstype: PPM_CL_CLONE_NEWUTS });
      expect(one('ptrace').args).toMatchObject({ res: -ESRCH, request: PPM_PTRACE_PEEKDATA, pid: 999999999 });
      const init = one('init_module').args;
      expect(init).toMatchObject({ length: 10, uargs: 'vigil=1' });
      expect(init.res).toBeLessThan(0);
      expect(Buffer.from(init.img as Uint8Array).toString()).toBe('notamodule');
      expect(one('finit_module').args).toMatchObject({ uargs: 'vigil=2', flags: 0 });
      expect(one('mount').args).toMatchObject({
        res: tour.mount,
        dev: 'vigil-tmpfs',
        dir: p('m'),
        type: 'tmpfs',
        flags: MS_NOSUID | MS_NODEV,
      });
      expect(one('umount2').args).toMatchObject({ name: p('m'), flags: MNT_DETACH });
    });

    it('decodes fork (via clone), vfork and clone3 from both sides, and the children exits', () => {
      const parentSide = (name: string, child: number): EbpfEvent => one(name, (e) => e.args.res === child);
      const childSide = (name: string, child: number): EbpfEvent | undefined =>
        events.find((e) => e.name === name && e.tid === child && e.args.res === 0);
      const forked = parentSide('clone', tour.fork);
      expect(Number(forked.args.flags) & PPM_CL_CLONE_CHILD_SETTID).toBe(PPM_CL_CLONE_CHILD_SETTID);
      expect(childSide('clone', tour.fork)?.args).toMatchObject({
        tid: tour.fork,
        pid: tour.fork,
        ptid: tour.pid,
        comm: 'vigil-workload',
      });
      const vforked = parentSide('vfork', tour.vfork);
      expect(Number(vforked.args.flags)).toBe(PPM_CL_CLONE_VM | PPM_CL_CLONE_VFORK);
      expect(childSide('vfork', tour.vfork)?.args).toMatchObject({ tid: tour.vfork, ptid: tour.pid });
      parentSide('clone3', tour.clone3);
      expect(childSide('clone3', tour.clone3)?.args).toMatchObject({ tid: tour.clone3, ptid: tour.pid });
      const exitOf = (tid: number): EbpfEvent | undefined =>
        events.find((e) => e.name === 'procexit' && e.tid === tid);
      expect(exitOf(tour.fork)?.args).toMatchObject({ status: 3 << 8, ret: 3, sig: 0 });
      expect(exitOf(tour.vfork)?.args).toMatchObject({ status: 0 });
      expect(exitOf(tour.killed)?.args).toMatchObject({ sig: 9, core: 0 });
    });

    it('decodes failed execve/execveat from the caller memory and reports a successful execveat as execveat', () => {
      const failed = one('execve', (e) => e.args.res !== 0).args;
      expect(failed).toMatchObject({ res: -ENOENT, exe: 'vigil-argv0', filename: p('missing-binary') });
      expect(splitArgs(failed.args as Uint8Array)).toEqual(['one']);
      expect(splitArgs(failed.env as Uint8Array)).toEqual(['VIGIL_ENV=1']);
      expect(one('execveat', (e) => e.args.res !== 0).args).toMatchObject({
        res: -ENOENT,
        exe: 'vigil-argv0',
      });
      const ok = one('execveat', (e) => e.args.res === 0).args;
      expect(ok).toMatchObject({ exe: '/bin/true', comm: 'true', tid: tour.pid });
      expect(splitArgs(ok.args as Uint8Array)).toEqual(['tour-done']);
    });
  });

  it("counts a thread's repeated opens once consented, only in the consented run, and loses none", async () => {
    const target = join(dir, 'repeated.txt');
    writeFileSync(target, 'again\n');
    // Not while another test's storm runs: its opens would break every run (by design: the probe
    // counts only when nothing else was sent) and flood this reader.
    await withHostLock('storm', async () => {
      // Events handed over at every 10 ms poll, so that consents come early in the storm.
      const source = new BpfSource({
        loaderPath: LOADER,
        syscalls: ['openat'],
        repeats: true,
        statsIntervalMs: 200,
        flushMs: 0,
      });
      await source.start();
      const seen = new Map<number, number>();
      let consenter = -1; // the storm whose runs this side consents to, as the agent would
      let run = 0; // its equal opens in a row, as sent
      let consents = 0;
      const pump = (async () => {
        for await (const batch of source.rawBatches()) {
          for (const raw of batch) {
            // Decoded only when it is one of the storms' (the host's other events are not needed).
            const e = seen.has(raw.tid) ? decodeEbpfEvent(raw) : undefined;
            const mine = e !== undefined && e.name === 'openat' && e.args.name === target;
            if (mine) seen.set(raw.tid, seen.get(raw.tid)! + 1);
            run = mine && raw.tid === consenter ? run + 1 : 0;
            // From the second open of a run on, at every doubling (the probe restarts a run that
            // another record interrupted, so one consent may not last the whole storm).
            if (run >= 2 && (run & (run - 1)) === 0) {
              source.consentRepeat(raw.cpu, raw.seq);
              consents++;
            }
          }
        }
      })();
      const storm = async (n: number, consent: boolean): Promise<number> => {
        const child = spawn(WORKLOAD, ['storm', String(n), target], { stdio: ['ignore', 'pipe', 'inherit'] });
        const pid = child.pid!;
        seen.set(pid, 0);
        if (consent) consenter = pid;
        const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
        expect(code).toBe(0);
        return pid;
      };
      const a = await storm(100_000, true);
      const b = await storm(5_000, false);
      await new Promise((r) => setTimeout(r, 300));
      const stats = await source.stop();
      await pump;
      expect(stats.kernel.drops).toEqual({ buffer: 0, maxEventSize: 0, noScratch: 0 });
      expect(consents).toBeGreaterThan(0);
      // Some of the consented storm's opens were counted in the probe and not sent...
      expect(stats.repeats).toBeGreaterThan(1000);
      expect(seen.get(a)).toBeLessThan(100_000 - 1000);
      // ...every one of them is accounted for, and the other storm (never consented) was sent whole:
      // a consent holds for the run it was given in, not for the next thread opening the same file.
      expect(seen.get(b)).toBe(5_000);
      expect(seen.get(a)! + stats.repeats).toBe(100_000);
      expect(stats.kernel.repeats).toBe(stats.repeats);
    });
  }, 180_000);

  it('sets SCHED_BATCH and a nice value on its own threads and on every thread of --sched-pid', async () => {
    // A process with a few threads stands in for the agent.
    const agent = spawn(
      process.execPath,
      [
        '-e',
        "const { Worker } = require('node:worker_threads'); new Worker('setTimeout(() => {}, 60000)', { eval: true }); setTimeout(() => {}, 60000);",
      ],
      { stdio: 'ignore' },
    );
    try {
      const pid = agent.pid!;
      await new Promise((r) => setTimeout(r, 300));
      const r = spawnSync(
        LOADER,
        [
          '--syscalls',
          'openat',
          '--sched',
          'batch',
          '--nice',
          '3',
          '--sched-pid',
          String(pid),
          '--duration-ms',
          '200',
          '--output',
          '/dev/null',
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      expect(r.stderr).not.toMatch(/cannot set the scheduling policy/);
      const tids = readdirSync(`/proc/${pid}/task`);
      expect(tids.length).toBeGreaterThan(1);
      for (const tid of tids) {
        // /proc/PID/task/TID/stat: field 19 is nice, field 41 the policy (3 = SCHED_BATCH).
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        expect({ tid, nice: Number(f[16]), policy: Number(f[38]) }).toEqual({ tid, nice: 3, policy: 3 });
      }
    } finally {
      agent.kill('SIGKILL');
    }
  }, 120_000);

  it('reads repeat commands on stdin and names one it does not know', () => {
    const r = spawnSync(
      LOADER,
      ['--syscalls', 'openat', '--repeats', '--duration-ms', '300', '--output', '/dev/null'],
      { input: 'bogus\nconsent 0 5\nrevoke\n', encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const logs = r.stderr.split('\n').filter((l) => l.includes('"log"'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('ignored an unknown command on stdin: bogus');
    expect(r.stderr).toMatch(/"type":"stats","when":"final".*"repeats":0/);
  }, 120_000);

  it('refuses an unknown scheduling policy', () => {
    const r = spawnSync(LOADER, ['--syscalls', 'openat', '--sched', 'fifo', '--check'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--sched takes normal or batch');
  });

  it('refuses a flush interval over a second', () => {
    const r = spawnSync(LOADER, ['--syscalls', 'openat', '--flush-ms', '5000', '--check'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--flush-ms needs a number between 0 and 1000');
  });

  it('loads every handler through the verifier on this kernel', () => {
    const r = spawnSync(LOADER, ['--all', '--check'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const ready = JSON.parse(
      r.stderr
        .trim()
        .split('\n')
        .find((l) => l.includes('"ready"')) ?? '{}',
    ) as { syscalls: string[] };
    expect(ready.syscalls).toEqual([...EBPF_SYSCALLS]);
  }, 120_000);
});

describe('eBPF source failures', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-ebpf-fake-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says how to build the loader when it is missing', async () => {
    const src = new BpfSource({ loaderPath: join(dir, 'no-such-loader') });
    const err = await src.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EbpfError);
    expect((err as EbpfError).code).toBe('loader-missing');
    expect((err as EbpfError).message).toContain('scripts/build-bpf.sh');
  });

  it('passes the scheduling setting to the loader, for the loader and this process', () => {
    const args = new BpfSource({
      loaderPath: LOADER,
      syscalls: ['openat'],
      sched: 'batch',
      nice: 2,
    }).loaderArgs();
    expect(args.join(' ')).toContain(`--sched batch --nice 2 --sched-pid ${process.pid}`);
    const inherit = new BpfSource({
      loaderPath: LOADER,
      syscalls: ['openat'],
      sched: 'inherit',
    }).loaderArgs();
    expect(inherit).not.toContain('--sched');
    expect(inherit).not.toContain('--sched-pid');
    expect(() => new BpfSource({ syscalls: ['openat'], nice: 20 }).loaderArgs()).toThrow(/out of range/);
  });

  it('takes the scheduling setting from VIGIL_CAPTURE_SCHED when no option names it', () => {
    const before = process.env.VIGIL_CAPTURE_SCHED;
    try {
      process.env.VIGIL_CAPTURE_SCHED = 'batch:5';
      const args = new BpfSource({ syscalls: ['openat'], schedPid: 4242 }).loaderArgs().join(' ');
      expect(args).toContain('--sched batch --nice 5 --sched-pid 4242');
      // An option wins over the environment.
      expect(
        new BpfSource({ syscalls: ['openat'], sched: 'inherit', nice: 0 }).loaderArgs().join(' '),
      ).not.toContain('--sched ');
      process.env.VIGIL_CAPTURE_SCHED = 'fifo';
      expect(() => new BpfSource({ syscalls: ['openat'] }).loaderArgs()).toThrow(/VIGIL_CAPTURE_SCHED=fifo/);
    } finally {
      if (before === undefined) delete process.env.VIGIL_CAPTURE_SCHED;
      else process.env.VIGIL_CAPTURE_SCHED = before;
    }
  });

  it('passes the flush interval to the loader: the option, else VIGIL_CAPTURE_FLUSH_MS, else 50 ms', () => {
    const before = process.env.VIGIL_CAPTURE_FLUSH_MS;
    const argsOf = (o: { flushMs?: number } = {}): string =>
      new BpfSource({ syscalls: ['openat'], ...o }).loaderArgs().join(' ');
    try {
      delete process.env.VIGIL_CAPTURE_FLUSH_MS;
      expect(argsOf()).toContain(`--flush-ms ${DEFAULT_FLUSH_MS}`);
      expect(DEFAULT_FLUSH_MS).toBe(50);
      expect(argsOf({ flushMs: 0 })).toContain('--flush-ms 0');
      process.env.VIGIL_CAPTURE_FLUSH_MS = '200';
      expect(argsOf()).toContain('--flush-ms 200');
      expect(argsOf({ flushMs: 5 })).toContain('--flush-ms 5');
      process.env.VIGIL_CAPTURE_FLUSH_MS = '2s';
      expect(() => argsOf()).toThrow(/VIGIL_CAPTURE_FLUSH_MS=2s is not a flush interval/);
      delete process.env.VIGIL_CAPTURE_FLUSH_MS;
      expect(() => argsOf({ flushMs: 1001 })).toThrow(/out of range/);
      expect(() => argsOf({ flushMs: 2.5 })).toThrow(/out of range/);
    } finally {
      if (before === undefined) delete process.env.VIGIL_CAPTURE_FLUSH_MS;
      else process.env.VIGIL_CAPTURE_FLUSH_MS = before;
    }
  });

  it('parses flush intervals', () => {
    expect(parseFlushMs('0')).toBe(0);
    expect(parseFlushMs(' 1000 ')).toBe(1000);
    expect(parseFlushMs('1001')).toBeUndefined();
    expect(parseFlushMs('-1')).toBeUndefined();
    expect(parseFlushMs('50ms')).toBeUndefined();
    expect(parseFlushMs('')).toBeUndefined();
  });

  it('parses scheduling settings', () => {
    expect(parseCaptureSched('batch')).toEqual({ sched: 'batch' });
    expect(parseCaptureSched(' normal:-5 ')).toEqual({ sched: 'normal', nice: -5 });
    expect(parseCaptureSched('inherit:19')).toEqual({ sched: 'inherit', nice: 19 });
    expect(parseCaptureSched('batch:20')).toBeUndefined();
    expect(parseCaptureSched('idle')).toBeUndefined();
    expect(parseCaptureSched('batch:')).toBeUndefined();
  });

  it('refuses syscalls the probe does not decode before starting anything', () => {
    const src = new BpfSource({ loaderPath: LOADER, syscalls: ['openat', 'read'] });
    expect(() => src.loaderArgs()).toThrow(/does not decode read/);
  });

  it('turns a loader error into an EbpfError with the fix (fake loader refusing like the kernel would)', async () => {
    const fake = join(dir, 'fake-loader');
    writeFileSync(
      fake,
      '#!/bin/sh\necho \'{"type":"error","code":"permission-denied","errno":1,"message":"the kernel refused the probe (Operation not permitted)"}\' >&2\nexit 2\n',
    );
    chmodSync(fake, 0o755);
    const src = new BpfSource({ loaderPath: fake, syscalls: ['openat'] });
    const err = await src.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EbpfError);
    expect((err as EbpfError).code).toBe('permission-denied');
    expect((err as EbpfError).hint).toMatch(/root/);
    expect((err as EbpfError).message).toContain('Operation not permitted');
  });

  it('reports a loader that dies without a message, with its last stderr lines', async () => {
    const fake = join(dir, 'crashing-loader');
    writeFileSync(fake, '#!/bin/sh\necho "Segmentation fault" >&2\nexit 139\n');
    chmodSync(fake, 0o755);
    const src = new BpfSource({ loaderPath: fake, syscalls: ['openat'] });
    const err = await src.start().catch((e: unknown) => e);
    expect((err as EbpfError).code).toBe('exited');
    expect((err as EbpfError).message).toContain('Segmentation fault');
  });
});
