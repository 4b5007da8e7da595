/**
 * Vigil's configuration: a YAML file (every key optional; `config/vigil.yaml` documents each one
 * with its default), then environment variables, then command-line flags, each overriding the one
 * before. Mistakes are reported all at once, each as `file:line:col: path: reason`, and nothing
 * starts until the configuration is valid.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { DriverName } from '../capture/driver-select.js';
import { DEFAULT_FLUSH_MS, MAX_FLUSH_MS, parseFlushMs } from '../capture/sources/ebpf/flush.js';
import type { RuleMatching } from '../engine/engine.js';
import { parsePriority } from '../engine/rules/index.js';
import { parseSinksConfig, SinksConfigError, type SinksConfig } from '../sinks/index.js';
import { ConfigReader, parseListen, type Obj } from './reader.js';

export { ENV_VARS } from './env.js';

/** The resolved configuration. */
export interface VigilConfig {
  /** Where the embedded store, the spool and the generated token live. */
  dataDir: string;
  rules: {
    files: string[];
    minPriority: string;
    disableRules: string[];
    disableTags: string[];
    onlyTags: string[];
    ruleMatching: RuleMatching;
    /** Reload when a rules file changes (SIGHUP always reloads). */
    watch: boolean;
  };
  capture: {
    enabled: boolean;
    driver: 'auto' | DriverName;
    ringbufMb: number;
    /** eBPF: how often the loader hands events to the agent (ms). */
    flushMs: number;
    /** Capture close calls even when no rule names them. */
    keepClose: boolean;
    dropActions: ('log' | 'alert')[];
    dropAlertIntervalMs: number;
  };
  hub: {
    enabled: boolean;
    listen: { host: string; port: number };
    /** Accepted bearer tokens. Empty: one is generated into `<dataDir>/token` at first start. */
    tokens: string[];
    tls?: { cert: string; key: string };
    maxBodyBytes: number;
  };
  store: {
    url: string;
    retention: { maxAgeMs?: number; maxRows?: number; intervalMs: number };
  };
  /** Where this agent's alerts go besides the sinks: the local hub's store, or a remote hub. */
  agent: {
    /** A remote hub: alerts are spooled on disk and shipped there (`vigil up` without a local hub). */
    hubUrl?: string;
    token?: string;
    spoolDir: string;
    spoolMaxBytes: number;
  };
  sinks: SinksConfig;
}

/** Flag and environment values that override the file. */
export interface ConfigOverrides {
  dataDir?: string;
  rulesFiles?: string[];
  driver?: 'auto' | DriverName;
  listen?: string;
  storeUrl?: string;
  hubUrl?: string;
  tokens?: string[];
  capture?: boolean;
  hub?: boolean;
}

/** An invalid configuration: each issue is `where: path: reason`. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const TOP_KEYS = ['data_dir', 'rules', 'capture', 'hub', 'store', 'agent', 'sinks', 'flood_control'];

/**
 * Reads and validates the configuration. `file` may be undefined (defaults only); `env` is
 * usually `process.env`; `defaultRules` is the bundled rules folder.
 */
