/**
 * Choosing the live capture driver: the eBPF probe when this machine allows it, else ptrace
 * (strace), with messages that say why and what to do.
 *
 * The eBPF check goes as far as loading and attaching the probe (`vigil-capture --check`): a
 * kernel can expose BTF and still refuse the program (lockdown, seccomp in a container, a verifier
 * that differs), and only the kernel knows. Before that, cheaper checks give precise advice:
 * privileges, kernel BTF, whether the probe was built.
 *
 * `ensureTracingMounts` mounts tracefs and debugfs when they are missing (minimal containers and
 * some VMs boot without them); bpftrace and the ptrace driver's helpers expect them, and users
 * debugging a capture look there.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loaderErrorHint, parseLoaderLine } from './sources/ebpf/parse.js';
import { BUILD_HINT, defaultLoaderPath } from './sources/ebpf/source.js';

/** The live capture drivers. */
export type DriverName = 'ebpf' | 'ptrace';

/** The outcome of checking one driver. */
export interface DriverCheck {
  driver: DriverName;
  ok: boolean;
  /** Why it cannot be used (when not ok). */
  reason?: string;
  /** What the user can do about it. */
  hint?: string;
}

/** The chosen driver, every check made, and messages for the user (fallbacks, mounts). */
export interface DriverSelection {
  driver: DriverName;
  checks: DriverCheck[];
  messages: string[];
}

/** No driver can run here (or the one asked for cannot). The message lists each reason and fix. */
export class DriverSelectError extends Error {
  readonly checks: DriverCheck[];
  constructor(message: string, checks: DriverCheck[]) {
    super(message);
    this.name = 'DriverSelectError';
    this.checks = checks;
  }
}

/** Options of {@link selectDriver}. */
export interface SelectDriverOptions {
  /** `auto` (default) tries eBPF, then ptrace; a driver name allows only that one. */
  prefer?: 'auto' | DriverName;
  /** The eBPF loader (default: {@link defaultLoaderPath}). */
  loaderPath?: string;
  /** The strace executable (default: found on PATH). */
  stracePath?: string;
  /** Mount tracefs/debugfs when missing (default true; needs root). */
  mountTracing?: boolean;
  /** Where the checks read process and kernel state (tests point these at fixtures). */
  procStatusPath?: string;
  btfPath?: string;
  ptraceScopePath?: string;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The effective capability set of this process (from /proc/self/status), or undefined. */
export function effectiveCapabilities(statusText: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m?.[1] ? BigInt(`0x${m[1]}`) : undefined;
}

/** Loading and attaching tracing programs needs CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN. */
export function canLoadBpf(caps: bigint): boolean {
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on PATH. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function run(
  file: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((res) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error
        ? typeof (error as { code?: unknown }).code === 'number'
          ? (error as { code: number }).code
          : null
        : 0;
      res({
        code,
        stdout: String(stdout),
        stderr: String(stderr),
        ...(error && code === null ? { error } : {}),
      });
    });
  });
}

/** Whether the eBPF driver can run here, down to loading the probe into this kernel. */
export async function checkEbpf(options: SelectDriverOptions = {}): Promise<DriverCheck> {
  const fail = (reason: string, hint: string): DriverCheck => ({ driver: 'ebpf', ok: false, reason, hint });
  if (process.platform !== 'linux')
    return fail(`eBPF capture needs Linux (this is ${process.platform})`, 'run Vigil on the Linux host');
  const status = readText(options.procStatusPath ?? '/proc/self/status');
  const caps = status === undefined ? undefined : effectiveCapabilities(status);
  if (caps !== undefined && !canLoadBpf(caps)) {
    return fail(
      'not running as root (missing CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)',
      'run Vigil as root (sudo), or grant it CAP_BPF and CAP_PERFMON; in a container, run it privileged',
    );
  }
  const btf = options.btfPath ?? '/sys/kernel/btf/vmlinux';
  if (!existsSync(btf)) {
    return fail(`the kernel exposes no BTF (${btf} is missing)`, loaderErrorHint('no-btf'));
  }
  const loader = options.loaderPath ?? defaultLoaderPath();
  if (!existsSync(loader)) return fail(`the eBPF probe is not built (${loader} is missing)`, BUILD_HINT);
  if (!isExecutable(loader)) return fail(`${loader} is not executable`, BUILD_HINT);

  // The real test: the kernel loads and attaches the probe.
  const r = await run(loader, ['--check', '--syscalls', 'openat,close'], 120_000);
  if (r.code === 0) return { driver: 'ebpf', ok: true };
  for (const line of r.stderr.split('\n')) {
    const msg = parseLoaderLine(line);
    if (msg?.type === 'error')
      return fail(`the kernel refused the eBPF probe: ${msg.message}`, loaderErrorHint(msg.code));
  }
  const detail = r.error ? r.error.message : r.stderr.trim().split('\n').slice(-3).join('; ');
  return fail(
    `the eBPF loader failed (exit ${r.code ?? 'signal'})${detail ? `: ${detail}` : ''}`,
    'run native/bpf/build/vigil-capture --check --verbose to see why, or use the ptrace driver',
  );
}

