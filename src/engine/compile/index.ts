/**
 * The condition compiler: a resolved condition AST becomes one closure `(event) => boolean` with
 * Falco's operator semantics (`compileCondition`); a field or transformer becomes a getter for
 * outputs and `val()` (`compileValue`); `eventTypesOf` tells which event types a condition can
 * match, for the engine's per-type rule index.
 */
export { compileCondition, SharedSubexpressions } from './compile-condition.js';
export type { CompileIssue, CompileOptions, CompileResult, CompiledFilter } from './compile-condition.js';
export { compileValue } from './compile-value.js';
export type { CompileValueResult } from './compile-value.js';
export { eventTypesOf } from './event-types.js';
export { EventTypeSpecializer, foldEventTypeCheck, repeatedNodes } from './specialize.js';
export { invalidateFieldMemo } from './memo.js';
export { compileGlob, globMatch } from './glob.js';
export { PathPrefixSearch } from './pmatch.js';
