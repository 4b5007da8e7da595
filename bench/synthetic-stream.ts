/**
 * A synthetic but realistic syscall stream for benchmarks: a process tree of daemons, shells and
 * containerised services doing what such processes do (reads, writes, futexes, polls, opens of
 * libraries and config files, occasional execs, connects and socket calls).
 *
 * Deterministic (seeded) so runs are comparable.
 */
import type { ContainerInfo, EventParam, FdInfo, SyscallEvent, ThreadInfo } from '../src/engine/event.js';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Weighted<T> = [T, number][];

function picker<T>(items: Weighted<T>, rand: () => number): () => T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  const cum: number[] = [];
  let acc = 0;
  for (const [, w] of items) cum.push((acc += w / total));
  return () => {
    const r = rand();
    for (let i = 0; i < cum.length; i++) if (r < cum[i]!) return items[i]![0];
    return items[items.length - 1]![0];
  };
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_CLOEXEC = 0o2000000;

function thread(
  pid: number,
  comm: string,
  exepath: string,
  args: string[],
  parent: ThreadInfo | undefined,
  extra: Partial<ThreadInfo> = {},
): ThreadInfo {
  return {
    pid,
    tid: pid,
    ppid: parent?.pid ?? 0,
    comm,
    exe: exepath,
    exepath,
    args,
    cwd: '/',
    tty: 0,
    uid: 0,
    gid: 0,
    loginuid: -1,
    userName: 'root',
    groupName: 'root',
    startTs: 1_700_000_000_000_000_000n,
    capEffective: 0x1ffffffffffn,
    containerId: 'host',
    ...(parent ? { parent } : {}),
    ...extra,
  };
}

export function processTree(): { threads: ThreadInfo[]; containers: Map<string, ContainerInfo> } {
  const systemd = thread(1, 'systemd', '/usr/lib/systemd/systemd', ['--system'], undefined);
  const sshd = thread(812, 'sshd', '/usr/sbin/sshd', ['-D'], systemd);
  const sshdSession = thread(4410, 'sshd', '/usr/sbin/sshd', ['-D', '-R'], sshd);
  const bash = thread(4420, 'bash', '/usr/bin/bash', [], sshdSession, {
    tty: 34816,
    uid: 1000,
    gid: 1000,
    loginuid: 1000,
    userName: 'alice',
    groupName: 'alice',
    cwd: '/home/alice',
  });
  const vim = thread(4501, 'vim', '/usr/bin/vim', ['notes.txt'], bash, {
    ...bash,
    pid: 4501,
    tid: 4501,
    comm: 'vim',
    exe: '/usr/bin/vim',
    exepath: '/usr/bin/vim',
    args: ['notes.txt'],
    parent: bash,
  });
  const containerd = thread(640, 'containerd', '/usr/bin/containerd', [], systemd);
  const kubelet = thread(
    700,
    'kubelet',
    '/usr/bin/kubelet',
    ['--config=/var/lib/kubelet/config.yaml'],
    systemd,
  );
  const journald = thread(300, 'systemd-journal', '/usr/lib/systemd/systemd-journald', [], systemd);
  const shimA = thread(
    2100,
    'containerd-shim',
    '/usr/bin/containerd-shim-runc-v2',
    ['-namespace', 'k8s.io'],
    systemd,
  );
  const shimB = thread(
    2200,
    'containerd-shim',
    '/usr/bin/containerd-shim-runc-v2',
    ['-namespace', 'k8s.io'],
    systemd,
  );
  const containers = new Map<string, ContainerInfo>();
  const nginxC: ContainerInfo = {
    id: '3ad7b26ded6d',
    name: 'web',
    image: 'docker.io/library/nginx:1.27',
    imageRepository: 'docker.io/library/nginx',
    imageTag: '1.27',
    type: 'containerd',
    privileged: false,
    k8s: { namespace: 'shop', podName: 'web-7d9c8', podUid: 'a1b2' },
  };
  const apiC: ContainerInfo = {
    id: '9f1e0c2b4a77',
    name: 'api',
    image: 'ghcr.io/example/api:2.4.1',
    imageRepository: 'ghcr.io/example/api',
    imageTag: '2.4.1',
    type: 'containerd',
    privileged: false,
    k8s: { namespace: 'shop', podName: 'api-5c6d', podUid: 'c3d4' },
  };
  containers.set(nginxC.id, nginxC);
  containers.set(apiC.id, apiC);
  const nginx = thread(2110, 'nginx', '/usr/sbin/nginx', ['-g', 'daemon off;'], shimA, {
    containerId: nginxC.id,
    uid: 101,
    userName: 'nginx',
  });
  const nginxW = thread(2111, 'nginx', '/usr/sbin/nginx', ['-g', 'daemon off;'], nginx, {
    containerId: nginxC.id,
    uid: 101,
    userName: 'nginx',
  });
  const node = thread(2210, 'node', '/usr/local/bin/node', ['server.js'], shimB, {
    containerId: apiC.id,
    uid: 1000,
    userName: 'node',
    cwd: '/app',
  });
  const sh = thread(2290, 'sh', '/bin/sh', ['-c', 'ls /app'], node, {
    containerId: apiC.id,
    uid: 1000,
    userName: 'node',
    cwd: '/app',
  });
  const postgres = thread(
    900,
    'postgres',
    '/usr/lib/postgresql/15/bin/postgres',
    ['-D', '/var/lib/postgresql/15/main'],
    systemd,
    { uid: 105, userName: 'postgres' },
  );
  const python = thread(1500, 'python3', '/usr/bin/python3.11', ['/opt/agent/agent.py'], systemd);
  return {
    threads: [
      systemd,
      sshd,
      bash,
      vim,
      containerd,
      kubelet,
      journald,
      nginx,
      nginxW,
      node,
      sh,
      postgres,
      python,
      nginxW,
      node,
      node,
      postgres,
      kubelet,
    ],
    containers,
  };
}

