/**
 * Flood control: repeated identical alerts within a window are aggregated, so a rule firing in a loop
 * produces two alerts a window instead of thousands.
 *
 * Alerts are "identical" when they share the rule and the values of the key fields (by default the
 * process name and container id, when the alert has them; otherwise the whole output text). The first
 * alert of a key opens a window and passes at once; the repeats within it are counted, and when the
 * window closes one summary alert passes: the last repeat's rule, priority and output, with how many were
 * suppressed and over what period said in the output and carried in `output_fields`
 * (`vigil.suppressed`, `vigil.suppressed.since`). The next repeat after that opens a new window.
 *
 * Pure state and an injected clock: {@link SinkSet} drives it with timers, tests with a fake clock.
 */
import type { StoredAlert } from '../store/store.js';
import { formatIsoTime } from '../engine/output/alert-format.js';
import type { FloodControlConfig } from './config.js';
import { Fifo } from './fifo.js';

/** Output field holding how many alerts a summary stands for. */
export const SUPPRESSED_FIELD = 'vigil.suppressed';
/** Output field holding the event time (ns) of the alert that opened the window. */
export const SUPPRESSED_SINCE_FIELD = 'vigil.suppressed.since';

/** What applies to one rule after the overrides. */
interface RulePolicy {
  enabled: boolean;
  windowMs: number;
  keyFields: readonly string[];
}

interface Window {
  endsAt: number;
  /** The alert that opened the window (it was passed). */
  first: StoredAlert;
  /** Repeats counted so far, and the latest of them. */
  count: number;
  last: StoredAlert | undefined;
}

