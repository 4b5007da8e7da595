/**
 * The detector: live syscalls → state engine → rule engine → alerts. It is what `vigil run` and
 * `vigil up` run on a host.
 *
 * Stages and their bounds (every loss is counted by reason, nothing is dropped silently):
 * 1. kernel → ring buffer (eBPF; 16 MiB by default): when it is full the probe counts the event as
 *    dropped (`kernel_buffer_full`), likewise events too large for the scratch buffer;
 * 2. loader → pipe → this process: back-pressure (the loader blocks, the ring buffer absorbs it);
 * 3. state engine + rules: synchronous per chunk read from the pipe;
 * 4. alerts → `onAlert`, which must not block (sinks enqueue into their own bounded queues).
 * With ptrace, strace blocks the traced programs instead of dropping (see docs/drivers.md); only
 * syscalls cut short by a process's death are lost (`ptrace_unfinished`).
 *
 * Drops raise an alert (like Falco's "syscall event drop" action), at most once per rate-limit
 * period, and a log line.
 *
 * Hot reload: `reload()` reads the rules files again; an invalid set keeps the running one and
 * returns its diagnostics. When the new rules need syscalls the probe does not capture, a new probe
 * is attached before the old one is detached, and the events the two saw twice are skipped by time,
 * so the switch loses nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname as osHostname } from 'node:os';
import type { Alert, Engine } from '../engine/engine.js';
import type { ContainerInfo, SyscallEvent } from '../engine/event.js';
import { createContainerResolver } from '../capture/containers/index.js';
import { RepeatedOpens } from './repeats.js';
import { bootstrapFromProc, type ProcBootstrapStats } from '../capture/proc-bootstrap.js';
import { selectDriver, type DriverName } from '../capture/driver-select.js';
import { BpfSource } from '../capture/sources/ebpf/source.js';
import { captureSetFor, type RawEbpfEvent } from '../capture/sources/ebpf/parse.js';
import { createPtraceSource, type PtraceSource } from '../capture/sources/ptrace/source.js';
import { StateEngine } from '../capture/state/state-engine.js';
import { loadRuleSet, ruleInfos, type RuleInfo, type RuleSelection } from './ruleset.js';

/** The name of the alert raised when events were dropped. */
export const DROP_RULE = 'Vigil internal: syscall event drop';

/** What the detector does when events are dropped (Falco's `syscall_event_drops.actions`). */
export type DropAction = 'log' | 'alert';

/** Options of {@link createDetector}. */
export interface DetectorOptions extends RuleSelection {
  /** Rules files or directories. */
  rulesFiles: string[];
  /** `auto` (default): eBPF when the machine allows it, else ptrace. */
  driver?: 'auto' | DriverName;
  /**
   * A command to run (and, with ptrace, to trace): the detector stops when it exits. With eBPF the
   * whole host is watched while it runs.
   */
  command?: string[];
  /** ptrace: attach to these processes (and their children). */
  pids?: number[];
  /** Receives every alert, synchronously; must not block. */
  onAlert: (alert: Alert) => void;
  /** Progress and warnings for the user. */
  onLog?: (message: string) => void;
  /** What drops do (default both). An empty list ignores them (they are still counted). */
  dropActions?: DropAction[];
  /** At most one drop alert per this period (default 30 s; Falco's default rate is 1 per 30 s). */
  dropAlertIntervalMs?: number;
  /** How often driver counters are read (default 1000 ms). */
  statsIntervalMs?: number;
  /** eBPF ring buffer size in MiB (power of two, default 16). */
  ringbufMb?: number;
  /** eBPF: how often the loader hands events over, in ms (BpfSource `flushMs`, default 50). */
  flushMs?: number;
  /** Read every process's open fds at start (default true). */
  bootstrapFds?: boolean;
  /**
   * eBPF: capture close even when no rule names it (default false). Without close events closed
   * fds stay in the state until their number is reused, the process execs or exits; see
   * docs/drivers.md (close elision).
   */
  keepCloseEvents?: boolean;
  /** Looks up metadata of a container id seen in cgroups (name, image...). */
  containerResolver?: (id: string) => ContainerInfo | undefined;
  /**
   * eBPF: answer repeated opens with the previous event's verdict when that is provably the same
   * (agent/repeats.ts). `true` also lets the probe count further repeats of such a run instead of
   * sending them (BpfSource `repeats`); `'agent'` keeps every event coming and reuses verdicts here
   * only; `false` evaluates every event. Default: `$VIGIL_REUSE_VERDICTS` (`1`, `agent` or `0`),
   * else true.
   */
  reuseVerdicts?: boolean | 'agent';
  /** The command's stdio (default: inherited). */
  commandStdio?: 'inherit' | 'ignore';
  loaderPath?: string;
  stracePath?: string;
}

