/**
 * `npm run bench:engine`: rule-evaluation throughput of the engine on one core with Falco's stable
 * ruleset (falco_rules.yaml) over a synthetic, realistic syscall stream:
 *   (a) mixed — the realistic mix, where most events are of types no rule indexes;
 *   (b) relevant — only rule-relevant types (execve, open family, connect, socket, sendto, ...).
 * Targets: (a) ≥ 1,000,000 events/s, (b) ≥ 250,000 events/s.
 *
 * Prints a table and one `BENCH <name> <value> <unit>` line per figure, and records the figures in
 * docs/benchmarks.md (between the bench:engine markers) with the command and machine.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/engine/engine.js';
import { loadRules } from '../src/engine/rules/index.js';
import { generateEvents, type Scenario } from './synthetic-stream.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = process.env.VIGIL_FIXTURES
  ? resolve(process.env.VIGIL_FIXTURES)
  : resolve(root, '..', 'shared', 'fixtures');
const rulesPath =
  process.env.VIGIL_BENCH_RULES ??
  join(fixtures, 'falco', 'rules', 'falcosecurity-rules', 'main', 'falco_rules.yaml');

if (!existsSync(rulesPath)) {
  console.error(
    `bench:engine needs Falco's stable rules at ${rulesPath} (set VIGIL_FIXTURES or VIGIL_BENCH_RULES)`,
  );
  process.exit(1);
}

const loaded = loadRules([{ name: rulesPath, content: readFileSync(rulesPath, 'utf8') }]);
const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
if (errors.length) {
  console.error(`rules failed to load: ${errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  process.exit(1);
}
const engine = createEngine(loaded, { ruleMatching: 'first' });
const interesting = engine.interestingEventTypes();

const EVENTS = Number(process.env.VIGIL_BENCH_EVENTS ?? 300_000);
const ROUNDS = Number(process.env.VIGIL_BENCH_ROUNDS ?? 5);

interface Result {
  scenario: Scenario;
  eventsPerSec: number;
  nsPerEvent: number;
  indexedShare: number;
  alerts: number;
}

function run(scenario: Scenario): Result {
  const events = generateEvents(scenario, EVENTS, scenario === 'mixed' ? 1 : 2);
  const indexed = events.filter((e) => interesting === null || interesting.has(e.type)).length;
  // Warm-up: let the JIT settle on this stream.
  let alerts = 0;
  for (const e of events) alerts += engine.process(e).length;
  alerts = 0;
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < events.length; i++) alerts += engine.process(events[i]!).length;
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  const nsPerEvent = median / events.length;
  return {
    scenario,
    eventsPerSec: 1e9 / nsPerEvent,
    nsPerEvent,
    indexedShare: indexed / events.length,
    alerts: alerts / ROUNDS,
  };
}

const results = [run('mixed'), run('relevant')];
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const targets: Record<Scenario, number> = { mixed: 1_000_000, relevant: 250_000 };

console.log(
  `rules: ${rulesPath} (${engine.activeRules.length} enabled rules; ${interesting ? interesting.size : 'all'} indexed event types)`,
);
console.log(`stream: ${EVENTS} distinct events per scenario, ${ROUNDS} timed rounds (median), one core`);
console.log('scenario   events/s      ns/event  rule-relevant share  alerts/round  target');
for (const r of results) {
  console.log(
    `${r.scenario.padEnd(10)} ${Math.round(r.eventsPerSec).toLocaleString('en-US').padStart(12)}  ${r.nsPerEvent.toFixed(0).padStart(8)}  ${(r.indexedShare * 100).toFixed(1).padStart(18)}%  ${String(r.alerts).padStart(12)}  ≥ ${targets[r.scenario].toLocaleString('en-US')} ${r.eventsPerSec >= targets[r.scenario] ? 'met' : 'NOT met'}`,
  );
}

// Record in docs/benchmarks.md between markers.
const docPath = join(root, 'docs', 'benchmarks.md');
const block = [
  '<!-- bench:engine:start -->',
  `Recorded ${new Date().toISOString().slice(0, 10)} by \`npm run bench:engine\` on ${machine}.`,
  `Rules: Falco stable \`falco_rules.yaml\` (${engine.activeRules.length} rules); ${EVENTS.toLocaleString('en-US')} distinct synthetic events per scenario, median of ${ROUNDS} rounds, \`rule_matching: first\`.`,
  '',
  '| scenario | events/s | ns/event | rule-relevant share | target |',
  '| --- | ---: | ---: | ---: | --- |',
  ...results.map(
    (r) =>
      `| ${r.scenario === 'mixed' ? '(a) realistic mix' : '(b) rule-relevant types only'} | ${Math.round(r.eventsPerSec).toLocaleString('en-US')} | ${r.nsPerEvent.toFixed(0)} | ${(r.indexedShare * 100).toFixed(1)}% | ≥ ${targets[r.scenario].toLocaleString('en-US')}: ${r.eventsPerSec >= targets[r.scenario] ? 'met' : 'not met'} |`,
  ),
  '<!-- bench:engine:end -->',
].join('\n');
if (existsSync(docPath)) {
  const doc = readFileSync(docPath, 'utf8');
  const re = /<!-- bench:engine:start -->[\s\S]*?<!-- bench:engine:end -->/;
  writeFileSync(docPath, re.test(doc) ? doc.replace(re, block) : `${doc.trimEnd()}\n\n${block}\n`);
}

for (const r of results) {
  console.log(`BENCH engine_${r.scenario}_events_per_sec ${Math.round(r.eventsPerSec)} events/s`);
  console.log(`BENCH engine_${r.scenario}_ns_per_event ${r.nsPerEvent.toFixed(1)} ns`);
}