/** Whether the ptrace driver can run here: strace is installed and ptrace is allowed. */
export function checkPtrace(options: SelectDriverOptions = {}): DriverCheck {
  const fail = (reason: string, hint: string): DriverCheck => ({ driver: 'ptrace', ok: false, reason, hint });
  if (process.platform !== 'linux')
    return fail(`ptrace capture needs Linux (this is ${process.platform})`, 'run Vigil on the Linux host');
  const strace = options.stracePath ?? findOnPath('strace');
  if (!strace || !isExecutable(strace)) {
    return fail('strace is not installed', 'install it (Debian/Ubuntu: apt-get install strace)');
  }
  const scope = readText(options.ptraceScopePath ?? '/proc/sys/kernel/yama/ptrace_scope')?.trim();
  if (scope === '3') {
    return fail(
      'ptrace is disabled on this machine (kernel.yama.ptrace_scope=3)',
      'it can only be re-enabled by rebooting; use the eBPF driver',
    );
  }
  return { driver: 'ptrace', ok: true };
}

/** Options of {@link ensureTracingMounts}. */
export interface TracingMountOptions {
  /** The mount table to read (default /proc/mounts). */
  mountsPath?: string;
  /** The mount(8) executable (default: found on PATH). */
  mountCommand?: string;
  /** Where tracefs and debugfs go (defaults /sys/kernel/tracing and /sys/kernel/debug). */
  tracefsDir?: string;
  debugfsDir?: string;
}

/**
 * Mounts tracefs and debugfs where the kernel expects them if they are not mounted. Returns one
 * message per action or failure; never throws (a missing tracefs is not fatal for the eBPF probe,
 * which attaches through BTF).
 */
export async function ensureTracingMounts(options: TracingMountOptions = {}): Promise<string[]> {
  const messages: string[] = [];
  const table = readText(options.mountsPath ?? '/proc/mounts') ?? '';
  const mounted = new Map<string, string>();
  for (const line of table.split('\n')) {
    const f = line.split(' ');
    if (f.length >= 3 && f[1] && f[2]) mounted.set(f[1], f[2]);
  }
  const mount = options.mountCommand ?? findOnPath('mount') ?? '/bin/mount';
  const wanted: [string, string][] = [
    ['tracefs', options.tracefsDir ?? '/sys/kernel/tracing'],
    ['debugfs', options.debugfsDir ?? '/sys/kernel/debug'],
  ];
  for (const [fs, dir] of wanted) {
    if (mounted.get(dir) === fs) continue;
    if (!existsSync(dir)) {
      messages.push(`${fs} is not mounted and ${dir} does not exist: this kernel may lack ${fs}`);
      continue;
    }
    const r = await run(mount, ['-t', fs, 'nodev', dir], 10_000);
    if (r.code === 0) messages.push(`mounted ${fs} at ${dir}`);
    else {
      const why = (r.error?.message ?? r.stderr.trim()) || `exit ${r.code}`;
      messages.push(`could not mount ${fs} at ${dir} (${why}); as root: mount -t ${fs} nodev ${dir}`);
    }
  }
  return messages;
}

/**
 * Picks the capture driver. `auto` prefers eBPF (lower overhead, sees every process) and falls back
 * to ptrace with a message saying why; when neither can run, or the preferred one cannot, it throws
 * a {@link DriverSelectError} listing each reason and what to do.
 */
export async function selectDriver(options: SelectDriverOptions = {}): Promise<DriverSelection> {
  const prefer = options.prefer ?? 'auto';
  const messages: string[] = [];
  const checks: DriverCheck[] = [];
  const explain = (c: DriverCheck): string =>
    `${c.driver}: ${c.reason ?? 'unavailable'}; ${c.hint ?? ''}`.trim();

  if (options.mountTracing !== false && process.getuid?.() === 0)
    messages.push(...(await ensureTracingMounts()));

  if (prefer === 'ebpf' || prefer === 'auto') {
    const e = await checkEbpf(options);
    checks.push(e);
    if (e.ok) return { driver: 'ebpf', checks, messages };
    if (prefer === 'ebpf')
      throw new DriverSelectError(`the eBPF driver cannot run here: ${explain(e)}`, checks);
    messages.push(
      `eBPF capture unavailable (${e.reason}); falling back to ptrace, which is slower and traces only the processes it starts or attaches to. To use eBPF: ${e.hint}`,
    );
  }
  const p = checkPtrace(options);
  checks.push(p);
  if (p.ok) return { driver: 'ptrace', checks, messages };
  if (prefer === 'ptrace')
    throw new DriverSelectError(`the ptrace driver cannot run here: ${explain(p)}`, checks);
  throw new DriverSelectError(
    `no capture driver can run here:\n  - ${checks.map(explain).join('\n  - ')}`,
    checks,
  );
}
