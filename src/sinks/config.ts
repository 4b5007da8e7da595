/**
 * Sink configuration: the types the sinks take, and `parseSinksConfig`, which validates the `sinks` and
 * `flood_control` keys of a config file (a plain object as YAML reads it) and fills in defaults.
 *
 * YAML keys are snake_case like Falco's own config; the types are camelCase. Every mistake is reported
 * with the path of the offending value (`sinks[2].url: must be an http(s) URL`), all of them at once.
 * The schema is documented with examples in docs/sinks.md.
 */
import type { TimeFormat } from '../engine/output/alert-format.js';
import type { AlertFormat } from './lines.js';
import type { RetryPolicy } from './sink.js';
import { ConfigReader, expandEnvRefs, isObject, joinPath } from '../config/reader.js';

export type SinkKind = 'stdout' | 'file' | 'webhook' | 'alertmanager' | 'program' | 'store';

export const SINK_KINDS: readonly SinkKind[] = [
  'stdout',
  'file',
  'webhook',
  'alertmanager',
  'program',
  'store',
];

/** Settings every sink has. */
export interface CommonSinkConfig {
  /** Unique name (logs, metric labels). Default: the type, then `<type>-2`, `<type>-3`… */
  name: string;
  /** Most alerts waiting for delivery; more are dropped as `queue_full`. */
  queueSize: number;
  /** Most alerts per delivery (file write, HTTP request, insert). */
  batchSize: number;
  retry: RetryPolicy;
  /** How long closing waits for queued alerts to go out, ms. */
  closeTimeoutMs: number;
}

export interface StdoutSinkConfig extends CommonSinkConfig {
  type: 'stdout';
  format: AlertFormat;
  timeFormat: TimeFormat;
}

export interface FileSinkConfig extends CommonSinkConfig {
  type: 'file';
  path: string;
  format: AlertFormat;
  timeFormat: TimeFormat;
  /** Permission bits of a file the sink creates. */
  mode: number;
}

/** Settings of the HTTP sinks. */
export interface HttpSinkConfig {
  url: string;
  /** Sent with every request (e.g. `Authorization`). */
  headers: Record<string, string>;
  /** Accept any TLS certificate (self-signed receivers). */
  insecureSkipVerify: boolean;
  /** Per request, ms. */
  timeoutMs: number;
}

export interface WebhookSinkConfig extends CommonSinkConfig, HttpSinkConfig {
  type: 'webhook';
  /** Time prefix inside `output`, as in Falco's JSON alerts. */
  timeFormat: TimeFormat;
}

export interface AlertmanagerSinkConfig extends CommonSinkConfig, HttpSinkConfig {
  type: 'alertmanager';
  /** `endsAt` = time of sending + this, ms: Alertmanager resolves the alert after it. */
  expiryMs: number;
  /** Output fields copied into labels (names sanitised: `proc.name` → `proc_name`) when present. */
  labelFields: string[];
  /** Fixed labels added to every alert (e.g. `cluster: prod`). */
  labels: Record<string, string>;
  /** Fixed annotations added to every alert. */
  annotations: Record<string, string>;
}

export interface ProgramSinkConfig extends CommonSinkConfig {
  type: 'program';
  /** Run with `sh -c`; alerts arrive on its stdin, one per line. */
  command: string;
  format: AlertFormat;
  timeFormat: TimeFormat;
  /** Delay before restarting a program that exited; doubles while it keeps exiting early. */
  restart: { initialBackoffMs: number; maxBackoffMs: number };
}

/** Inserts alerts into the app's store (the one `vigil up` / the hub uses). */
export interface StoreSinkConfig extends CommonSinkConfig {
  type: 'store';
}

export type SinkConfig =
  | StdoutSinkConfig
  | FileSinkConfig
  | WebhookSinkConfig
  | AlertmanagerSinkConfig
  | ProgramSinkConfig
  | StoreSinkConfig;

/** Flood-control settings for the rules an override selects. */
export interface FloodOverride {
  /** Rule names (`*` wildcards). */
  rules: string[];
  /** Rules having any of these tags. */
  tags: string[];
  enabled?: boolean;
  windowMs?: number;
  keyFields?: string[];
}

export interface FloodControlConfig {
  enabled: boolean;
  /** Repeats within this long of the first alert are aggregated, ms. */
  windowMs: number;
  /**
   * Output fields that, with the rule name, say which alerts are "the same". When an alert has none of
   * them, its output text is the key.
   */
  keyFields: string[];
  /** Per rule or tag settings; the first override that selects a rule applies. */
  overrides: FloodOverride[];
  /** Most keys tracked at once; alerts beyond it pass unaggregated. */
  maxKeys: number;
}

