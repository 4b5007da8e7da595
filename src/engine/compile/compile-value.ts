/**
 * Compiles one operand (a field, `proc.aname[2]`, `evt.arg.flags`, or a transformer chain such as
 * `tolower(basename(fd.name))`) into a getter `(event) => FieldValue` plus its type.
 *
 * Used for the left-hand side of checks, for `val(...)` / transformer right-hand sides, for
 * transformer arguments, and (through `compileValue`) for `%field` tokens in rule outputs. Field
 * and transformer getters are memoised per event and shared per provider (see `memo.ts`).
 */
import type {
  FieldExpr,
  FieldOrTransformer,
  Span,
  TransformerArg,
  TransformerExpr,
} from '../condition/ast.js';
import { printOperand } from '../condition/print.js';
import type { FieldDef, FieldProvider, FieldType, FieldValue, Scalar } from '../fields/types.js';
import { sharedGetter } from './memo.js';
import { scalarToString } from './operators.js';
import {
  isSingleValueTransformer,
  parseOptstring,
  runGetopt,
  transformType,
  valueTransform,
} from './transformers.js';

/** A compile problem, located in the condition text. */
export interface CompileIssue {
  message: string;
  span: Span;
}

/** A compiled operand. */
export interface Operand<E> {
  get: (event: E) => FieldValue;
  type: FieldType;
  isList: boolean;
  /** The field itself; for a transformer chain over one field, that field. */
  def: FieldDef | undefined;
  /** True for a plain field (no transformer). */
  isField: boolean;
  /** Name libsinsp uses in messages (`fd.name`, or the transformer text). */
  name: string;
  /** Can take part in a field-to-field comparison (libsinsp: no EPF_NO_RHS flag). */
  rhsSupported: boolean;
  /** A literal (transformer arguments only). */
  isConst: boolean;
  /**
   * libsinsp's multi-candidate fields (FieldDef.multiValue) used without an argument: `get` returns
   * `[self, parent, ...]` (`'ancestors'`) or `[client, server]` (`'either-end'`), and checks apply
   * their own rules (see compile-condition.ts).
   */
  multiValue?: 'ancestors' | 'either-end';
}

/** An operand, or why it does not compile. */
export type OperandResult<E> =
  { ok: true; operand: Operand<E> } | { ok: false; errors: CompileIssue[]; unknownField?: boolean };

/**
 * Fields that libsinsp implements with custom comparison logic and flags EPF_NO_RHS: they can be
 * neither compared with `val(...)` nor used inside it.
 */
const NO_RHS_FIELDS: ReadonlySet<string> = new Set([
  'fd.ip',
  'fd.net',
  'fd.cnet',
  'fd.snet',
  'fd.lnet',
  'fd.rnet',
  'evt.rawarg',
  'evt.around',
  'fd.port',
  'fd.proto',
  'proc.apid',
  'proc.aname',
  'proc.aexe',
  'proc.aexepath',
  'proc.acmdline',
  'proc.aenv',
  'fd.cip.name',
  'fd.sip.name',
  'fd.lip.name',
  'fd.rip.name',
]);

/** Fields flagged EPF_NO_TRANSFORMER (their type is only known per event). */
const NO_TRANSFORMER_FIELDS: ReadonlySet<string> = new Set(['evt.rawarg']);

function fail<E>(message: string, span: Span, unknownField = false): OperandResult<E> {
  return unknownField
    ? { ok: false, errors: [{ message, span }], unknownField }
    : { ok: false, errors: [{ message, span }] };
}

function fieldText(name: string, arg: string | undefined): string {
  return arg === undefined ? name : `${name}[${arg}]`;
}

