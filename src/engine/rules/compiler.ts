/**
 * Compile phase: collected lists, macros and rules → loaded rules (Falco's `rule_loader::compiler`).
 *
 * Order, as in Falco: lists are expanded; every macro is parsed (after list substitution), then
 * resolved against the macros visible to it; then each rule with a known source gets its
 * exceptions appended, its output checked, its condition parsed, macro-resolved, linted and
 * compiled, and its event types computed. Unlike Falco, which stops at the first error, a failing
 * rule or macro is reported and the others are still compiled, so one load shows every problem.
 * Unused lists and macros are reported when the whole compilation succeeded (as Falco does).
 */
import type { Expr } from '../condition/ast.js';
import { parseCondition, printExpr } from '../condition/index.js';
import {
  compileCondition,
  eventTypesOf,
  SharedSubexpressions,
  type CompileResult as ConditionCompileResult,
} from '../compile/index.js';
import type { SourcePosition } from '../diagnostics.js';
import type { FieldProvider } from '../fields/types.js';
import { compileOutput, type CompileOutputResult } from '../output/format.js';
import {
  conditionWarnings,
  DEPRECATED_FIELDS,
  isStaticallyFalse,
  type ConditionWarning,
} from './condition-warnings.js';
import { childCtx, LoadError, type Ctx, type DiagnosticSink } from './context.js';
import type { Collector, RuleInfo } from './collector.js';
import { appendExceptions } from './exceptions.js';
import { compileLists, substituteLists, type CompiledList } from './lists.js';
import { resolveMacros, type MacroEntry, type ResolveResult } from './macros.js';
import { MappedText } from './mapped-text.js';
import type { Priority } from './priority.js';
import { shiftSpans, SpanSpace, type SpanOwner } from './span-space.js';

/** Falco's rule compiler parses with a deeper recursion limit than libsinsp's default. */
export const MAX_CONDITION_DEPTH = 1000;

const CONTAINER_INFO = '%container.info';
const CONTAINER_INFO_WARNING =
  '%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.';
const NO_EVTTYPE_WARNING =
  'Rule matches too many evt.type values. This has a significant performance penalty.';
/** Above this many event types a syscall rule is as costly as one without restriction. */
const MAX_EVTTYPES = 100;

/** Text appended to the output of matching rules (Falco's `append_output` / extra output format). */
export interface ExtraOutput {
  format: string;
  /** Only rules of this source (any when absent or empty). */
  source?: string;
  /** Only rules having all of these tags. */
  tags?: string[];
  /** Only the rule with this name. */
  rule?: string;
}

export interface CompiledRule {
  name: string;
  desc: string;
  condition: string;
  output: string;
  priority: Priority;
  source: string;
  enabled: boolean;
  tags: string[];
  capture: boolean;
  captureDuration: number;
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  ast: Expr;
  compiledCondition: string;
  eventTypes: Set<string> | null;
  filter: (event: never) => boolean;
  file: string;
  position?: SourcePosition;
  index: number;
  /** Fields named by the rule's exceptions (Falco adds them to the output fields). */
  exceptionFields: string[];
}

export interface CompileResult {
  rules: CompiledRule[];
  lists: Map<string, string[]>;
  macros: Map<string, { condition: string; used: boolean }>;
  /** No error in this compilation. */
  ok: boolean;
}

export interface CompilerOptions {
  providers: Readonly<Partial<Record<string, FieldProvider<unknown>>>>;
  extraOutput: readonly ExtraOutput[];
}

interface ParsedEntry {
  /** Text after list substitution; the entry is valid while it does not change. */
  expandedText: string;
  ast?: Expr;
  error?: { message: string; position?: SourcePosition };
}

interface ResolvedEntry {
  deps: { name: string; body: Expr }[];
  used: string[];
  ast: Expr;
}

interface CompiledEntry {
  provider: FieldProvider<unknown>;
  skipUnknownFilter: boolean;
  legacyListOperators: boolean;
  result: ConditionCompileResult<unknown>;
  warnings: ConditionWarning[];
  eventTypes: Set<string> | null;
  printed: string;
}