export interface SinksConfig {
  sinks: SinkConfig[];
  floodControl: FloodControlConfig;
}

/** One or more configuration mistakes; `issues` lists each as `path: reason`. */
export class SinksConfigError extends Error {
  override readonly name = 'SinksConfigError';
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

export const DEFAULT_QUEUE_SIZE = 10_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
export const DEFAULT_FLOOD_WINDOW_MS = 60_000;
export const DEFAULT_FLOOD_KEY_FIELDS: readonly string[] = [
  'proc.name',
  'container.id',
  'ka.target.resource',
];
export const DEFAULT_ALERTMANAGER_LABEL_FIELDS: readonly string[] = [
  'container.id',
  'container.name',
  'k8s.ns.name',
  'k8s.pod.name',
  'proc.name',
  'user.name',
];

/** Batch size and retries by kind: network sinks retry longer than local ones. */
const KIND_DEFAULTS: Record<SinkKind, { batchSize: number; retry: RetryPolicy }> = {
  stdout: { batchSize: 256, retry: { maxRetries: 3, initialBackoffMs: 100, maxBackoffMs: 2_000 } },
  file: { batchSize: 256, retry: { maxRetries: 3, initialBackoffMs: 100, maxBackoffMs: 2_000 } },
  webhook: { batchSize: 1, retry: { maxRetries: 5, initialBackoffMs: 500, maxBackoffMs: 30_000 } },
  alertmanager: { batchSize: 100, retry: { maxRetries: 5, initialBackoffMs: 500, maxBackoffMs: 30_000 } },
  program: { batchSize: 256, retry: { maxRetries: 5, initialBackoffMs: 200, maxBackoffMs: 10_000 } },
  store: { batchSize: 500, retry: { maxRetries: 5, initialBackoffMs: 200, maxBackoffMs: 10_000 } },
};

/** Keys each kind accepts, besides the common ones. */
const KIND_KEYS: Record<SinkKind, readonly string[]> = {
  stdout: ['format', 'time_format'],
  file: ['path', 'format', 'time_format', 'mode'],
  webhook: ['url', 'headers', 'insecure_skip_verify', 'timeout', 'time_format'],
  alertmanager: [
    'url',
    'headers',
    'insecure_skip_verify',
    'timeout',
    'expiry',
    'label_fields',
    'labels',
    'annotations',
  ],
  program: ['command', 'format', 'time_format', 'restart'],
  store: [],
};
const COMMON_KEYS = ['type', 'name', 'queue_size', 'batch_size', 'retry', 'close_timeout'];

/** The default when a config has no `sinks` key: Falco's text lines on stdout. */
function defaultSinks(): unknown[] {
  return [{ type: 'stdout' }];
}

const join = joinPath;

/** The generic reader plus what sink settings add: URLs, headers and retry policies. */
class Reader extends ConfigReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {
    super();
  }

  /** `s` with `${NAME}` references expanded from the environment; undefined (reported) when one fails. */
  expand(s: string, path: string): string | undefined {
    const x = expandEnvRefs(s, this.env);
    if (x.problems) return this.fail(path, x.problems.join('; '));
    return x.value;
  }