/** Compiles a field reference (`proc.name`, `proc.aname[2]`, `evt.arg.flags`). */
export function compileField<E>(
  node: FieldExpr,
  provider: FieldProvider<E>,
  inCondition = true,
): OperandResult<E> {
  const found = provider.lookup(node.name);
  if (!found) {
    return fail(
      `filter_check called with nonexistent field ${fieldText(node.name, node.arg)}`,
      node.span,
      true,
    );
  }
  const { def } = found;
  if (node.arg !== undefined && found.argFromName !== undefined) {
    return fail(`filter error: can't parse field expression '${fieldText(node.name, node.arg)}'`, node.span);
  }
  const arg = node.arg ?? found.argFromName;
  switch (def.arg) {
    case 'none':
      // libsinsp's field lookup needs the whole text to be consumed: `proc.name[1]` is unknown
      if (arg !== undefined) {
        return fail(
          `filter_check called with nonexistent field ${fieldText(node.name, arg)}`,
          node.span,
          true,
        );
      }
      break;
    case 'key-required':
      if (arg === undefined || arg === '') {
        return fail(`filter error: field '${def.name}' requires an argument`, node.span);
      }
      break;
    case 'index':
      if (arg !== undefined && !/^[0-9]+$/.test(arg)) {
        return fail(`filter error: field '${def.name}' expects a numeric argument, got '${arg}'`, node.span);
      }
      break;
    case 'key':
    case 'index-or-key':
      break;
  }
  if (def.outputOnly && inCondition) {
    return fail(`filter error: field '${def.name}' can only be used in outputs`, node.span);
  }
  const key = `f:${fieldText(def.name, arg)}`;
  const get = sharedGetter<E>(provider, key, () => {
    const extract = provider.extractor(def);
    // without an argument the extractor is called as is (one call less on the hot path)
    return arg === undefined ? (extract as (e: E) => FieldValue) : (e: E) => extract(e, arg);
  });
  return {
    ok: true,
    operand: {
      get,
      type: def.type,
      isList: def.isList,
      def,
      isField: true,
      name: fieldText(def.name, arg),
      rhsSupported: !NO_RHS_FIELDS.has(def.name) && def.type !== 'IPNET' && def.multiValue === undefined,
      isConst: false,
      ...(def.multiValue !== undefined && arg === undefined ? { multiValue: def.multiValue } : {}),
    },
  };
}

const constOperand = <E>(value: string): Operand<E> => ({
  get: () => value,
  type: 'CHARBUF',
  isList: false,
  def: undefined,
  isField: false,
  name: value,
  rhsSupported: false,
  isConst: true,
});

/** Text of one extracted value inside a transformer list (`join(",", (evt.num, fd.name))`). */
function pushText(out: string[], v: Scalar | Scalar[]): void {
  if (Array.isArray(v)) for (const x of v) out.push(scalarToString(x));
  else out.push(scalarToString(v));
}

function compileTransformerArg<E>(
  arg: TransformerArg,
  provider: FieldProvider<E>,
  inCondition: boolean,
): OperandResult<E> {
  switch (arg.kind) {
    case 'field':
      return compileField(arg, provider, inCondition);
    case 'transformer':
      return compileTransformer(arg, provider, inCondition);
    case 'value':
      return { ok: true, operand: constOperand<E>(arg.value) };
    case 'list': {
      const items: Operand<E>[] = [];
      for (const item of arg.values) {
        const r =
          item.kind === 'value'
            ? { ok: true as const, operand: constOperand<E>(item.value) }
            : compileTransformerArg(item, provider, inCondition);
        if (!r.ok) return r;
        items.push(
          r.operand.multiValue === undefined ? r.operand : { ...r.operand, get: firstValue(r.operand.get) },
        );
      }
      const get = (e: E): FieldValue => {
        const out: string[] = [];
        for (const it of items) {
          const v = it.get(e);
          if (v === undefined) return undefined;
          pushText(out, v);
        }
        return out;
      };
      return {
        ok: true,
        operand: {
          get,
          type: 'CHARBUF',
          isList: true,
          def: undefined,
          isField: false,
          name: printOperand(arg),
          rhsSupported: false,
          isConst: items.every((i) => i.isConst),
        },
      };
    }
  }
}