/**
 * Results shared by the successive compilations of one load (one after each file). Everything is
 * keyed by object identity (texts, parsed and resolved ASTs, collected rules and their revision),
 * so an entry is reused only when its inputs are the very same objects; spans stay valid because
 * the span space lives as long as the cache.
 */
export class CompileCache {
  readonly space = new SpanSpace();
  readonly parsed = new WeakMap<MappedText, ParsedEntry>();
  readonly ruleConds = new WeakMap<RuleInfo, { revision: number; cond: MappedText }>();
  readonly resolved = new WeakMap<Expr, ResolvedEntry>();
  readonly compiled = new WeakMap<Expr, CompiledEntry>();
  readonly outputs = new WeakMap<FieldProvider<unknown>, Map<string, CompileOutputResult<unknown>>>();
}

function ruleMatchesExtra(rule: RuleInfo, extra: ExtraOutput): boolean {
  if (extra.source && rule.source !== extra.source) return false;
  if (extra.rule && rule.name !== extra.rule) return false;
  return (extra.tags ?? []).every((t) => rule.tags.includes(t));
}

function isUnknownFieldError(message: string): boolean {
  return (
    message.includes('nonexistent field') ||
    message.includes('invalid formatting token') ||
    message.includes('unknown event type') ||
    message.includes('unknown filter:')
  );
}

