/**
 * `loadRules`: rules files → loaded rules and diagnostics (Falco's `falco_engine::load_rules`, called
 * once per file by Falco's `load_rules_files`).
 *
 * Files load in order into one namespace. Each file is parsed as YAML, checked against the advisory
 * schema, read into the shared collector, and, when it was read without error, everything collected
 * so far is compiled, as Falco does after each file. Diagnostics of these successive compilations
 * are merged without repeats; the rules returned are those of the last compilation. Unlike Falco,
 * a failing file does not stop the load: later files are still read, so one run reports every
 * problem. Never throws on user mistakes.
 */
import { parseCondition } from '../condition/index.js';
import { compileValue } from '../compile/index.js';
import type { Diagnostic, SourcePosition } from '../diagnostics.js';
import type { Expr } from '../condition/ast.js';
import { k8sAuditFields, syscallFields } from '../fields/index.js';
import type { FieldProvider } from '../fields/types.js';
import { BUILTIN_PLUGIN_VERSIONS, ENGINE_VERSION } from '../version.js';
import { Collector } from './collector.js';
import {
  CompileCache,
  compileCollected,
  MAX_CONDITION_DEPTH,
  type CompileResult,
  type ExtraOutput,
} from './compiler.js';
import { DiagnosticSink, fileCtx } from './context.js';
import type { Priority } from './priority.js';
import { RulesFileReader } from './reader.js';
import { validateRulesSchema } from './schema.js';
import { formatSemver } from './versions.js';
import { parseYamlFile } from './yaml-tree.js';

/** A rules file's name (used in diagnostics) and content; the app layer reads files. */
export interface RulesFile {
  name: string;
  content: string;
}

export interface LoadOptions {
  /** Field providers by event source; default: syscall and k8s_audit. Rules of other sources are skipped. */
  providers?: Partial<Record<string, FieldProvider<never>>>;
  /** Engine version `required_engine_version` is checked against; default ENGINE_VERSION. */
  engineVersion?: string;
  /** Plugins the engine provides, for `required_plugin_versions`; default BUILTIN_PLUGIN_VERSIONS. */
  pluginVersions?: Record<string, string>;
  /** Text appended to the output of matching rules (Falco's `append_output`). */
  extraOutput?: ExtraOutput[];
}

/** A rule's compiled condition, called with an event of the rule's source. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the event type depends on the rule's source
export type RuleFilter = (event: any) => boolean;

export interface LoadedRule {
  name: string;
  desc: string;
  /** Condition as written, after appends and replaces (before lists, macros and exceptions). */
  condition: string;
  /** Output after appends, extra outputs and the removal of `%container.info`. */
  output: string;
  priority: Priority;
  source: string;
  enabled: boolean;
  /** Sorted, unique. */
  tags: string[];
  capture: boolean;
  captureDuration?: number;
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  /**
   * Condition after list, macro and exception expansion. Its spans are offsets in the load's
   * shared span space (see span-space.ts), not in `condition`.
   */
  ast: Expr;
  /** `printExpr(ast)`: Falco's compiled-condition string. */
  compiledCondition: string;
  /** Event types the condition can match; null = every type (or not a syscall rule). */
  eventTypes: Set<string> | null;
  filter: RuleFilter;
  /** File and position of the rule's first definition. */
  file: string;
  position?: SourcePosition;
  /** Definition order (first definition). */
  index: number;
  /** Fields named by the rule's exceptions. */
  exceptionFields: string[];
}

export interface RequiredPluginVersionInfo {
  name: string;
  version: string;
  alternatives: { name: string; version: string }[];
}

export interface LoadResult {
  /** No errors. */
  ok: boolean;
  /** Every error and warning, in the order found. */
  diagnostics: Diagnostic[];
  /** Compiled rules in definition order, enabled or not (rules of unknown sources are left out). */
  rules: LoadedRule[];
  /** Lists with references to earlier lists expanded. */
  lists: Map<string, string[]>;
  macros: Map<string, { condition: string; used: boolean }>;
  /** The highest `required_engine_version` of the files. */
  requiredEngineVersion?: string;
  requiredPluginVersions: RequiredPluginVersionInfo[];
  /** Advisory schema check, per file. */
  schemaValidation: ('ok' | 'failed')[];
}

function defaultProviders(): Partial<Record<string, FieldProvider<never>>> {
  return { syscall: syscallFields, k8s_audit: k8sAuditFields };
}

/** Whether `field` is a field or transformer expression valid on the left of a check. */
function fieldChecker(providers: Partial<Record<string, FieldProvider<never>>>) {
  const cache = new Map<string, boolean>();
  return (source: string, field: string): boolean => {
    const key = `${source}\u0000${field}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const provider = providers[source];
    let ok = false;
    if (provider) {
      const parsed = parseCondition(`${field} exists`, { maxDepth: MAX_CONDITION_DEPTH });
      ok = parsed.ok && parsed.ast.kind === 'unary' && compileValue(parsed.ast.left, provider).ok;
    }
    cache.set(key, ok);
    return ok;
  };
}

/** Load rules files in order into one namespace. Never throws on user mistakes. */
export function loadRules(files: readonly RulesFile[], options: LoadOptions = {}): LoadResult {
  const sink = new DiagnosticSink();
  const providers = options.providers ?? defaultProviders();
  const collector = new Collector(
    {
      engineVersion: options.engineVersion ?? ENGINE_VERSION,
      pluginVersions: options.pluginVersions ?? BUILTIN_PLUGIN_VERSIONS,
      isKnownSource: (s) => providers[s] !== undefined,
      isFieldDefined: fieldChecker(providers),
    },
    sink,
  );
  const schemaValidation: ('ok' | 'failed')[] = [];
  const cache = new CompileCache();
  let compiled: CompileResult | undefined;

  for (const f of files) {
    const parsed = parseYamlFile(f.name, f.content);
    if (!parsed.ok) {
      sink.error('LOAD_ERR_YAML_PARSE', parsed.message, fileCtx(f.name), parsed.file.position(parsed.offset));
      schemaValidation.push('failed');
      continue;
    }
    schemaValidation.push(validateRulesSchema(parsed.docs) ? 'ok' : 'failed');
    const reader = new RulesFileReader(parsed.file, collector, sink);
    if (!reader.read(parsed.docs)) continue;
    compiled = compileCollected(
      collector,
      sink,
      {
        providers: providers as Partial<Record<string, FieldProvider<unknown>>>,
        extraOutput: options.extraOutput ?? [],
      },
      cache,
    );
  }

  const result: LoadResult = {
    ok: sink.errors === 0,
    diagnostics: sink.diagnostics,
    rules: (compiled?.rules ?? []).map((r) => r as LoadedRule),
    lists: compiled?.lists ?? new Map([...collector.lists.values()].map((l) => [l.name, [...l.items]])),
    macros:
      compiled?.macros ??
      new Map([...collector.macros.values()].map((m) => [m.name, { condition: m.cond.text, used: false }])),
    requiredPluginVersions: collector.requiredPluginVersions.map(({ alternatives }) => {
      const [first, ...rest] = alternatives;
      return { name: first?.name ?? '', version: first?.version ?? '', alternatives: rest };
    }),
    schemaValidation,
  };
  if (collector.requiredEngineVersion)
    result.requiredEngineVersion = formatSemver(collector.requiredEngineVersion);
  return result;
}
