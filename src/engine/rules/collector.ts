/**
 * Collect phase: the bookkeeping of lists, macros and rules as the reader meets them (Falco's
 * `rule_loader::collector`).
 *
 * - Definitions, appends and replaces all take the next number of one counter shared by every kind.
 *   A new item's `index` is that number; re-defining an item replaces it in place (it keeps its
 *   first index, so rules keep their evaluation order), and every definition/append/replace sets
 *   its `visibility` to the new number. Lists and macros may only refer to lists/macros whose index
 *   is lower than their own visibility (roughly: defined earlier); rules see everything.
 * - Appends concatenate text with one space, extend list items and tags, and add exception values.
 * - Exceptions are validated here, against the fields of the rule's source.
 */
import type { SourcePosition } from '../diagnostics.js';
import type { Priority } from './priority.js';
import { LoadError, type Ctx, type DiagnosticSink } from './context.js';
import { MappedText } from './mapped-text.js';
import {
  checkPluginRequirement,
  compareSemver,
  formatSemver,
  isCompatible,
  parseSemver,
  type PluginRequirement,
  type Semver,
} from './versions.js';
import { isValidExceptionComp, isListComp, normalizeComp } from './exceptions.js';

export const ERROR_NO_PREVIOUS_MACRO =
  "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists";
export const ERROR_NO_PREVIOUS_LIST =
  "List uses 'append' or 'override.items: append' but no list by that name already exists";
export const ERROR_NO_PREVIOUS_RULE_APPEND =
  "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists";
export const ERROR_NO_PREVIOUS_RULE_REPLACE =
  "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists";

/** One of `fields`, `comps` or a value of an exception: a string or a (nested) list. */
export interface ExceptionEntry {
  isList: boolean;
  /** Scalar text (when not a list). */
  item: string;
  /** Where the scalar came from, for diagnostics inside generated conditions. */
  text?: MappedText;
  items: ExceptionEntry[];
}

export function emptyEntry(): ExceptionEntry {
  return { isList: false, item: '', items: [] };
}

export function scalarEntry(item: string, text?: MappedText): ExceptionEntry {
  const e: ExceptionEntry = { isList: false, item, items: [] };
  if (text) e.text = text;
  return e;
}

/** Falco's `entry::is_valid`: a non-empty string or a non-empty list. */
export function isEntryValid(e: ExceptionEntry): boolean {
  return e.isList ? e.items.length > 0 : e.item.length > 0;
}

export interface ExceptionInfo {
  name: string;
  fields: ExceptionEntry;
  comps: ExceptionEntry;
  values: ExceptionEntry[];
  ctx: Ctx;
  position?: SourcePosition;
}

interface ItemBase {
  name: string;
  /** Context of the latest definition (diagnostics point there). */
  ctx: Ctx;
  index: number;
  visibility: number;
}

export interface ListInfo extends ItemBase {
  items: string[];
}

export interface MacroInfo extends ItemBase {
  cond: MappedText;
  condCtx: Ctx;
}

export interface RuleInfo extends ItemBase {
  cond: MappedText;
  condCtx: Ctx;
  output: MappedText;
  outputCtx: Ctx;
  desc: string;
  priority: Priority;
  source: string;
  enabled: boolean;
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  capture: boolean;
  captureDuration: number;
  /** Sorted and unique, like Falco's `std::set`. */
  tags: string[];
  exceptions: ExceptionInfo[];
  unknownSource: boolean;
  /** Bumped by every append or replace (the compiler caches per revision). */
  revision: number;
  /** File and position of the first definition (kept when the rule is re-defined). */
  firstFile: string;
  firstPosition?: SourcePosition;
}

/** What an append or a selective replace brings (only the keys present in the item). */
export interface RuleUpdate {
  name: string;
  ctx: Ctx;
  source?: string;
  cond?: MappedText;
  condCtx?: Ctx;
  output?: MappedText;
  desc?: string;
  tags?: string[];
  exceptions?: ExceptionInfo[];
  priority?: Priority;
  enabled?: boolean;
  warnEvttypes?: boolean;
  skipIfUnknownFilter?: boolean;
  capture?: boolean;
  captureDuration?: number;
}

export interface RequiredPluginVersion {
  alternatives: PluginRequirement[];
}

export interface CollectorOptions {
  /** Engine version rules files are checked against. */
  engineVersion: string;
  /** Plugins whose fields the engine provides, with their versions. */
  pluginVersions: Readonly<Record<string, string>>;
  /** Whether a source has a field provider. */
  isKnownSource(source: string): boolean;
  /** Whether `field` (a field or a transformer expression) is valid on the left of a check for `source`. */
  isFieldDefined(source: string, field: string): boolean;
}

function throwIf(cond: boolean, message: string, ctx: Ctx, position?: SourcePosition): void {
  if (cond) throw new LoadError('LOAD_ERR_VALIDATE', message, ctx, position);
}