export interface FloodControlStats {
  /** Alerts suppressed (counted into a summary instead of passing), by rule. */
  suppressed: Record<string, number>;
  /** Summary alerts emitted. */
  summaries: number;
  /** Keys with an open window now. */
  openWindows: number;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function keyValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<NA>';
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** `42s`, `1m30s`, `850ms`: how long the suppressed repeats spanned. */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m < 60) return rest === 0 ? `${m}m` : `${m}m${rest}s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
}

export class FloodControl {
  private readonly windows = new Map<string, Window>();
  /**
   * Windows in order of their end, one queue per window length: windows of one length end in the order
   * they opened, so sweeping looks only at queue fronts (no scan of every open key per alert or tick).
   * Entries whose window was closed another way are skipped when they reach the front.
   */
  private readonly deadlines = new Map<number, Fifo<{ key: string; w: Window }>>();
  private readonly policies = new Map<string, { tags: readonly string[]; policy: RulePolicy }>();
  private readonly overrides: { names: RegExp[]; tags: string[]; policy: Partial<RulePolicy> }[];
  private readonly suppressed = new Map<string, number>();
  private summaries = 0;
  /** Summaries of windows that `admit` found expired, waiting for `takeDue`. */
  private due: StoredAlert[] = [];

  constructor(
    private readonly config: FloodControlConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.overrides = config.overrides.map((o) => {
      const policy: Partial<RulePolicy> = {};
      if (o.enabled !== undefined) policy.enabled = o.enabled;
      if (o.windowMs !== undefined) policy.windowMs = o.windowMs;
      if (o.keyFields !== undefined) policy.keyFields = o.keyFields;
      return { names: o.rules.map(wildcard), tags: o.tags, policy };
    });
  }

  /**
   * Whether `alert` passes now. `false`: it was counted into its key's open window and will be part of
   * that window's summary.
   */
  admit(alert: StoredAlert): boolean {
    const policy = this.policyFor(alert);
    if (!policy.enabled) return true;
    const key = this.keyOf(alert, policy);
    const now = this.now();
    const w = this.windows.get(key);
    if (w && now < w.endsAt) {
      w.count++;
      w.last = alert;
      this.suppressed.set(alert.rule, (this.suppressed.get(alert.rule) ?? 0) + 1);
      return false;
    }
    if (w) {
      // Expired but not yet swept: its summary goes out before this alert opens the next window.
      this.windows.delete(key);
      const summary = this.summarize(w);
      if (summary) this.due.push(summary);
    }
    if (this.windows.size >= this.config.maxKeys) return true;
    const opened: Window = { endsAt: now + policy.windowMs, first: alert, count: 0, last: undefined };
    this.windows.set(key, opened);
    let q = this.deadlines.get(policy.windowMs);
    if (!q) {
      q = new Fifo();
      this.deadlines.set(policy.windowMs, q);
    }
    q.push({ key, w: opened });
    return true;
  }

  /**
   * Summaries that `admit` produced when an alert arrived after its key's window had ended but before
   * `expire` ran; send them before that alert.
   */
  takeDue(): StoredAlert[] {
    if (this.due.length === 0) return [];
    const out = this.due;
    this.due = [];
    return out;
  }

  /** Closes the windows that ended by now; returns the summaries of those that suppressed anything. */
  expire(): StoredAlert[] {
    const now = this.now();
    const out: StoredAlert[] = this.takeDue();
    for (const q of this.deadlines.values()) {
      for (let front = q.peek(); front; front = q.peek()) {
        const { key, w } = front;
        if (this.windows.get(key) === w) {
          if (now < w.endsAt) break;
          this.windows.delete(key);
          const s = this.summarize(w);
          if (s) out.push(s);
        }
        q.shift();
      }
    }
    return out;
  }

  /** Closes every window (shutting down): the summaries of those that suppressed anything. */
  drain(): StoredAlert[] {
    const out: StoredAlert[] = this.takeDue();
    for (const w of this.windows.values()) {
      const s = this.summarize(w);
      if (s) out.push(s);
    }
    this.windows.clear();
    this.deadlines.clear();
    return out;
  }

  /** When the earliest open window ends (clock ms), if any is open. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const q of this.deadlines.values()) {
      // Drop fronts that no longer stand for an open window.
      let front = q.peek();
      while (front && this.windows.get(front.key) !== front.w) {
        q.shift();
        front = q.peek();
      }
      if (front && (min === undefined || front.w.endsAt < min)) min = front.w.endsAt;
    }
    return min;
  }

  stats(): FloodControlStats {
    return {
      suppressed: Object.fromEntries(this.suppressed),
      summaries: this.summaries,
      openWindows: this.windows.size,
    };
  }

  private summarize(w: Window): StoredAlert | undefined {
    const last = w.last;
    if (!last || w.count === 0) return undefined;
    this.summaries++;
    const span = formatSpan(Number(last.time - w.first.time) / 1e6);
    const what = w.count === 1 ? '1 similar alert' : `${w.count} similar alerts`;
    return {
      ...last,
      id: `${last.id}:flood-summary`,
      output: `${last.output} (flood control: ${what} suppressed over ${span} since ${formatIsoTime(w.first.time)})`,
      outputFields: {
        ...last.outputFields,
        [SUPPRESSED_FIELD]: w.count,
        [SUPPRESSED_SINCE_FIELD]: w.first.time,
      },
      tags: [...last.tags],
    };
  }

  private keyOf(alert: StoredAlert, policy: RulePolicy): string {
    let key = alert.rule;
    let found = false;
    for (const f of policy.keyFields) {
      if (!(f in alert.outputFields)) continue;
      found = true;
      key += `\u0000${f}=${keyValue(alert.outputFields[f])}`;
    }
    return found ? key : `${alert.rule}\u0001${alert.output}`;
  }

  private policyFor(alert: StoredAlert): RulePolicy {
    // Cached per rule; the tags are compared too because a rules reload may change them.
    const cached = this.policies.get(alert.rule);
    if (cached && sameTags(cached.tags, alert.tags)) return cached.policy;
    let policy: RulePolicy = {
      enabled: this.config.enabled,
      windowMs: this.config.windowMs,
      keyFields: this.config.keyFields,
    };
    const o = this.overrides.find(
      (x) => x.names.some((re) => re.test(alert.rule)) || x.tags.some((t) => alert.tags.includes(t)),
    );
    if (o) policy = { ...policy, ...o.policy };
    if (this.policies.size > 10_000) this.policies.clear();
    this.policies.set(alert.rule, { tags: alert.tags, policy });
    return policy;
  }
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
