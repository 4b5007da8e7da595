/**
 * A small Prometheus registry: counters, gauges and histograms with labels, plus `collect` callbacks
 * read at scrape time, rendered in the text exposition format 0.0.4.
 *
 * Components keep plain counters in their own `stats()` objects; whoever owns the registry bridges them
 * with `collect`, so the hot paths of the detector, sinks and spool never touch this module. Metrics
 * the hub updates itself (per request, never per alert) use the instrument classes, whose labelled
 * children are cached so an update is one map lookup at most.
 */

/** Label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** The `Content-Type` of {@link MetricsRegistry.expose}'s output. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Latency buckets in seconds: 0.5 ms … 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Kinds a collector may report (histograms are only built with {@link MetricsRegistry.histogram}). */
export type CollectedType = 'counter' | 'gauge' | 'untyped';

/** One metric family reported by a `collect` callback. */
export interface CollectedMetric {
  name: string;
  help: string;
  type: CollectedType;
  /** One sample per label set; a family with no samples prints only HELP and TYPE. */
  samples: readonly { labels?: Labels; value: number | bigint }[];
}

/** A callback read at every scrape. */
export type Collector = () => readonly CollectedMetric[];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** Escapes HELP text: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text format writes it. */
export function formatValue(v: number | bigint): string {
  if (typeof v === 'bigint') return v.toString();
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
}

function checkLabelNames(metric: string, names: readonly string[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (!LABEL_RE.test(n) || n.startsWith('__'))
      throw new Error(`metric ${metric}: invalid label name ${JSON.stringify(n)}`);
    if (reserved.includes(n))
      throw new Error(`metric ${metric}: label name ${JSON.stringify(n)} is reserved`);
    if (seen.has(n)) throw new Error(`metric ${metric}: label ${JSON.stringify(n)} given twice`);
    seen.add(n);
  }
}

/** `{a="x",b="y"}` for label names and values in order; '' without labels. */
function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  if (names.length === 0) return extra === '' ? '' : `{${extra}}`;
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ',';
    s += `${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return (extra === '' ? s : `${s},${extra}`) + '}';
}

/** Base of the three instruments: label handling and the child cache. */
abstract class Instrument<Child> {
  /** Children by their label values joined with \u0000 (cannot occur in sensible label values). */
  protected readonly children = new Map<string, { values: string[]; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract makeChild(): Child;

  /**
   * The child for one label set, by position (`labels('GET', '200')`) or by name
   * (`labels({ method: 'GET', code: '200' })`). Cached: keep the child for repeated updates.
   */
  labels(...args: [Labels] | string[]): Child {
    let values: string[];
    const first = args[0];
    if (typeof first === 'object') {
      values = this.labelNames.map((n) => {
        const v = first[n];
        if (v === undefined) throw new Error(`metric ${this.name}: label ${n} missing`);
        return v;
      });
      if (Object.keys(first).length !== this.labelNames.length)
        throw new Error(`metric ${this.name}: expects labels ${this.labelNames.join(', ') || '(none)'}`);
    } else {
      values = args as string[];
      if (values.length !== this.labelNames.length)
        throw new Error(
          `metric ${this.name}: expects ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`,
        );
    }
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      entry = { values: [...values], child: this.makeChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** The unlabelled child (metrics declared without labels). */
  protected self(): Child {
    if (this.labelNames.length !== 0)
      throw new Error(`metric ${this.name} has labels (${this.labelNames.join(', ')}); use .labels(…)`);
    return this.labels();
  }

  /** Forgets every label set (e.g. after the set of rules changed). */
  reset(): void {
    this.children.clear();
    // An unlabelled metric always has its one sample.
    if (this.labelNames.length === 0) this.labels();
  }

  abstract render(out: string[]): void;
}

/** A counter's value for one label set. */
export class CounterChild {
  value = 0;
  /** Adds `n` (default 1); counters never go down. */
  inc(n = 1): void {
    if (!(n >= 0)) throw new Error(`counter increment must be >= 0 (got ${n})`);
    this.value += n;
  }
}

/** A monotonically increasing count. */
export class Counter extends Instrument<CounterChild> {
  protected makeChild(): CounterChild {
    return new CounterChild();
  }
  /** Adds `n` to the unlabelled counter. */
  inc(n = 1): void {
    this.self().inc(n);
  }
  /** Value of one label set (0 when never updated). */
  get(...values: string[]): number {
    return this.children.get(values.join('\u0000'))?.child.value ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`);
    for (const { values, child } of this.children.values())
      out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}`);
  }
}

/** A gauge's value for one label set. */
export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A value that goes up and down. */
export class Gauge extends Instrument<GaugeChild> {
  protected makeChild(): GaugeChild {
    return new GaugeChild();
  }
  set(v: number): void {
    this.self().set(v);
  }
  inc(n = 1): void {
    this.self().inc(n);
  }
  dec(n = 1): void {
    this.self().dec(n);
  }
  get(...values: string[]): number {
    return this.children.get(values.join('\u0000'))?.child.value ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`);
    for (const { values, child } of this.children.values())
      out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}`);
  }
}

/** A histogram's buckets for one label set. */
export class HistogramChild {
  /** Non-cumulative counts per bucket; the last slot counts values above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  /** Records one value (seconds, for latencies). */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
  /** Starts a timer; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    const t0 = process.hrtime.bigint();
    return () => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      this.observe(s);
      return s;
    };
  }
}

/** A distribution of observed values in cumulative buckets (`le`), with their sum and count. */
export class Histogram extends Instrument<HistogramChild> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected makeChild(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  observe(v: number): void {
    this.self().observe(v);
  }
  startTimer(): () => number {
    return this.self().startTimer();
  }
  render(out: string[]): void {
    const n = this.name;
    out.push(`# HELP ${n} ${escapeHelp(this.help)}`, `# TYPE ${n} histogram`);
    for (const { values, child } of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += child.counts[i] as number;
        const le = `le="${formatValue(this.buckets[i] as number)}"`;
        out.push(`${n}_bucket${labelText(this.labelNames, values, le)} ${cumulative}`);
      }
      out.push(`${n}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${child.count}`);
      const l = labelText(this.labelNames, values);
      out.push(`${n}_sum${l} ${formatValue(child.sum)}`, `${n}_count${l} ${child.count}`);
    }
  }
}

