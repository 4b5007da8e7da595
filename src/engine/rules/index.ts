/**
 * Rules-file loader of the Falco-compatible engine: read → collect → expand → compile.
 *
 * `loadRules` takes rules files as text and returns compiled rules with every diagnostic (Falco's
 * codes, messages, `file:line:col` and item chain). It never throws on user mistakes.
 */
export { loadRules } from './loader.js';
export type {
  LoadedRule,
  LoadOptions,
  LoadResult,
  RequiredPluginVersionInfo,
  RuleFilter,
  RulesFile,
} from './loader.js';
export type { ExtraOutput } from './compiler.js';
export { PRIORITIES, parsePriority, priorityLabel, priorityRank } from './priority.js';
export type { Priority } from './priority.js';
