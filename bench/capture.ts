/**
 * `npm run bench:capture`: what live detection costs the workloads it watches.
 *
 * Workloads, each run without tracing and with the agent (`vigil run --json`, the bundled default
 * rules, eBPF driver) in the same invocation, rounds interleaved (the order flips every round) so
 * background load hits both conditions alike; medians are reported:
 *   (a) storm: `native/bpf/build/vigil-workload storm N FILE`, N openat+close pairs as fast as
 *       one thread can (the worst case for a syscall tracer);
 *   (b) http: a Node HTTP service reading two files per request, under a keep-alive load generator
 *       on loopback (`bench/workloads/http.ts`), two processes on this 2-core machine;
 *   (c) rate: `vigil-workload paced` holding ~100,000 captured events/s for ~10 s, for drops and
 *       the agent's memory at a known rate; its opens alternate between two files, so that every
 *       event reaches the agent and is evaluated (no repeats to count in the probe or reuse).
 *
 * Per workload: the slowdown (wall time and the workload's own CPU time, user + system, where the
 * probe's work is charged), the events the agent handled per second (its stats lines: events read
 * between the workload's start and the moment the agent caught up, divided by that time), the
 * agent's CPU (node + its loader, from /proc/<pid>/stat) and peak RSS (VmHWM), and drops (its stats
 * lines and stop summary). The agent watches the whole host, so other work running on the machine
 * adds to its event counts; other eBPF probes attached at the same time (another `vigil run`, a
 * test) slow the syscalls of both conditions and are reported.
 *
 * The storm also runs, in every round, under the probe alone: the agent's own loader command (the
 * same binary, syscalls and options, read from the first agent's loader) with its output thrown
 * away and no agent. That splits the storm's slowdown into the kernel side (the tracepoint, the
 * probe, the loader's draining) and what the agent adds on top (its CPU, shared with the workload).
 *
 * Needs root, `npm run build` and `scripts/build-bpf.sh`. Environment: VIGIL_BENCH_CAPTURE_ROUNDS
 * (default 5), VIGIL_BENCH_CAPTURE_PAIRS (storm pairs, 200,000), VIGIL_BENCH_CAPTURE_REQUESTS
 * (http requests, 10,000), VIGIL_BENCH_CAPTURE_RATE (events/s of the rate test, 100,000),
 * VIGIL_BENCH_CAPTURE_RATE_S (its seconds, 10). Prints a table and `BENCH <name> <value> <unit>`
 * lines, and records the figures in docs/benchmarks.md between the bench:capture markers.
 *
 * A/B runs: VIGIL_BENCH_CAPTURE_VARIANTS=a,b,... runs the agent once per variant in every round
 * (the order rotating per round, the no-tracing runs among them), each variant's value given to the
 * agent as VIGIL_CAPTURE_SCHED (its scheduling policy, e.g. `inherit,batch,batch:10`) or, when it has
 * the form NAME=VALUE, as that environment variable (e.g. `VIGIL_CAPTURE_FLUSH_MS=10,VIGIL_CAPTURE_FLUSH_MS=50`), then the rate
 * test once per variant (VIGIL_BENCH_CAPTURE_WORKLOADS=storm or http runs only that one, and no
 * rate test unless it names rate too); it prints per-variant rows with each slowdown's median and range over the
 * rounds, and leaves docs/benchmarks.md alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeDocBlock } from './bench-doc.js';
import { cliNodeFlags, cliPath, repoRoot } from './installed-cli.js';

const root = repoRoot;
const build = join(root, 'native', 'bpf', 'build');
const workloadBin = join(build, 'vigil-workload');
// The agent is measured as users run it: the built CLI with its shebang's Node options.
const cli = cliPath;
const httpJs = join(root, 'dist', 'bench', 'workloads', 'http.js');

const envNum = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const ROUNDS = envNum('VIGIL_BENCH_CAPTURE_ROUNDS', 5);
const PAIRS = envNum('VIGIL_BENCH_CAPTURE_PAIRS', 200_000);
const REQUESTS = envNum('VIGIL_BENCH_CAPTURE_REQUESTS', 10_000);
const CONCURRENCY = 8;
const RATE = envNum('VIGIL_BENCH_CAPTURE_RATE', 100_000);
const RATE_S = envNum('VIGIL_BENCH_CAPTURE_RATE_S', 10);
const TARGETS = { storm: 1.25, http: 1.1, rssMb: 100 };
const VARIANTS = (process.env.VIGIL_BENCH_CAPTURE_VARIANTS ?? '')
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean);
/** A variant's environment: `NAME=VALUE`, or a scheduling setting for VIGIL_CAPTURE_SCHED. */
function variantEnv(variant: string): Record<string, string> {
  const eq = variant.indexOf('=');
  return eq > 0 ? { [variant.slice(0, eq)]: variant.slice(eq + 1) } : { VIGIL_CAPTURE_SCHED: variant };
}
const ONLY = new Set(
  (process.env.VIGIL_BENCH_CAPTURE_WORKLOADS ?? 'storm,http,rate')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);

