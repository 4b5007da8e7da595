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