const READ_PATHS: string[] = [
  '/etc/ld.so.cache',
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/x86_64-linux-gnu/libpthread.so.0',
  '/proc/self/status',
  '/proc/meminfo',
  '/sys/fs/cgroup/cpu.max',
  '/usr/share/zoneinfo/UTC',
  '/etc/passwd',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/app/node_modules/express/index.js',
  '/usr/share/nginx/html/index.html',
  '/var/lib/postgresql/15/main/base/16384/2619',
  '/home/alice/notes.txt',
];
const WRITE_PATHS: string[] = [
  '/var/log/nginx/access.log',
  '/tmp/.tmpXa91',
  '/var/lib/postgresql/15/main/pg_wal/000000010000000000000001',
  '/home/alice/.notes.txt.swp',
  '/run/containerd/io.containerd.runtime.v2.task/k8s.io/x/log.json',
];
const RARE_SENSITIVE = ['/etc/shadow', '/root/.ssh/id_rsa', '/etc/sudoers'];

function param(name: string, raw: EventParam['raw'], text?: string): EventParam {
  return text === undefined ? { name, raw } : { name, raw, text };
}

export type Scenario = 'mixed' | 'relevant';

const MIXED: Weighted<string> = [
  ['read', 24],
  ['write', 14],
  ['futex', 10],
  ['epoll_wait', 8],
  ['recvfrom', 5],
  ['close', 6],
  ['mmap', 4],
  ['fstat', 4],
  ['poll', 3],
  ['ioctl', 2],
  ['lseek', 2],
  ['nanosleep', 2],
  ['writev', 2],
  ['getdents64', 1],
  ['brk', 1],
  ['clock_nanosleep', 1],
  ['rt_sigprocmask', 2],
  ['sendto', 2],
  ['openat', 5],
  ['execve', 0.3],
  ['connect', 0.6],
  ['socket', 0.6],
  ['dup2', 0.1],
];

const RELEVANT: Weighted<string> = [
  ['openat', 50],
  ['open', 5],
  ['execve', 10],
  ['connect', 10],
  ['socket', 7],
  ['sendto', 9],
  ['sendmsg', 3],
  ['dup2', 3],
  ['symlinkat', 1],
  ['linkat', 1],
  ['ptrace', 0.5],
  ['init_module', 0.2],
];

