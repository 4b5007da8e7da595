/**
 * Diagnostic contexts: the chain of locations from the file down to the failing piece (Falco's
 * `rule_loader::context`), and the collector of diagnostics for one load.
 *
 * Location kinds use Falco's item-type names where users see them (`rule`, `macro`, `list`,
 * `exception`, `required_engine_version`, …). A diagnostic's `itemType`/`itemName` is the innermost
 * named item of its chain (a value or a condition belongs to the item that holds it).
 */
import type {
  ContextItem,
  Diagnostic,
  DiagnosticCode,
  ErrorCode,
  SourcePosition,
  WarningCode,
} from '../diagnostics.js';

export type Ctx = readonly ContextItem[];

/** Kinds that name an item of the rules file (the others are parts of an item). */
const ITEM_KINDS = new Set([
  'rules content',
  'rules content item',
  'required_engine_version',
  'required_plugin_versions',
  'required_plugin_versions entry',
  'required_plugin_versions alternative',
  'list',
  'macro',
  'rule',
  'exception',
]);

export function fileCtx(file: string): Ctx {
  return [{ kind: 'rules content', name: '', position: { file, line: 1, col: 1, offset: 0 } }];
}

export function childCtx(parent: Ctx, kind: string, name: string, position: SourcePosition | undefined): Ctx {
  const item: ContextItem = { kind, name };
  if (position) item.position = position;
  return [...parent, item];
}

/** The file a context belongs to. */
export function ctxFile(ctx: Ctx): string {
  return ctx[0]?.position?.file ?? '';
}

/** A user mistake found while reading or compiling; caught where Falco stops (file or item). */
export class LoadError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly ctx: Ctx,
    readonly position?: SourcePosition,
  ) {
    super(message);
  }
}

/** Parts of an item: what follows them in a chain is inside the part (a macro used by a condition). */
const PART_KINDS = new Set(['rule condition', 'macro condition', 'rule output']);

function innermostItem(ctx: Ctx): ContextItem | undefined {
  let item = ctx[0];
  for (const c of ctx) {
    if (PART_KINDS.has(c.kind)) break;
    if (ITEM_KINDS.has(c.kind)) item = c;
  }
  return item;
}

export function makeDiagnostic(
  severity: 'error' | 'warning',
  code: DiagnosticCode,
  message: string,
  ctx: Ctx,
  position?: SourcePosition,
): Diagnostic {
  const item = innermostItem(ctx);
  const d: Diagnostic = { severity, code, message, context: [...ctx] };
  const pos = position ?? lastPosition(ctx);
  if (pos) d.position = pos;
  if (item) {
    d.itemType = item.kind;
    d.itemName = item.name;
  }
  return d;
}

function lastPosition(ctx: Ctx): SourcePosition | undefined {
  for (let i = ctx.length - 1; i >= 0; i--) {
    const p = ctx[i]?.position;
    if (p) return p;
  }
  return undefined;
}

/** Collects diagnostics in the order found, dropping exact repeats (files are compiled cumulatively). */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private errorCount = 0;
  private errorCallCount = 0;

  error(code: ErrorCode, message: string, ctx: Ctx, position?: SourcePosition): void {
    this.errorCallCount++;
    this.add(makeDiagnostic('error', code, message, ctx, position));
  }

  warn(code: WarningCode, message: string, ctx: Ctx, position?: SourcePosition): void {
    this.add(makeDiagnostic('warning', code, message, ctx, position));
  }

  fromLoadError(e: LoadError): void {
    this.error(e.code, e.message, e.ctx, e.position);
  }

  /** Distinct errors recorded. */
  get errors(): number {
    return this.errorCount;
  }

  /** Errors reported, repeats included (a phase uses it to know whether it found any). */
  get errorReports(): number {
    return this.errorCallCount;
  }

  private add(d: Diagnostic): void {
    const p = d.position;
    const key = `${d.severity}|${d.code}|${d.message}|${p ? `${p.file}:${p.offset}` : ''}|${d.itemType ?? ''}|${d.itemName ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (d.severity === 'error') this.errorCount++;
    this.diagnostics.push(d);
  }
}