function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** Validate an exception and fill its default comparison operators. */
export function validateException(
  ex: ExceptionInfo,
  source: string | undefined,
  opts: CollectorOptions,
): void {
  if (ex.fields.isList) {
    if (!isEntryValid(ex.comps)) {
      ex.comps = { isList: true, item: '', items: ex.fields.items.map(() => scalarEntry('=')) };
    }
    throwIf(
      ex.fields.items.length !== ex.comps.items.length,
      'Fields and comps lists must have equal length',
      ex.ctx,
    );
    for (const c of ex.comps.items) {
      throwIf(
        !isValidExceptionComp(c.item),
        `'${normalizeComp(c.item)}' is not a supported comparison operator`,
        ex.ctx,
      );
    }
    if (source !== undefined) {
      for (const f of ex.fields.items) {
        throwIf(!opts.isFieldDefined(source, f.item), `'${f.item}' is not a supported filter field`, ex.ctx);
      }
    }
  } else {
    if (!isEntryValid(ex.comps)) ex.comps = scalarEntry('in');
    throwIf(ex.comps.isList, 'Fields and comps must both be strings', ex.ctx);
    // A single field compares with the whole list of values: only list operators make sense
    // (plus the `<op> oneof|anyof|allof` modifiers, which also take a list).
    throwIf(
      !isListComp(ex.comps.item),
      'When fields is a single value, comps must be one of (in, pmatch, intersects)',
      ex.ctx,
    );
    if (source !== undefined) {
      throwIf(
        !opts.isFieldDefined(source, ex.fields.item),
        `'${ex.fields.item}' is not a supported filter field`,
        ex.ctx,
      );
    }
  }
}

export class Collector {
  readonly lists = new Map<string, ListInfo>();
  readonly macros = new Map<string, MacroInfo>();
  readonly rules = new Map<string, RuleInfo>();
  readonly requiredPluginVersions: RequiredPluginVersion[] = [];
  requiredEngineVersion: Semver | undefined;
  /** Files that declare `required_engine_version` in the legacy integer form (pre-semver engines). */
  readonly legacyEngineFiles = new Set<string>();
  /** Bumped whenever a list (or a macro) is defined or appended: compiled results depend on them. */
  listsRevision = 0;
  macrosRevision = 0;
  private curIndex = 0;
  private readonly engine: Semver;

  constructor(
    readonly options: CollectorOptions,
    private readonly sink: DiagnosticSink,
  ) {
    this.engine = parseSemver(options.engineVersion) ?? { major: 0, minor: 0, patch: 0 };
  }

  defineEngineVersion(required: Semver, ctx: Ctx): void {
    throwIf(
      !isCompatible(this.engine, required),
      `Rules require engine version ${formatSemver(required)}, but engine version is ${formatSemver(this.engine)}`,
      ctx,
    );
    if (!this.requiredEngineVersion || compareSemver(this.requiredEngineVersion, required) < 0) {
      this.requiredEngineVersion = required;
    }
  }

  /**
   * Record a plugin requirement. Requirements on plugins this engine provides are checked here;
   * requirements naming only plugins we do not have are recorded but not an error: without the
   * plugin its event source is unknown, so its rules are skipped with LOAD_UNKNOWN_SOURCE
   * warnings (Falco checks plugin requirements in the application, after loading; a Falco
   * without the plugin would refuse to start, an engine that cannot load plugins skips instead).
   */
  definePluginVersions(alternatives: PluginRequirement[], ctx: Ctx): void {
    const names = new Set<string>();
    for (const req of alternatives) {
      throwIf(
        !parseSemver(req.version),
        `Invalid required version '${req.version}' for plugin '${req.name}'`,
        ctx,
      );
      throwIf(
        names.has(req.name),
        `Defined multiple alternative version requirements for plugin '${req.name}'`,
        ctx,
      );
      names.add(req.name);
    }
    const check = checkPluginRequirement(alternatives, this.options.pluginVersions);
    if (check.status === 'incompatible') throwIf(true, check.message, ctx);
    this.requiredPluginVersions.push({ alternatives });
  }

  private nextIndex(): number {
    return this.curIndex++;
  }

  private defineInfo<T extends ItemBase>(map: Map<string, T>, info: T): T | undefined {
    const id = this.nextIndex();
    const prev = map.get(info.name);
    info.index = prev ? prev.index : id;
    info.visibility = id;
    map.set(info.name, info);
    return prev;
  }

  defineList(info: ListInfo): void {
    this.listsRevision++;
    this.defineInfo(this.lists, info);
  }

  appendList(info: ListInfo): void {
    const prev = this.lists.get(info.name);
    throwIf(!prev, ERROR_NO_PREVIOUS_LIST, info.ctx);
    if (!prev) return;
    prev.items.push(...info.items);
    prev.visibility = this.nextIndex();
    this.listsRevision++;
  }

  defineMacro(info: MacroInfo): void {
    this.macrosRevision++;
    this.defineInfo(this.macros, info);
  }

  appendMacro(info: MacroInfo): void {
    const prev = this.macros.get(info.name);
    throwIf(!prev, ERROR_NO_PREVIOUS_MACRO, info.ctx);
    if (!prev) return;
    prev.cond = MappedText.concat([prev.cond, ' ', info.cond]);
    prev.visibility = this.nextIndex();
    this.macrosRevision++;
  }