/** What the detector needs of a source whose probe counts repeats ({@link BpfSource}). */
export interface RepeatCounter {
  readonly stats: { readonly repeats: number };
  consentRepeat(cpu: number, seq: number): void;
}

/** Counters of a running detector. */
export interface DetectorStats {
  driver: DriverName | undefined;
  /** Raw events read from the driver. */
  events: number;
  /** Events evaluated by the rules (exit events after state tracking). */
  evaluated: number;
  /**
   * Of `evaluated`, repeated opens answered with the previous event's verdict instead of being
   * evaluated again (agent/repeats.ts): same thread, same parameters, nothing else in between.
   */
  reused: number;
  /**
   * Of `reused` (and of `events` and `evaluated`), repeats the probe counted instead of sending,
   * after the agent consented for their run.
   */
  reusedInKernel: number;
  alerts: number;
  alertsByRule: Record<string, number>;
  /** Lost events by reason. */
  drops: Record<string, number>;
  dropsTotal: number;
  /** Drop alerts raised. */
  dropAlerts: number;
  state: { threads: number; fds: number; containers: number };
  reloads: { ok: number; failed: number };
  /** When the capture started (ms since the epoch). */
  startedAt: number;
  /** Driver-specific counters (kernel counters for eBPF, trace counters for ptrace). */
  driverStats?: unknown;
}

/** What {@link Detector.start} reports. */
export interface DetectorStart {
  driver: DriverName;
  /** Syscalls the driver captures. */
  syscalls: string[];
  /** Event types some rule needs that this driver cannot see (those rules will not fire). */
  unsupported: string[];
  /** Messages for the user: why this driver, tracing mounts made, rule warnings. */
  messages: string[];
  rules: { loaded: number; enabled: number; warnings: number };
  bootstrap?: ProcBootstrapStats;
}

/** The outcome of a reload. */
export type ReloadResult =
  | { ok: true; rules: number; enabled: number; warnings: number; recaptured: boolean; messages: string[] }
  | { ok: false; message: string; details: string[] };

/** The final report. */
export interface DetectorSummary extends DetectorStats {
  durationMs: number;
  /** The command's exit code (when a command was run). */
  commandExit?: number | null;
}

/** A failure to start, with what to do (from driver selection or the driver). */
export class DetectorError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'DetectorError';
  }
}

type Source = { kind: 'ebpf'; src: BpfSource; syscalls: string[] } | { kind: 'ptrace'; src: PtraceSource };

