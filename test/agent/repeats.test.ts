/**
 * Verdicts reused for repeated opens (src/agent/repeats.ts): the detector's eBPF path, fed framed
 * events, must raise exactly the alerts of a reference that evaluates every event, while skipping
 * the evaluation of repeats it can prove give the same answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Detector,
  DetectorError,
  reuseVerdictsFromEnv,
  type RepeatCounter,
} from '../../src/agent/detector.js';
import { openCaptureBytes } from '../../src/capture/scap/blocks.js';
import { eventInfo } from '../../src/capture/scap/event-table.js';
import { readScapRecords, type ScapRecord } from '../../src/capture/scap/reader.js';
import { encodeEvent, encodeSectionHeader, P, type EventToWrite } from '../../src/capture/scap/writer.js';
import { EbpfStreamParser, type RawEbpfEvent } from '../../src/capture/sources/ebpf/parse.js';
import { StateEngine } from '../../src/capture/state/state-engine.js';
import { createEngine, type Alert, type Engine } from '../../src/engine/engine.js';
import { loadRules } from '../../src/engine/rules/index.js';
import { fixturePath, haveFixtures, REPO_ROOT, scapFixtureFiles } from '../helpers/fixtures.js';

/** The detector's insides these tests drive (as bench/agent-cpu.ts does). */
interface DetectorInside {
  state: StateEngine;
  onRawBatch(batch: RawEbpfEvent[], src?: RepeatCounter): void;
}

const OPENAT_X = 307;
const CHDIR_X = 95;
const AT_FDCWD = -100n;
const O_RDONLY = 1;

const RULES = `
- rule: Shadow read
  desc: d
  condition: evt.type = openat and evt.dir = < and fd.name = /etc/shadow
  output: "shadow read (file=%fd.name proc=%proc.name)"
  priority: WARNING
- rule: Served file read
  desc: d
  condition: evt.type = openat and evt.dir = < and fd.name startswith /srv/ and not proc.name = nginx
  output: "served file read (file=%fd.name proc=%proc.name)"
  priority: NOTICE
`;

type RulesFiles = string | { name: string; content: string }[];

function engineFor(rules: RulesFiles): Engine {
  const files = typeof rules === 'string' ? [{ name: 'rules.yaml', content: rules }] : rules;
  const loaded = loadRules(files);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return createEngine(loaded, { hostname: 'test' });
}

/** What identifies an alert and the event it came from. */
const key = (a: Alert): string => `${a.rule} ${a.time} ${a.output}`;

/**
 * Feeds `events` (after `records`: threads, fds...) to a detector and to a reference (a state
 * engine of the same options and an engine evaluating every event), checks they raise the same
 * alerts, and returns the detector's alerts and its count of reused verdicts.
 */
function run(
  rules: RulesFiles,
  records: ScapRecord[],
  events: EventToWrite[],
  batch = 256,
  reuseVerdicts?: boolean,
): { alerts: string[]; reused: number; evaluated: number } {
  const got: Alert[] = [];
  const detector = new Detector(engineFor(rules), {
    rulesFiles: [],
    hostname: 'test',
    onAlert: (a) => got.push(a),
    ...(reuseVerdicts === undefined ? {} : { reuseVerdicts }),
  });
  const inside = detector as unknown as DetectorInside;
  const refState = new StateEngine({ hostname: 'test', lazyParams: true });
  const refEngine = engineFor(rules);
  for (const s of [inside.state, refState]) {
    for (const r of records) s.addRecord(r);
    s.finishBootstrap();
  }
  const want: Alert[] = [];
  const mine = new EbpfStreamParser();
  const theirs = new EbpfStreamParser();
  mine.push(encodeSectionHeader());
  theirs.push(encodeSectionHeader());
  for (let i = 0; i < events.length; i += batch) {
    const bytes = events.slice(i, i + batch).map((e) => encodeEvent(e));
    const chunk = Buffer.concat(bytes);
    const raws = mine.push(chunk);
    if (raws.length) inside.onRawBatch(raws);
    for (const raw of theirs.push(Buffer.from(chunk))) {
      const ev = refState.processEvent(raw);
      if (ev) want.push(...refEngine.process(ev));
    }
  }
  expect(got.map(key)).toEqual(want.map(key));
  const s = detector.stats();
  return { alerts: got.map((a) => a.output), reused: s.reused, evaluated: s.evaluated };
}

const thread = (tid: number, comm: string, cwd = '/'): ScapRecord => ({
  kind: 'thread',
  offset: 0,
  entry: {
    tid,
    pid: tid,
    ptid: 1,
    comm,
    exe: comm,
    exepath: `/usr/bin/${comm}`,
    args: [],
    cwd,
    flags: 0,
    uid: 0,
    gid: 0,
  },
});

