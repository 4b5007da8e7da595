/**
 * Fields are data: one registry describes every field a condition or output may use.
 * The compiler, `vigil rules list-fields`, generated docs and (later) the dashboard read it.
 */

/** libsinsp field types (names as in Falco's field reference). */
export type FieldType =
  | 'CHARBUF'
  | 'BOOL'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'RELTIME'
  | 'ABSTIME'
  | 'PORT'
  | 'IPADDR'
  | 'IPNET'
  | 'DOUBLE'
  | 'BYTEBUF'
  | 'FSPATH'
  | 'FSRELPATH'
  | 'DYNAMIC';

export type EventSource = 'syscall' | 'k8s_audit';

/** How a field takes a bracket argument. */
export type FieldArgKind =
  | 'none'
  /** `proc.aname[2]`: a non-negative integer, optional. */
  | 'index'
  /** `proc.env[HOME]`, `jevt.value[/a/b]`: a key, optional. */
  | 'key'
  /** a key that must be given (`ka.uri.param[x]`). */
  | 'key-required'
  /** `evt.arg[0]` or `evt.arg.name` / `evt.arg[name]` */
  | 'index-or-key';

export interface FieldDef {
  name: string;
  type: FieldType;
  desc: string;
  source: EventSource;
  arg: FieldArgKind;
  /** List-valued (several values per event): `in` means all, `intersects` means any. */
  isList: boolean;
  /** Field may be used in outputs but not in conditions (rare). */
  outputOnly?: boolean;
  /** Field kept for compatibility, Falco warns on use. */
  deprecated?: boolean;
  /** Condition-only field (libsinsp EPF_FILTER_ONLY: `fd.ip`, `fd.net`, `fd.port`, ...): Falco rejects it in outputs. */
  filterOnly?: boolean;
  /**
   * The argument may also be written after a dot (`evt.arg.flags`, `container.label.app`,
   * `thread.cgroup.cpuacct`); `lookup()` resolves those names to this field with `argFromName`.
   */
  dottedArg?: boolean;
  /**
   * libsinsp compares this (not list-valued) field with its own logic over several candidate values;
   * the extractor then returns an array:
   * - `'ancestors'` (`proc.aname`, `proc.apid`, `proc.aexe`, `proc.aexepath`, `proc.acmdline`,
   *   `proc.aargs`, `proc.aenv`), only when no argument is given: `[own value, parent's, grandparent's, ...]`.
   *   A comparison (any operator, `!=` included) holds when it holds for at least one element after the
   *   first (an ancestor): `proc.aname = bash` means "some ancestor is bash". `exists` holds when there is
   *   an ancestor. Outputs and transformers use the first element (the process itself), as libsinsp does.
   * - `'either-end'` (`fd.ip`, `fd.net`, `fd.port`, `fd.proto`): `[client value, server value]`, or one
   *   element for a listening socket. `=`, `in`, `<`, `<=`, `>`, `>=` hold when one end matches; `!=` holds
   *   only when no end equals the value.
   */
  multiValue?: 'ancestors' | 'either-end';
  /**
   * Output text format when not plain decimal: `'hex'` (uppercase hex without prefix, also a JSON string:
   * `fd.dev`), `'padded'` (zero-padded to 9 digits in text, a JSON number: `evt.rawtime.ns`).
   */
  printFormat?: 'hex' | 'padded';
  /**
   * In Falco's JSON `output_fields` this field is given as the value of another field (the time strings
   * `evt.time`, `evt.datetime`, ... appear as the `evt.rawtime` number).
   */
  jsonAlias?: string;
}

/**
 * A value extracted from an event. `undefined` means "not available" (Falco's NULL/<NA>):
 * every comparison operator is then false.
 * Numbers are JS numbers; 64-bit values that do not fit are bigint. Byte buffers are Uint8Array.
 * IP addresses are strings in canonical text form. List-valued fields give arrays.
 */
export type Scalar = string | number | bigint | boolean | Uint8Array;
export type FieldValue = Scalar | Scalar[] | undefined;

/** Extractor for one field: `arg` is the parsed bracket argument, if any. */
export type Extractor<E> = (event: E, arg: string | undefined) => FieldValue;

export interface FieldProvider<E> {
  source: EventSource;
  /** Look a field up by exact name; also resolves dotted-argument forms like `evt.arg.flags`. */
  lookup(name: string): { def: FieldDef; argFromName?: string } | undefined;
  /** The extractor, bound once at compile time. */
  extractor(def: FieldDef): Extractor<E>;
  all(): readonly FieldDef[];
}
