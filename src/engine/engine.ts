/**
 * The engine: evaluates loaded rules against events and produces alerts.
 *
 * Rules are grouped by source; syscall rules are indexed by the event types their condition can
 * match, so an event is only tested against the rules of its type (plus rules that match every
 * type), always in definition order. `ruleMatching: 'first'` (Falco's default) stops at the first
 * matching rule; `'all'` reports every matching rule.
 */
import type { VigilEvent } from './event.js';
import {
  compileCondition,
  EventTypeSpecializer,
  repeatedNodes,
  SharedSubexpressions,
} from './compile/index.js';
import { isRepeatableCondition } from './compile/repeatable.js';
import type { Expr } from './condition/ast.js';
import type { FieldProvider } from './fields/types.js';
import { fieldProviderFor } from './fields/index.js';
import { compileOutput, type CompiledOutput } from './output/format.js';
import {
  priorityLabel,
  priorityRank,
  type LoadedRule,
  type LoadResult,
  type Priority,
} from './rules/index.js';

export type RuleMatching = 'first' | 'all';

export interface Alert {
  rule: string;
  priority: Priority;
  source: string;
  /** Event time, ns since the epoch. */
  time: bigint;
  /** The rule's output with fields substituted. */
  output: string;
  /** Values of every field in the output (Falco's `output_fields`); missing values are null. */
  outputFields: Record<string, unknown>;
  tags: string[];
  hostname: string;
}

/** Select rules by name or tag. Names accept `*` wildcards. */
export interface RuleSelector {
  names?: string[];
  tags?: string[];
}

export interface EngineOptions {
  ruleMatching?: RuleMatching;
  /** Rules with a lower priority (higher rank) are not evaluated. Default: DEBUG (everything). */
  minPriority?: Priority;
  /** Disable rules by name or tag (after the files' own `enabled` keys). */
  disable?: RuleSelector;
  /** Enable rules by name or tag, including rules that their file disables. Applied after `disable`. */
  enable?: RuleSelector;
  /** When set, only rules having at least one of these tags run (Falco's `-t`). */
  onlyTags?: string[];
  hostname?: string;
  providers?: Partial<Record<string, FieldProvider<never>>>;
}

/** How the verdicts of a syscall event type hold for repeats (Engine.verdictRepeats). */
interface Repeatability {
  /** False when some rule reads a volatile field outside any repeatable conjunct. */
  possible: boolean;
  /** Per rule that reads volatile fields: its repeatable conjuncts, which must be false. */
  gates: ((event: VigilEvent) => boolean)[];
}

/** The operands of `e`'s top-level `and`s (`e` itself when it is not one). */
function conjuncts(e: Expr): Expr[] {
  return e.kind === 'and' ? e.children.flatMap(conjuncts) : [e];
}

interface ActiveRule {
  rule: LoadedRule;
  output: CompiledOutput<VigilEvent>;
  label: string;
  provider: FieldProvider<VigilEvent>;
}

/** A rule as tested against the events of one bucket: with its condition for those events. */
interface Candidate {
  a: ActiveRule;
  filter: (event: VigilEvent) => boolean;
  /**
   * On the first of consecutive rules whose conditions all start with `guard and ...` (one shared
   * macro, such as `open_read`): when it is false, the `skip` rules from this one cannot match.
   */
  guard: ((event: VigilEvent) => boolean) | undefined;
  skip: number;
}

/** A condition specialized for one event type, and the shared conjunct it starts with, if any. */
interface Specialized {
  filter: (event: VigilEvent) => boolean;
  lead: ((event: VigilEvent) => boolean) | undefined;
}

interface SourceIndex {
  /** Rules that apply to every event of the source (no event-type restriction). */
  allTypes: Candidate[];
  /** Per event type: its rules, with conditions specialized for it (see compile/specialize.ts). */
  byType: Map<string, Candidate[]>;
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]) as readonly Alert[];

function wildcardToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function selects(selector: RuleSelector | undefined, rule: LoadedRule): boolean {
  if (!selector) return false;
  if (selector.names?.some((n) => wildcardToRegExp(n).test(rule.name))) return true;
  if (selector.tags?.some((t) => rule.tags.includes(t))) return true;
  return false;
}

export class Engine {
  private readonly index = new Map<string, SourceIndex>();
  private readonly active: ActiveRule[] = [];
  private readonly ruleMatching: RuleMatching;
  private readonly hostname: string;
  /** Matches per rule name since the engine was created. */
  readonly hits = new Map<string, number>();
  eventsProcessed = 0;
  /** The last syscall event type seen and its rules: consecutive events are often of one type. */
  private lastType: string | undefined = undefined;
  private lastCandidates: Candidate[] = [];
  /** Per syscall event type: whether and when its verdicts hold for repeats (see repeatable.ts). */
  private readonly repeatableTypes = new Map<string, Repeatability>();

