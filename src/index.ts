/**
 * Vigil's public library entry: the Falco-compatible rule engine.
 *
 * ```ts
 * import { loadRules, createEngine } from 'vigil';
 * const loaded = loadRules([{ name: 'rules.yaml', content }]);
 * const engine = createEngine(loaded, { ruleMatching: 'all' });
 * for (const alert of engine.process(event)) console.log(alert.output);
 * ```
 */
export { loadRules, parsePriority, priorityRank } from './engine/rules/index.js';
export type { LoadedRule, LoadOptions, LoadResult, Priority, RulesFile } from './engine/rules/index.js';
export { createEngine, Engine } from './engine/engine.js';
export type { Alert, EngineOptions, RuleMatching, RuleSelector } from './engine/engine.js';
export { parseCondition, printExpr } from './engine/condition/index.js';
export type { Expr } from './engine/condition/ast.js';
export { formatAlertJson, formatAlertText, toFalcoJson } from './engine/output/alert-format.js';
export type { Diagnostic, DiagnosticCode, SourcePosition } from './engine/diagnostics.js';
export type {
  ContainerInfo,
  FdInfo,
  K8sAuditEvent,
  SyscallEvent,
  ThreadInfo,
  VigilEvent,
} from './engine/event.js';
export type { FieldDef, FieldValue } from './engine/fields/types.js';
export { ENGINE_VERSION } from './engine/version.js';
