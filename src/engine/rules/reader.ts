/**
 * Read phase: each item of a rules file → collector calls (Falco's `rule_loader::reader`).
 *
 * The item's kind is decided by the first of these keys it has: `required_engine_version`,
 * `required_plugin_versions`, `list`, `macro`, `rule`; anything else is an unknown item (warning).
 * Values are decoded the way yaml-cpp converts them (see yaml-tree.ts). Like Falco, reading a file
 * stops at its first error (the remaining items would mostly produce follow-up errors); warnings
 * are collected as found.
 */
import type { SourcePosition } from '../diagnostics.js';
import { childCtx, fileCtx, LoadError, type Ctx, type DiagnosticSink } from './context.js';
import {
  emptyEntry,
  type Collector,
  type ExceptionEntry,
  type ExceptionInfo,
  type RuleInfo,
  type RuleUpdate,
} from './collector.js';
import { MappedText } from './mapped-text.js';
import { parsePriority, type Priority } from './priority.js';
import { implicitEngineVersion, parseSemver, type PluginRequirement } from './versions.js';
import {
  decodeBool,
  decodeUint,
  getEntry,
  getValue,
  hasKey,
  keyText,
  type YamlFile,
  type YMap,
  type YNode,
  type YScalar,
} from './yaml-tree.js';

export const WARNING_APPEND =
  "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
export const WARNING_ENABLED =
  "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
export const ERROR_OVERRIDE_APPEND =
  "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

