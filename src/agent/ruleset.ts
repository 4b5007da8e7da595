/**
 * Loading a rule set for a running engine: read the files (a directory loads its YAML files in name
 * order), load them, apply the run's selection (priority floor, disabled rules and tags, only-tags)
 * and build the engine. Errors are returned, never thrown, so a caller that already runs a rule set
 * (hot reload) can keep it and report why the new one was refused.
 */
import { createEngine, type Engine, type RuleMatching } from '../engine/engine.js';
import type { Diagnostic } from '../engine/diagnostics.js';
import { loadRules, parsePriority, type Priority } from '../engine/rules/index.js';
import { readRulesFiles } from '../app/rules-files.js';
import { formatDiagnostic } from '../app/validate-report.js';

/** Which rules of the files run, and how. */
export interface RuleSelection {
  ruleMatching?: RuleMatching;
  /** Falco priority name (any case): rules below it do not run. */
  minPriority?: string;
  disableRules?: string[];
  disableTags?: string[];
  /** Only rules with one of these tags run (Falco's `-t`). Exclusive with the disable options. */
  onlyTags?: string[];
  hostname?: string;
}

/** A loaded rule set, or why it could not be loaded. */
export type RuleSetResult =
  | { ok: true; engine: Engine; diagnostics: Diagnostic[]; files: string[]; warnings: number }
  | {
      ok: false;
      /** `usage`: the selection itself is wrong (exit code 2); `rules`: the files are (exit code 1). */
      kind: 'usage' | 'rules';
      message: string;
      /** Each error, formatted with its file:line:col, code and the offending line. */
      details: string[];
      diagnostics: Diagnostic[];
    };

/** Reads, loads and compiles the rules files with the selection applied. */
export function loadRuleSet(paths: readonly string[], sel: RuleSelection = {}): RuleSetResult {
  const disabling = (sel.disableRules?.length ?? 0) + (sel.disableTags?.length ?? 0) > 0;
  if (disabling && (sel.onlyTags?.length ?? 0) > 0) {
    // Falco refuses the combination: which rules run would depend on the order of the options.
    return usage('You can not specify both disabled (-D/-T) and enabled (-t) rules');
  }
  let minPriority: Priority | undefined;
  if (sel.minPriority !== undefined) {
    minPriority = parsePriority(sel.minPriority);
    if (!minPriority) {
      return usage(
        `unknown priority '${sel.minPriority}' (use emergency, alert, critical, error, warning, notice, informational or debug)`,
      );
    }
  }
  const read = readRulesFiles(paths);
  const loaded = loadRules(read.files);
  const diagnostics = [...read.diagnostics, ...loaded.diagnostics];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const contents = new Map(read.files.map((f) => [f.name, f.content]));
    return {
      ok: false,
      kind: 'rules',
      message: `rules could not be loaded (${errors.length} error${errors.length > 1 ? 's' : ''})`,
      details: errors.map((d) => formatDiagnostic(d, contents)),
      diagnostics,
    };
  }
  const engine = createEngine(loaded, {
    ruleMatching: sel.ruleMatching ?? 'first',
    ...(minPriority ? { minPriority } : {}),
    disable: { names: sel.disableRules ?? [], tags: sel.disableTags ?? [] },
    ...(sel.onlyTags && sel.onlyTags.length ? { onlyTags: sel.onlyTags } : {}),
    hostname: sel.hostname ?? '',
  });
  return {
    ok: true,
    engine,
    diagnostics,
    files: read.files.map((f) => f.name),
    warnings: diagnostics.length - errors.length,
  };

  function usage(message: string): RuleSetResult {
    return { ok: false, kind: 'usage', message, details: [], diagnostics: [] };
  }
}

/** One rule as the hub's `GET /v1/rules` and `vigil rules` report it. */
export interface RuleInfo {
  name: string;
  source: string;
  priority: Priority;
  enabled: boolean;
  tags: string[];
  /** Alerts raised since the rule set was loaded. */
  hits: number;
}

/** Every rule of the engine's files, with whether it runs and its hit count. */
export function ruleInfos(engine: Engine): RuleInfo[] {
  const active = new Set(engine.activeRules.map((r) => r.name));
  return engine.loaded.rules.map((r) => ({
    name: r.name,
    source: r.source,
    priority: r.priority,
    enabled: active.has(r.name),
    tags: r.tags,
    hits: engine.hits.get(r.name) ?? 0,
  }));
}
