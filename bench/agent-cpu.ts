/**
 * `npm run bench:agent`: the agent's own CPU time per syscall event, measured without the noise of
 * a live run.
 *
 * Live figures (`bench:capture`) move with whatever else runs on the machine. Here a workload is
 * recorded once with `vigil capture -w` (the bundled default rules' capture set, initial process
 * and fd tables included) and then replayed in this process through exactly the agent's path:
 * the loader's byte stream in 64 KiB chunks (what a pipe read delivers) → `EbpfStreamParser` →
 * the detector's batch handler (state engine → rule engine with the default rules → alerts), the
 * state engine bootstrapped from the recording's tables as the agent's is from /proc. Events the
 * live agent would not get are taken out of the stream first: syscalls its probe would not capture
 * for these rules, and the failed calls it has the kernel drop (`successOnly`). CPU time is
 * `process.cpuUsage()` (user + system, every thread of the process, garbage collection included)
 * over a whole replay; after a warm-up replay, several replays are timed, per stage:
 *   frame  — framing only (the parser);
 *   state  — framing + state engine;
 *   agent  — the whole path: what `vigil run` spends per event read.
 * The median and the minimum are reported: other work on the machine only ever adds CPU time (cache
 * and core contention), so the minimum is the figure least affected by it.
 *
 * Workloads (as in bench:capture): `storm` (`vigil-workload storm`, openat+close pairs) and `http`
 * (the Node HTTP service of bench/workloads/http.ts under a keep-alive load generator).
 *
 * Environment: VIGIL_BENCH_AGENT_DIR keeps the recordings there (recorded when missing, reused
 * otherwise, so runs before and after a change replay the same events; default: a temporary folder;
 * recording needs root, `npm run build` and scripts/build-bpf.sh); VIGIL_BENCH_AGENT_ROUNDS (timed
 * replays, default 7); VIGIL_BENCH_AGENT_PAIRS (storm pairs, 100,000); VIGIL_BENCH_AGENT_REQUESTS
 * (http requests, 10,000); VIGIL_BENCH_AGENT_WORKLOADS and VIGIL_BENCH_AGENT_STAGES (comma-separated:
 * only these, e.g. under `node --cpu-prof`); VIGIL_BENCH_AGENT_DIGEST=1 also prints a digest of every
 * event the agent's state engine emits (every parameter read) and every alert, and checks it against
 * a state engine with default options (to show that a change leaves the output alone). Prints a
 * table and `BENCH <name> <value> <unit>` lines; a full run (every workload and stage) records the
 * figures in docs/benchmarks.md between the bench:agent markers.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector } from '../src/agent/detector.js';
import { loadRuleSet } from '../src/agent/ruleset.js';
import { BLOCK } from '../src/capture/scap/blocks.js';
import { EF, eventInfo } from '../src/capture/scap/event-table.js';
import { openCaptureBytes } from '../src/capture/scap/blocks.js';
import { readScapRecords, type ScapRecord } from '../src/capture/scap/reader.js';
import {
  EBPF_SYSCALLS,
  EbpfStreamParser,
  captureSetFor,
  type RawEbpfEvent,
} from '../src/capture/sources/ebpf/parse.js';
import { StateEngine } from '../src/capture/state/state-engine.js';
import type { Alert, Engine } from '../src/engine/engine.js';
import type { SyscallEvent } from '../src/engine/event.js';
import { cliNodeFlags, cliPath, repoRoot } from './installed-cli.js';
import { machineLine, writeDocBlock } from './bench-doc.js';

const root = repoRoot;
const cli = cliPath;
const rulesDir = join(root, 'rules');

// The agent runs with the Node options of the installed `vigil` command (its shebang line): the
// young generation's size changes how much the garbage collector costs per event.
if (cliNodeFlags.some((f) => !process.execArgv.includes(f)) && !process.env.VIGIL_BENCH_AGENT_CHILD) {
  const r = spawnSync(
    process.execPath,
    [...cliNodeFlags, ...process.execArgv, fileURLToPath(import.meta.url)],
    {
      stdio: 'inherit',
      env: { ...process.env, VIGIL_BENCH_AGENT_CHILD: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

const envNum = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const ROUNDS = envNum('VIGIL_BENCH_AGENT_ROUNDS', 7);
const PAIRS = envNum('VIGIL_BENCH_AGENT_PAIRS', 100_000);
const REQUESTS = envNum('VIGIL_BENCH_AGENT_REQUESTS', 10_000);
const DIGEST = process.env.VIGIL_BENCH_AGENT_DIGEST === '1';
/** Only these workloads (comma-separated names), e.g. for a CPU profile of one. */
const ONLY = process.env.VIGIL_BENCH_AGENT_WORKLOADS?.split(',').filter(Boolean);
/** What one read from the loader's pipe delivers (Node reads pipes 64 KiB at a time). */
const CHUNK = 64 * 1024;