/** libsinsp's identifier and bare-string token expressions (macro and list names should match them). */
const RGX_IDENTIFIER = '([a-zA-Z]+[a-zA-Z0-9_]*)';
const RGX_BARESTR = `([^()"'[:space:]=,]+)`;
const IDENTIFIER_RE = /^[a-zA-Z]+[a-zA-Z0-9_]*$/;
const BARESTR_RE = /^[^()"'\s=,]+$/;

const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override']);
const RULE_KEYS = new Set([
  'rule',
  'desc',
  'condition',
  'output',
  'priority',
  'source',
  'enabled',
  'tags',
  'exceptions',
  'override',
  'append',
  'capture',
  'capture_duration',
  'capture_events',
  'capture_filesize',
  'warn_evttypes',
  'skip-if-unknown-filter',
]);

const RULE_APPENDABLE = ['condition', 'output', 'desc', 'tags', 'exceptions'];
const RULE_REPLACEABLE = [
  'condition',
  'output',
  'desc',
  'priority',
  'tags',
  'exceptions',
  'enabled',
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
];

/** Falco's `trim`: blanks at both ends. */
function trimRange(s: string): [number, number] {
  let a = 0;
  let b = s.length;
  while (a < b && /\s/.test(s[a] ?? '')) a++;
  while (b > a && /\s/.test(s[b - 1] ?? '')) b--;
  return [a, b];
}

function yamlValidate(message: string, ctx: Ctx, position?: SourcePosition): never {
  throw new LoadError('LOAD_ERR_YAML_VALIDATE', message, ctx, position);
}

export class RulesFileReader {
  constructor(
    private readonly file: YamlFile,
    private readonly collector: Collector,
    private readonly sink: DiagnosticSink,
  ) {}

  private pos(node: YNode): SourcePosition {
    return this.file.position(node.start);
  }

  /**
   * Read every document; returns false when reading stopped at an error (already reported).
   */
  read(docs: readonly YNode[]): boolean {
    const ctx = fileCtx(this.file.name);
    try {
      for (const doc of docs) {
        if (doc.kind === 'null') continue;
        if (doc.kind === 'scalar') yamlValidate('Rules content is not yaml', ctx, this.pos(doc));
        if (doc.kind === 'map')
          yamlValidate('Rules content is not yaml array of objects', ctx, this.pos(doc));
        if (doc.kind !== 'seq') continue;
        for (const item of doc.items) {
          if (item.kind === 'null') continue;
          this.readItem(item, ctx);
        }
      }
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      this.sink.fromLoadError(e);
      return false;
    }
    return true;
  }

  // ---- value decoding (Falco's decode_val / decode_seq) ----

  /** A required or optional scalar, per decode_val_generic. */
  private scalar(item: YMap, key: string, ctx: Ctx, optional: boolean): YScalar | undefined {
    const entry = getEntry(item, key);
    if (!entry) {
      if (optional) return undefined;
      yamlValidate(`Item has no mapping for key '${key}'`, ctx);
    }
    const val = entry.value;
    if (val.kind === 'null') yamlValidate(`Mapping for key '${key}' is empty`, ctx, this.pos(entry.key));
    const valctx = childCtx(ctx, 'value for', key, this.pos(val));
    if (val.kind !== 'scalar') yamlValidate('Value is not a scalar value', valctx);
    if (val.value.length === 0) yamlValidate('Value must be non-empty', valctx);
    return val;
  }

  private requiredScalar(item: YMap, key: string, ctx: Ctx): YScalar {
    return this.scalar(item, key, ctx, false) as YScalar;
  }

  private string(item: YMap, key: string, ctx: Ctx): string {
    return this.requiredScalar(item, key, ctx).value;
  }

  private bool(item: YMap, key: string, ctx: Ctx, optional: boolean): boolean | undefined {
    const s = this.scalar(item, key, ctx, optional);
    if (!s) return undefined;
    const b = decodeBool(s.value);
    if (b === undefined)
      yamlValidate("Can't decode YAML scalar value", childCtx(ctx, 'value for', key, this.pos(s)));
    return b;
  }

  private uint(item: YMap, key: string, ctx: Ctx, optional: boolean): number | undefined {
    const s = this.scalar(item, key, ctx, optional);
    if (!s) return undefined;
    const n = decodeUint(s.value);
    if (n === undefined)
      yamlValidate("Can't decode YAML scalar value", childCtx(ctx, 'value for', key, this.pos(s)));
    return n;
  }

  private mapped(s: YScalar): MappedText {
    return MappedText.fromScalar(this.file, s);
  }

  /** A sequence of scalars (`items`, `tags`). */
  private sequence(
    item: YMap,
    key: string,
    ctx: Ctx,
    optional: boolean,
    itemKind: string,
  ): string[] | undefined {
    const entry = getEntry(item, key);
    if (!entry) {
      if (optional) return undefined;
      yamlValidate(`Item has no mapping for key '${key}'`, ctx);
    }
    const val = entry.value;
    const valctx = childCtx(ctx, 'value for', key, this.pos(val));
    if (val.kind !== 'seq') yamlValidate('Value is not a sequence', valctx);
    const out: string[] = [];
    for (const v of val.items) {
      if (v.kind !== 'scalar')
        yamlValidate('sequence value is not scalar', childCtx(valctx, itemKind, '', this.pos(v)));
      out.push(v.value);
    }
    return out;
  }

  private tags(item: YMap, ctx: Ctx): string[] | undefined {
    const t = this.sequence(item, 'tags', ctx, true, 'tag');
    return t ? [...new Set(t)].sort() : undefined;
  }

  private warnUnknownKeys(item: YMap, known: ReadonlySet<string>, ctx: Ctx): void {
    for (const e of item.entries) {
      const k = keyText(e.key);
      if (k !== undefined && known.has(k)) continue;
      this.sink.warn(
        'LOAD_UNKNOWN_KEY',
        `Unknown key '${k ?? ''}'. The key will be ignored.`,
        ctx,
        this.pos(e.key),
      );
    }
  }

  /** The `override` map: which keys are appended and which replaced. */
  private overrides(
    item: YMap,
    appendable: readonly string[],
    replaceable: readonly string[],
    ctx: Ctx,
  ): { append: Set<string>; replace: Set<string> } {
    const append = new Set<string>();
    const replace = new Set<string>();
    const entry = getEntry(item, 'override');
    if (!entry) return { append, replace };
    const val = entry.value;
    const octx = childCtx(ctx, 'overrides', '', this.pos(entry.key));
    if (val.kind !== 'map') yamlValidate('Value of override must be a mapping', octx, this.pos(val));
    for (const e of val.entries) {
      const key = e.key.kind === 'scalar' ? e.key.value : '';
      const keyctx = childCtx(octx, 'overrides', key, this.pos(e.key));
      if (e.value.kind !== 'scalar') yamlValidate('Value is not a scalar value', keyctx, this.pos(e.value));
      const operation = e.value.value;
      const canAppend = appendable.includes(key);
      const canReplace = replaceable.includes(key);
      if (operation === 'append') {
        if (!canAppend) yamlValidate(`Key '${key}' cannot be appended to, use 'replace' instead`, keyctx);
        append.add(key);
      } else if (operation === 'replace') {
        if (!canReplace) yamlValidate(`Key '${key}' cannot be replaced`, keyctx);
        replace.add(key);
      } else {
        const allowed = `${canAppend ? 'append ' : ''}${canReplace ? 'replace ' : ''}`;
        yamlValidate(
          `Invalid override operation for key '${key}': '${operation}'. Allowed values are: ${allowed}`,
          childCtx(octx, 'value for', key, this.pos(e.value)),
        );
      }
    }
    return { append, replace };
  }

  // ---- items ----

  private readItem(item: YNode, parent: Ctx): void {
    if (item.kind !== 'map') {
      yamlValidate(
        'Unexpected element type. Each element should be a yaml associative array.',
        childCtx(parent, 'rules content item', '', this.pos(item)),
      );
    }
    if (hasKey(item, 'required_engine_version')) this.readEngineVersion(item, parent);
    else if (hasKey(item, 'required_plugin_versions')) this.readPluginVersions(item, parent);
    else if (hasKey(item, 'list')) this.readList(item, parent);
    else if (hasKey(item, 'macro')) this.readMacro(item, parent);
    else if (hasKey(item, 'rule')) this.readRule(item, parent);
    else {
      this.sink.warn(
        'LOAD_UNKNOWN_ITEM',
        'Unknown top level item',
        childCtx(parent, 'rules content item', '', this.pos(item)),
      );
    }
  }

  private readEngineVersion(item: YMap, parent: Ctx): void {
    const ctx = childCtx(parent, 'required_engine_version', '', this.pos(item));
    const s = this.requiredScalar(item, 'required_engine_version', ctx);
    // An unsigned number is the legacy form; anything else must be a semver string.
    const n = decodeUint(s.value, 0xffffffff);
    const version = n !== undefined ? implicitEngineVersion(n) : parseSemver(s.value);
    if (!version) {
      yamlValidate(
        `Unable to parse engine version '${s.value}' as a semver string. Expected "x.y.z" semver format.`,
        ctx,
        this.pos(s),
      );
    }
    this.collector.defineEngineVersion(version, ctx);
    if (n !== undefined) this.collector.legacyEngineFiles.add(this.file.name);
  }

  private readPluginVersions(item: YMap, parent: Ctx): void {
    const node = getValue(item, 'required_plugin_versions') as YNode;
    const ctx = childCtx(parent, 'required_plugin_versions', '', this.pos(node));
    if (node.kind !== 'seq') yamlValidate('Value of required_plugin_versions must be a sequence', ctx);
    for (const plugin of node.items) {
      const tmp = childCtx(ctx, 'required_plugin_versions entry', '', this.pos(plugin));
      if (plugin.kind !== 'map') yamlValidate('Plugin version must be a mapping', tmp);
      const name = this.string(plugin, 'name', tmp);
      const pctx = childCtx(ctx, 'required_plugin_versions entry', name, this.pos(plugin));
      const alternatives: PluginRequirement[] = [{ name, version: this.string(plugin, 'version', pctx) }];
      const alts = getValue(plugin, 'alternatives');
      if (alts) {
        if (alts.kind !== 'seq')
          yamlValidate('Value of plugin version alternatives must be a sequence', pctx);
        for (const req of alts.items) {
          const atmp = childCtx(pctx, 'required_plugin_versions alternative', '', this.pos(req));
          if (req.kind !== 'map') yamlValidate('Plugin version alternative must be a mapping', atmp);
          const altName = this.string(req, 'name', atmp);
          const actx = childCtx(pctx, 'required_plugin_versions alternative', altName, this.pos(req));
          alternatives.push({ name: altName, version: this.string(req, 'version', actx) });
        }
      }
      this.collector.definePluginVersions(alternatives, pctx);
    }
  }

  private appendFlag(item: YMap, ctx: Ctx): boolean {
    const append = this.bool(item, 'append', ctx, true) ?? false;
    if (append) this.sink.warn('LOAD_DEPRECATED_ITEM', WARNING_APPEND, ctx);
    return append;
  }

  private readList(item: YMap, parent: Ctx): void {
    const name = this.string(item, 'list', childCtx(parent, 'list', '', this.pos(item)));
    const ctx = childCtx(parent, 'list', name, this.pos(item));
    this.warnUnknownKeys(item, LIST_KEYS, ctx);
    if (!BARESTR_RE.test(name)) {
      this.sink.warn(
        'LOAD_INVALID_LIST_NAME',
        `List has an invalid name. List names should match a regular expression: ${RGX_BARESTR}`,
        ctx,
      );
    }
    const items = this.sequence(item, 'items', ctx, false, 'list item') as string[];
    let append = this.appendFlag(item, ctx);
    const ov = this.overrides(item, ['items'], ['items'], ctx);
    if (append && ov.append.size + ov.replace.size > 0) yamlValidate(ERROR_OVERRIDE_APPEND, ctx);
    append ||= ov.append.has('items');
    const info = { name, items, ctx, index: 0, visibility: 0 };
    if (append) this.collector.appendList(info);
    else this.collector.defineList(info);
  }

  private readMacro(item: YMap, parent: Ctx): void {
    const name = this.string(item, 'macro', childCtx(parent, 'macro', '', this.pos(item)));
    const ctx = childCtx(parent, 'macro', name, this.pos(item));
    this.warnUnknownKeys(item, MACRO_KEYS, ctx);
    if (!IDENTIFIER_RE.test(name)) {
      this.sink.warn(
        'LOAD_INVALID_MACRO_NAME',
        `Macro has an invalid name. Macro names should match a regular expression: ${RGX_IDENTIFIER}`,
        ctx,
      );
    }
    const cond = this.requiredScalar(item, 'condition', ctx);
    const condCtx = childCtx(ctx, 'macro condition', '', this.pos(cond));
    let append = this.appendFlag(item, ctx);
    const ov = this.overrides(item, ['condition'], ['condition'], ctx);
    if (append && ov.append.size + ov.replace.size > 0) yamlValidate(ERROR_OVERRIDE_APPEND, ctx);
    append ||= ov.append.has('condition');
    const info = { name, cond: this.mapped(cond), condCtx, ctx, index: 0, visibility: 0 };
    if (append) this.collector.appendMacro(info);
    else this.collector.defineMacro(info);
  }

  private priority(item: YMap, ctx: Ctx): Priority {
    const s = this.requiredScalar(item, 'priority', ctx);
    const p = parsePriority(s.value);
    if (!p) yamlValidate('Invalid priority', childCtx(ctx, 'rule priority', '', this.pos(s)));
    return p;
  }

  /** `source` of an append/override: only compared with the rule's source when given. */
  private lenientSource(item: YMap): string | undefined {
    const v = getValue(item, 'source');
    return v?.kind === 'scalar' && v.value.length > 0 ? v.value : undefined;
  }

  private readRule(item: YMap, parent: Ctx): void {
    const name = this.string(item, 'rule', childCtx(parent, 'rule', '', this.pos(item)));
    const ctx = childCtx(parent, 'rule', name, this.pos(item));
    this.warnUnknownKeys(item, RULE_KEYS, ctx);
    const appendFlag = this.appendFlag(item, ctx);
    const ov = this.overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, ctx);
    const hasOverrides = ov.append.size + ov.replace.size > 0;
    if (appendFlag && hasOverrides) yamlValidate(ERROR_OVERRIDE_APPEND, ctx);

    if (hasOverrides) {
      this.readRuleOverrides(item, name, ctx, ov);
    } else if (appendFlag) {
      const v: RuleUpdate = { name, ctx };
      const source = this.lenientSource(item);
      if (source !== undefined) v.source = source;
      if (hasKey(item, 'condition')) {
        const c = this.requiredScalar(item, 'condition', ctx);
        v.cond = this.mapped(c);
        v.condCtx = childCtx(ctx, 'rule condition', '', this.pos(c));
      }
      if (hasKey(item, 'exceptions')) v.exceptions = this.exceptions(item, ctx, true);
      this.collector.appendRule(v);
    } else if (!['condition', 'output', 'desc', 'priority'].some((k) => hasKey(item, k))) {
      // Legacy: an item with only `rule` and `enabled` enables or disables an existing rule.
      const enabled = this.bool(item, 'enabled', ctx, false) as boolean;
      this.sink.warn('LOAD_DEPRECATED_ITEM', WARNING_ENABLED, ctx);
      this.collector.enableRule(name, enabled, ctx);
    } else {
      this.readRuleDefinition(item, name, ctx);
    }
  }

  private readRuleDefinition(item: YMap, name: string, ctx: Ctx): void {
    const cond = this.requiredScalar(item, 'condition', ctx);
    const condCtx = childCtx(ctx, 'rule condition', '', this.pos(cond));
    const out = this.requiredScalar(item, 'output', ctx);
    const outputCtx = childCtx(ctx, 'rule output', '', this.pos(out));
    const desc = this.string(item, 'desc', ctx);
    const priority = this.priority(item, ctx);
    const [a, b] = trimRange(out.value);
    const sourceNode = this.scalar(item, 'source', ctx, true);
    const info: RuleInfo = {
      name,
      ctx,
      index: 0,
      visibility: 0,
      cond: this.mapped(cond),
      condCtx,
      output: this.mapped(out).slice(a, b),
      outputCtx,
      desc,
      priority,
      source: sourceNode ? sourceNode.value : 'syscall',
      enabled: this.bool(item, 'enabled', ctx, true) ?? true,
      warnEvttypes: this.bool(item, 'warn_evttypes', ctx, true) ?? true,
      skipIfUnknownFilter: this.bool(item, 'skip-if-unknown-filter', ctx, true) ?? false,
      capture: this.bool(item, 'capture', ctx, true) ?? false,
      captureDuration: this.uint(item, 'capture_duration', ctx, true) ?? 0,
      tags: this.tags(item, ctx) ?? [],
      exceptions: this.exceptions(item, ctx, false),
      unknownSource: false,
      revision: 0,
      firstFile: this.file.name,
      firstPosition: this.pos(item),
    };
    this.collector.defineRule(info);
  }

  private readRuleOverrides(
    item: YMap,
    name: string,
    ctx: Ctx,
    ov: { append: Set<string>; replace: Set<string> },
  ): void {
    const expected = new Set([...RULE_APPENDABLE, ...RULE_REPLACEABLE].filter((k) => hasKey(item, k)));
    const take = (overrides: Set<string>, kind: string, key: string): boolean => {
      if (!overrides.has(key)) return false;
      if (!expected.has(key)) {
        yamlValidate(`An ${kind} override for '${key}' was specified but '${key}' is not defined`, ctx);
      }
      expected.delete(key);
      return true;
    };
    const source = this.lenientSource(item);
    const fill = (overrides: Set<string>, kind: 'append' | 'replace'): RuleUpdate => {
      const v: RuleUpdate = { name, ctx };
      if (source !== undefined) v.source = source;
      if (take(overrides, kind, 'condition')) {
        const c = this.requiredScalar(item, 'condition', ctx);
        v.cond = this.mapped(c);
        v.condCtx = childCtx(ctx, 'rule condition', '', this.pos(c));
      }
      // Appended exceptions may be partial (values for an existing exception); replaced ones may not.
      if (take(overrides, kind, 'exceptions')) v.exceptions = this.exceptions(item, ctx, kind === 'append');
      if (take(overrides, kind, 'output')) v.output = this.mapped(this.requiredScalar(item, 'output', ctx));
      if (take(overrides, kind, 'desc')) v.desc = this.string(item, 'desc', ctx);
      if (take(overrides, kind, 'tags')) v.tags = this.tags(item, ctx) ?? [];
      if (kind === 'replace') {
        if (take(overrides, kind, 'priority')) v.priority = this.priority(item, ctx);
        if (take(overrides, kind, 'enabled')) v.enabled = this.bool(item, 'enabled', ctx, false);
        if (take(overrides, kind, 'warn_evttypes'))
          v.warnEvttypes = this.bool(item, 'warn_evttypes', ctx, false);
        if (take(overrides, kind, 'skip-if-unknown-filter')) {
          v.skipIfUnknownFilter = this.bool(item, 'skip-if-unknown-filter', ctx, false);
        }
        if (take(overrides, kind, 'capture')) v.capture = this.bool(item, 'capture', ctx, false);
        if (take(overrides, kind, 'capture_duration')) {
          v.captureDuration = this.uint(item, 'capture_duration', ctx, false);
        }
      }
      return v;
    };
    if (ov.append.size > 0) this.collector.appendRule(fill(ov.append, 'append'));
    if (ov.replace.size > 0) this.collector.selectiveReplace(fill(ov.replace, 'replace'));
    for (const key of expected) {
      const entry = getEntry(item, key);
      yamlValidate(
        `Unexpected key '${key}': no corresponding entry under 'override' is defined.`,
        childCtx(ctx, 'overrides', key, entry ? this.pos(entry.key) : undefined),
      );
    }
  }

  // ---- exceptions ----

  private exceptionEntry(val: YNode, key: string | undefined, ctx: Ctx): ExceptionEntry {
    const valctx = childCtx(ctx, 'value for', key ?? '', this.pos(val));
    const out = emptyEntry();
    if (val.kind === 'scalar') {
      if (val.value.length === 0) yamlValidate('Value must be non-empty', valctx);
      out.item = val.value;
      out.text = this.mapped(val);
    } else if (val.kind === 'seq') {
      out.isList = true;
      for (const v of val.items) {
        out.items.push(this.exceptionEntry(v, undefined, childCtx(valctx, 'exception', '', this.pos(v))));
      }
    }
    return out;
  }

  private exceptionKey(ex: YMap, key: string, ctx: Ctx, optional: boolean): ExceptionEntry {
    const val = getValue(ex, key);
    if (!val) {
      if (optional) return emptyEntry();
      yamlValidate(`Item has no mapping for key '${key}'`, ctx);
    }
    return this.exceptionEntry(val, key, ctx);
  }

  private exceptions(item: YMap, parent: Ctx, append: boolean): ExceptionInfo[] {
    const exs = getValue(item, 'exceptions');
    const out: ExceptionInfo[] = [];
    // No exceptions key, or an empty one, are allowed.
    if (!exs || exs.kind === 'null') return out;
    const exesCtx = childCtx(parent, 'exceptions', '', this.pos(exs));
    if (exs.kind !== 'seq') yamlValidate('Rule exceptions must be a sequence', exesCtx);
    for (const ex of exs.items) {
      const tmp = childCtx(exesCtx, 'exception', '', this.pos(ex));
      if (ex.kind !== 'map') yamlValidate('Rule exception must be a mapping', tmp);
      const name = this.string(ex, 'name', tmp);
      const exCtx = childCtx(parent, 'exception', name, this.pos(ex));
      if (out.some((e) => e.name === name)) {
        this.sink.warn(
          'LOAD_EXCEPTION_NAME_NOT_UNIQUE',
          `Multiple definitions of exception '${name}' in the same rule`,
          exCtx,
        );
      }
      const info: ExceptionInfo = {
        name,
        // Fields may be omitted when appending values to an existing exception.
        fields: this.exceptionKey(ex, 'fields', exCtx, append),
        comps: this.exceptionKey(ex, 'comps', exCtx, true),
        values: [],
        ctx: exCtx,
        position: this.pos(ex),
      };
      const vals = getValue(ex, 'values');
      if (vals) {
        const valsCtx = childCtx(exCtx, 'exception values', '', this.pos(vals));
        if (vals.kind !== 'seq') yamlValidate('Rule exception values must be a sequence', valsCtx);
        for (const v of vals.items) {
          info.values.push(
            this.exceptionEntry(v, undefined, childCtx(valsCtx, 'exception value', '', this.pos(v))),
          );
        }
      } else if (append) {
        this.sink.warn('LOAD_APPEND_NO_VALUES', 'Overriding/appending exception with no values', exCtx);
      }
      out.push(info);
    }
    return out;
  }
}