/** Generate `count` distinct events for a scenario. */
export function generateEvents(scenario: Scenario, count: number, seed = 42): SyscallEvent[] {
  const rand = rng(seed);
  const { threads, containers } = processTree();
  const pickType = picker(scenario === 'mixed' ? MIXED : RELEVANT, rand);
  const pickThread = (): ThreadInfo => threads[Math.floor(rand() * threads.length)]!;
  const events: SyscallEvent[] = [];
  let ts = 1_764_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    ts += BigInt(1000 + Math.floor(rand() * 20000));
    const t = pickThread();
    const type = pickType();
    const container = t.containerId && t.containerId !== 'host' ? containers.get(t.containerId) : undefined;
    const ev: SyscallEvent = {
      source: 'syscall',
      num: i + 1,
      ts,
      type,
      dir: '<',
      res: 0,
      params: [],
      thread: t,
      hostname: 'bench-node',
    };
    if (container) ev.container = container;
    switch (type) {
      case 'open':
      case 'openat': {
        const r = rand();
        const write = r < 0.15;
        const name =
          r > 0.9995
            ? RARE_SENSITIVE[Math.floor(rand() * RARE_SENSITIVE.length)]!
            : write
              ? WRITE_PATHS[Math.floor(rand() * WRITE_PATHS.length)]!
              : READ_PATHS[Math.floor(rand() * READ_PATHS.length)]!;
        const flags = (write ? O_WRONLY | O_CREAT : r < 0.2 ? O_RDWR : O_RDONLY) | O_CLOEXEC;
        const fdnum = 3 + Math.floor(rand() * 40);
        const failed = rand() < 0.05;
        ev.res = failed ? -2 : fdnum;
        const fd: FdInfo = { num: fdnum, type: 'file', name, openFlags: flags };
        if (!failed) ev.fd = fd;
        ev.params = [
          param('fd', failed ? -2 : fdnum, failed ? 'ENOENT' : String(fdnum)),
          param('dirfd', -100, 'AT_FDCWD'),
          param('name', name),
          param('flags', flags, write ? 'O_WRONLY|O_CREAT|O_CLOEXEC' : 'O_RDONLY|O_CLOEXEC'),
          param('mode', 0o644),
        ];
        break;
      }
      case 'execve': {
        const child = {
          ...t,
          pid: 30000 + i,
          tid: 30000 + i,
          parent: t,
          comm: rand() < 0.5 ? 'ls' : 'git',
          args: ['status'],
        };
        child.exe = `/usr/bin/${child.comm}`;
        child.exepath = child.exe;
        ev.thread = child;
        ev.params = [param('res', 0), param('exe', child.exe), param('args', child.args.join('\0'))];
        break;
      }
      case 'connect': {
        const remote = rand() < 0.7 ? '10.96.0.1' : rand() < 0.5 ? '127.0.0.1' : '142.250.74.46';
        const sport = rand() < 0.5 ? 443 : 5432;
        const fd: FdInfo = {
          num: 17,
          type: 'ipv4',
          name: `10.0.0.5:48122->${remote}:${sport}`,
          l4proto: 'tcp',
          cip: '10.0.0.5',
          cport: 48122,
          sip: remote,
          sport,
          connected: true,
          nameChanged: true,
        };
        ev.fd = fd;
        ev.params = [param('res', 0, 'SUCCESS'), param('tuple', fd.name), param('fd', 17)];
        break;
      }
      case 'socket':
        ev.res = 17;
        ev.params = [param('fd', 17), param('domain', 2, 'AF_INET'), param('type', 1), param('proto', 0)];
        break;
      case 'dup2':
        ev.res = 1;
        ev.params = [param('res', 1), param('oldfd', 5), param('newfd', 1)];
        ev.fd = { num: 1, type: 'pipe', name: 'pipe:[12345]' };
        break;
      case 'read':
      case 'write':
      case 'recvfrom':
      case 'sendto':
      case 'sendmsg':
      case 'writev': {
        const n = 64 + Math.floor(rand() * 4000);
        ev.res = n;
        ev.fd =
          rand() < 0.5
            ? { num: 9, type: 'file', name: READ_PATHS[i % READ_PATHS.length]!, openFlags: O_RDONLY }
            : {
                num: 12,
                type: 'ipv4',
                name: '10.0.0.5:8080->10.0.0.9:51234',
                l4proto: 'tcp',
                cip: '10.0.0.9',
                cport: 51234,
                sip: '10.0.0.5',
                sport: 8080,
                isServer: true,
                connected: true,
              };
        ev.params = [param('res', n), param('size', n), param('fd', ev.fd.num)];
        break;
      }
      default:
        ev.params = [param('res', 0)];
    }
    events.push(ev);
  }
  return events;
}