for (const [what, path] of [
  ['the workload (scripts/build-bpf.sh)', workloadBin],
  ['the CLI (npm run build)', cli],
  ['the HTTP workload (npm run build)', httpJs],
] as const) {
  if (!existsSync(path)) {
    console.error(`bench:capture: ${path} is missing: build ${what}`);
    process.exit(1);
  }
}
if (process.getuid?.() !== 0) {
  console.error('bench:capture: the eBPF driver needs root');
  process.exit(1);
}

const TICK_NS = 1e9 / Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): number => Number(process.hrtime.bigint());
const num = (n: number): string => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2
    ? (s[(s.length - 1) / 2] ?? NaN)
    : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

// ---------------------------------------------------------------------------------------------------
// /proc readers.

interface ProcStat {
  ppid: number;
  cpuNs: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state ppid … utime(14) stime(15).
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuNs: (Number(f[11]) + Number(f[12])) * TICK_NS };
  } catch {
    return undefined;
  }
}

function procStatus(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Pids of the processes named `comm`, with their parent. */
function processesNamed(comm: string): { pid: number; ppid: number }[] {
  const out: { pid: number; ppid: number }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue;
    }
    const st = procStat(Number(e));
    if (st) out.push({ pid: Number(e), ppid: st.ppid });
  }
  return out;
}

/** Other eBPF capture loaders running now (another agent, a test), not children of `ownAgent`. */
function foreignProbes(ownAgent?: number): number {
  return processesNamed('vigil-capture').filter((p) => p.ppid !== ownAgent).length;
}

// ---------------------------------------------------------------------------------------------------
// The agent.

interface StatsPoint {
  atNs: number;
  events: number;
  drops: number;
  /** Of `events`, repeated opens the probe counted instead of sending. */
  probeCounted: number;
}

interface AgentSummary {
  events: number;
  drops: Record<string, number>;
  dropsTotal: number;
  durationS: number;
}

const parseCount = (s: string | undefined): number => Number((s ?? '0').replace(/,/g, ''));