  defineRule(info: RuleInfo): void {
    const prev = this.rules.get(info.name);
    throwIf(
      !!prev && prev.source !== info.source,
      'Rule has been re-defined with a different source',
      info.ctx,
    );
    if (!this.options.isKnownSource(info.source)) {
      info.unknownSource = true;
      this.sink.warn('LOAD_UNKNOWN_SOURCE', `Unknown source ${info.source}, skipping`, info.ctx);
    }
    for (const ex of info.exceptions) {
      throwIf(
        !isEntryValid(ex.fields),
        'Rule exception item must have fields property with a list of fields',
        ex.ctx,
      );
      validateException(ex, info.unknownSource ? undefined : info.source, this.options);
    }
    if (prev) {
      info.firstFile = prev.firstFile;
      if (prev.firstPosition) info.firstPosition = prev.firstPosition;
      else delete info.firstPosition;
    }
    this.defineInfo(this.rules, info);
  }

  private previousRule(update: RuleUpdate, missing: string): RuleInfo {
    const prev = this.rules.get(update.name);
    if (!prev) throw new LoadError('LOAD_ERR_VALIDATE', missing, update.ctx);
    throwIf(
      update.source !== undefined && update.source !== prev.source,
      'Rule has been re-defined with a different source',
      update.ctx,
    );
    return prev;
  }

  appendRule(update: RuleUpdate): void {
    const prev = this.previousRule(update, ERROR_NO_PREVIOUS_RULE_APPEND);
    throwIf(!hasAnyValue(update), 'Appended rule must have exceptions or condition property', update.ctx);
    const source = prev.unknownSource ? undefined : prev.source;
    if (update.cond && update.cond.length > 0) prev.cond = MappedText.concat([prev.cond, ' ', update.cond]);
    if (update.output && update.output.length > 0) {
      prev.output = MappedText.concat([prev.output, ' ', update.output]);
    }
    if (update.desc) prev.desc = `${prev.desc} ${update.desc}`;
    if (update.tags) prev.tags = sortedUnion(prev.tags, update.tags);
    for (const ex of update.exceptions ?? []) {
      const existing = prev.exceptions.find((e) => e.name === ex.name);
      if (!existing) {
        throwIf(
          !isEntryValid(ex.fields),
          'Rule exception must have fields property with a list of fields',
          ex.ctx,
        );
        throwIf(
          ex.values.length === 0,
          'Rule exception must have values property with a list of values',
          ex.ctx,
        );
        validateException(ex, source, this.options);
        prev.exceptions.push(ex);
      } else {
        throwIf(
          isEntryValid(ex.fields),
          'Can not append exception fields to existing exception, only values',
          ex.ctx,
        );
        throwIf(
          isEntryValid(ex.comps),
          'Can not append exception comps to existing exception, only values',
          ex.ctx,
        );
        existing.values.push(...ex.values);
      }
    }
    prev.visibility = this.nextIndex();
    prev.revision++;
  }

  selectiveReplace(update: RuleUpdate): void {
    const prev = this.previousRule(update, ERROR_NO_PREVIOUS_RULE_REPLACE);
    throwIf(!hasAnyValue(update), 'The rule must have at least one field that can be replaced', update.ctx);
    const source = prev.unknownSource ? undefined : prev.source;
    if (update.cond !== undefined) {
      prev.cond = update.cond;
      if (update.condCtx) prev.condCtx = update.condCtx;
    }
    if (update.output !== undefined) prev.output = update.output;
    if (update.desc !== undefined) prev.desc = update.desc;
    if (update.tags !== undefined) prev.tags = [...update.tags];
    if (update.exceptions !== undefined) {
      for (const ex of update.exceptions) validateException(ex, source, this.options);
      prev.exceptions = update.exceptions;
    }
    if (update.priority !== undefined) prev.priority = update.priority;
    if (update.enabled !== undefined) prev.enabled = update.enabled;
    if (update.warnEvttypes !== undefined) prev.warnEvttypes = update.warnEvttypes;
    if (update.skipIfUnknownFilter !== undefined) prev.skipIfUnknownFilter = update.skipIfUnknownFilter;
    if (update.capture !== undefined) prev.capture = update.capture;
    if (update.captureDuration !== undefined) prev.captureDuration = update.captureDuration;
    prev.visibility = this.nextIndex();
    prev.revision++;
  }

  /** The legacy standalone `enabled` item. */
  enableRule(name: string, enabled: boolean, ctx: Ctx): void {
    const prev = this.rules.get(name);
    throwIf(!prev, "Rule has 'enabled' key but no rule by that name already exists", ctx);
    if (prev) {
      prev.enabled = enabled;
      prev.revision++;
    }
  }
}

function hasAnyValue(u: RuleUpdate): boolean {
  return (
    u.cond !== undefined ||
    u.output !== undefined ||
    u.desc !== undefined ||
    u.tags !== undefined ||
    u.exceptions !== undefined ||
    u.priority !== undefined ||
    u.enabled !== undefined ||
    u.warnEvttypes !== undefined ||
    u.skipIfUnknownFilter !== undefined ||
    u.capture !== undefined ||
    u.captureDuration !== undefined
  );
}
