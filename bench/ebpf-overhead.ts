/**
 * Overhead of the eBPF capture driver on a syscall storm (adr/0006-ebpf-driver.md records the
 * figures): `vigil-workload storm N FILE` makes N openat+close pairs and reports its own time,
 *   (a) with nothing attached;
 *   (b) with bpftrace printing every openat (the usual quick answer, for reference);
 *   (c) with Vigil's probe capturing what the state engine needs plus execveat, connect and ptrace
 *       (`captureSetFor`, the detector's default: openat captured, close not) and this process
 *       decoding every event through the scap decoder;
 *   (d) the same probe with the loader's output thrown away (kernel-side cost alone);
 *   (c') and (d') the same with close captured too (`keepClose`), as before close elision.
 * Rounds interleave the conditions (the order of the with/without-close pairs alternates) so
 * background load hits them alike; medians are reported.
 *
 * Needs root and `scripts/build-bpf.sh`; (b) needs Debian's bpftrace (`--no-bpftrace` skips it).
 * Run with `npm run build && node dist/bench/ebpf-overhead.js [pairs] [rounds] [--no-bpftrace]`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureSetFor } from '../src/capture/sources/ebpf/parse.js';
import { BpfSource } from '../src/capture/sources/ebpf/source.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = join(root, 'native', 'bpf', 'build');
const loader = join(build, 'vigil-capture');
const workload = join(build, 'vigil-workload');
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const pairs = Number(positional[0] ?? 1_000_000);
const rounds = Number(positional[1] ?? 5);

if (!existsSync(loader) || !existsSync(workload)) {
  console.error(`bench: ${loader} is not built: run scripts/build-bpf.sh`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('bench: loading eBPF programs needs root');
  process.exit(1);
}
const haveBpftrace =
  !process.argv.includes('--no-bpftrace') && spawnSync('bpftrace', ['--version']).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
const file = join(dir, 'storm.txt');
writeFileSync(file, 'x');

/** Nanoseconds per openat+close pair: wall time, and the storm's own CPU time (user + system). */
interface Pair {
  wall: number;
  cpu: number;
}

/** Runs the storm, as the workload measured it. */
function storm(): Promise<Pair> {
  return new Promise((res, rej) => {
    const child = spawn(workload, ['storm', String(pairs), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`storm exited ${code}`));
      const r = JSON.parse(out) as { pairs: number; ns: number; cpuNs: number };
      res({ wall: r.ns / r.pairs, cpu: r.cpuNs / r.pairs });
    });
  });
}