/** `vigil run --json` with the default rules, its stats lines every 0.5 s, stopped with SIGINT. */
class Agent {
  private readonly child: ChildProcess;
  private readonly summaryLines: string[] = [];
  private inSummary = false;
  private waiters: ((p: StatsPoint) => void)[] = [];
  last: StatsPoint = { atNs: 0, events: 0, drops: 0, probeCounted: 0 };
  alerts = 0;
  readonly log: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(sched?: string) {
    this.child = spawn(process.execPath, [...cliNodeFlags, cli, 'run', '--json', '--stats-interval', '0.5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: sched === undefined ? process.env : { ...process.env, ...variantEnv(sched) },
    });
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
    createInterface({ input: this.child.stdout! }).on('line', () => this.alerts++);
    createInterface({ input: this.child.stderr! }).on('line', (l) => this.onLine(l));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private onLine(line: string): void {
    if (this.log.length < 200) this.log.push(line);
    const m = /stats: .*?, ([\d,]+) events .*?, ([\d,]+) drops/.exec(line);
    if (m) {
      this.last = {
        atNs: nowNs(),
        events: parseCount(m[1]),
        drops: parseCount(m[2]),
        probeCounted: parseCount(/([\d,]+) repeats counted by the probe/.exec(line)?.[1] ?? '0'),
      };
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f(this.last);
      return;
    }
    if (/^vigil run: summary/.test(line)) this.inSummary = true;
    else if (this.inSummary) this.summaryLines.push(line);
  }

  static async start(sched?: string): Promise<Agent> {
    const a = new Agent(sched);
    const deadline = Date.now() + 120_000;
    while (!a.log.some((l) => l.includes('watching this host'))) {
      if (a.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`vigil run did not start:\n${a.log.join('\n')}`);
      await sleep(100);
    }
    await a.nextStats();
    return a;
  }

  /** The next stats line (at most 0.5 s away). */
  nextStats(): Promise<StatsPoint> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** CPU time of the agent and its children (the eBPF loader). */
  cpuNs(): number {
    let total = procStat(this.pid)?.cpuNs ?? 0;
    for (const p of processesNamed('vigil-capture'))
      if (p.ppid === this.pid) total += procStat(p.pid)?.cpuNs ?? 0;
    return total;
  }

  /** Peak RSS of the agent (node) and of its loader, in kB. */
  peakRssKb(): { agent: number; loader: number } {
    const loader = processesNamed('vigil-capture').find((p) => p.ppid === this.pid);
    return { agent: procStatus(this.pid, 'VmHWM'), loader: loader ? procStatus(loader.pid, 'VmHWM') : 0 };
  }

  /**
   * Waits until the agent has worked through its backlog: its CPU use falls below 15% of a core
   * over 250 ms. Returns when that idle window began.
   */
  async caughtUp(maxMs = 120_000): Promise<number> {
    const end = Date.now() + maxMs;
    for (;;) {
      const t = nowNs();
      const c = this.cpuNs();
      await sleep(250);
      if (this.cpuNs() - c < 0.15 * (nowNs() - t) || Date.now() > end) return t;
    }
  }

  async stop(): Promise<AgentSummary> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 180_000);
    await this.exited;
    clearTimeout(timer);
    const s: AgentSummary = { events: 0, drops: {}, dropsTotal: 0, durationS: 0 };
    let inDrops = false;
    for (const l of this.summaryLines) {
      const row = /^ {2}(\S[\w ]*?)\s{2,}(\S.*)$/.exec(l);
      if (row) {
        inDrops = row[1] === 'drops';
        if (row[1] === 'events read') s.events = parseCount(/^[\d,]+/.exec(row[2] ?? '')?.[0]);
        if (row[1] === 'duration') s.durationS = Number.parseFloat(row[2] ?? '0');
        if (row[1] === 'drops') s.dropsTotal = parseCount(/^[\d,]+/.exec(row[2] ?? '')?.[0]);
        continue;
      }
      const reason = /^ {4,}([\d,]+)\s+(\S+)/.exec(l);
      if (reason && inDrops && reason[2]) s.drops[reason[2]] = parseCount(reason[1]);
    }
    return s;
  }
}

// ---------------------------------------------------------------------------------------------------
// Workloads.

/** What a workload measured about itself. */
interface Work {
  wallNs: number;
  cpuNs: number;
  /** Pairs (storm) or requests (http). */
  units: number;
  behindMs?: number;
}

interface Workload {
  name: string;
  unit: string;
  prepare(): Promise<void>;
  run(): Promise<Work>;
  cleanup(): Promise<void>;
}

function runJson<T>(cmd: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch (e) {
        reject(new Error(`${cmd}: unreadable output ${JSON.stringify(out)}: ${String(e)}`));
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-capture-'));
const stormFile = join(dir, 'storm.txt');
writeFileSync(stormFile, 'x');
// The rate test alternates between two files: no open repeats the one before, so every event is
// sent to the agent and evaluated there (a repeated open would be counted by the probe instead).
const rateFile = join(dir, 'rate.txt');
writeFileSync(rateFile, 'y');

const storm: Workload = {
  name: 'storm',
  unit: 'pairs',
  prepare: () => Promise.resolve(),
  cleanup: () => Promise.resolve(),
  async run() {
    const r = await runJson<{ pairs: number; ns: number; cpuNs: number }>(workloadBin, [
      'storm',
      String(PAIRS),
      stormFile,
    ]);
    return { wallNs: r.ns, cpuNs: r.cpuNs, units: r.pairs };
  },
};

function serverCpuNs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path: '/__cpu' }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve((JSON.parse(b) as { cpuNs: number }).cpuNs));
    }).on('error', reject);
  });
}