function transformerOperand<E>(
  node: TransformerExpr,
  provider: FieldProvider<E>,
  make: () => (e: E) => FieldValue,
  type: FieldType,
  isList: boolean,
  def: FieldDef | undefined,
  rhsSupported: boolean,
): Operand<E> {
  const text = printOperand(node);
  return {
    get: sharedGetter<E>(provider, `t:${text}`, make),
    type,
    isList,
    def,
    isField: false,
    name: text,
    rhsSupported,
    isConst: false,
  };
}

/** The process's own value of an `ancestors` field, the client value of an `either-end` one. */
function firstValue<E>(get: (e: E) => FieldValue): (e: E) => FieldValue {
  return (e) => {
    const v = get(e);
    return Array.isArray(v) ? v[0] : v;
  };
}

/** Compiles a transformer expression and its arguments. */
export function compileTransformer<E>(
  node: TransformerExpr,
  provider: FieldProvider<E>,
  inCondition = true,
): OperandResult<E> {
  const name = node.name;
  if (isSingleValueTransformer(name)) {
    if (node.arg !== undefined) {
      return fail(`filter error: transformer '${name}' does not support field arguments`, node.span);
    }
    const only = node.args[0];
    if (node.args.length !== 1 || only === undefined) {
      return fail(`filter error: transformer '${name}' requires exactly 1 argument`, node.span);
    }
    if (only.kind === 'list') {
      return fail(`filter error: transformer '${name}' does not accept a list argument`, only.span);
    }
    const inner = compileTransformerArg(only, provider, inCondition);
    if (!inner.ok) return inner;
    const src = inner.operand;
    if (src.isField && src.def && (NO_TRANSFORMER_FIELDS.has(src.def.name) || src.def.type === 'DYNAMIC')) {
      return fail(`field '${src.def.name}' does not support transformers`, node.span);
    }
    const out = transformType(name, src.type, src.isList);
    if (!out) {
      return fail(
        `can't add field transformer: type '${src.type}' is not supported by '${name}' transformer applied on ${src.isList ? 'list ' : ''}field '${src.name}'`,
        node.span,
      );
    }
    const fn = valueTransform(name, out.type);
    const srcGet = src.multiValue === undefined ? src.get : firstValue(src.get);
    const countList = name === 'len' && src.isList;
    const make = (): ((e: E) => FieldValue) => {
      if (countList) {
        return (e) => {
          const v = srcGet(e);
          if (v === undefined) return undefined;
          return Array.isArray(v) ? v.length : 1;
        };
      }
      return (e) => {
        const v = srcGet(e);
        if (v === undefined) return undefined;
        if (Array.isArray(v)) {
          const res: Scalar[] = [];
          for (const x of v) {
            const t = fn(x);
            if (t === undefined) return undefined;
            res.push(t);
          }
          return res;
        }
        return fn(v);
      };
    };
    return {
      ok: true,
      operand: transformerOperand(node, provider, make, out.type, out.isList, src.def, src.rhsSupported),
    };
  }

  // multi-value transformers
  const args: Operand<E>[] = [];
  for (const a of node.args) {
    const r = compileTransformerArg(a, provider, inCondition);
    if (!r.ok) return r;
    const o = r.operand;
    args.push(o.multiValue === undefined ? o : { ...o, get: firstValue(o.get) });
  }
  switch (name) {
    case 'join': {
      if (node.arg !== undefined)
        return fail(`filter error: transformer 'join' does not support field arguments`, node.span);
      const [sep, list] = args;
      if (args.length !== 2 || !sep || !list)
        return fail('join() requires exactly 2 arguments: separator and list', node.span);
      if (sep.isList)
        return fail('join() first argument (separator) must be a single value, not a list', node.span);
      if (!list.isList) return fail('join() second argument must be a list', node.span);
      const make = (): ((e: E) => FieldValue) => (e) => {
        const s = sep.get(e);
        const l = list.get(e);
        if (s === undefined || l === undefined) return undefined;
        const parts: string[] = [];
        pushText(parts, l);
        return parts.join(Array.isArray(s) ? scalarToString(s[0] ?? '') : scalarToString(s));
      };
      return {
        ok: true,
        operand: transformerOperand(node, provider, make, 'CHARBUF', false, undefined, true),
      };
    }
    case 'concat': {
      if (node.arg !== undefined)
        return fail(`filter error: transformer 'concat' does not support field arguments`, node.span);
      if (args.length < 2) return fail('concat() requires at least 2 arguments', node.span);
      if (args.some((a) => a.type !== 'CHARBUF' || a.isList))
        return fail('concat() arguments must be strings', node.span);
      const make = (): ((e: E) => FieldValue) => (e) => {
        let out = '';
        for (const a of args) {
          const v = a.get(e);
          if (v === undefined) return undefined;
          out += Array.isArray(v) ? scalarToString(v[0] ?? '') : scalarToString(v);
        }
        return out;
      };
      return {
        ok: true,
        operand: transformerOperand(node, provider, make, 'CHARBUF', false, undefined, true),
      };
    }
    case 'getopt': {
      const [argv, opts] = args;
      if (args.length !== 2 || !argv || !opts)
        return fail('getopt() requires exactly 2 arguments: args list and optstring', node.span);
      if (!argv.isList) return fail('getopt() first argument must be a list', node.span);
      if (opts.isList) return fail('getopt() second argument (optstring) must be a single value', node.span);
      if (argv.type !== 'CHARBUF' || opts.type !== 'CHARBUF')
        return fail('getopt() arguments must be strings', node.span);
      const selector = node.arg;
      if (selector !== undefined && selector.length !== 1) {
        return fail('getopt() field argument must be a single option character', node.span);
      }
      // a literal optstring is decoded once
      const constInfo = opts.isConst
        ? parseOptstring(scalarToString(opts.get(undefined as E) as Scalar))
        : undefined;
      const make = (): ((e: E) => FieldValue) => (e) => {
        let info = constInfo;
        if (!info) {
          const o = opts.get(e);
          if (o === undefined) return undefined;
          info = parseOptstring(Array.isArray(o) ? scalarToString(o[0] ?? '') : scalarToString(o));
        }
        const a = argv.get(e);
        if (a === undefined) return undefined;
        const list = Array.isArray(a) ? a.map(scalarToString) : [scalarToString(a)];
        return runGetopt(list, info, selector);
      };
      return {
        ok: true,
        operand: transformerOperand(node, provider, make, 'CHARBUF', selector === undefined, undefined, true),
      };
    }
    default:
      return fail(`filter error: unknown transformer '${name}'`, node.span);
  }
}