async function withBpftrace(): Promise<Pair> {
  const bt = spawn(
    'bpftrace',
    ['-e', 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let printed = 0;
  await new Promise<void>((res) => {
    bt.stdout.on('data', (d: Buffer) => {
      if (printed === 0 && d.toString().includes('Attaching')) res();
      printed += d.length;
    });
  });
  const ns = await storm();
  bt.kill('SIGINT');
  await new Promise((r) => bt.on('exit', r));
  return ns;
}

interface ProbeRun {
  pair: Pair;
  events: number;
  drops: number;
  /** CPU time of this process (the consumer) per event. */
  consumerNsPerEvent: number;
}

const RULE_TYPES = ['execveat', 'connect', 'ptrace'];

async function withProbe(decode: boolean, keepClose: boolean): Promise<ProbeRun> {
  const set = captureSetFor(RULE_TYPES, { keepClose });
  const source = new BpfSource({
    loaderPath: loader,
    syscalls: set.syscalls,
    successOnly: set.successOnly,
    ...(decode ? {} : { outputPath: '/dev/null' }),
  });
  await source.start();
  const cpu0 = process.cpuUsage();
  let decoded = 0;
  const pump = decode
    ? (async () => {
        // Decoding = every parameter to its value (paths, fds, flags); texts are rendered only
        // for alerts, so they are not forced here.
        for await (const e of source.events()) if (e.args) decoded++;
      })()
    : Promise.resolve();
  const pair = await storm();
  const stats = await source.stop();
  await pump;
  const used = process.cpuUsage(cpu0);
  const k = stats.kernel;
  const events = decode ? decoded : k.delivered;
  return {
    pair,
    events,
    drops: k.drops.buffer + k.drops.maxEventSize + k.drops.noScratch,
    consumerNsPerEvent: ((used.user + used.system) * 1000) / Math.max(1, events),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] ?? 0)
    : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

const base: Pair[] = [];
const bpftrace: Pair[] = [];
const probe: Pair[] = [];
const probeRaw: Pair[] = [];
const probeClose: Pair[] = [];
const probeCloseRaw: Pair[] = [];
const consumer: number[] = [];
const consumerClose: number[] = [];
let decodedEvents = 0;
let decodedEventsClose = 0;
let drops = 0;
const load0 = loadavg();
for (let r = 0; r < rounds; r++) {
  base.push(await storm());
  if (haveBpftrace) bpftrace.push(await withBpftrace());
  for (const keepClose of r % 2 === 0 ? [false, true] : [true, false]) {
    const p = await withProbe(true, keepClose);
    (keepClose ? probeClose : probe).push(p.pair);
    (keepClose ? consumerClose : consumer).push(p.consumerNsPerEvent);
    if (keepClose) decodedEventsClose += p.events;
    else decodedEvents += p.events;
    drops += p.drops;
    const raw = await withProbe(false, keepClose);
    (keepClose ? probeCloseRaw : probeRaw).push(raw.pair);
    drops += raw.drops;
  }
  base.push(await storm());
  console.error(`round ${r + 1}/${rounds} done (load average ${loadavg()[0]?.toFixed(1)})`);
}
const load1 = loadavg();
rmSync(dir, { recursive: true, force: true });

const wall = (xs: Pair[]): number => median(xs.map((x) => x.wall));
const cpu = (xs: Pair[]): number => median(xs.map((x) => x.cpu));
const row = (name: string, xs: Pair[]): string =>
  xs.length
    ? `${name.padEnd(44)} ${wall(xs).toFixed(0).padStart(6)} ns  ${(wall(xs) / wall(base)).toFixed(2)}x   ${cpu(xs).toFixed(0).padStart(6)} ns  ${(cpu(xs) / cpu(base)).toFixed(2)}x`
    : `${name.padEnd(44)} (bpftrace not installed)`;
const la = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
console.log(`openat+close storm, ${pairs} pairs, ${rounds} interleaved rounds; medians per pair`);
console.log(`load average at start ${la(load0)}, at end ${la(load1)}`);
console.log(`${''.padEnd(44)} ${'wall'.padStart(9)}           ${'storm CPU'.padStart(9)}`);
console.log(row('no tracing', base));
console.log(row('bpftrace printing every openat', bpftrace));
console.log(row('vigil probe + Node consumer decoding events', probe));
console.log(row('vigil probe, output discarded', probeRaw));
console.log(row('  same, close captured: probe + consumer', probeClose));
console.log(row('  same, close captured: output discarded', probeCloseRaw));
console.log(
  `storm CPU overhead per pair (median minus no tracing): without close ${(cpu(probe) - cpu(base)).toFixed(0)} ns` +
    ` (probe alone ${(cpu(probeRaw) - cpu(base)).toFixed(0)} ns), with close ${(cpu(probeClose) - cpu(base)).toFixed(0)} ns` +
    ` (probe alone ${(cpu(probeCloseRaw) - cpu(base)).toFixed(0)} ns)`,
);
console.log(
  `consumer (this process) CPU per decoded event: ${median(consumer).toFixed(0)} ns without close, ${median(consumerClose).toFixed(0)} ns with close`,
);
console.log(
  `decoded ${decodedEvents} events without close and ${decodedEventsClose} with close in the consumer runs, ${drops} dropped in all runs`,
);
console.log(`BENCH ebpf_overhead_probe_decode_wall ${(wall(probe) / wall(base)).toFixed(3)} x`);
console.log(`BENCH ebpf_overhead_probe_decode_cpu ${(cpu(probe) / cpu(base)).toFixed(3)} x`);
console.log(`BENCH ebpf_overhead_probe_decode_cpu_with_close ${(cpu(probeClose) / cpu(base)).toFixed(3)} x`);
if (bpftrace.length)
  console.log(`BENCH ebpf_overhead_bpftrace_wall ${(wall(bpftrace) / wall(base)).toFixed(3)} x`);