  url(v: unknown, path: string): string | undefined {
    const raw = this.string(v, path, true);
    if (raw === undefined) return undefined;
    const s = this.expand(raw, path);
    if (s === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return this.fail(path, 'must be an http(s) URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return this.fail(path, 'must be an http(s) URL');
    return s;
  }

  /** Header names and values; values may reference the environment (`Bearer ${TOKEN}`). */
  headers(v: unknown, path: string): Record<string, string> {
    const map = this.stringMap(v, path) ?? {};
    const out: Record<string, string> = {};
    for (const [k, raw] of Object.entries(map)) {
      const value = this.expand(raw, join(path, k));
      if (value !== undefined) out[k] = value;
    }
    return out;
  }

  retry(v: unknown, path: string, defaults: RetryPolicy): RetryPolicy {
    const o = this.object(v, path);
    if (!o) return { ...defaults };
    this.unknownKeys(o, path, ['max_retries', 'initial_backoff', 'max_backoff']);
    const r: RetryPolicy = {
      maxRetries: this.integer(o.max_retries, join(path, 'max_retries'), 0, 1000) ?? defaults.maxRetries,
      initialBackoffMs:
        this.duration(o.initial_backoff, join(path, 'initial_backoff'), 1) ?? defaults.initialBackoffMs,
      maxBackoffMs: this.duration(o.max_backoff, join(path, 'max_backoff'), 1) ?? defaults.maxBackoffMs,
    };
    if (r.maxBackoffMs < r.initialBackoffMs)
      this.fail(join(path, 'max_backoff'), 'must not be less than initial_backoff');
    return r;
  }
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function readSink(r: Reader, raw: unknown, path: string, index: number): SinkConfig | undefined {
  if (!isObject(raw)) return r.fail(path, 'must be a mapping with a `type`');
  const type =
    raw.type === undefined
      ? r.fail(join(path, 'type'), `is required (one of: ${SINK_KINDS.join(', ')})`)
      : r.oneOf(raw.type, join(path, 'type'), SINK_KINDS);
  if (!type) return undefined;
  r.unknownKeys(raw, path, [...COMMON_KEYS, ...KIND_KEYS[type]]);
  const d = KIND_DEFAULTS[type];
  const common: CommonSinkConfig = {
    name: r.string(raw.name, join(path, 'name')) ?? `\u0000${type}#${index}`,
    queueSize: r.integer(raw.queue_size, join(path, 'queue_size'), 1, 10_000_000) ?? DEFAULT_QUEUE_SIZE,
    batchSize: r.integer(raw.batch_size, join(path, 'batch_size'), 1, 100_000) ?? d.batchSize,
    retry: r.retry(raw.retry, join(path, 'retry'), d.retry),
    closeTimeoutMs: r.duration(raw.close_timeout, join(path, 'close_timeout')) ?? DEFAULT_CLOSE_TIMEOUT_MS,
  };
  const format = (): AlertFormat =>
    r.oneOf(raw.format, join(path, 'format'), ['text', 'json'] as const) ?? 'text';
  const timeFormat = (): TimeFormat =>
    r.oneOf(raw.time_format, join(path, 'time_format'), ['clock', 'iso8601'] as const) ?? 'clock';
  const http = (): HttpSinkConfig => ({
    url: r.url(raw.url, join(path, 'url')) ?? '',
    headers: r.headers(raw.headers, join(path, 'headers')),
    insecureSkipVerify: r.boolean(raw.insecure_skip_verify, join(path, 'insecure_skip_verify')) ?? false,
    timeoutMs: r.duration(raw.timeout, join(path, 'timeout'), 1) ?? 10_000,
  });
  switch (type) {
    case 'stdout':
      return { ...common, type, format: format(), timeFormat: timeFormat() };
    case 'file': {
      // YAML 1.2 reads a bare 0640 as decimal 640, so octal text ("0640") is accepted and documented.
      const mode =
        typeof raw.mode === 'string' && /^0?[0-7]{3,4}$/.test(raw.mode)
          ? parseInt(raw.mode, 8)
          : (r.integer(raw.mode, join(path, 'mode'), 0, 0o7777) ?? 0o640);
      return {
        ...common,
        type,
        path: r.string(raw.path, join(path, 'path'), true) ?? '',
        format: format(),
        timeFormat: timeFormat(),
        mode,
      };
    }
    case 'webhook':
      return { ...common, type, ...http(), timeFormat: timeFormat() };
    case 'alertmanager': {
      const labels = r.stringMap(raw.labels, join(path, 'labels')) ?? {};
      for (const k of Object.keys(labels)) {
        if (!LABEL_NAME_RE.test(k))
          r.fail(join(join(path, 'labels'), k), 'is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)');
      }
      return {
        ...common,
        type,
        ...http(),
        expiryMs: r.duration(raw.expiry, join(path, 'expiry'), 1000) ?? 10 * 60_000,
        labelFields: r.stringList(raw.label_fields, join(path, 'label_fields')) ?? [
          ...DEFAULT_ALERTMANAGER_LABEL_FIELDS,
        ],
        labels,
        annotations: r.stringMap(raw.annotations, join(path, 'annotations')) ?? {},
      };
    }
    case 'program': {
      const rp = join(path, 'restart');
      const ro = r.object(raw.restart, rp) ?? {};
      r.unknownKeys(ro, rp, ['initial_backoff', 'max_backoff']);
      const restart = {
        initialBackoffMs: r.duration(ro.initial_backoff, join(rp, 'initial_backoff'), 1) ?? 500,
        maxBackoffMs: r.duration(ro.max_backoff, join(rp, 'max_backoff'), 1) ?? 30_000,
      };
      return {
        ...common,
        type,
        command: r.string(raw.command, join(path, 'command'), true) ?? '',
        format: format(),
        timeFormat: timeFormat(),
        restart,
      };
    }
    case 'store':
      return { ...common, type };
  }
}

function readFlood(r: Reader, raw: unknown, path: string): FloodControlConfig {
  const cfg: FloodControlConfig = {
    enabled: true,
    windowMs: DEFAULT_FLOOD_WINDOW_MS,
    keyFields: [...DEFAULT_FLOOD_KEY_FIELDS],
    overrides: [],
    maxKeys: 100_000,
  };
  if (raw === false) return { ...cfg, enabled: false };
  const o = r.object(raw, path);
  if (!o) return cfg;
  r.unknownKeys(o, path, ['enabled', 'window', 'key_fields', 'overrides', 'max_keys']);
  cfg.enabled = r.boolean(o.enabled, join(path, 'enabled')) ?? true;
  cfg.windowMs = r.duration(o.window, join(path, 'window'), 1) ?? cfg.windowMs;
  cfg.keyFields = r.stringList(o.key_fields, join(path, 'key_fields')) ?? cfg.keyFields;
  cfg.maxKeys = r.integer(o.max_keys, join(path, 'max_keys'), 1) ?? cfg.maxKeys;
  const ovPath = join(path, 'overrides');
  if (o.overrides !== undefined && o.overrides !== null) {
    if (!Array.isArray(o.overrides)) r.fail(ovPath, 'must be a list');
    else {
      o.overrides.forEach((ov: unknown, i) => {
        const p = `${ovPath}[${i}]`;
        if (!isObject(ov)) return r.fail(p, 'must be a mapping');
        r.unknownKeys(ov, p, ['rules', 'tags', 'enabled', 'window', 'key_fields']);
        const out: FloodOverride = {
          rules: r.stringList(ov.rules, join(p, 'rules')) ?? [],
          tags: r.stringList(ov.tags, join(p, 'tags')) ?? [],
        };
        if (out.rules.length === 0 && out.tags.length === 0) r.fail(p, 'must name `rules` or `tags`');
        const enabled = r.boolean(ov.enabled, join(p, 'enabled'));
        if (enabled !== undefined) out.enabled = enabled;
        const windowMs = r.duration(ov.window, join(p, 'window'), 1);
        if (windowMs !== undefined) out.windowMs = windowMs;
        const keyFields = r.stringList(ov.key_fields, join(p, 'key_fields'));
        if (keyFields !== undefined) out.keyFields = keyFields;
        cfg.overrides.push(out);
        return undefined;
      });
    }
  }
  return cfg;
}

/** Flood-control defaults: on, 60 s window, keyed by rule + process name / container id. */
export function defaultFloodControlConfig(): FloodControlConfig {
  return readFlood(new Reader(process.env), undefined, 'flood_control');
}

/**
 * Validates the `sinks` and `flood_control` keys of `value` (other keys are the caller's) and fills in
 * defaults. `where` is the path of `value` in the config, prefixed to every message (`''` at the top).
 * Without a `sinks` key there is one stdout sink; `sinks: []` means none. `${NAME}` in sink URLs and
 * header values is replaced by the variable NAME of `env`.
 *
 * @throws SinksConfigError listing every mistake.
 */
export function parseSinksConfig(
  value: unknown,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): SinksConfig {
  const r = new Reader(env);
  let rawSinks: unknown = defaultSinks();
  let rawFlood: unknown = undefined;
  if (value !== undefined && value !== null) {
    if (!isObject(value))
      throw new SinksConfigError([`${where === '' ? '(config)' : where}: must be a mapping`]);
    if (value.sinks !== undefined && value.sinks !== null) rawSinks = value.sinks;
    rawFlood = value.flood_control;
  }
  const sinksPath = join(where, 'sinks');
  const read: { config: SinkConfig; path: string }[] = [];
  if (!Array.isArray(rawSinks)) r.fail(sinksPath, 'must be a list of sinks');
  else {
    rawSinks.forEach((raw: unknown, i) => {
      const path = `${sinksPath}[${i}]`;
      const config = readSink(r, raw, path, i);
      if (config) read.push({ config, path });
    });
  }
  assignNames(r, read);
  const sinks = read.map((s) => s.config);
  const floodControl = readFlood(r, rawFlood, join(where, 'flood_control'));
  if (r.issues.length > 0) throw new SinksConfigError(r.issues);
  return { sinks, floodControl };
}

/** Default names (`<type>`, `<type>-2`, …) for sinks without one; explicit names must be unique. */
function assignNames(r: Reader, sinks: { config: SinkConfig; path: string }[]): void {
  const taken = new Set<string>();
  for (const { config, path } of sinks) {
    if (config.name.startsWith('\u0000')) continue;
    if (taken.has(config.name))
      r.fail(join(path, 'name'), `duplicate sink name ${JSON.stringify(config.name)}`);
    taken.add(config.name);
  }
  for (const { config } of sinks) {
    if (!config.name.startsWith('\u0000')) continue;
    let name: string = config.type;
    for (let n = 2; taken.has(name); n++) name = `${config.type}-${n}`;
    config.name = name;
    taken.add(name);
  }
}