/**
 * The registry: instruments by name, collectors, and the exposition text. Names follow
 * `vigil_<component>_<what>_<unit>`; registering a name twice throws.
 */
export class MetricsRegistry {
  private readonly instruments = new Map<string, Instrument<unknown>>();
  private readonly collectors = new Set<Collector>();
  private collectorErrors = 0;

  /** Declares a counter. Unlabelled counters start at 0 and appear from the first scrape. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  /** Declares a gauge. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  /** Declares a histogram; `buckets` are upper bounds, ascending (default {@link DEFAULT_BUCKETS}). */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as number;
      if (!Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))
        throw new Error(`histogram ${name}: buckets must be finite and strictly ascending`);
    }
    checkLabelNames(name, labelNames, ['le']);
    return this.add(new Histogram(name, help, labelNames, [...buckets]));
  }

  /**
   * Adds a callback read at every scrape (for components that keep their own counters). Returns a
   * function that removes it. A callback that throws is skipped for that scrape and counted in
   * `vigil_metrics_collector_errors_total`.
   */
  collect(fn: Collector): () => void {
    this.collectors.add(fn);
    return () => {
      this.collectors.delete(fn);
    };
  }

  /** The metrics in the Prometheus text exposition format 0.0.4 (see {@link CONTENT_TYPE}). */
  expose(): string {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const m of this.instruments.values()) {
      m.render(out);
      seen.add(m.name);
    }
    // Collected families merge by name (several components may report the same family with different
    // labels); a name clashing with a declared instrument or another type is dropped, since Prometheus
    // rejects a scrape that declares a family twice.
    const families = new Map<string, { help: string; type: CollectedType; lines: string[] }>();
    let errors = 0;
    for (const fn of this.collectors) {
      let got: readonly CollectedMetric[];
      try {
        got = fn();
      } catch {
        errors++;
        continue;
      }
      for (const f of got) {
        if (!NAME_RE.test(f.name) || seen.has(f.name)) {
          errors++;
          continue;
        }
        let fam = families.get(f.name);
        if (fam === undefined) {
          fam = { help: f.help, type: f.type, lines: [] };
          families.set(f.name, fam);
        } else if (fam.type !== f.type) {
          errors++;
          continue;
        }
        for (const s of f.samples) {
          const names = s.labels ? Object.keys(s.labels) : [];
          const values = s.labels ? names.map((k) => (s.labels as Labels)[k] as string) : [];
          if (names.some((n) => !LABEL_RE.test(n))) {
            errors++;
            continue;
          }
          fam.lines.push(`${f.name}${labelText(names, values)} ${formatValue(s.value)}`);
        }
      }
    }
    for (const [name, fam] of families) {
      out.push(`# HELP ${name} ${escapeHelp(fam.help)}`, `# TYPE ${name} ${fam.type}`, ...fam.lines);
    }
    this.collectorErrors += errors;
    out.push(
      '# HELP vigil_metrics_collector_errors_total Scrape-time collectors that threw or reported an invalid or clashing metric.',
      '# TYPE vigil_metrics_collector_errors_total counter',
      `vigil_metrics_collector_errors_total ${this.collectorErrors}`,
    );
    return out.join('\n') + '\n';
  }

  private add<T extends Instrument<unknown>>(m: T): T {
    checkName(m.name);
    checkLabelNames(m.name, m.labelNames);
    if (this.instruments.has(m.name) || m.name === 'vigil_metrics_collector_errors_total')
      throw new Error(`metric ${m.name} is already registered`);
    this.instruments.set(m.name, m);
    if (m.labelNames.length === 0) m.labels();
    return m;
  }
}