let clock = 1_000n;
/** An openat exit event: fd, dirfd, name, flags, mode, dev, ino. */
function openat(tid: number, name: string, fd = 3, ino = 42n): EventToWrite {
  return {
    ts: clock++,
    tid,
    cpu: Number(clock % 2n),
    type: OPENAT_X,
    params: [
      P.i64(BigInt(fd)),
      P.i64(AT_FDCWD),
      P.str(name),
      P.u32(O_RDONLY),
      P.u32(0),
      P.u32(0xfe01),
      P.u64(ino),
    ],
  };
}
function chdir(tid: number, path: string): EventToWrite {
  return { ts: clock++, tid, type: CHDIR_X, params: [P.i64(0n), P.str(path)] };
}
const times = (n: number, f: () => EventToWrite): EventToWrite[] => Array.from({ length: n }, f);

describe('verdicts reused for repeated opens', () => {
  it('a storm of one open is evaluated twice, the rest reuse the verdict', () => {
    const r = run(
      RULES,
      [thread(7, 'storm')],
      times(1000, () => openat(7, '/tmp/x')),
    );
    expect(r.alerts).toEqual([]);
    expect(r.evaluated).toBe(1000);
    expect(r.reused).toBe(998);
  });

  it('can be turned off (VIGIL_REUSE_VERDICTS=0): every event is evaluated', () => {
    const r = run(
      RULES,
      [thread(7, 'storm')],
      times(100, () => openat(7, '/tmp/x')),
      256,
      false,
    );
    expect(r.evaluated).toBe(100);
    expect(r.reused).toBe(0);
    expect(reuseVerdictsFromEnv({})).toBe(true);
    expect(reuseVerdictsFromEnv({ VIGIL_REUSE_VERDICTS: '1' })).toBe(true);
    expect(reuseVerdictsFromEnv({ VIGIL_REUSE_VERDICTS: '0' })).toBe(false);
    expect(() => reuseVerdictsFromEnv({ VIGIL_REUSE_VERDICTS: 'no' })).toThrow(DetectorError);
    expect(() => reuseVerdictsFromEnv({ VIGIL_REUSE_VERDICTS: 'no' })).toThrow(
      /VIGIL_REUSE_VERDICTS=no: must be 1 .*, agent .* or 0/,
    );
  });

  it('lets the probe count the rest of a run: consents at its first reuse, on a new CPU and at doublings', () => {
    /** A source whose probe counts repeats: records the consents, reports counts it is given. */
    const probe = { stats: { repeats: 0 }, consents: [] as string[] };
    const sink: RepeatCounter = {
      stats: probe.stats,
      consentRepeat: (cpu, seq) => void probe.consents.push(`${cpu}:${seq}`),
    };
    const feed = (reuse: boolean | 'agent', events: EventToWrite[]): Detector => {
      const detector = new Detector(engineFor(RULES), {
        rulesFiles: [],
        hostname: 'test',
        onAlert: () => {},
        reuseVerdicts: reuse,
      });
      const inside = detector as unknown as DetectorInside;
      inside.state.addRecord(thread(7, 'storm'));
      inside.state.addRecord(thread(8, 'cat'));
      inside.state.finishBootstrap();
      const parser = new EbpfStreamParser();
      parser.push(encodeSectionHeader());
      for (let i = 0; i < events.length; i += 50)
        inside.onRawBatch(
          parser.push(Buffer.concat(events.slice(i, i + 50).map((e) => encodeEvent(e)))),
          sink,
        );
      return detector;
    };
    const on = (cpu: number, e: EventToWrite): EventToWrite => ({ ...e, cpu });
    // Records 1..100 of CPU 0, then the thread moves to CPU 1 (its records 1..10).
    const storm = [
      ...times(100, () => on(0, openat(7, '/tmp/x'))),
      ...times(10, () => on(1, openat(7, '/tmp/x'))),
    ];
    const d = feed(true, storm);
    // Reuse starts at the third open (record 3); then at runs of 2, 4, 8, ... and the move to CPU 1.
    expect(probe.consents).toEqual(['0:3', '0:4', '0:6', '0:10', '0:18', '0:34', '0:66', '1:1']);
    expect(d.stats()).toMatchObject({ events: 110, evaluated: 110, reused: 108, reusedInKernel: 0 });
    // What the probe counts arrives as a total: it is added to events, evaluated and reused.
    probe.stats.repeats = 500;
    (d as unknown as DetectorInside).onRawBatch([], sink);
    expect(d.stats()).toMatchObject({ events: 610, evaluated: 610, reused: 608, reusedInKernel: 500 });

    // Opens that match a rule are evaluated every time, so never consented to; nor in 'agent' mode.
    probe.consents = [];
    probe.stats.repeats = 0;
    const shadow = feed(
      true,
      times(50, () => on(0, openat(8, '/etc/shadow'))),
    );
    expect(shadow.stats()).toMatchObject({ alerts: 50, reused: 0 });
    const agentOnly = feed('agent', storm);
    expect(agentOnly.stats()).toMatchObject({ reused: 108 });
    expect(probe.consents).toEqual([]);
    expect(reuseVerdictsFromEnv({ VIGIL_REUSE_VERDICTS: 'agent' })).toBe('agent');
  });

  it('an open that matches a rule raises every time: a match is never reused', () => {
    const r = run(
      RULES,
      [thread(7, 'cat')],
      times(50, () => openat(7, '/etc/shadow')),
    );
    expect(r.alerts).toHaveLength(50);
    expect(r.reused).toBe(0);
  });

  it('a relative open after chdir is evaluated again and matches', () => {
    const events = [
      ...times(5, () => openat(7, 'index.html')),
      chdir(7, '/srv/www'),
      ...times(5, () => openat(7, 'index.html')),
      chdir(7, '/tmp'),
      ...times(5, () => openat(7, 'index.html')),
    ];
    const r = run(RULES, [thread(7, 'curl', '/home/a')], events);
    expect(r.alerts).toEqual(Array(5).fill('served file read (file=/srv/www/index.html proc=curl)'));
    // Three streaks of five: two evaluated in full and three reused in each but the matching one.
    expect(r.reused).toBe(6);
  });

  it('other events in between, another thread or other parameters break the streak', () => {
    const events: EventToWrite[] = [];
    for (let i = 0; i < 20; i++) events.push(openat(7, '/tmp/x'), openat(8, '/tmp/x'));
    for (let i = 0; i < 20; i++) events.push(openat(7, '/tmp/x', 3 + (i % 2)));
    for (let i = 0; i < 20; i++) events.push(openat(7, '/tmp/x', 3, BigInt(i)));
    const r = run(RULES, [thread(7, 'a'), thread(8, 'b')], events);
    expect(r.reused).toBe(0);
  });

  it('repeats split over batches are still repeats; a rule on the event number turns reuse off', () => {
    const events = times(300, () => openat(7, '/srv/a'));
    const r = run(RULES, [thread(7, 'nginx')], events, 7);
    expect(r.reused).toBe(298);
    const numbered = `${RULES}
- rule: Late open
  desc: d
  condition: evt.type = openat and evt.num > 250
  output: "late open (num=%evt.num)"
  priority: NOTICE
`;
    const n = run(numbered, [thread(7, 'nginx')], events);
    expect(n.reused).toBe(0);
    expect(n.alerts).toHaveLength(50);
  });
});