const keepDir = process.env.VIGIL_BENCH_AGENT_DIR;
const dir = keepDir ?? mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
mkdirSync(dir, { recursive: true });

// ---------------------------------------------------------------------------------------------------
// Recording.

const workloadBin = join(root, 'native', 'bpf', 'build', 'vigil-workload');
const httpJs = join(root, 'dist', 'bench', 'workloads', 'http.js');

/** The shell script that runs the HTTP service and its load generator, then stops the service. */
function httpScript(): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const node = q(process.execPath);
  return [
    'set -e',
    `D=$(mktemp -d)`,
    `${node} ${q(httpJs)} files "$D"`,
    `${node} ${q(httpJs)} server "$D" > "$D/port" &`,
    'SP=$!',
    'while ! grep -q port "$D/port" 2>/dev/null; do sleep 0.05; done',
    `PORT=$(sed 's/[^0-9]//g' "$D/port")`,
    `${node} ${q(httpJs)} client "$PORT" ${REQUESTS} 8 > /dev/null`,
    'kill $SP',
    'wait $SP || true',
    'rm -rf "$D"',
  ].join('\n');
}

const WORKLOADS: { name: string; what: string; command: () => string[] }[] = [
  {
    name: 'storm',
    what: `vigil-workload storm ${PAIRS} (openat+close pairs)`,
    command: () => {
      const file = join(dir, 'storm.txt');
      writeFileSync(file, 'x');
      return [workloadBin, 'storm', String(PAIRS), file];
    },
  },
  {
    name: 'http',
    what: `HTTP service + load generator, ${REQUESTS} requests over 8 keep-alive connections`,
    command: () => ['sh', '-c', httpScript()],
  },
];