const httpDir = join(dir, 'www');
let server: ChildProcess | undefined;
let serverPort = 0;
const http: Workload = {
  name: 'http',
  unit: 'requests',
  async prepare() {
    server = spawn(process.execPath, [httpJs, 'server', httpDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server!.stdout! }).once('line', resolve);
      server!.once('exit', (c) => reject(new Error(`http server exited ${c}`)));
    });
    serverPort = (JSON.parse(first) as { port: number }).port;
    // Warm-up (JIT, page cache, connections), not measured.
    await runJson(process.execPath, [httpJs, 'client', String(serverPort), '2000', String(CONCURRENCY)]);
  },
  async run() {
    const s0 = await serverCpuNs(serverPort);
    const c = await runJson<{ requests: number; ns: number; cpuNs: number; errors: number }>(
      process.execPath,
      [httpJs, 'client', String(serverPort), String(REQUESTS), String(CONCURRENCY)],
    );
    const s1 = await serverCpuNs(serverPort);
    if (c.errors) throw new Error(`http workload: ${c.errors} failed requests`);
    return { wallNs: c.ns, cpuNs: c.cpuNs + (s1 - s0), units: c.requests };
  },
  async cleanup() {
    if (!server) return;
    const s = server;
    const gone = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    await gone;
    server = undefined;
  },
};

/**
 * Pairs per second of the rate test: RATE captured events/s. Each pair is an openat and a close, and
 * the agent captures close only when a rule names it (not with the default rules): set from the
 * syscalls the rate test's agent says it captures.
 */
let ratePairs = RATE;
const rate: Workload = {
  name: 'rate',
  unit: 'pairs',
  prepare: () => Promise.resolve(),
  cleanup: () => Promise.resolve(),
  async run() {
    const r = await runJson<{ pairs: number; ns: number; cpuNs: number; behindMs: number }>(workloadBin, [
      'paced',
      String(ratePairs),
      String(RATE_S),
      stormFile,
      rateFile,
    ]);
    return { wallNs: r.ns, cpuNs: r.cpuNs, units: r.pairs, behindMs: r.behindMs };
  },
};

// ---------------------------------------------------------------------------------------------------
// Measurement.

interface AgentRun {
  work: Work;
  /** Events the agent read from the workload's start until it caught up. */
  events: number;
  /** Of `events`, repeats the probe counted instead of sending. */
  probeCounted: number;
  eventsPerS: number;
  drops: number;
  agentCpuNs: number;
  /** Agent CPU as a share of one core over the same span. */
  agentCores: number;
}

async function withAgent(agent: Agent, w: Workload): Promise<AgentRun> {
  await w.prepare();
  const s0 = await agent.nextStats();
  const c0 = agent.cpuNs();
  const t0 = nowNs();
  const work = await w.run();
  const caught = await agent.caughtUp();
  const s1 = await agent.nextStats();
  const c1 = agent.cpuNs();
  const t1 = nowNs();
  await w.cleanup();
  const spanNs = Math.max(1, caught - t0);
  const agentCpuNs = c1 - c0;
  return {
    work,
    events: s1.events - s0.events,
    probeCounted: s1.probeCounted - s0.probeCounted,
    eventsPerS: ((s1.events - s0.events) * 1e9) / spanNs,
    drops: s1.drops - s0.drops,
    agentCpuNs,
    agentCores: agentCpuNs / (t1 - t0),
  };
}

