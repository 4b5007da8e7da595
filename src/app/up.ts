/**
 * `vigil up`: the agent, the hub and the embedded store in one process.
 *
 *   detector (live capture + rules) ──► sinks (stdout, file, webhook, Alertmanager, program…)
 *                                   ├─► store (the hub's, directly)         when the hub runs here
 *                                   └─► spool on disk ─► shipper ─► remote hub   with agent.hub_url
 *   hub HTTP API (alerts, rules, metrics, health) over the same store
 *
 * Signals: SIGINT/SIGTERM stop everything in order (capture first, so every alert still reaches its
 * sinks, then sinks, shipper, hub, store) and print a summary; SIGHUP reloads the rules and reopens
 * file sinks. Rules files are also watched and reloaded when they change.
 */
import { mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { createDetector, type Detector } from '../agent/detector.js';
import { ConfigError, loadConfig, type ConfigOverrides, type VigilConfig } from '../config/config.js';
import { priorityLabel, type Alert } from '../engine/engine.js';
import { startHub, type Hub } from '../hub/server.js';
import { ensureToken } from '../hub/token.js';
import { MetricsRegistry, type CollectedMetric } from '../metrics/registry.js';
import { createSink, createSinkSet, parseSinksConfig, type Sink, type SinkSet } from '../sinks/index.js';
import { openSpool, startShipper, type Shipper, type Spool } from '../spool/index.js';
import { openStore, parseStoreUrl } from '../store/index.js';
import type { Store, StoredAlert } from '../store/store.js';

/** Options of {@link runUp}. */
export interface UpOptions {
  configFile?: string;
  overrides: ConfigOverrides;
  env: NodeJS.ProcessEnv;
  defaultRules: string;
  stdout: Writable;
  stderr: Writable;
  /** Resolves when the process should stop (the CLI wires SIGINT/SIGTERM to it). */
  stopSignal: Promise<string>;
  /** Called for SIGHUP; the CLI wires it. */
  onReloadRequest?: (reload: () => Promise<void>) => void;
  /** Called once everything listens (tests read the URL from it). */
  onReady?: (info: UpInfo) => void;
}

/** Where things are, once up. */
export interface UpInfo {
  hubUrl?: string;
  tokenFile?: string;
  dataDir: string;
  storeUrl?: string;
  driver?: string;
}

/** Runs until `stopSignal` resolves; returns the exit code. */
export async function runUp(opts: UpOptions): Promise<number> {
  const err = (line: string): void => void opts.stderr.write(`vigil up: ${line}\n`);
  let cfg: VigilConfig;
  try {
    cfg = loadConfig(opts.configFile, opts.env, opts.overrides, opts.defaultRules);
  } catch (e) {
    if (e instanceof ConfigError) {
      opts.stderr.write(`Error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  mkdirSync(cfg.dataDir, { recursive: true });
  const registry = new MetricsRegistry();
  const info: UpInfo = { dataDir: cfg.dataDir };
  const hostname = osHostname();

  // Store and hub.
  let store: Store | undefined;
  let hub: Hub | undefined;
  let detector: Detector | undefined;
  if (cfg.hub.enabled) {
    try {
      const sc = parseStoreUrl(cfg.store.url);
      if (sc.kind === 'sqlite') mkdirSync(dirname(sc.path), { recursive: true });
      store = await openStore(sc);
    } catch (e) {
      opts.stderr.write(`Error: cannot open the store ${cfg.store.url}: ${(e as Error).message}\n`);
      return 1;
    }
    info.storeUrl = cfg.store.url;
    let tokens = cfg.hub.tokens;
    if (tokens.length === 0) {
      const file = join(cfg.dataDir, 'token');
      const t = ensureToken(file);
      tokens = [t.token];
      info.tokenFile = file;
      if (t.created) err(`generated an API token in ${file} (clients: VIGIL_TOKEN=$(cat ${file}))`);
    }
    try {
      hub = await startHub({
        store,
        listen: cfg.hub.listen,
        tokens,
        ...(cfg.hub.tls ? { tls: cfg.hub.tls } : {}),
        maxBodyBytes: cfg.hub.maxBodyBytes,
        metrics: registry,
        rules: () => detector?.rules() ?? [],
        onError: (m) => err(`hub: ${m}`),
      });
    } catch (e) {
      await store.close();
      const hint =
        (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
          ? ' (another process uses that port: pick one with --listen)'
          : '';
      opts.stderr.write(
        `Error: the hub cannot listen on ${cfg.hub.listen.host}:${cfg.hub.listen.port}: ${(e as Error).message}${hint}\n`,
      );
      return 1;
    }
    info.hubUrl = hub.url;
  }

  // Alert paths: configured sinks, plus the local store or the spool to a remote hub.
  const sinks: SinkSet = createSinkSet(cfg.sinks, {
    ...(store ? { store } : {}),
    log: (m) => err(`sinks: ${m}`),
  });
  let spool: Spool | undefined;
  let shipper: Shipper | undefined;
  if (cfg.agent.hubUrl && !cfg.hub.enabled) {
    if (!cfg.agent.token) {
      opts.stderr.write('Error: agent.hub_url is set but no token: set agent.token or VIGIL_TOKEN\n');
      return 2;
    }
    spool = openSpool({
      dir: cfg.agent.spoolDir,
      maxBytes: cfg.agent.spoolMaxBytes,
      onLog: (m) => err(`spool: ${m}`),
    });
    shipper = startShipper({
      spool,
      hubUrl: cfg.agent.hubUrl,
      token: cfg.agent.token,
      onLog: (m) => err(`shipper: ${m}`),
    });
  }
  const alertsTotal = registry.counter(
    'vigil_alerts_total',
    'Alerts raised by the rules, by rule and priority.',
    ['rule', 'priority'],
  );
  // The hub's own store gets every alert (flood control applies to the notification sinks only), through a
  // store sink: its own bounded queue, batching, retries and drop counters.
  const storeSink: Sink | undefined = store
    ? createSink(parseSinksConfig({ sinks: [{ type: 'store', name: 'hub-store' }] }, '').sinks[0]!, {
        store,
        log: (m) => err(`store: ${m}`),
      })
    : undefined;
  const bootNs = BigInt(Date.now()) * 1_000_000n;
  let seq = 0;
  const onAlert = (a: Alert): void => {
    alertsTotal.labels(a.rule, priorityLabel(a.priority)).inc();
    const id = spool ? spool.append(a) : undefined;
    const stored: StoredAlert = { ...a, id: id ?? `${hostname}:${bootNs}:${++seq}` };
    storeSink?.send(stored);
    sinks.send(stored);
  };

  // Capture.
  if (cfg.capture.enabled) {
    try {
      err('starting capture (loading and verifying the eBPF probe takes a few seconds)…');
      detector = createDetector({
        rulesFiles: cfg.rules.files,
        driver: cfg.capture.driver,
        ruleMatching: cfg.rules.ruleMatching,
        minPriority: cfg.rules.minPriority,
        disableRules: cfg.rules.disableRules,
        disableTags: cfg.rules.disableTags,
        onlyTags: cfg.rules.onlyTags,
        ringbufMb: cfg.capture.ringbufMb,
        flushMs: cfg.capture.flushMs,
        keepCloseEvents: cfg.capture.keepClose,
        dropActions: cfg.capture.dropActions,
        dropAlertIntervalMs: cfg.capture.dropAlertIntervalMs,
        onAlert,
        onLog: (m) => err(m),
      });
      const started = await detector.start();
      info.driver = started.driver;
      for (const m of started.messages) err(m);
      err(
        `capture: ${started.driver} driver, ${started.syscalls.length || 'all'} syscalls; rules: ${started.rules.enabled} of ${started.rules.loaded} enabled from ${cfg.rules.files.join(', ')}${started.rules.warnings ? ` (${started.rules.warnings} warnings: see \`vigil rules validate\`)` : ''}`,
      );
      if (started.unsupported.length)
        err(
          `capture: the ${started.driver} driver cannot see ${started.unsupported.join(', ')}: rules on them will not fire`,
        );
    } catch (e) {
      const exitCode = (e as { exitCode?: number }).exitCode;
      if (!cfg.hub.enabled) {
        opts.stderr.write(`Error: ${(e as Error).message}\n`);
        return exitCode ?? 1;
      }
      // The hub is still useful (remote agents, queries); say clearly that nothing is captured here.
      err(`capture disabled: ${(e as Error).message}`);
      detector = undefined;
    }
  }

  registry.collect(() => collectAgent(detector, sinks, storeSink, shipper));

  // Retention.
  const retention = store
    ? setInterval(() => {
        const r = cfg.store.retention;
        void store!
          .enforceRetention({
            ...(r.maxAgeMs !== undefined ? { maxAgeNs: BigInt(r.maxAgeMs) * 1_000_000n } : {}),
            ...(r.maxRows !== undefined ? { maxRows: r.maxRows } : {}),
          })
          .catch((e: unknown) => err(`retention: ${(e as Error).message}`));
      }, cfg.store.retention.intervalMs)
    : undefined;
  retention?.unref();

  // Reload on SIGHUP and on rules file changes.
  const reload = async (why: string): Promise<void> => {
    for (const s of sinks.sinks) s.reopen?.();
    if (!detector) return;
    const r = await detector.reload();
    if (r.ok)
      err(
        `rules reloaded (${why}): ${r.enabled} of ${r.rules} enabled${r.messages.length ? '; ' + r.messages.join('; ') : ''}`,
      );
    else {
      err(`rules NOT reloaded (${why}): ${r.message}; the previous rules keep running`);
      for (const d of r.details) opts.stderr.write(d + '\n');
    }
  };
  opts.onReloadRequest?.(() => reload('SIGHUP'));
  const watchers: FSWatcher[] = [];
  if (detector && cfg.rules.watch) {
    let timer: NodeJS.Timeout | undefined;
    for (const f of cfg.rules.files) {
      try {
        // Watch the folder (editors replace files by renaming), but only react to the rules files.
        const isDir = statSync(f).isDirectory();
        const target = isDir ? f : dirname(f);
        const name = basename(f);
        watchers.push(
          watch(target, (_event, changed) => {
            if (isDir ? !/\.ya?ml$/.test(String(changed)) : String(changed) !== name) return;
            clearTimeout(timer);
            timer = setTimeout(() => void reload('rules changed on disk'), 500);
          }),
        );
      } catch {
        // A missing file was already reported by the loader.
      }
    }
  }

  err(
    [
      hub ? `hub API ${hub.url} (GET /v1/alerts, /v1/rules, /metrics; /healthz is open)` : undefined,
      info.tokenFile ? `token in ${info.tokenFile}` : undefined,
      store ? `alerts stored in ${cfg.store.url}` : undefined,
      spool ? `alerts spooled in ${cfg.agent.spoolDir} and shipped to ${cfg.agent.hubUrl}` : undefined,
      `data in ${cfg.dataDir}`,
    ]
      .filter(Boolean)
      .join('; '),
  );
  if (hub) err(`try: vigil alerts --hub ${hub.url}${info.tokenFile ? ` (token: ${info.tokenFile})` : ''}`);
  opts.onReady?.(info);

  const signal = await opts.stopSignal;
  err(`${signal}: stopping`);
  for (const w of watchers) w.close();
  if (retention) clearInterval(retention);
  let code = 0;
  if (detector) {
    try {
      const s = await detector.stop();
      err(
        `captured ${s.events} events, evaluated ${s.evaluated}, ${s.alerts} alerts, ${s.dropsTotal} dropped in ${(s.durationMs / 1000).toFixed(1)} s`,
      );
      for (const [rule, n] of Object.entries(s.alertsByRule).sort((a, b) => b[1] - a[1]))
        err(`  ${n}\t${rule}`);
    } catch (e) {
      err(`capture failed: ${(e as Error).message}`);
      code = 1;
    }
  }
  await Promise.all([sinks.close(), storeSink?.close()]);
  if (shipper) await shipper.close();
  await spool?.close();
  if (hub) await hub.close();
  if (store) await store.close();
  return code;
}

/** The agent's counters as Prometheus families (read at scrape time). */
function collectAgent(
  detector: Detector | undefined,
  sinks: SinkSet,
  storeSink: Sink | undefined,
  shipper: Shipper | undefined,
): CollectedMetric[] {
  type Samples = CollectedMetric['samples'];
  const out: CollectedMetric[] = [];
  const add = (name: string, type: 'counter' | 'gauge', help: string, samples: Samples | number): void => {
    out.push({ name, type, help, samples: typeof samples === 'number' ? [{ value: samples }] : samples });
  };
  /** One sample per key of a record, labelled `label=key`. */
  const by = (label: string, values: Record<string, number>): Samples =>
    Object.entries(values).map(([k, value]) => ({ labels: { [label]: k }, value }));
  if (detector) {
    const s = detector.stats();
    add('vigil_agent_events_total', 'counter', 'Syscall events read from the capture driver.', s.events);
    add('vigil_agent_events_evaluated_total', 'counter', 'Events evaluated by the rules.', s.evaluated);
    add(
      'vigil_agent_events_reused_total',
      'counter',
      "Of the evaluated events, repeated opens answered with the previous event's verdict: by the agent, or counted by the probe without being sent.",
      by('where', { agent: s.reused - s.reusedInKernel, probe: s.reusedInKernel }),
    );
    add(
      'vigil_agent_drops_total',
      'counter',
      'Events lost before evaluation, by reason.',
      by('reason', s.drops),
    );
    add(
      'vigil_agent_state_entries',
      'gauge',
      'Entries of the state tables (threads, fds, containers).',
      by('table', s.state),
    );
    add('vigil_agent_rule_reloads_total', 'counter', 'Rule reloads by outcome.', by('outcome', s.reloads));
  }
  const ss = sinks.stats().sinks;
  if (storeSink) ss[storeSink.name] = storeSink.stats();
  const perSink = (f: (x: (typeof ss)[string]) => number): Samples =>
    Object.entries(ss).map(([sink, x]) => ({ labels: { sink }, value: f(x) }));
  add(
    'vigil_sink_queue_depth',
    'gauge',
    'Alerts waiting in each sink queue.',
    perSink((x) => x.queued),
  );
  add(
    'vigil_sink_sent_total',
    'counter',
    'Alerts delivered by each sink.',
    perSink((x) => x.sent),
  );
  add(
    'vigil_sink_retries_total',
    'counter',
    'Delivery retries by each sink.',
    perSink((x) => x.retries),
  );
  add(
    'vigil_sink_dropped_total',
    'counter',
    'Alerts a sink dropped, by reason.',
    Object.entries(ss).flatMap(([sink, x]) =>
      Object.entries(x.dropped).map(([reason, value]) => ({ labels: { sink, reason }, value })),
    ),
  );
  if (shipper) {
    const s = shipper.stats();
    add(
      'vigil_spool_pending_records',
      'gauge',
      'Alerts spooled, not yet acknowledged by the hub.',
      s.pendingRecords,
    );
    add('vigil_spool_disk_bytes', 'gauge', 'Bytes of spool segments on disk.', s.diskBytes);
    add('vigil_spool_shipped_total', 'counter', 'Alerts the hub acknowledged.', s.shipped);
    add('vigil_spool_dropped_total', 'counter', 'Alerts not spooled, by reason.', by('reason', s.dropped));
  }
  return out;
}
