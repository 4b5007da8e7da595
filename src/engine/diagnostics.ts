/**
 * Diagnostics: every problem found while loading rules is a value, never an exception.
 * Codes are Falco's (falco_load_result.h) so users can search for them.
 */

export const ERROR_CODES = [
  'LOAD_ERR_FILE_READ',
  'LOAD_ERR_YAML_PARSE',
  'LOAD_ERR_YAML_VALIDATE',
  'LOAD_ERR_COMPILE_CONDITION',
  'LOAD_ERR_COMPILE_OUTPUT',
  'LOAD_ERR_VALIDATE',
  'LOAD_ERR_EXTENSION',
] as const;

export const WARNING_CODES = [
  'LOAD_UNKNOWN_SOURCE',
  'LOAD_UNSAFE_NA_CHECK',
  'LOAD_NO_EVTTYPE',
  'LOAD_UNKNOWN_FILTER',
  'LOAD_UNUSED_MACRO',
  'LOAD_UNUSED_LIST',
  'LOAD_UNKNOWN_ITEM',
  'LOAD_DEPRECATED_ITEM',
  'LOAD_WARNING_EXTENSION',
  'LOAD_APPEND_NO_VALUES',
  'LOAD_EXCEPTION_NAME_NOT_UNIQUE',
  'LOAD_INVALID_MACRO_NAME',
  'LOAD_INVALID_LIST_NAME',
  'LOAD_COMPILE_CONDITION',
  'LOAD_UNKNOWN_KEY',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
export type WarningCode = (typeof WARNING_CODES)[number];
export type DiagnosticCode = ErrorCode | WarningCode;

/** A position in a rules file (1-based line and column, 0-based offset). */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
  offset: number;
}

/** One link in the chain that leads from a file down to the failing piece (Falco's "context"). */
export interface ContextItem {
  /** 'file' | 'rule' | 'macro' | 'list' | 'exception' | 'condition' | 'output' | 'required_engine_version' | ... */
  kind: string;
  name: string;
  position?: SourcePosition;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  code: DiagnosticCode;
  message: string;
  /** Where the problem is, as precisely as known (inside a condition when the parser knows the column). */
  position?: SourcePosition;
  /** Item chain: file → rule → condition … */
  context: ContextItem[];
  /** Kind and name of the top-level item concerned (Falco's item_type / item_name in JSON output). */
  itemType?: string;
  itemName?: string;
}

export function isErrorCode(code: DiagnosticCode): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/** `file:line:col` for humans; `file` alone when no line is known. */
export function formatPosition(p: SourcePosition | undefined): string {
  if (!p) return '';
  return `${p.file}:${p.line}:${p.col}`;
}