/** The command line of the agent's eBPF loader (binary first), or undefined when it has none. */
function loaderCommand(agentPid: number): string[] | undefined {
  const l = processesNamed('vigil-capture').find((p) => p.ppid === agentPid);
  if (!l) return undefined;
  try {
    return readFileSync(`/proc/${l.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** `w` with only the probe attached: `cmd` (the agent's loader command), its output discarded. */
async function probeAlone(w: Workload, cmd: string[]): Promise<Work> {
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const errors: string[] = [];
  const ready = await new Promise<boolean>((res) => {
    createInterface({ input: child.stderr! }).on('line', (l) => {
      if (errors.length < 20) errors.push(l);
      if (l.includes('"type":"ready"')) res(true);
    });
    void exited.then(() => res(false));
  });
  if (!ready) throw new Error(`bench:capture: the probe alone did not start:\n${errors.join('\n')}`);
  try {
    return await alone(w);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

async function alone(w: Workload): Promise<Work> {
  await w.prepare();
  try {
    return await w.run();
  } finally {
    await w.cleanup();
  }
}

const loadStart = loadavg().map((l) => l.toFixed(2));
const started = new Date();
await runJson(process.execPath, [httpJs, 'files', httpDir]).catch(() => undefined);
if (!existsSync(join(httpDir, 'template.txt'))) {
  console.error('bench:capture: could not write the HTTP workload files');
  process.exit(1);
}

if (VARIANTS.length) {
  await variantSeries();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/**
 * The A/B series (VIGIL_BENCH_CAPTURE_VARIANTS): no tracing and each variant in every round, the
 * order rotating; slowdowns as the ratio of medians (as the main report) and the range of the
 * per-round ratios (each variant against the same round's no-tracing run).
 */
async function variantSeries(): Promise<void> {
  const conds = ['none', ...VARIANTS];
  const loads0 = [storm, http].filter((w) => ONLY.has(w.name));
  const works: Record<string, Record<string, Work[]>> = {};
  const runs: Record<string, Record<string, AgentRun[]>> = {};
  for (const c of conds) {
    works[c] = { storm: [], http: [] };
    runs[c] = { storm: [], http: [] };
  }
  const loads: string[] = [loadavg()[0]!.toFixed(2)];
  for (let r = 0; r < ROUNDS; r++) {
    const order = conds.map((_, i) => conds[(i + r) % conds.length]!);
    for (const c of order) {
      if (c === 'none') {
        for (const w of loads0) works[c]![w.name]!.push(await alone(w));
        continue;
      }
      const agent = await Agent.start(c);
      try {
        for (const w of loads0) {
          const run = await withAgent(agent, w);
          works[c]![w.name]!.push(run.work);
          runs[c]![w.name]!.push(run);
        }
      } finally {
        await agent.stop();
      }
    }
    loads.push(loadavg()[0]!.toFixed(2));
    console.error(
      `round ${r + 1}/${ROUNDS} done (load ${loadavg()[0]?.toFixed(2)}, order ${order.join(' ')})`,
    );
  }
  const rateOut: string[] = [];
  for (const v of ONLY.has('rate') ? VARIANTS : []) {
    const agent = await Agent.start(v);
    try {
      const captured = agent.log.map((l) => /capturing \d+ syscalls: (.*)/.exec(l)?.[1]).find(Boolean);
      ratePairs = captured?.split(', ').includes('close') ? Math.round(RATE / 2) : RATE;
      const run = await withAgent(agent, rate);
      const rss = agent.peakRssKb();
      rateOut.push(
        `rate ${v}: ${num(run.eventsPerS)} events/s, agent ${(run.agentCores * 100).toFixed(0)}% of a core, ` +
          `${run.work.behindMs ?? 0} ms behind, drops ${num(run.drops)}, RSS ${(rss.agent / 1024).toFixed(0)} MB ` +
          `(loader ${(rss.loader / 1024).toFixed(0)} MB), load ${loadavg()[0]!.toFixed(2)}`,
      );
    } finally {
      await agent.stop();
    }
  }
  const fmtRange = (xs: number[]): string =>
    `${median(xs).toFixed(2)}x [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
  console.log(
    `bench:capture A/B, ${ROUNDS} rounds, storm ${num(PAIRS)} pairs, http ${num(REQUESTS)} requests; ` +
      `load per round ${loads.join(' → ')}`,
  );
  console.log(
    '| workload | condition | wall per unit | CPU per unit | wall × (range of per-round ×) | CPU × (range) | agent CPU | drops |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of loads0) {
    const b = works.none![w.name]!;
    const bw = median(b.map((x) => x.wallNs / x.units));
    const bc = median(b.map((x) => x.cpuNs / x.units));
    console.log(`| ${w.name} | no tracing | ${num(bw)} ns | ${num(bc)} ns | 1.00x | 1.00x | | |`);
    for (const v of VARIANTS) {
      const t = works[v]![w.name]!;
      const tw = median(t.map((x) => x.wallNs / x.units));
      const tc = median(t.map((x) => x.cpuNs / x.units));
      const wr = t.map((x, i) => x.wallNs / x.units / (b[i]!.wallNs / b[i]!.units));
      const cr = t.map((x, i) => x.cpuNs / x.units / (b[i]!.cpuNs / b[i]!.units));
      const ar = runs[v]![w.name]!;
      console.log(
        `| ${w.name} | ${v} | ${num(tw)} ns | ${num(tc)} ns | ${(tw / bw).toFixed(2)}x (${fmtRange(wr)}) | ` +
          `${(tc / bc).toFixed(2)}x (${fmtRange(cr)}) | ${(median(ar.map((x) => x.agentCores)) * 100).toFixed(0)}% | ` +
          `${num(ar.reduce((a, x) => a + x.drops, 0))} |`,
      );
    }
  }
  // Paired differences of each later variant against the first (same rounds).
  const first = VARIANTS[0]!;
  for (const w of loads0) {
    for (const v of VARIANTS.slice(1)) {
      for (const [what, f] of [
        ['wall', (x: Work) => x.wallNs / x.units],
        ['CPU', (x: Work) => x.cpuNs / x.units],
      ] as const) {
        const d = works[v]![w.name]!.map((x, i) => f(x) - f(works[first]![w.name]![i]!));
        const better = d.filter((x) => x < 0).length;
        console.log(
          `${w.name} ${what}: ${v} − ${first} per unit, median ${num(median(d))} ns ` +
            `[${num(Math.min(...d))} to ${num(Math.max(...d))}], lower in ${better} of ${d.length} rounds`,
        );
      }
    }
  }
  for (const l of rateOut) console.log(l);
}

const base: Record<string, Work[]> = { storm: [], http: [] };
const traced: Record<string, AgentRun[]> = { storm: [], http: [] };
const probeOnly: Work[] = [];
let probeCmd: string[] | undefined;
let foreign = 0;
const peak = { agent: 0, loader: 0 };
const summaries: AgentSummary[] = [];

try {
  for (let r = 0; r < ROUNDS; r++) {
    const agentFirst = r % 2 === 1;
    const runBase = async (): Promise<void> => {
      for (const w of [storm, http]) {
        foreign += foreignProbes();
        base[w.name]!.push(await alone(w));
      }
    };
    const runAgent = async (): Promise<void> => {
      const agent = await Agent.start();
      try {
        probeCmd ??= loaderCommand(agent.pid);
        for (const w of [storm, http]) {
          foreign += foreignProbes(agent.pid);
          traced[w.name]!.push(await withAgent(agent, w));
        }
        const p = agent.peakRssKb();
        peak.agent = Math.max(peak.agent, p.agent);
        peak.loader = Math.max(peak.loader, p.loader);
      } finally {
        summaries.push(await agent.stop());
      }
    };
    // The probe alone runs after the agent in every round (it needs the agent's loader command).
    const runProbe = async (): Promise<void> => {
      if (!probeCmd) return;
      foreign += foreignProbes();
      probeOnly.push(await probeAlone(storm, probeCmd));
    };
    if (agentFirst) {
      await runAgent();
      await runProbe();
      await runBase();
    } else {
      await runBase();
      await runAgent();
      await runProbe();
    }
    console.error(`round ${r + 1}/${ROUNDS} done (load ${loadavg()[0]?.toFixed(2)})`);
  }
} catch (e) {
  rmSync(dir, { recursive: true, force: true });
  throw e;
}

// The rate test: a fresh agent, ~RATE events/s for RATE_S seconds.
const rateAgent = await Agent.start();
let rateRun: AgentRun;
let rateRss: { agent: number; loader: number };
let rateSummary: AgentSummary;
try {
  foreign += foreignProbes(rateAgent.pid);
  const captured = rateAgent.log.map((l) => /capturing \d+ syscalls: (.*)/.exec(l)?.[1]).find(Boolean);
  if (captured?.split(', ').includes('close')) ratePairs = Math.round(RATE / 2);
  rateRun = await withAgent(rateAgent, rate);
  rateRss = rateAgent.peakRssKb();
} finally {
  rateSummary = await rateAgent.stop();
}
rmSync(dir, { recursive: true, force: true });
const loadEnd = loadavg().map((l) => l.toFixed(2));

// ---------------------------------------------------------------------------------------------------
// Report.

interface Row {
  name: string;
  unit: string;
  baseWall: number;
  baseCpu: number;
  wall: number;
  cpu: number;
  wallX: number;
  cpuX: number;
  eventsPerS: number;
  agentCores: number;
  agentCpuPerEventNs: number;
  /** Share of the agent's events that the probe counted as repeats instead of sending. */
  probeCountedShare: number;
  drops: number;
  target: number;
}

const rows: Row[] = [];
for (const w of [storm, http]) {
  const b = base[w.name]!;
  const t = traced[w.name]!;
  const per = (xs: Work[], f: (x: Work) => number): number => median(xs.map((x) => f(x) / x.units));
  const baseWall = per(b, (x) => x.wallNs);
  const baseCpu = per(b, (x) => x.cpuNs);
  const wall = per(
    t.map((x) => x.work),
    (x) => x.wallNs,
  );
  const cpu = per(
    t.map((x) => x.work),
    (x) => x.cpuNs,
  );
  rows.push({
    name: w.name,
    unit: w.unit,
    baseWall,
    baseCpu,
    wall,
    cpu,
    wallX: wall / baseWall,
    cpuX: cpu / baseCpu,
    eventsPerS: median(t.map((x) => x.eventsPerS)),
    agentCores: median(t.map((x) => x.agentCores)),
    agentCpuPerEventNs: median(t.map((x) => x.agentCpuNs / Math.max(1, x.events))),
    probeCountedShare: median(t.map((x) => x.probeCounted / Math.max(1, x.events))),
    drops: t.reduce((a, x) => a + x.drops, 0),
    target: w.name === 'storm' ? TARGETS.storm : TARGETS.http,
  });
}

const totalDrops: Record<string, number> = {};
for (const s of summaries)
  for (const [k, v] of Object.entries(s.drops)) totalDrops[k] = (totalDrops[k] ?? 0) + v;
const dropReasons = (d: Record<string, number>): string =>
  Object.keys(d).length
    ? Object.entries(d)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(', ')
    : 'none';
const mb = (kb: number): number => kb / 1024;
const verdict = (ok: boolean): string => (ok ? 'met' : 'not met');
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
const cpuModel = (cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
const machine = `${cpuModel}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, Linux ${release()}`;

const table: string[] = [
  `| workload | per | no tracing: wall / CPU | with \`vigil run\`: wall / CPU | slowdown wall | slowdown CPU | target | agent events/s | agent CPU | agent CPU per event | drops |`,
  '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
];
for (const r of rows) {
  const perUnit = r.unit === 'pairs' ? 'openat+close pair' : 'request';
  table.push(
    `| ${r.name === 'storm' ? '(a) open/close storm' : '(b) HTTP service + load generator'} | ${perUnit} | ` +
      `${num(r.baseWall)} / ${num(r.baseCpu)} ns | ${num(r.wall)} / ${num(r.cpu)} ns | ${r.wallX.toFixed(2)}x | ` +
      `${r.cpuX.toFixed(2)}x | ≤ ${r.target.toFixed(2)}x: ${verdict(r.cpuX <= r.target && r.wallX <= r.target)} | ` +
      `${num(r.eventsPerS)} | ${(r.agentCores * 100).toFixed(0)}% of a core | ${num(r.agentCpuPerEventNs)} ns | ${num(r.drops)} |`,
  );
}
const stormRow = rows.find((r) => r.name === 'storm')!;
const probeWall = probeOnly.length ? median(probeOnly.map((x) => x.wallNs / x.units)) : NaN;
const probeCpu = probeOnly.length ? median(probeOnly.map((x) => x.cpuNs / x.units)) : NaN;
const probeWallX = probeWall / stormRow.baseWall;
const probeCpuX = probeCpu / stormRow.baseCpu;
const probeLines = probeOnly.length
  ? [
      `Probe alone on the storm (the agent's loader command, its output discarded, no agent; ${probeOnly.length} runs in the same rounds): ` +
        `${num(probeWall)} / ${num(probeCpu)} ns per pair, ${probeWallX.toFixed(2)}x wall, ` +
        `${probeCpuX.toFixed(2)}x CPU; with the agent ${signed(stormRow.wallX - probeWallX)}x wall and ` +
        `${signed(stormRow.cpuX - probeCpuX)}x CPU. ` +
        `Of the agent's storm events, ${(stormRow.probeCountedShare * 100).toFixed(1)}% (median) were repeated opens ` +
        `the probe counted instead of sending (agent/repeats.ts: it consents once a run's verdict is known to carry over; ` +
        `the probe alone, never asked, sends every event).`,
    ]
  : ['Probe alone on the storm: not measured (the agent had no eBPF loader).'];
const rateRssMb = mb(rateRss.agent);
const rateCounted = rateRun.probeCounted / Math.max(1, rateRun.events);
const rateLines = [
  `Rate test (c): \`vigil-workload paced ${ratePairs} ${RATE_S} FILE FILE2\` (${num(RATE)} captured events/s from the workload, ` +
    `${(rateRun.work.wallNs / 1e9).toFixed(1)} s, ${rateRun.work.behindMs ?? 0} ms behind schedule): the agent handled ` +
    `${num(rateRun.eventsPerS)} events/s with ${(rateRun.agentCores * 100).toFixed(0)}% of a core ` +
    `(its opens alternate between two files, so none repeats: ${(rateCounted * 100).toFixed(1)}% counted by the probe); drops ${num(rateRun.drops)} ` +
    `(target none: ${verdict(rateRun.drops === 0)}; summary: ${dropReasons(rateSummary.drops)}); peak RSS ${rateRssMb.toFixed(0)} MB ` +
    `(target ≤ ${TARGETS.rssMb} MB: ${verdict(rateRssMb <= TARGETS.rssMb)}), loader ${mb(rateRss.loader).toFixed(0)} MB.`,
];
const notes = [
  `Peak RSS of the agent over the storm/http rounds: ${mb(peak.agent).toFixed(0)} MB (loader ${mb(peak.loader).toFixed(0)} MB). ` +
    `Drops over those rounds by reason (agent summaries): ${dropReasons(totalDrops)}.`,
  `Load average (1/5/15 min) ${loadStart.join(' / ')} at the start, ${loadEnd.join(' / ')} at the end; ` +
    `other eBPF capture loaders were attached during ${foreign} of the ${ROUNDS * 4 + probeOnly.length + 1} measured runs.`,
];

console.log(
  `bench:capture, ${ROUNDS} interleaved rounds: storm ${num(PAIRS)} pairs, http ${num(REQUESTS)} requests over ${CONCURRENCY} keep-alive connections; medians per unit`,
);
for (const l of [...table, '', ...probeLines, '', ...rateLines, ...notes]) console.log(l);

writeDocBlock(
  'capture',
  [
    `Recorded ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:capture\` (as root) on ${machine}.`,
    `${ROUNDS} interleaved rounds; storm ${num(PAIRS)} openat+close pairs; http ${num(REQUESTS)} requests over ${CONCURRENCY} keep-alive connections; medians per pair / request. The agent: \`vigil run --json\` as installed (\`node ${cliNodeFlags.join(' ')} dist/src/cli/main.js run --json\`; default rules, eBPF driver).`,
    '',
    ...table,
    '',
    ...probeLines,
    '',
    ...rateLines,
    '',
    ...notes,
  ].join('\n'),
);

for (const r of rows) {
  console.log(`BENCH capture_${r.name}_slowdown_wall ${r.wallX.toFixed(3)} x`);
  console.log(`BENCH capture_${r.name}_slowdown_cpu ${r.cpuX.toFixed(3)} x`);
  console.log(`BENCH capture_${r.name}_agent_events_per_s ${Math.round(r.eventsPerS)} events/s`);
  console.log(`BENCH capture_${r.name}_agent_cpu ${(r.agentCores * 100).toFixed(1)} %core`);
  console.log(`BENCH capture_${r.name}_drops ${r.drops} events`);
  console.log(`BENCH capture_${r.name}_probe_counted ${(r.probeCountedShare * 100).toFixed(1)} %events`);
}
if (probeOnly.length) {
  console.log(`BENCH capture_storm_probe_slowdown_wall ${probeWallX.toFixed(3)} x`);
  console.log(`BENCH capture_storm_probe_slowdown_cpu ${probeCpuX.toFixed(3)} x`);
}
console.log(`BENCH capture_agent_peak_rss ${mb(peak.agent).toFixed(1)} MB`);
console.log(`BENCH capture_rate_events_per_s ${Math.round(rateRun.eventsPerS)} events/s`);
console.log(`BENCH capture_rate_drops ${rateRun.drops} events`);
console.log(`BENCH capture_rate_agent_rss ${rateRssMb.toFixed(1)} MB`);