/** See the module comment. */
export class Detector {
  private engine: Engine;
  private readonly opts: DetectorOptions;
  private readonly hostname: string;
  private readonly state: StateEngine;
  private current: Source | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private command: ChildProcess | undefined;
  private commandExit: Promise<number | null> | undefined;
  private lastTs = 0n;
  private skipUntil = 0n;
  private readonly counters: DetectorStats;
  private readonly repeats: RepeatedOpens | undefined;
  /** Whether the probe may count repeats (see DetectorOptions.reuseVerdicts). */
  private readonly kernelRepeats: boolean;
  /** Each source's repeat count already added to the counters (a reload may run two at once). */
  private readonly kernelRepeatsSeen = new WeakMap<RepeatCounter, number>();
  /** The CPU of the last consent given. */
  private consentCpu = -1;
  private reportedDrops = 0;
  private lastDropAlert = 0;
  private dropsAtLastCheck = 0;
  private eventsAtLastCheck = 0;
  private lastCheck = Date.now();
  private failure: Error | undefined;
  /** Resolves when the capture ends (stop(), the command exited, or the driver failed). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(engine: Engine, opts: DetectorOptions) {
    this.engine = engine;
    this.opts = opts;
    this.hostname = opts.hostname ?? osHostname();
    // Each event is evaluated before the next one is processed and live chunks are never reused:
    // parameters can be decoded when a rule reads them, not for every event.
    this.state = new StateEngine({ hostname: this.hostname, lazyParams: true });
    const reuse = opts.reuseVerdicts ?? reuseVerdictsFromEnv();
    this.repeats = reuse !== false ? new RepeatedOpens() : undefined;
    this.kernelRepeats = reuse === true;
    this.counters = {
      driver: undefined,
      events: 0,
      evaluated: 0,
      reused: 0,
      reusedInKernel: 0,
      alerts: 0,
      alertsByRule: {},
      drops: {},
      dropsTotal: 0,
      dropAlerts: 0,
      state: { threads: 0, fds: 0, containers: 0 },
      reloads: { ok: 0, failed: 0 },
      startedAt: Date.now(),
    };
    this.done = new Promise((res) => (this.resolveDone = res));
  }

  /** Picks the driver, attaches it, reads the running processes and starts evaluating. */
  async start(): Promise<DetectorStart> {
    const o = this.opts;
    let selection;
    try {
      selection = await selectDriver({
        prefer: o.driver ?? 'auto',
        ...(o.loaderPath ? { loaderPath: o.loaderPath } : {}),
        ...(o.stracePath ? { stracePath: o.stracePath } : {}),
      });
    } catch (e) {
      throw new DetectorError((e as Error).message);
    }
    const messages = [...selection.messages];
    const driver = selection.driver;
    this.counters.driver = driver;
    const wanted = this.engine.interestingEventTypes();
    const info = this.ruleCounts();
    let start: DetectorStart;
    if (driver === 'ebpf') {
      const set = captureSetFor(wanted ?? [], { keepClose: this.opts.keepCloseEvents ?? false });
      if (wanted === null)
        messages.push('some rule matches every event type: capturing every syscall the probe decodes');
      const syscalls = wanted === null ? undefined : set.syscalls;
      const src = await this.startBpf(syscalls, set.successOnly);
      this.current = { kind: 'ebpf', src, syscalls: syscalls ?? [] };
      // Read /proc after the probe is attached: a process started in between is in both, never in neither.
      const bootstrap = bootstrapFromProc(this.state, { fds: o.bootstrapFds ?? true });
      this.syncState();
      start = {
        driver,
        syscalls: syscalls ?? [],
        unsupported: wanted === null ? [] : set.unsupported,
        messages,
        rules: info,
        bootstrap,
      };
      if (o.command?.length) this.spawnCommand(o.command);
    } else {
      const hasCommand = (o.command?.length ?? 0) > 0;
      if (!hasCommand && !(o.pids?.length ?? 0)) {
        throw new DetectorError(
          'the ptrace driver traces one command or some processes, not the whole host: run `vigil run -- COMMAND` or `vigil run --pid PID` (or use the eBPF driver)',
          2,
        );
      }
      const src = createPtraceSource({
        ...(hasCommand ? { command: o.command } : { pids: o.pids }),
        syscalls: wanted === null ? [] : [...wanted],
        hostname: this.hostname,
        stdio: o.commandStdio ?? 'inherit',
        ...(o.stracePath ? { stracePath: o.stracePath } : {}),
        ...(o.onLog ? { onLog: o.onLog } : {}),
      });
      let ready;
      try {
        ready = await src.start();
      } catch (e) {
        throw new DetectorError((e as Error).message);
      }
      this.current = { kind: 'ptrace', src };
      start = {
        driver,
        syscalls: ready.syscalls,
        unsupported: ready.unsupported,
        messages,
        rules: info,
        ...(src.stats.bootstrap ? { bootstrap: src.stats.bootstrap } : {}),
      };
    }
    this.counters.startedAt = Date.now();
    this.timer = setInterval(() => this.checkDrops(), o.statsIntervalMs ?? 1000);
    this.timer.unref();
    this.loop = this.run().then(
      () => this.resolveDone(),
      (e: unknown) => {
        this.failure = e as Error;
        this.resolveDone();
      },
    );
    return start;
  }