/** Compiles a field or transformer operand. */
export function compileOperand<E>(
  node: FieldOrTransformer,
  provider: FieldProvider<E>,
  inCondition = true,
): OperandResult<E> {
  return node.kind === 'field'
    ? compileField(node, provider, inCondition)
    : compileTransformer(node, provider, inCondition);
}

/** Result of `compileValue`. */
export type CompileValueResult<E> =
  | { ok: true; get: (event: E) => FieldValue; def: FieldDef | undefined; type: FieldType; isList: boolean }
  | { ok: false; errors: CompileIssue[]; unknownField?: boolean };

/**
 * Compiles one field or transformer to a getter, for outputs (`%proc.name`,
 * `%tolower(proc.name)`) and field-to-field comparisons. The getter returns `undefined` when the
 * value is missing (`<NA>` in outputs).
 */
export function compileValue<E>(node: FieldOrTransformer, provider: FieldProvider<E>): CompileValueResult<E> {
  const r = compileOperand(node, provider, false);
  if (!r.ok) return r;
  const o = r.operand;
  if (node.kind === 'field' && o.def?.filterOnly) {
    return {
      ok: false,
      errors: [
        { message: `${o.name} is filter only and cannot be used as a display field`, span: node.span },
      ],
    };
  }
  // outputs show the process's own value of an `ancestors` field, as libsinsp does
  const get = o.multiValue === undefined ? o.get : firstValue(o.get);
  return { ok: true, get, def: o.def, type: o.type, isList: o.isList };
}