export function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: ConfigOverrides,
  defaultRules: string,
): VigilConfig {
  let raw: unknown = {};
  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([`${file}: cannot read the config file: ${(e as Error).message}`]);
    }
    lines = new LineCounter();
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const p = lines!.linePos(e.pos[0]);
          return `${file}:${p.line}:${p.col}: invalid YAML: ${e.message.split('\n')[0]}`;
        }),
      );
    }
    raw = doc.toJS() ?? {};
  }
  const r = new ConfigReader();
  const where = (issue: string): string => locate(issue, file, doc, lines);
  const top = r.object(raw, '(config)') ?? {};
  r.unknownKeys(top, '', TOP_KEYS);

  const envList = (v: string | undefined): string[] | undefined =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;

  const dataDir = resolve(
    flags.dataDir ?? env.VIGIL_DATA_DIR ?? r.string(top.data_dir, 'data_dir') ?? 'vigil-data',
  );

  // rules
  const rules = r.object(top.rules, 'rules') ?? {};
  r.unknownKeys(rules, 'rules', ['files', 'min_priority', 'disable', 'only_tags', 'rule_matching', 'watch']);
  const disable = r.object(rules.disable, 'rules.disable') ?? {};
  r.unknownKeys(disable, 'rules.disable', ['rules', 'tags']);
  const minPriority = r.string(rules.min_priority, 'rules.min_priority');
  if (minPriority !== undefined && !parsePriority(minPriority))
    r.fail('rules.min_priority', 'must be a Falco priority (emergency … debug)');

  // capture
  const capture = r.object(top.capture, 'capture') ?? {};
  r.unknownKeys(capture, 'capture', [
    'enabled',
    'driver',
    'ringbuf_mb',
    'flush_interval',
    'keep_close',
    'drops',
  ]);
  const drops = r.object(capture.drops, 'capture.drops') ?? {};
  r.unknownKeys(drops, 'capture.drops', ['actions', 'alert_interval']);
  const dropActions = r.stringList(drops.actions, 'capture.drops.actions') ?? ['log', 'alert'];
  for (const a of dropActions)
    if (a !== 'log' && a !== 'alert') r.fail('capture.drops.actions', `unknown action ${a} (log, alert)`);
  const ringbufMb = r.integer(capture.ringbuf_mb, 'capture.ringbuf_mb', 1, 1024) ?? 16;
  if ((ringbufMb & (ringbufMb - 1)) !== 0) r.fail('capture.ringbuf_mb', 'must be a power of two');
  const flushEnv = env.VIGIL_CAPTURE_FLUSH_MS || undefined;
  let flushMs = DEFAULT_FLUSH_MS;
  if (flushEnv !== undefined) {
    const ms = parseFlushMs(flushEnv);
    if (ms === undefined) r.fail('VIGIL_CAPTURE_FLUSH_MS', `must be milliseconds from 0 to ${MAX_FLUSH_MS}`);
    else flushMs = ms;
  } else {
    const ms = r.duration(capture.flush_interval, 'capture.flush_interval');
    if (ms !== undefined && (ms > MAX_FLUSH_MS || !Number.isInteger(ms)))
      r.fail('capture.flush_interval', 'must be a whole number of milliseconds up to 1s');
    else if (ms !== undefined) flushMs = ms;
  }
  const driverEnv = flags.driver ?? env.VIGIL_DRIVER;
  const driver =
    driverEnv !== undefined
      ? r.oneOf(driverEnv, flags.driver ? '--driver' : 'VIGIL_DRIVER', ['auto', 'ebpf', 'ptrace'] as const)
      : r.oneOf(capture.driver, 'capture.driver', ['auto', 'ebpf', 'ptrace'] as const);

  // hub
  const hub = r.object(top.hub, 'hub') ?? {};
  r.unknownKeys(hub, 'hub', ['enabled', 'listen', 'tokens', 'token_file', 'tls', 'max_body_bytes']);
  const listenText = flags.listen ?? env.VIGIL_LISTEN;
  let listen = { host: '127.0.0.1', port: 7878 };
  if (listenText !== undefined) {
    const l = parseListen(listenText);
    if (!l) r.fail(flags.listen ? '--listen' : 'VIGIL_LISTEN', 'must be HOST:PORT, e.g. 127.0.0.1:7878');
    else listen = l;
  } else listen = r.listen(hub.listen, 'hub.listen') ?? listen;
  const tokens = [...(r.stringList(hub.tokens, 'hub.tokens') ?? [])];
  const tokenFile = r.string(hub.token_file, 'hub.token_file');
  if (tokenFile !== undefined) {
    try {
      const t = readFileSync(tokenFile, 'utf8').trim();
      if (t === '') r.fail('hub.token_file', `${tokenFile} is empty`);
      else tokens.push(t);
    } catch (e) {
      r.fail('hub.token_file', `cannot read ${tokenFile}: ${(e as Error).message}`);
    }
  }
  if (env.VIGIL_TOKEN) tokens.push(env.VIGIL_TOKEN);
  tokens.push(...(flags.tokens ?? []));
  for (const t of tokens) if (t.length < 16) r.fail('hub.tokens', 'tokens must be at least 16 characters');
  const tlsRaw = r.object(hub.tls, 'hub.tls');
  let tls: { cert: string; key: string } | undefined;
  if (tlsRaw) {
    r.unknownKeys(tlsRaw, 'hub.tls', ['cert', 'key']);
    const cert = r.string(tlsRaw.cert, 'hub.tls.cert', true);
    const key = r.string(tlsRaw.key, 'hub.tls.key', true);
    if (cert && key) tls = { cert, key };
  }

  // store
  const store = r.object(top.store, 'store') ?? {};
  r.unknownKeys(store, 'store', ['url', 'retention']);
  const retention = r.object(store.retention, 'store.retention') ?? {};
  r.unknownKeys(retention, 'store.retention', ['max_age', 'max_rows', 'interval']);
  const storeUrl =
    flags.storeUrl ??
    env.VIGIL_STORE_URL ??
    r.string(store.url, 'store.url') ??
    `sqlite:${join(dataDir, 'vigil.db')}`;
  const maxAgeMs = r.duration(retention.max_age, 'store.retention.max_age', 60_000) ?? 30 * 86_400_000;
  const maxRows = r.integer(retention.max_rows, 'store.retention.max_rows', 1);

  // agent
  const agent = r.object(top.agent, 'agent') ?? {};
  r.unknownKeys(agent, 'agent', ['hub_url', 'token', 'spool_dir', 'spool_max_bytes']);
  const hubUrl = flags.hubUrl ?? env.VIGIL_HUB_URL ?? r.string(agent.hub_url, 'agent.hub_url');
  if (hubUrl !== undefined && !/^https?:\/\/[^/]/.test(hubUrl))
    r.fail('agent.hub_url', `must be an http(s) URL, not ${JSON.stringify(hubUrl)}`);
  const agentToken = r.string(agent.token, 'agent.token') ?? env.VIGIL_TOKEN;

  // sinks and flood control
  let sinks: SinksConfig | undefined;
  try {
    sinks = parseSinksConfig({ sinks: top.sinks, flood_control: top.flood_control }, '', env);
  } catch (e) {
    if (e instanceof SinksConfigError) r.issues.push(...e.issues);
    else throw e;
  }

  const hubEnabled = flags.hub ?? r.boolean(hub.enabled, 'hub.enabled') ?? hubUrl === undefined;
  const cfg: VigilConfig = {
    dataDir,
    rules: {
      files: flags.rulesFiles?.length
        ? flags.rulesFiles
        : (envList(env.VIGIL_RULES) ?? r.stringList(rules.files, 'rules.files') ?? [defaultRules]),
      minPriority: minPriority ?? 'debug',
      disableRules: r.stringList(disable.rules, 'rules.disable.rules') ?? [],
      disableTags: r.stringList(disable.tags, 'rules.disable.tags') ?? [],
      onlyTags: r.stringList(rules.only_tags, 'rules.only_tags') ?? [],
      ruleMatching: r.oneOf(rules.rule_matching, 'rules.rule_matching', ['first', 'all'] as const) ?? 'first',
      watch: r.boolean(rules.watch, 'rules.watch') ?? true,
    },
    capture: {
      enabled: flags.capture ?? r.boolean(capture.enabled, 'capture.enabled') ?? true,
      driver: driver ?? 'auto',
      ringbufMb,
      flushMs,
      keepClose: r.boolean(capture.keep_close, 'capture.keep_close') ?? false,
      dropActions: dropActions.filter((a): a is 'log' | 'alert' => a === 'log' || a === 'alert'),
      dropAlertIntervalMs: r.duration(drops.alert_interval, 'capture.drops.alert_interval', 1000) ?? 30_000,
    },
    hub: {
      enabled: hubEnabled,
      listen,
      tokens: [...new Set(tokens)],
      ...(tls ? { tls } : {}),
      maxBodyBytes: r.size(hub.max_body_bytes, 'hub.max_body_bytes', 1024) ?? 8 * 1024 * 1024,
    },
    store: {
      url: storeUrl,
      retention: {
        maxAgeMs,
        ...(maxRows !== undefined ? { maxRows } : {}),
        intervalMs: r.duration(retention.interval, 'store.retention.interval', 1000) ?? 600_000,
      },
    },
    agent: {
      ...(hubUrl !== undefined ? { hubUrl } : {}),
      ...(agentToken !== undefined ? { token: agentToken } : {}),
      spoolDir: resolve(r.string(agent.spool_dir, 'agent.spool_dir') ?? join(dataDir, 'spool')),
      spoolMaxBytes: r.size(agent.spool_max_bytes, 'agent.spool_max_bytes', 1024 * 1024) ?? 1024 ** 3,
    },
    sinks: sinks ?? {
      sinks: [],
      floodControl: { enabled: false, windowMs: 0, keyFields: [], overrides: [], maxKeys: 0 },
    },
  };
  if (!cfg.hub.enabled && !cfg.capture.enabled)
    r.fail('(config)', 'both capture and hub are disabled: nothing to run');
  if (r.issues.length > 0) throw new ConfigError(r.issues.map(where));
  return cfg;
}