export function compileCollected(
  collector: Collector,
  sink: DiagnosticSink,
  options: CompilerOptions,
  cache: CompileCache = new CompileCache(),
): CompileResult {
  const errorsBefore = sink.errorReports;
  const space = cache.space;
  const lists = compileLists(collector.lists);
  const listOrder = [...lists.values()];

  /** Parse a condition after list substitution; errors are reported with precise positions. */
  const parse = (text: MappedText, owner: SpanOwner): Expr | undefined => {
    const expanded = substituteLists(text, listOrder);
    let entry = cache.parsed.get(text);
    if (!entry || entry.expandedText !== expanded.text) {
      const parsed = parseCondition(expanded.text, { maxDepth: MAX_CONDITION_DEPTH });
      if (parsed.ok) {
        shiftSpans(parsed.ast, space.register(expanded, owner));
        entry = { expandedText: expanded.text, ast: parsed.ast };
      } else {
        const error: NonNullable<ParsedEntry['error']> = { message: parsed.error.message };
        const position = expanded.locate(parsed.error.offset);
        if (position) error.position = position;
        entry = { expandedText: expanded.text, error };
      }
      cache.parsed.set(text, entry);
    }
    if (entry.error) {
      sink.error('LOAD_ERR_COMPILE_CONDITION', entry.error.message, owner.condCtx, entry.error.position);
    }
    return entry.ast;
  };

  /** Resolve macros, reusing an earlier resolution when it used the very same macro bodies. */
  const resolve = (ast: Expr, visible: (name: string) => MacroEntry | undefined): ResolveResult => {
    const memo = cache.resolved.get(ast);
    if (memo && memo.deps.every((d) => visible(d.name)?.resolved === d.body)) {
      for (const name of memo.used) {
        const m = macros.get(name);
        if (m) m.used = true;
      }
      return { ok: true, ast: memo.ast, deps: memo.deps, memoizable: true, used: memo.used };
    }
    const res = resolveMacros(ast, visible);
    if (res.ok && res.memoizable) cache.resolved.set(ast, { deps: res.deps, used: res.used, ast: res.ast });
    return res;
  };

  /** Context and position of a span: inside the item itself, or inside a macro it uses. */
  const where = (condCtx: Ctx, offset: number): { ctx: Ctx; position?: SourcePosition } => {
    const hit = space.lookup(offset);
    if (!hit) return { ctx: condCtx };
    let ctx = condCtx;
    if (hit.owner.kind === 'macro' && !condCtx.some((c) => c.kind === 'macro' && c.name === hit.owner.name)) {
      ctx = childCtx(condCtx, 'macro', hit.owner.name, hit.owner.ctx[hit.owner.ctx.length - 1]?.position);
    }
    return hit.position ? { ctx, position: hit.position } : { ctx };
  };

  // Macros: parse all, then resolve each with its visibility, in definition order.
  const macros = new Map<string, MacroEntry>();
  for (const info of collector.macros.values()) {
    const entry: MacroEntry = { name: info.name, info, broken: false, used: false };
    const ast = parse(info.cond, { kind: 'macro', name: info.name, ctx: info.ctx, condCtx: info.condCtx });
    if (ast) entry.ast = ast;
    else entry.broken = true;
    macros.set(info.name, entry);
  }
  for (const entry of macros.values()) {
    if (!entry.ast) continue;
    const visibility = entry.info.visibility;
    const res = resolve(entry.ast, (name) => {
      const m = macros.get(name);
      return m && m.info.index < visibility ? m : undefined;
    });
    if (res.ok) {
      entry.resolved = res.ast;
    } else {
      entry.broken = true;
      if (res.error) {
        const w = where(entry.info.condCtx, res.error.span.start);
        sink.error('LOAD_ERR_VALIDATE', res.error.message, w.ctx, w.position);
      }
    }
  }

  // Macro bodies are substituted as the same object into every condition using them: rules that
  // share one evaluate it once per event.
  const shared = new SharedSubexpressions(
    new Set([...macros.values()].flatMap((m) => (m.resolved ? [m.resolved] : []))),
  );

  const rules: CompiledRule[] = [];
  let ordinal = 0;
  for (const info of collector.rules.values()) {
    const index = ordinal++;
    if (info.unknownSource) continue;
    try {
      const rule = compileRule(info, index);
      if (rule) rules.push(rule);
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      sink.fromLoadError(e);
    }
  }

  function compileRule(info: RuleInfo, index: number): CompiledRule | undefined {
    const provider = options.providers[info.source];
    if (!provider) return undefined;
    let cond = cache.ruleConds.get(info);
    if (!cond || cond.revision !== info.revision) {
      cond = { revision: info.revision, cond: appendExceptions(info.cond, info.exceptions) };
      cache.ruleConds.set(info, cond);
    }
    const condition = cond.cond;

    // Output: extra formats, the deprecated %container.info, then validation.
    let output = info.output;
    for (const extra of options.extraOutput) {
      if (ruleMatchesExtra(info, extra)) output = MappedText.concat([output, ' ', extra.format]);
    }
    if (output.text.includes(CONTAINER_INFO)) {
      sink.warn('LOAD_DEPRECATED_ITEM', CONTAINER_INFO_WARNING, info.ctx);
      let i = output.text.indexOf(CONTAINER_INFO);
      while (i >= 0) {
        output = output.replace(i, i + CONTAINER_INFO.length, '', i);
        i = output.text.indexOf(CONTAINER_INFO, i);
      }
    }
    let outputs = cache.outputs.get(provider);
    if (!outputs) {
      outputs = new Map();
      cache.outputs.set(provider, outputs);
    }
    let compiledOutput = outputs.get(output.text);
    if (!compiledOutput) {
      compiledOutput = compileOutput(output.text, provider);
      outputs.set(output.text, compiledOutput);
    }
    if (!compiledOutput.ok) {
      const first = compiledOutput.errors[0];
      const message = first?.message ?? 'invalid output format';
      const position = first ? output.locate(first.offset) : undefined;
      if (info.skipIfUnknownFilter && (first?.unknownField || isUnknownFieldError(message))) {
        sink.warn('LOAD_UNKNOWN_FILTER', message, info.outputCtx, position);
        return undefined;
      }
      sink.error('LOAD_ERR_COMPILE_OUTPUT', message, info.outputCtx, position);
      return undefined;
    }
    for (const d of DEPRECATED_FIELDS) {
      if (output.text.includes(d.name)) {
        sink.warn(
          'LOAD_DEPRECATED_ITEM',
          `usage of deprecated field '${d.name}' has been detected in the rule output`,
          info.outputCtx,
          output.locate(output.text.indexOf(d.name)),
        );
      }
    }

    // Condition.
    const owner: SpanOwner = { kind: 'rule', name: info.name, ctx: info.ctx, condCtx: info.condCtx };
    const parsed = parse(condition, owner);
    if (!parsed) return undefined;
    const resolved = resolve(parsed, (name) => macros.get(name));
    if (!resolved.ok) {
      if (resolved.error) {
        const w = where(info.condCtx, resolved.error.span.start);
        sink.error('LOAD_ERR_VALIDATE', resolved.error.message, w.ctx, w.position);
      }
      return undefined;
    }
    const ast = resolved.ast;
    let c = cache.compiled.get(ast);
    const legacyListOperators = collector.legacyEngineFiles.has(info.firstFile);
    if (
      !c ||
      c.provider !== provider ||
      c.skipUnknownFilter !== info.skipIfUnknownFilter ||
      c.legacyListOperators !== legacyListOperators
    ) {
      const result = compileCondition(ast, provider, {
        skipUnknownFilter: info.skipIfUnknownFilter,
        legacyListOperators,
        shared,
      });
      c = {
        provider,
        skipUnknownFilter: info.skipIfUnknownFilter,
        legacyListOperators,
        result,
        warnings: conditionWarnings(ast),
        eventTypes: result.ok && info.source === 'syscall' ? eventTypesOf(ast) : null,
        printed: result.ok ? printExpr(ast) : '',
      };
      cache.compiled.set(ast, c);
    }
    for (const w of c.warnings) {
      const at = where(info.condCtx, w.span.start);
      sink.warn(w.code, w.message, at.ctx, at.position);
    }
    const compiled = c.result;
    if (!compiled.ok) {
      const first = compiled.errors[0];
      const message = first?.message ?? 'invalid condition';
      const at = first ? where(info.condCtx, first.span.start) : { ctx: info.condCtx };
      if (info.skipIfUnknownFilter && (compiled.unknownField || isUnknownFieldError(message))) {
        sink.warn('LOAD_UNKNOWN_FILTER', message, at.ctx, at.position);
        return undefined;
      }
      sink.error('LOAD_ERR_COMPILE_CONDITION', message, at.ctx, at.position);
      return undefined;
    }
    for (const w of compiled.warnings) {
      const at = where(info.condCtx, w.span.start);
      sink.warn('LOAD_COMPILE_CONDITION', w.message, at.ctx, at.position);
    }

    const eventTypes = c.eventTypes;
    if (info.source === 'syscall') {
      const tooMany = eventTypes === null || eventTypes.size > MAX_EVTTYPES;
      if (tooMany && info.warnEvttypes && !isStaticallyFalse(ast)) {
        sink.warn('LOAD_NO_EVTTYPE', NO_EVTTYPE_WARNING, info.ctx);
      }
    }

    const exceptionFields = new Set<string>();
    for (const ex of info.exceptions) {
      if (ex.fields.isList) for (const f of ex.fields.items) exceptionFields.add(f.item);
      else if (ex.fields.item) exceptionFields.add(ex.fields.item);
    }

    const rule: CompiledRule = {
      name: info.name,
      desc: info.desc,
      condition: info.cond.text,
      output: output.text,
      priority: info.priority,
      source: info.source,
      enabled: info.enabled,
      tags: [...info.tags],
      capture: info.capture,
      captureDuration: info.captureDuration,
      warnEvttypes: info.warnEvttypes,
      skipIfUnknownFilter: info.skipIfUnknownFilter,
      ast,
      compiledCondition: c.printed,
      eventTypes: eventTypes === null ? null : new Set(eventTypes),
      filter: compiled.filter as (event: never) => boolean,
      file: info.firstFile,
      index,
      exceptionFields: [...exceptionFields].sort(),
    };
    if (info.firstPosition) rule.position = info.firstPosition;
    return rule;
  }

  const ok = sink.errorReports === errorsBefore;
  if (ok) {
    for (const m of macros.values()) {
      if (!m.used)
        sink.warn('LOAD_UNUSED_MACRO', 'Macro not referred to by any other rule/macro', m.info.ctx);
    }
    for (const l of lists.values()) {
      if (!l.used) sink.warn('LOAD_UNUSED_LIST', 'List not referred to by any other rule/macro', l.info.ctx);
    }
  }

  return {
    rules,
    lists: new Map([...lists.values()].map((l: CompiledList) => [l.name, l.items])),
    macros: new Map([...macros.values()].map((m) => [m.name, { condition: m.info.cond.text, used: m.used }])),
    ok,
  };
}