  constructor(
    readonly loaded: LoadResult,
    options: EngineOptions = {},
  ) {
    this.ruleMatching = options.ruleMatching ?? 'first';
    this.hostname = options.hostname ?? '';
    const minRank = options.minPriority ? priorityRank(options.minPriority) : Number.POSITIVE_INFINITY;
    for (const rule of loaded.rules) {
      let enabled = rule.enabled;
      if (selects(options.disable, rule)) enabled = false;
      if (selects(options.enable, rule)) enabled = true;
      if (options.onlyTags && !options.onlyTags.some((t) => rule.tags.includes(t))) enabled = false;
      if (priorityRank(rule.priority) > minRank) enabled = false;
      if (!enabled) continue;
      const provider = (options.providers?.[rule.source] ?? fieldProviderFor(rule.source as never)) as
        FieldProvider<VigilEvent> | undefined;
      if (!provider) continue;
      const compiled = compileOutput(rule.output, provider);
      // The loader already rejected rules whose output does not compile; skip defensively.
      if (!compiled.ok) continue;
      this.active.push({ rule, output: compiled.output, label: priorityLabel(rule.priority), provider });
    }
    this.active.sort((a, b) => a.rule.index - b.rule.index);
    const whole = (a: ActiveRule): Candidate => ({
      a,
      filter: a.rule.filter as (event: VigilEvent) => boolean,
      guard: undefined,
      skip: 0,
    });
    for (const a of this.active) {
      let idx = this.index.get(a.rule.source);
      if (!idx) {
        idx = { allTypes: [], byType: new Map() };
        this.index.set(a.rule.source, idx);
      }
      if (a.rule.eventTypes === null || a.rule.source !== 'syscall') idx.allTypes.push(whole(a));
    }
    // Per-type buckets hold the type's own rules merged with the all-types rules, in definition order.
    const byTypeRules = new Map<string, ActiveRule[]>();
    for (const a of this.active) {
      if (a.rule.eventTypes === null || a.rule.source !== 'syscall') continue;
      for (const t of a.rule.eventTypes) {
        let bucket = byTypeRules.get(t);
        if (!bucket) {
          bucket = [];
          byTypeRules.set(t, bucket);
        }
        bucket.push(a);
      }
    }
    const syscall = this.index.get('syscall');
    if (syscall) {
      const allTypes = syscall.allTypes.map((c) => c.a);
      const specialized = this.specializer();
      for (const [t, bucket] of byTypeRules) {
        const rules = allTypes.length
          ? [...bucket, ...allTypes].sort((x, y) => x.rule.index - y.rule.index)
          : bucket;
        const candidates: Candidate[] = [];
        const leads: (((event: VigilEvent) => boolean) | undefined)[] = [];
        for (const a of rules) {
          const s = specialized(a, t);
          // A rule whose condition cannot hold for this type never matches its events.
          if (s === false) continue;
          candidates.push({ a, filter: s.filter, guard: undefined, skip: 0 });
          leads.push(s.lead);
        }
        for (let i = 0; i < candidates.length;) {
          const lead = leads[i];
          let j = i + 1;
          while (lead !== undefined && j < candidates.length && leads[j] === lead) j++;
          if (j - i > 1) {
            candidates[i]!.guard = lead;
            candidates[i]!.skip = j - i;
          }
          i = j;
        }
        syscall.byType.set(t, candidates);
      }
    }
  }

  /**
   * Conditions specialized per event type (compile/specialize.ts), compiled together so that rules
   * sharing a macro still evaluate it once per event. Answers `false` for a condition that cannot
   * hold for the type; falls back to the rule's own filter if a specialized form does not compile.
   */
  private specializer(): (a: ActiveRule, type: string) => Specialized | false {
    const rules = this.active.filter((a) => a.rule.source === 'syscall');
    const spec = new EventTypeSpecializer(repeatedNodes(rules.map((a) => a.rule.ast)));
    const shared = new SharedSubexpressions(spec.shared);
    const compiled = new Map<unknown, Map<unknown, Specialized>>();
    const always: Specialized = { filter: () => true, lead: undefined };
    return (a, type) => {
      const s = spec.specialize(a.rule.ast, type);
      if (s === false) return false;
      if (s === true) return always;
      let byProvider = compiled.get(s);
      if (!byProvider) {
        byProvider = new Map();
        compiled.set(s, byProvider);
      }
      let f = byProvider.get(a.provider);
      if (!f) {
        const r = compileCondition(s, a.provider, { shared });
        f = r.ok
          ? { filter: r.filter, lead: undefined }
          : { filter: a.rule.filter as (event: VigilEvent) => boolean, lead: undefined };
        // The shared conjunct it starts with: compiling it again gives the same memoised closure
        // the condition calls, so testing it first costs nothing more when it holds.
        const first = s.kind === 'and' ? s.children[0] : undefined;
        if (r.ok && first && (first.kind === 'and' || first.kind === 'or') && spec.isShared(first)) {
          const g = compileCondition(first, a.provider, { shared });
          if (g.ok) f.lead = g.filter;
        }
        byProvider.set(a.provider, f);
      }
      return f;
    };
  }