  private async startBpf(syscalls: string[] | undefined, successOnly: string[]): Promise<BpfSource> {
    const o = this.opts;
    const src = new BpfSource({
      ...(syscalls ? { syscalls } : {}),
      // Failed calls of syscalls only the state needs change no state: the kernel drops them.
      ...(syscalls && successOnly.length ? { successOnly } : {}),
      ...(o.loaderPath ? { loaderPath: o.loaderPath } : {}),
      ...(o.ringbufMb ? { ringbufMb: o.ringbufMb } : {}),
      ...(o.flushMs !== undefined ? { flushMs: o.flushMs } : {}),
      statsIntervalMs: o.statsIntervalMs ?? 1000,
      ...(this.kernelRepeats ? { repeats: true } : {}),
      ...(o.onLog ? { onLog: o.onLog } : {}),
    });
    try {
      await src.start();
    } catch (e) {
      throw new DetectorError((e as Error).message);
    }
    return src;
  }

  private spawnCommand(argv: string[]): void {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: this.opts.commandStdio ?? 'inherit' });
    this.command = child;
    this.commandExit = new Promise((res) => {
      child.once('exit', (code, signal) => res(code ?? (signal ? 128 : null)));
      child.once('error', (e) => {
        this.opts.onLog?.(`cannot run ${cmd}: ${e.message}`);
        res(127);
      });
    });
    // The command's last events are in flight when it exits: give the loader a moment to pass them.
    void this.commandExit.then(() => setTimeout(() => void this.stop(), 300));
  }

  private async run(): Promise<void> {
    for (;;) {
      const cur = this.current;
      if (!cur) return;
      if (cur.kind === 'ebpf') {
        for await (const batch of cur.src.rawBatches()) this.onRawBatch(batch, cur.src);
        this.countKernelRepeats(cur.src);
      } else {
        for await (const ev of cur.src) this.onEvent(ev);
      }
      // A reload may have switched sources: continue with the new one.
      if (this.current === cur || this.stopping) return;
    }
  }

  private onRawBatch(batch: RawEbpfEvent[], src?: RepeatCounter): void {
    const state = this.state;
    const repeats = this.repeats;
    this.counters.events += batch.length;
    if (src) this.countKernelRepeats(src);
    // A batch holds a whole pipe read (hundreds of events): each event is let go once handled, so
    // the young-generation collections that run meanwhile do not copy the ones already done.
    const slots = batch as (RawEbpfEvent | undefined)[];
    for (let i = 0; i < slots.length; i++) {
      const raw = slots[i]!;
      slots[i] = undefined;
      if (raw.ts <= this.skipUntil) continue; // seen by the previous probe during a switch
      if (raw.ts > this.lastTs) this.lastTs = raw.ts;
      const before = state.version;
      const ev = state.processEvent(raw);
      if (!ev) continue;
      const engine = this.engine;
      if (repeats?.reuse(raw, ev, engine, before, state.version)) {
        this.counters.evaluated++;
        this.counters.reused++;
        // The probe may count the rest of the run (it checks that nothing else happened since the
        // record consented to, and stops at the first event that differs). Consent at the first
        // reuse, when the thread moved to another CPU, and again at every doubling of the run
        // (the probe restarts a run it could not compare, e.g. after a record was dropped).
        const run = repeats.run;
        if (
          src &&
          this.kernelRepeats &&
          (run === 1 || raw.cpu !== this.consentCpu || (run & (run - 1)) === 0)
        ) {
          this.consentCpu = raw.cpu;
          src.consentRepeat(raw.cpu, raw.seq);
        }
        continue;
      }
      const matched = this.onEvent(ev, false);
      repeats?.record(raw, ev, engine, state.version, matched);
    }
  }

  /** Adds the repeats the probe counted since the last call (they are events reused unseen). */
  private countKernelRepeats(src: RepeatCounter): void {
    const n = src.stats.repeats - (this.kernelRepeatsSeen.get(src) ?? 0);
    if (n <= 0) return;
    this.kernelRepeatsSeen.set(src, src.stats.repeats);
    const c = this.counters;
    c.events += n;
    c.evaluated += n;
    c.reused += n;
    c.reusedInKernel += n;
  }

  /** Evaluates one event; answers whether any rule matched it. */
  private onEvent(ev: SyscallEvent, count = true): boolean {
    if (count) this.counters.events++;
    if (ev.container && ev.container.name === undefined && this.opts.containerResolver) {
      const found = this.resolveContainer(ev.container.id);
      if (found) ev.container = found;
    }
    this.counters.evaluated++;
    const alerts = this.engine.process(ev);
    for (let i = 0; i < alerts.length; i++) this.emit(alerts[i]!);
    return alerts.length > 0;
  }

  /** The resolver caches hits and retries misses after a while (runc writes its state after the first events). */
  private resolveContainer(id: string): ContainerInfo | undefined {
    if (id === 'host') return undefined;
    const info = this.opts.containerResolver?.(id);
    if (info) this.state.addContainer(info);
    return info;
  }

  private emit(alert: Alert): void {
    this.counters.alerts++;
    this.counters.alertsByRule[alert.rule] = (this.counters.alertsByRule[alert.rule] ?? 0) + 1;
    try {
      this.opts.onAlert(alert);
    } catch (e) {
      this.opts.onLog?.(`alert output failed: ${(e as Error).message}`);
    }
  }

  /** Reads the driver's counters; logs and alerts on new drops. */
  private checkDrops(): void {
    this.readDriverCounters();
    const total = this.counters.dropsTotal;
    const now = Date.now();
    const newDrops = total - this.dropsAtLastCheck;
    const newEvents = this.counters.events - this.eventsAtLastCheck;
    const seconds = (now - this.lastCheck) / 1000;
    this.dropsAtLastCheck = total;
    this.eventsAtLastCheck = this.counters.events;
    this.lastCheck = now;
    if (newDrops <= 0) return;
    const actions = this.opts.dropActions ?? ['log', 'alert'];
    const byReason = Object.entries(this.counters.drops)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (actions.includes('log'))
      this.opts.onLog?.(
        `${newDrops} syscall events dropped in the last ${seconds.toFixed(1)} s (totals: ${byReason})`,
      );
    if (!actions.includes('alert')) return;
    if (now - this.lastDropAlert < (this.opts.dropAlertIntervalMs ?? 30_000)) return;
    this.lastDropAlert = now;
    const dropsSince = total - this.reportedDrops;
    this.reportedDrops = total;
    this.counters.dropAlerts++;
    const fields: Record<string, unknown> = {
      n_drops: dropsSince,
      n_evts: newEvents,
      driver: this.counters.driver ?? null,
    };
    for (const [k, v] of Object.entries(this.counters.drops)) fields[`n_drops_${k}`] = v;
    this.emit({
      rule: DROP_RULE,
      priority: 'CRITICAL',
      source: 'internal',
      time: BigInt(now) * 1_000_000n,
      output: `${DROP_RULE}. ${dropsSince} system calls dropped since the last report (${byReason}); rules may miss events and process state may be incomplete.`,
      outputFields: fields,
      tags: ['vigil_internal'],
      hostname: this.hostname,
    });
  }

  private readDriverCounters(): void {
    const cur = this.current;
    if (!cur) return;
    const d = this.counters.drops;
    if (cur.kind === 'ebpf') {
      const k = cur.src.stats.kernel;
      // Counters restart with each probe: keep what earlier probes (before a reload) counted.
      d.kernel_buffer_full = this.baseDrops.buffer + k.drops.buffer;
      d.kernel_event_too_large = this.baseDrops.maxEventSize + k.drops.maxEventSize;
      d.kernel_no_scratch = this.baseDrops.noScratch + k.drops.noScratch;
      d.stream_malformed = this.baseDrops.malformed + cur.src.stats.warnings;
      this.counters.driverStats = cur.src.stats;
    } else {
      const s = cur.src.stats;
      d.ptrace_unfinished = s.drops.unfinished;
      d.ptrace_after_stop = s.drops.afterStop;
      this.counters.driverStats = s;
    }
    let total = 0;
    for (const v of Object.values(d)) total += v;
    this.counters.dropsTotal = total;
    this.syncState();
  }

  private readonly baseDrops = { buffer: 0, maxEventSize: 0, noScratch: 0, malformed: 0 };

  private syncState(): void {
    // snapshotStats() counts threads and fds (the plain stats object does not keep them current).
    const s =
      this.current?.kind === 'ptrace' ? this.current.src.state.snapshotStats() : this.state.snapshotStats();
    this.counters.state = { threads: s.threads, fds: s.fds, containers: s.containers };
  }

  private ruleCounts(): { loaded: number; enabled: number; warnings: number } {
    return {
      loaded: this.engine.loaded.rules.length,
      enabled: this.engine.activeRules.length,
      warnings: this.warnings,
    };
  }

  /** Rule-file warnings of the running set. */
  warnings = 0;

  /** A copy of the counters. */
  stats(): DetectorStats {
    this.readDriverCounters();
    return structuredClone({ ...this.counters, driverStats: undefined, drops: { ...this.counters.drops } });
  }

  /** The loaded rules with their state and hit counts (alerts since start). */
  rules(): RuleInfo[] {
    // Hit counts since the detector started, across reloads.
    return ruleInfos(this.engine).map((r) => ({ ...r, hits: this.counters.alertsByRule[r.name] ?? 0 }));
  }

  /**
   * The enabled syscall rules that need each of these event types, e.g. to say which rules a driver
   * that cannot see them will never fire.
   */
  rulesForEventTypes(types: readonly string[]): Record<string, string[]> {
    const want = new Set(types);
    const out: Record<string, string[]> = {};
    for (const r of this.engine.activeRules) {
      if (r.source !== 'syscall' || r.eventTypes === null) continue;
      for (const t of r.eventTypes) if (want.has(t)) (out[t] ??= []).push(r.name);
    }
    return out;
  }

  /**
   * Reads the rules files again and swaps the rule set in between two events. An invalid set keeps
   * the running one. New event types the probe does not capture get a new probe first.
   */
  async reload(): Promise<ReloadResult> {
    const o = this.opts;
    const next = loadRuleSet(o.rulesFiles, { ...o, hostname: this.hostname });
    if (!next.ok) {
      this.counters.reloads.failed++;
      return { ok: false, message: next.message, details: next.details };
    }
    const messages: string[] = [];
    let recaptured = false;
    const cur = this.current;
    const wanted = next.engine.interestingEventTypes();
    if (cur?.kind === 'ebpf' && !this.stopping) {
      const set = captureSetFor(wanted ?? [], { keepClose: this.opts.keepCloseEvents ?? false });
      const want = wanted === null ? undefined : set.syscalls;
      const have = new Set(cur.syscalls);
      const missing = want === undefined ? cur.syscalls.length > 0 : want.some((s) => !have.has(s));
      if (missing) {
        // Attach the new probe first, then detach the old one: no gap. Events both saw are skipped by time.
        const src = await this.startBpf(want, set.successOnly);
        const old = cur.src;
        const k = old.stats.kernel;
        this.current = { kind: 'ebpf', src, syscalls: want ?? [] };
        await old.stop();
        this.countKernelRepeats(old);
        this.baseDrops.buffer += k.drops.buffer;
        this.baseDrops.maxEventSize += k.drops.maxEventSize;
        this.baseDrops.noScratch += k.drops.noScratch;
        this.baseDrops.malformed += old.stats.warnings;
        this.skipUntil = this.lastTs;
        recaptured = true;
        messages.push(`capture set changed: now ${want ? want.length : 'all'} syscalls`);
      }
    } else if (cur?.kind === 'ptrace' && wanted !== null) {
      messages.push(
        'the ptrace driver keeps the syscalls it started with: rules on new event types fire after a restart',
      );
    }
    // Consents were given under the old rules.
    if (!recaptured && this.current?.kind === 'ebpf') this.current.src.revokeRepeats();
    this.engine = next.engine;
    this.warnings = next.warnings;
    this.counters.reloads.ok++;
    return {
      ok: true,
      rules: next.engine.loaded.rules.length,
      enabled: next.engine.activeRules.length,
      warnings: next.warnings,
      recaptured,
      messages,
    };
  }

  /** Stops the capture (drains what the driver already has) and returns the summary. */
  async stop(): Promise<DetectorSummary> {
    if (!this.stopping) {
      this.stopping = true;
      const cur = this.current;
      if (cur) await cur.src.stop();
      if (this.command && this.command.exitCode === null && this.command.signalCode === null)
        this.command.kill('SIGTERM');
    }
    await this.loop;
    if (this.timer) clearInterval(this.timer);
    this.checkDrops();
    const summary: DetectorSummary = {
      ...this.stats(),
      durationMs: Date.now() - this.counters.startedAt,
    };
    if (this.commandExit) summary.commandExit = await this.commandExit;
    else if (this.current?.kind === 'ptrace' && this.opts.command?.length)
      summary.commandExit = await this.current.src.waitExit();
    if (this.failure) throw this.failure;
    return summary;
  }
}

/**
 * `$VIGIL_REUSE_VERDICTS`: `1` (or unset) reuses verdicts of repeated opens and lets the probe
 * count repeats (true), `agent` reuses them in the agent only, `0` does neither (false).
 */
export function reuseVerdictsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean | 'agent' {
  const v = env.VIGIL_REUSE_VERDICTS;
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  if (v === 'agent') return 'agent';
  throw new DetectorError(
    `VIGIL_REUSE_VERDICTS=${v}: must be 1 (reuse the verdict of a repeated open and let the probe count repeats, the default), agent (reuse verdicts in the agent only) or 0 (evaluate every event)`,
    2,
  );
}

/**
 * Loads the rules and builds a detector (not started). Throws a {@link DetectorError} when the
 * rules cannot be loaded, with every error located.
 */
export function createDetector(opts: DetectorOptions): Detector {
  const rs = loadRuleSet(opts.rulesFiles, opts);
  if (!rs.ok) {
    throw new DetectorError([rs.message, ...rs.details].join('\n'), rs.kind === 'usage' ? 2 : 1);
  }
  const d = new Detector(rs.engine, {
    ...opts,
    containerResolver: opts.containerResolver ?? createContainerResolver(),
  });
  d.warnings = rs.warnings;
  return d;
}