function record(name: string, command: string[], out: string): void {
  for (const [what, path] of [
    ['the CLI (npm run build)', cli],
    ['the workload (scripts/build-bpf.sh)', workloadBin],
    ['the HTTP workload (npm run build)', httpJs],
  ] as const) {
    if (!existsSync(path)) {
      console.error(`bench:agent: ${path} is missing: build ${what}`);
      process.exit(1);
    }
  }
  if (process.getuid?.() !== 0) {
    console.error(`bench:agent: recording ${name} needs root (or set VIGIL_BENCH_AGENT_DIR to recordings)`);
    process.exit(1);
  }
  const shown = command[0] === 'sh' ? 'sh -c <the HTTP service and its load generator>' : command.join(' ');
  console.log(`recording ${name}: vigil capture -w ${out} -r rules/ -- ${shown}`);
  const r = spawnSync(process.execPath, [cli, 'capture', '-w', out, '-r', rulesDir, '--', ...command], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0 || !existsSync(out)) {
    console.error(`bench:agent: recording ${name} failed:\n${r.stderr?.toString() ?? ''}`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Loading a recording: its tables (to bootstrap the state engine as /proc does for the agent) and
// its stream as the loader delivers it.

interface Recording {
  name: string;
  records: ScapRecord[];
  /** The loader's stream: section header, machine info, event blocks; in pipe-sized chunks. */
  chunks: Uint8Array[];
  events: number;
  /** Events the live agent would not get, taken out (see the module comment). */
  filtered: number;
}

/** Which recorded events the live agent gets: its probe's syscalls, failures of some dropped. */
interface AgentCapture {
  /** Syscalls the probe decodes but would not capture for these rules. */
  notCaptured: ReadonlySet<string>;
  successOnly: ReadonlySet<string>;
}

async function load(name: string, path: string, capture: AgentCapture): Promise<Recording> {
  const records: ScapRecord[] = [];
  for await (const r of readScapRecords(openCaptureBytes(path))) {
    if (r.kind === 'thread' || r.kind === 'fd' || r.kind === 'user' || r.kind === 'group') records.push(r);
    else if (r.kind === 'interface' || r.kind === 'machine') records.push(r);
  }
  const b = readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const keep: Uint8Array[] = [];
  let events = 0;
  let filtered = 0;
  for (let pos = 0; pos + 8 <= b.length;) {
    const at = pos;
    const type = dv.getUint32(at, true);
    const total = dv.getUint32(at + 4, true);
    pos += total;
    const block = b.subarray(at, at + total);
    if (type === BLOCK.SHB || type === BLOCK.MI) keep.push(block);
    if (type !== BLOCK.EV_V2) continue;
    // EV_V2 body (after the 8-byte block header): cpu u16, ts u64, tid u64, len u32, type u16,
    // nparams u32, the parameter lengths, the parameters.
    const info = eventInfo(dv.getUint16(at + 8 + 22, true));
    if (info && capture.notCaptured.has(info.name)) {
      filtered++;
      continue;
    }
    if (info && info.dir === '<' && capture.successOnly.has(info.name)) {
      const nparams = dv.getUint32(at + 8 + 24, true);
      const large = (info.flags & EF.LARGE_PAYLOAD) !== 0;
      const lensAt = at + 8 + 28;
      const firstLen = nparams === 0 ? 0 : large ? dv.getUint32(lensAt, true) : dv.getUint16(lensAt, true);
      const dataAt = lensAt + nparams * (large ? 4 : 2);
      if (firstLen === 8 && dv.getBigInt64(dataAt, true) < 0n) {
        filtered++;
        continue;
      }
    }
    keep.push(block);
    events++;
  }
  const stream = Buffer.concat(keep);
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < stream.length; o += CHUNK)
    chunks.push(stream.subarray(o, Math.min(o + CHUNK, stream.length)));
  return { name, records, chunks, events, filtered };
}

// ---------------------------------------------------------------------------------------------------
// Replaying.

/** The detector's private parts the replay drives (its state engine and its batch handler). */
interface DetectorInside {
  state: StateEngine;
  onRawBatch(batch: RawEbpfEvent[]): void;
}

type Stage = 'frame' | 'state' | 'agent';
/** VIGIL_BENCH_AGENT_STAGES (comma-separated) times only those stages, e.g. for a CPU profile. */
const STAGES = (process.env.VIGIL_BENCH_AGENT_STAGES?.split(',') ?? ['frame', 'state', 'agent']).filter(
  (s): s is Stage => s === 'frame' || s === 'state' || s === 'agent',
);

function bootstrap(state: StateEngine, rec: Recording): void {
  for (const r of rec.records) state.addRecord(r);
  state.finishBootstrap();
}

function newEngine(): Engine {
  const rs = loadRuleSet([rulesDir], { hostname: 'bench' });
  if (!rs.ok) throw new Error(`${rs.message}\n${rs.details.join('\n')}`);
  return rs.engine;
}

/** One replay; returns the CPU time it took (ns) and the alerts raised. */
function replay(rec: Recording, stage: Stage, engine: Engine): { cpuNs: number; alerts: number } {
  let alerts = 0;
  const detector = new Detector(engine, {
    rulesFiles: [rulesDir],
    hostname: 'bench',
    onAlert: () => alerts++,
  });
  const inside = detector as unknown as DetectorInside;
  bootstrap(inside.state, rec);
  const parser = new EbpfStreamParser();
  const state = inside.state;
  const c0 = process.cpuUsage();
  if (stage === 'frame') {
    for (const chunk of rec.chunks) parser.push(chunk);
  } else if (stage === 'state') {
    for (const chunk of rec.chunks) {
      const batch = parser.push(chunk);
      for (let i = 0; i < batch.length; i++) state.processEvent(batch[i]!);
    }
  } else {
    for (const chunk of rec.chunks) {
      const batch = parser.push(chunk);
      if (batch.length) inside.onRawBatch(batch);
    }
  }
  const c = process.cpuUsage(c0);
  return { cpuNs: (c.user + c.system) * 1000, alerts };
}

/**
 * A digest of every event the state engine emits (as the detector's state engine is configured)
 * and every alert the rules raise. Every parameter is read right after its event, as rules read
 * them.
 */
function digest(
  rec: Recording,
  engine: Engine,
  plain = false,
): { hash: string; emitted: number; alerts: number } {
  const h = createHash('sha256');
  const detector = new Detector(engine, { rulesFiles: [rulesDir], hostname: 'bench', onAlert: () => {} });
  // `plain`: a state engine with default options (what replay uses), to compare with the agent's.
  const state = plain
    ? new StateEngine({ hostname: 'bench' })
    : (detector as unknown as DetectorInside).state;
  bootstrap(state, rec);
  const parser = new EbpfStreamParser();
  let emitted = 0;
  let alerts = 0;
  const big = (_k: string, v: unknown): unknown =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v;
  for (const chunk of rec.chunks) {
    for (const raw of parser.push(chunk)) {
      const ev = state.processEvent(raw);
      if (!ev) continue;
      emitted++;
      h.update(JSON.stringify(eventDump(ev), big));
      for (const a of engine.process(ev)) {
        alerts++;
        h.update(JSON.stringify(alertDump(a), big));
      }
    }
  }
  return { hash: h.digest('hex').slice(0, 16), emitted, alerts };
}

function eventDump(ev: SyscallEvent): unknown {
  const t = ev.thread;
  return {
    num: ev.num,
    ts: ev.ts,
    type: ev.type,
    dir: ev.dir,
    cpu: ev.cpu,
    res: ev.res,
    category: ev.category,
    fd: ev.fd,
    container: ev.container,
    hostname: ev.hostname,
    // Byte values by content: a Buffer view (JSON.stringify uses its toJSON) and a plain Uint8Array
    // view of the same bytes are the same value.
    params: ev.params.map((p) => ({
      name: p.name,
      raw: p.raw instanceof Uint8Array ? `bytes:${Buffer.from(p.raw).toString('hex')}` : p.raw,
      text: p.text,
      rawText: p.rawText,
    })),
    thread: {
      tid: t.tid,
      pid: t.pid,
      ppid: t.ppid,
      vtid: t.vtid,
      vpid: t.vpid,
      sid: t.sid,
      vpgid: t.vpgid,
      comm: t.comm,
      exe: t.exe,
      exepath: t.exepath,
      args: t.args,
      cwd: t.cwd,
      uid: t.uid,
      gid: t.gid,
      loginuid: t.loginuid,
      containerId: t.containerId,
      lastEventFd: t.lastEventFd,
      parent: t.parent?.tid,
      missing: t.missing,
    },
  };
}

function alertDump(a: Alert): unknown {
  return { ...a };
}

// ---------------------------------------------------------------------------------------------------
// Main.

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const num = (n: number): string => Math.round(n).toLocaleString('en-US');

const probeEngine = newEngine();
const wanted = probeEngine.interestingEventTypes();
const captureSet = wanted === null ? undefined : captureSetFor(wanted);
const capture: AgentCapture = {
  notCaptured: new Set(captureSet ? EBPF_SYSCALLS.filter((s) => !captureSet.syscalls.includes(s)) : []),
  successOnly: new Set(captureSet?.successOnly ?? []),
};

interface Result {
  name: string;
  what: string;
  events: number;
  filtered: number;
  alerts: number;
  /** Median and minimum ns per event of each stage timed. */
  ns: Record<Stage, number>;
  min: Record<Stage, number>;
  digest?: { hash: string; emitted: number; alerts: number };
}

const results: Result[] = [];
try {
  for (const w of WORKLOADS) {
    if (ONLY && !ONLY.includes(w.name)) continue;
    const path = join(dir, `${w.name}.scap`);
    if (!existsSync(path)) record(w.name, w.command(), path);
    const rec = await load(w.name, path, capture);
    const ns: Record<Stage, number> = { frame: NaN, state: NaN, agent: NaN };
    const min: Record<Stage, number> = { frame: NaN, state: NaN, agent: NaN };
    let alerts = 0;
    for (const stage of STAGES) {
      const engine = newEngine();
      replay(rec, stage, engine); // warm-up
      const per: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const out = replay(rec, stage, engine);
        per.push(out.cpuNs / rec.events);
        if (stage === 'agent') alerts = out.alerts;
      }
      ns[stage] = median(per);
      min[stage] = Math.min(...per);
    }
    const res: Result = {
      name: w.name,
      what: w.what,
      events: rec.events,
      filtered: rec.filtered,
      alerts,
      ns,
      min,
    };
    if (DIGEST) {
      res.digest = digest(rec, newEngine());
      const plain = digest(rec, newEngine(), true);
      if (plain.hash !== res.digest.hash)
        console.log(
          `${w.name}: the agent's events differ from a default state engine's (digest ${plain.hash})`,
        );
    }
    results.push(res);
  }
} finally {
  if (!keepDir) rmSync(dir, { recursive: true, force: true });
}

const machine = machineLine();
const cell = (r: Result, st: Stage): string =>
  Number.isNaN(r.ns[st]) ? '-' : `${r.ns[st].toFixed(0)} / ${r.min[st].toFixed(0)}`;
console.log(
  `rules: ${rulesDir} (${probeEngine.activeRules.length} enabled rules); ${ROUNDS} timed replays after a warm-up; ns per event, median / min`,
);
console.log(`node options: ${process.execArgv.join(' ') || '(none)'}`);
console.log(
  `${'workload'.padEnd(8)}  ${'events'.padStart(9)}  ${'frame'.padStart(11)}  ${'+ state'.padStart(11)}  ${'agent'.padStart(11)}  alerts`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(8)}  ${num(r.events).padStart(9)}  ${cell(r, 'frame').padStart(11)}  ${cell(r, 'state').padStart(11)}  ${cell(r, 'agent').padStart(11)}  ${r.alerts}`,
  );
  if (r.digest)
    console.log(
      `  digest ${r.digest.hash}: ${num(r.digest.emitted)} events emitted, ${r.digest.alerts} alerts`,
    );
}

const full = !ONLY && STAGES.length === 3;
if (full) {
  writeDocBlock(
    'agent',
    [
      `Recorded ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:agent\` on ${machine}, node options \`${process.execArgv.join(' ') || 'none'}\` (the installed \`vigil\`'s).`,
      `The default rules (${probeEngine.activeRules.length} enabled); ${ROUNDS} timed replays after a warm-up; CPU time per event read, median / minimum.`,
      '',
      '| workload | events replayed | framing | + state engine | whole agent path | alerts per replay |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...results.map(
        (r) =>
          `| ${r.name}: ${r.what} | ${num(r.events)}${r.filtered ? ` (${num(r.filtered)} not seen live left out)` : ''} | ${cell(r, 'frame')} ns | ${cell(r, 'state')} ns | **${cell(r, 'agent')} ns** | ${r.alerts} |`,
      ),
    ].join('\n'),
  );
}

for (const r of results) {
  for (const st of STAGES) {
    console.log(`BENCH agent_${r.name}_${st}_ns_per_event ${r.ns[st].toFixed(1)} ns`);
    console.log(`BENCH agent_${r.name}_${st}_min_ns_per_event ${r.min[st].toFixed(1)} ns`);
  }
}
