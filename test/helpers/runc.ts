/**
 * Real containers for end-to-end tests: runc (Debian `runc`) runs an OCI bundle whose rootfs is
 * Debian's statically linked busybox (`busybox-static`) with its applets installed as symlinks.
 *
 * The container's cgroup is `/vigil-test/cri-containerd-<64 hex id>.scope`, the layout containerd's
 * CRI plugin gives pods with the systemd driver, so `/proc/<pid>/cgroup` names the container id the
 * way the state engine (src/capture/state/container-id.ts) and Falco's container engines find it.
 *
 * Lifecycle: `startRuncContainer` → `exec` → `delete` (or `withRuncContainer`, which always deletes).
 * Teardown is idempotent and also runs, synchronously, when the test process exits; containers left
 * behind by a test process that was killed are removed by the next start (their owner pid is
 * recorded in the bundle's annotations). runc needs root: suites call `runcSkipReason()` and skip
 * with its message otherwise.
 */
import { CAPABILITIES } from '../../src/engine/fields/syscall-extractors.js';
import { processAlive } from '../../src/spool/spool.js';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** Debian packages the helper needs (the test command installs them). */
export const RUNC_DEBIAN_PACKAGES: readonly string[] = ['runc', 'busybox-static'];

/** busybox-static installs a statically linked busybox here. */
export const BUSYBOX_PATH = '/bin/busybox';

/** runc's state directory for test containers, apart from any real runtime's (`/run/runc`). */
export const RUNC_ROOT = '/run/vigil-test-runc';

/** Parent cgroup of test containers. */
export const CGROUP_PARENT = '/vigil-test';

const OWNER_ANNOTATION = 'org.vigil.test.owner-pid';

/** Why runc containers cannot run here, or undefined when they can. */
export function runcSkipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'runc containers need root (creating namespaces and cgroups): run the end-to-end tests as root';
  }
  return undefined;
}

export interface RuncContainerOptions {
  /** The container's first process; default: `sleep` for a day (the container idles until deleted). */
  args?: string[];
  /** Extra `KEY=value` environment entries for the first process (exec'd processes inherit them). */
  env?: string[];
  /** Host name (and /etc/hostname); default: the first 12 characters of the id, as Docker does. */
  hostname?: string;
  /** Share the host's network namespace; default: a namespace of its own (loopback only, down). */
  hostNetwork?: boolean;
  /** Share the host's PID namespace. */
  hostPid?: boolean;
  /**
   * Like `--privileged`: every capability of this process's bounding set, devices allowed, no masked
   * or read-only /proc paths, writable /sys.
   */
  privileged?: boolean;
  /** Files to create in the rootfs before start: path inside the container → content. */
  files?: Record<string, string | { content: string; mode: number }>;
  /** Bind mounts from the host. */
  mounts?: { source: string; destination: string; readonly?: boolean }[];
  /** How long `runc run -d` may take (ms); default 30 s. */
  timeoutMs?: number;
}

export interface ExecOptions {
  /** Extra `KEY=value` environment entries. */
  env?: string[];
  cwd?: string;
  /** `uid` or `uid:gid`. */
  user?: string;
  /** Written to the process's stdin, which is then closed. */
  input?: string;
  /** Kill `runc exec` after this long (ms); default 30 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** Exit status of the command (runc exec passes it through); null when killed by a signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RuncContainer {
  /** 64 hex characters: runc's container id and the id in the cgroup path. */
  readonly id: string;
  /** `container.id` as Vigil and Falco show it: the first 12 characters of `id`. */
  readonly shortId: string;
  /** Host PID of the container's first process. */
  readonly pid: number;
  readonly bundle: string;
  readonly rootfs: string;
  /** The container's cgroup path below each hierarchy's root. */
  readonly cgroupPath: string;
  /** Run a command in the container (a string runs through `/bin/sh -c`). */
  exec(cmd: string | readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Send a signal (default KILL) to the first process and wait until the container has stopped. */
  kill(signal?: string): Promise<void>;
  /** Stop and remove the container, its bundle and its cgroups. Safe to call more than once. */
  delete(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Whether an ELF file asks for a dynamic loader (has a PT_INTERP program header). */
function isDynamicElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
    const is64 = head[4] === 2;
    const phoff = is64 ? Number(head.readBigUInt64LE(0x20)) : head.readUInt32LE(0x1c);
    const phentsize = head.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = head.readUInt16LE(is64 ? 0x38 : 0x2c);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    const PT_INTERP = 3;
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === PT_INTERP) return true;
    return false;
  } finally {
    closeSync(fd);
  }
}