/** Prefixes an issue (`path: reason`) with the file position of that path, when it can be found. */
function locate(
  issue: string,
  file: string | undefined,
  doc: Document | undefined,
  lines: LineCounter | undefined,
): string {
  // Flags and environment variables are named in the issue itself.
  if (!file || issue.startsWith('--') || issue.startsWith('VIGIL_')) return issue;
  if (!doc || !lines) return `${file}: ${issue}`;
  const path = issue.slice(0, issue.indexOf(': '));
  const keys = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((k) => k !== '' && k !== '(config)')
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  // The deepest node that exists on the path (an unknown key points at its own key).
  let node: unknown = doc.contents;
  let pos: number | undefined = (doc.contents as { range?: [number] } | null)?.range?.[0];
  for (const k of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
      if (!pair) break;
      pos = (pair.key as { range?: [number] }).range?.[0] ?? pos;
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number') {
      const item = node.items[k] as { range?: [number] } | undefined;
      if (!item) break;
      pos = item.range?.[0] ?? pos;
      node = item;
    } else break;
  }
  if (pos === undefined) return `${file}: ${issue}`;
  const p = lines.linePos(pos);
  return `${file}:${p.line}:${p.col}: ${issue}`;
}

/** For tests and `vigil config check`: the object as documented keys. */
export function describeConfig(c: VigilConfig): Obj {
  return {
    data_dir: c.dataDir,
    rules: c.rules,
    capture: c.capture,
    hub: { ...c.hub, tokens: c.hub.tokens.map(() => '<redacted>') },
    store: c.store,
    agent: { ...c.agent, ...(c.agent.token ? { token: '<redacted>' } : {}) },
    sinks: c.sinks.sinks.map((s) => ({ name: s.name, type: s.type })),
    flood_control: c.sinks.floodControl,
  };
}