describe.skipIf(!haveFixtures)('verdicts reused for repeated opens, over the scap fixtures', () => {
  const OPENS = new Set(['open', 'openat', 'openat2', 'creat']);
  const dir = haveFixtures ? fixturePath('syscall', 'scap') : '';
  const file = (path: string): { name: string; content: string } => ({
    name: path,
    content: readFileSync(path, 'utf8'),
  });
  // Vigil's rules and Falco's stable rules, each on its own: their alerts, event by event.
  const ruleSets: [string, () => RulesFiles][] = [
    ['Vigil rules', () => [file(join(REPO_ROOT, 'rules', 'vigil_rules.yaml'))]],
    ["Falco's rules", () => [file(fixturePath('rules', 'falcosecurity-rules', 'main', 'falco_rules.yaml'))]],
    // Rules that do match opens in these captures: one on fixed fields, one gated by a duration.
    [
      'matching rules',
      () => `
- rule: Library opened
  desc: d
  condition: evt.type in (open, openat) and evt.dir = < and fd.name contains /lib
  output: "library (file=%fd.name proc=%proc.name)"
  priority: NOTICE
- rule: Etc opened by a process that has run a while
  desc: d
  condition: evt.type in (open, openat) and fd.name startswith /etc/ and proc.duration >= 0
  output: "etc (file=%fd.name proc=%proc.name)"
  priority: NOTICE
`,
    ],
  ];
  let evaluated = 0;
  let reused = 0;
  let alerts = 0;
  const counts: string[] = [];
  it.each(scapFixtureFiles())('%s, opens repeated: the same alerts as evaluating every event', async (f) => {
    const records: ScapRecord[] = [];
    const events: EventToWrite[] = [];
    for await (const r of readScapRecords(openCaptureBytes(join(dir, f)))) {
      // Exit events only, as the eBPF driver sends them (and as repeats arrive live); every open
      // four times over, as a poller or a storm would make it (the captures hold few repeats).
      if (r.kind === 'event') {
        const info = eventInfo(r.event.type);
        if (info?.dir !== '<') continue;
        const n = OPENS.has(info.name) ? 4 : 1;
        for (let i = 0; i < n; i++) events.push({ ...r.event, ts: r.event.ts + BigInt(i) });
      } else records.push(r);
    }
    for (const [name, rules] of ruleSets) {
      const r = run(rules(), records, events);
      evaluated += r.evaluated;
      reused += r.reused;
      alerts += r.alerts.length;
      counts.push(`${f} (${name}): ${r.evaluated} evaluated, ${r.reused} reused, ${r.alerts.length} alerts`);
    }
  });
  it('the captures hold repeats the detector reused, and opens the rules match', () => {
    expect(evaluated).toBeGreaterThan(0);
    expect(reused, counts.join('\n')).toBeGreaterThan(0);
    expect(alerts, counts.join('\n')).toBeGreaterThan(0);
  });
});
