/**
 * Helpers of the end-to-end suites: a live detector (eBPF driver) that records alerts and lets a
 * test wait for one with a deadline, host commands run without blocking the event loop (the
 * detector reads its pipe on it), `runc exec -t` under a pseudo-terminal, and the static helper
 * program (e2e-tool.c) built at test time.
 *
 * Every alert is stored with the pids of its process's ancestors, read from the detector's state
 * engine while the alert is delivered (synchronously, so the process is still in the table even
 * if it has exited since): the benign-workload tests use it to pick out the alerts of their own
 * processes on a machine where other programs run too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDetector, type Detector } from '../../src/agent/detector.js';
import type { StateEngine } from '../../src/capture/state/state-engine.js';
import type { Alert } from '../../src/engine/engine.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ebpfSkipReason } from '../helpers/ebpf.js';
import { RUNC_ROOT, type RuncContainer } from '../helpers/runc.js';

export const LOADER = join(REPO_ROOT, 'native', 'bpf', 'build', 'vigil-capture');
export const DEFAULT_RULES = join(REPO_ROOT, 'rules', 'vigil_rules.yaml');

/** Why the live suites cannot run here (or undefined). */
export async function liveSkipReason(): Promise<string | undefined> {
  const ebpf = await ebpfSkipReason();
  if (ebpf) return ebpf;
  for (const tool of ['gcc', 'script', 'unshare', 'ip']) {
    if (!which(tool)) return `${tool} is not installed (the end-to-end actions use it)`;
  }
  return undefined;
}

export function which(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** An alert and the pids of its process and that process's ancestors. */
export interface SeenAlert {
  alert: Alert;
  lineage: number[];
  /** Order of arrival. */
  seq: number;
}

/** The running detector and what it has raised so far. */
export class LiveDetector {
  readonly seen: SeenAlert[] = [];
  private seq = 0;

  constructor(readonly detector: Detector) {}

  record(alert: Alert): void {
    this.seen.push({ alert, lineage: this.lineageOf(alert.outputFields['proc.pid']), seq: this.seq++ });
  }

  /** A mark: alerts after it are those raised by what a test does next. */
  mark(): number {
    return this.seq;
  }

  since(mark: number): Alert[] {
    return this.seen.filter((s) => s.seq >= mark).map((s) => s.alert);
  }

  /** Alerts (after `mark`) raised for a process that descends from `pid` (or is it). */
  fromTree(pid: number, mark = 0): Alert[] {
    return this.seen.filter((s) => s.seq >= mark && s.lineage.includes(pid)).map((s) => s.alert);
  }

  /**
   * Waits until an alert after `mark` satisfies `match`; fails with the alerts seen meanwhile.
   * Deadline rather than sleep: the machine may be busy.
   */
  async waitFor(
    mark: number,
    what: string,
    match: (a: Alert) => boolean,
    timeoutMs = 30_000,
  ): Promise<Alert> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.since(mark).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) {
        const got = this.since(mark).map((a) => `${a.rule} [${String(a.outputFields['proc.name'])}]`);
        const drops = JSON.stringify(this.detector.stats().drops);
        throw new Error(
          `no alert for ${what} within ${timeoutMs} ms; alerts meanwhile: ${JSON.stringify(got)}; drops so far: ${drops}`,
        );
      }
      await sleep(50);
    }
  }

  /**
   * Waits until the detector has processed everything done so far, before asserting that
   * something did NOT fire: a barrier action (`head -c0 /etc/shadow`, which both Vigil's and
   * Falco's rules report) is performed and its alert awaited. Events arrive in order, so every
   * earlier event has been evaluated by then, however far behind a busy machine makes the
   * detector.
   */
  async settle(): Promise<void> {
    const m = this.mark();
    const r = await run('head', ['-c0', '/etc/shadow']);
    await this.waitFor(
      m,
      'the settle barrier (head -c0 /etc/shadow)',
      (a) => a.outputFields['proc.pid'] === r.pid,
      60_000,
    );
  }

  private lineageOf(pidValue: unknown): number[] {
    const pid =
      typeof pidValue === 'number' ? pidValue : typeof pidValue === 'bigint' ? Number(pidValue) : NaN;
    if (!Number.isInteger(pid)) return [];
    const state = (this.detector as unknown as { state: StateEngine }).state;
    const out = [pid];
    let t = state.table.get(pid);
    for (let i = 0; t && i < 64; i++) {
      const p = t.parent;
      if (!p || out.includes(p.pid)) break;
      out.push(p.pid);
      t = p;
    }
    return out;
  }
}

/** Starts a detector on the eBPF driver with these rules files. */
export async function startLive(rulesFiles: string[]): Promise<LiveDetector> {
  // Alerts are delivered only after start(), when `holder.live` is set.
  const holder: { live?: LiveDetector } = {};
  const d = createDetector({
    rulesFiles,
    driver: 'ebpf',
    loaderPath: LOADER,
    // Other work on a busy machine can fill the default 16 MiB ring buffer; drops would lose the
    // events under test.
    ringbufMb: 64,
    onAlert: (a) => holder.live?.record(a),
    onLog: (m) => {
      if (!/dropped/.test(m)) return;
      console.warn(`[vigil e2e] ${m}`);
    },
  });
  const live = new LiveDetector(d);
  holder.live = live;
  await d.start();
  return live;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs a host command without blocking the event loop. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, pid: child.pid ?? -1 });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `/bin/sh -c SCRIPT` on the host. */
export function hostSh(script: string, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], opts);
}

/**
 * `runc exec -t` (a terminal in the container, as `docker exec -it` / `kubectl exec -it` give)
 * under `script`, which lends runc a pseudo-terminal to attach its own to.
 */
export function runcExecTty(c: RuncContainer, argv: string[], input = ''): Promise<RunResult> {
  const runc = which('runc') ?? 'runc';
  const quoted = [runc, '--root', RUNC_ROOT, 'exec', '-t', c.id, ...argv].map(shellQuote).join(' ');
  return run('script', ['-qec', quoted, '/dev/null'], { input, timeoutMs: 30_000 });
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Builds e2e-tool.c statically into a fresh temp dir; returns the binary's path. */
export function buildTool(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-tool-'));
  const out = join(dir, 'e2e-tool');
  const r = spawnSync('gcc', ['-O1', '-static', '-o', out, join(REPO_ROOT, 'test', 'e2e', 'e2e-tool.c')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gcc -static e2e-tool.c failed: ${r.stderr}`);
  return out;
}

/** The comm (proc.name) of this test process: the parent of the commands it spawns. */
export function ownComm(): string {
  return readFileSync('/proc/self/comm', 'utf8').trim();
}