  /** Enabled rules in evaluation order. */
  get activeRules(): readonly LoadedRule[] {
    return this.active.map((a) => a.rule);
  }

  /** Event types that at least one enabled syscall rule needs; null when some rule needs all. */
  interestingEventTypes(): Set<string> | null {
    const idx = this.index.get('syscall');
    if (!idx) return new Set();
    if (idx.allTypes.length > 0) return null;
    return new Set(idx.byType.keys());
  }

  /**
   * True when the answer the rules gave `event` (a syscall event just evaluated) holds for an event
   * with the same parameters from the same thread meeting the same state: every enabled rule that
   * can see its type reads only fields fixed by those (not the event's time, number or CPU), or
   * starts with such conditions (`a and b and proc.duration > X`) and they are false for `event`
   * (compile/repeatable.ts). The caller knows no rule matched.
   */
  verdictRepeats(event: VigilEvent): boolean {
    if (event.source !== 'syscall') return false;
    const r = this.repeatability(event.type);
    if (!r.possible) return false;
    for (let i = 0; i < r.gates.length; i++) if (r.gates[i]!(event)) return false;
    return true;
  }

  private repeatability(type: string): Repeatability {
    let r = this.repeatableTypes.get(type);
    if (r !== undefined) return r;
    r = { possible: true, gates: [] };
    const idx = this.index.get('syscall');
    for (const c of idx ? (idx.byType.get(type) ?? idx.allTypes) : []) {
      const ast = c.a.rule.ast;
      if (isRepeatableCondition(ast)) continue;
      // The repeatable conjuncts of a rule that also reads volatile fields: when they are false,
      // so is the rule, whatever the rest reads.
      const fixed = conjuncts(ast).filter(isRepeatableCondition);
      const gate =
        fixed.length === 0
          ? undefined
          : compileCondition(
              fixed.length === 1 ? fixed[0]! : { kind: 'and', children: fixed, span: ast.span },
              c.a.provider,
            );
      if (!gate?.ok) {
        r = { possible: false, gates: [] };
        break;
      }
      r.gates.push(gate.filter);
    }
    this.repeatableTypes.set(type, r);
    return r;
  }

  /** Evaluate one event; returns the alerts it raised (a shared empty array when none). */
  process(event: VigilEvent): readonly Alert[] {
    this.eventsProcessed++;
    let candidates: Candidate[];
    if (event.source === 'syscall' && event.type === this.lastType) {
      candidates = this.lastCandidates;
    } else {
      const idx = this.index.get(event.source);
      if (!idx) return NO_ALERTS;
      if (event.source === 'syscall') {
        candidates = idx.byType.get(event.type) ?? idx.allTypes;
        this.lastType = event.type;
        this.lastCandidates = candidates;
      } else {
        candidates = idx.allTypes;
      }
    }
    let alerts: Alert[] | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (c.guard !== undefined && !c.guard(event)) {
        i += c.skip - 1;
        continue;
      }
      if (!c.filter(event)) continue;
      const a = c.a;
      const rendered = a.output.render(event);
      const alert: Alert = {
        rule: a.rule.name,
        priority: a.rule.priority,
        source: a.rule.source,
        time: event.ts,
        output: rendered.text,
        outputFields: rendered.fields,
        tags: a.rule.tags,
        hostname: event.hostname ?? this.hostname,
      };
      this.hits.set(a.rule.name, (this.hits.get(a.rule.name) ?? 0) + 1);
      (alerts ??= []).push(alert);
      if (this.ruleMatching === 'first') break;
    }
    return alerts ?? NO_ALERTS;
  }
}

export function createEngine(loaded: LoadResult, options?: EngineOptions): Engine {
  return new Engine(loaded, options);
}

/** Priority label (`Warning`, `Informational`, …) used in Falco's text and JSON output. */
export { priorityLabel };