let runcPath: string | undefined;

/** runc and a static busybox, or an error that says which Debian package to install. */
function checkPrerequisites(): string {
  if (runcPath) return runcPath;
  const runc = findExecutable('runc');
  if (!runc) throw new Error(`runc not found: install the Debian packages ${RUNC_DEBIAN_PACKAGES.join(' ')}`);
  if (!existsSync(BUSYBOX_PATH)) {
    throw new Error(`${BUSYBOX_PATH} not found: install the Debian package busybox-static`);
  }
  if (isDynamicElf(BUSYBOX_PATH)) {
    throw new Error(
      `${BUSYBOX_PATH} is dynamically linked and cannot run in an empty rootfs: install busybox-static`,
    );
  }
  runcPath = runc;
  return runc;
}

// ---------------------------------------------------------------------------------------------
// Running runc

interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runcArgs(...args: string[]): string[] {
  return ['--root', RUNC_ROOT, ...args];
}

/** Run runc asynchronously, so that an in-process capture source keeps reading events meanwhile. */
function runRunc(
  args: string[],
  opts: { input?: string; timeoutMs: number; stdio?: ['ignore' | 'pipe', number, number] },
): Promise<RunResult> {
  const runc = checkPrerequisites();
  return new Promise((resolve, reject) => {
    const child = spawn(runc, runcArgs(...args), {
      stdio: opts.stdio ?? [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${runc}: ${err.message}`, { cause: err }));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function runRuncSync(args: string[]): RunResult {
  const runc = checkPrerequisites();
  const r = spawnSync(runc, runcArgs(...args), { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

interface RuncState {
  id: string;
  pid: number;
  status: string;
  bundle: string;
  annotations?: Record<string, string>;
}

function stateOf(id: string): RuncState | undefined {
  const r = runRuncSync(['state', id]);
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as RuncState;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Bundle

/** Capability names by number, so that a privileged container gets all of them. */
const ALL_CAPS: readonly string[] = CAPABILITIES;

/** The capabilities Docker and containerd give a container by default. */
const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * Every capability this process may pass on (its bounding set), as Docker gives a privileged
 * container: asking runc for one outside the bounding set fails the start.
 */
function boundingCaps(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const mask = BigInt(`0x${m?.[1] ?? '0'}`);
  return ALL_CAPS.filter((_name, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/** busybox plus a symlink per applet at its usual place (`bin/sh`, `usr/bin/wget`, ...). */
function buildRootfs(rootfs: string, hostname: string, opts: RuncContainerOptions): void {
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'dev',
    'proc',
    'sys',
    'run',
    'var/log',
    'home',
  ]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  mkdirSync(join(rootfs, 'root'), { mode: 0o700 });
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX_PATH, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  const list = spawnSync(BUSYBOX_PATH, ['--list-full'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`${BUSYBOX_PATH} --list-full failed: ${list.stderr}`);
  for (const applet of list.stdout.split('\n')) {
    if (!applet || applet === 'bin/busybox') continue;
    const link = join(rootfs, applet);
    mkdirSync(dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync('/bin/busybox', link);
  }
  const files: Record<string, string | { content: string; mode: number }> = {
    '/etc/hostname': `${hostname}\n`,
    '/etc/hosts': `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n`,
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
    ...(opts.hostNetwork && existsSync('/etc/resolv.conf')
      ? { '/etc/resolv.conf': readFileSync('/etc/resolv.conf', 'utf8') }
      : {}),
    ...opts.files,
  };
  for (const [path, spec] of Object.entries(files)) {
    const target = join(rootfs, path);
    mkdirSync(dirname(target), { recursive: true });
    const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
    writeFileSync(target, content, { mode });
    chmodSync(target, mode);
  }
}

/** config.json: an OCI runtime spec close to what containerd generates for a pod container. */
function runtimeSpec(id: string, hostname: string, cgroupPath: string, opts: RuncContainerOptions): object {
  const caps = opts.privileged ? boundingCaps() : DEFAULT_CAPS;
  const namespaces = [
    ...(opts.hostPid ? [] : [{ type: 'pid' }]),
    ...(opts.hostNetwork ? [] : [{ type: 'network' }]),
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['/bin/sleep', '86400'],
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME=/root',
        `HOSTNAME=${hostname}`,
        ...(opts.env ?? []),
      ],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: !opts.privileged,
    },
    root: { path: 'rootfs', readonly: false },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      {
        destination: '/sys',
        type: 'sysfs',
        source: 'sysfs',
        options: ['nosuid', 'noexec', 'nodev', opts.privileged ? 'rw' : 'ro'],
      },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', opts.privileged ? 'rw' : 'ro'],
      },
      ...(opts.mounts ?? []).map((m) => ({
        destination: m.destination,
        type: 'bind',
        source: m.source,
        options: ['rbind', m.readonly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      namespaces,
      cgroupsPath: cgroupPath,
      resources: { devices: [{ allow: Boolean(opts.privileged), access: 'rwm' }] },
      ...(opts.privileged
        ? {}
        : {
            maskedPaths: [
              '/proc/acpi',
              '/proc/asound',
              '/proc/kcore',
              '/proc/keys',
              '/proc/latency_stats',
              '/proc/timer_list',
              '/proc/timer_stats',
              '/proc/sched_debug',
              '/proc/scsi',
              '/sys/firmware',
            ],
            readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
          }),
    },
    annotations: { [OWNER_ANNOTATION]: String(process.pid), 'org.vigil.test.id': id },
  };
}

// ---------------------------------------------------------------------------------------------
// Teardown

interface Teardown {
  id: string;
  bundle: string;
}

/** Containers this process started and has not deleted yet. */
const live = new Map<string, Teardown>();
let exitHookInstalled = false;

/** cgroup hierarchies mounted on this host (v1 controllers and/or the v2 unified tree). */
function cgroupMounts(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => {
        const sep = f.indexOf('-');
        return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
      })
      .map((f) => f[4] ?? '')
      .filter((p) => p !== '');
  } catch {
    return [];
  }
}

/** Remove the shared parent cgroup when no test container uses it any more (rmdir fails otherwise). */
function removeEmptyParentCgroups(): void {
  for (const mount of cgroupMounts()) {
    try {
      rmdirSync(join(mount, CGROUP_PARENT));
    } catch {
      /* busy (another container) or absent */
    }
  }
}

/** Synchronous and idempotent: usable from the process `exit` hook. */
function teardownSync(t: Teardown): void {
  try {
    runRuncSync(['delete', '--force', t.id]);
  } finally {
    rmSync(t.bundle, { recursive: true, force: true });
    live.delete(t.id);
    removeEmptyParentCgroups();
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const t of [...live.values()]) {
      try {
        teardownSync(t);
      } catch {
        /* keep tearing down the others */
      }
    }
  });
}

/** Delete test containers whose owning test process no longer exists (it was killed mid-run). */
export function sweepStaleContainers(): string[] {
  const r = runRuncSync(['list', '--format', 'json']);
  if (r.status !== 0 || r.stdout.trim() === '' || r.stdout.trim() === 'null') return [];
  const removed: string[] = [];
  for (const s of JSON.parse(r.stdout) as RuncState[]) {
    const owner = Number(s.annotations?.[OWNER_ANNOTATION]);
    if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || processAlive(owner)) continue;
    teardownSync({ id: s.id, bundle: s.bundle });
    removed.push(s.id);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Containers

class StartedContainer implements RuncContainer {
  private deleted = false;

  constructor(
    readonly id: string,
    readonly pid: number,
    readonly bundle: string,
    readonly cgroupPath: string,
  ) {}

  get shortId(): string {
    return this.id.slice(0, 12);
  }

  get rootfs(): string {
    return join(this.bundle, 'rootfs');
  }

  async exec(cmd: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.deleted) throw new Error(`container ${this.shortId} was deleted`);
    const argv = typeof cmd === 'string' ? ['/bin/sh', '-c', cmd] : [...cmd];
    const flags: string[] = [];
    for (const e of options.env ?? []) flags.push('--env', e);
    if (options.cwd !== undefined) flags.push('--cwd', options.cwd);
    if (options.user !== undefined) flags.push('--user', options.user);
    return runRunc(['exec', ...flags, this.id, ...argv], {
      ...(options.input !== undefined ? { input: options.input } : {}),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  async kill(signal = 'KILL'): Promise<void> {
    if (this.deleted) return;
    await runRunc(['kill', this.id, signal], { timeoutMs: 15_000 });
    // runc reports "stopped" once the first process is gone; poll briefly for it.
    for (let i = 0; i < 100; i++) {
      const s = stateOf(this.id);
      if (!s || s.status === 'stopped') return;
      await sleep(50);
    }
    throw new Error(`container ${this.shortId} did not stop after SIG${signal}`);
  }

  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    try {
      await runRunc(['delete', '--force', this.id], { timeoutMs: 15_000 });
    } finally {
      teardownSync({ id: this.id, bundle: this.bundle });
    }
  }
}

/** Create the bundle and start the container detached (`runc run -d`). */
export async function startRuncContainer(opts: RuncContainerOptions = {}): Promise<RuncContainer> {
  checkPrerequisites();
  const reason = runcSkipReason();
  if (reason) throw new Error(reason);
  mkdirSync(RUNC_ROOT, { recursive: true, mode: 0o700 });
  sweepStaleContainers();
  installExitHook();

  const id = randomBytes(32).toString('hex');
  const hostname = opts.hostname ?? id.slice(0, 12);
  const cgroupPath = `${CGROUP_PARENT}/cri-containerd-${id}.scope`;
  const bundle = mkdtempSync(join(tmpdir(), 'vigil-runc-'));
  const teardown: Teardown = { id, bundle };
  live.set(id, teardown);
  try {
    buildRootfs(join(bundle, 'rootfs'), hostname, opts);
    writeFileSync(
      join(bundle, 'config.json'),
      JSON.stringify(runtimeSpec(id, hostname, cgroupPath, opts), null, 2),
    );
    // The container inherits runc's stdout/stderr: a file, so that nothing waits on a pipe that the
    // detached container keeps open.
    const outFd = openSync(join(bundle, 'container.log'), 'a');
    let r: RunResult;
    try {
      r = await runRunc(
        [
          '--log',
          join(bundle, 'runc.log'),
          'run',
          '-d',
          '--pid-file',
          join(bundle, 'init.pid'),
          '--bundle',
          bundle,
          id,
        ],
        { timeoutMs: opts.timeoutMs ?? 30_000, stdio: ['ignore', outFd, outFd] },
      );
    } finally {
      closeSync(outFd);
    }
    if (r.status !== 0) {
      const log = existsSync(join(bundle, 'runc.log')) ? readFileSync(join(bundle, 'runc.log'), 'utf8') : '';
      const out = readFileSync(join(bundle, 'container.log'), 'utf8');
      throw new Error(
        `runc run failed for container ${id} (bundle ${bundle}, status ${r.status ?? r.signal}): ${[log.trim(), out.trim()].filter(Boolean).join('\n')}`,
      );
    }
    const pid = Number(readFileSync(join(bundle, 'init.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`runc wrote no pid for container ${id}`);
    return new StartedContainer(id, pid, bundle, cgroupPath);
  } catch (err) {
    teardownSync(teardown);
    throw err;
  }
}

/** Run `fn` with a fresh container that is deleted afterwards, whatever `fn` does. */
export async function withRuncContainer<T>(
  opts: RuncContainerOptions,
  fn: (container: RuncContainer) => Promise<T>,
): Promise<T> {
  const c = await startRuncContainer(opts);
  try {
    return await fn(c);
  } finally {
    await c.delete();
  }
}
