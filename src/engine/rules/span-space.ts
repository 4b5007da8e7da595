/**
 * One address space for the spans of every parsed condition of a load.
 *
 * Macro bodies are substituted into rule conditions, so the compiler sees one AST whose nodes come
 * from several texts. Each parsed text is given its own range of offsets (its spans are shifted by
 * the range's base right after parsing); an offset reported by the compiler then tells which text,
 * and so which rule or macro and which `file:line:col`, it belongs to. Spans of a loaded rule's AST
 * are therefore offsets in this space, not in the rule's condition text.
 */
import type { Expr, FieldOrTransformer, RhsExpr, TransformerArg } from '../condition/ast.js';
import type { SourcePosition } from '../diagnostics.js';
import type { Ctx } from './context.js';
import type { MappedText } from './mapped-text.js';

/** The rule or macro a parsed text belongs to. */
export interface SpanOwner {
  kind: 'rule' | 'macro';
  name: string;
  /** Context of the item (file → rule/macro). */
  ctx: Ctx;
  /** Context of its condition (file → item → condition). */
  condCtx: Ctx;
}

interface Region {
  base: number;
  text: MappedText;
  owner: SpanOwner;
}

export class SpanSpace {
  private readonly regions: Region[] = [];
  private next = 0;

  /** Reserve a range for `text`; returns the base to add to its spans. */
  register(text: MappedText, owner: SpanOwner): number {
    const base = this.next;
    this.next += text.length + 1;
    this.regions.push({ base, text, owner });
    return base;
  }

  /** The owner and file position of an offset of this space. */
  lookup(offset: number): { owner: SpanOwner; position: SourcePosition | undefined } | undefined {
    const r = this.regions;
    let lo = 0;
    let hi = r.length - 1;
    if (hi < 0) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((r[mid] as Region).base <= offset) lo = mid;
      else hi = mid - 1;
    }
    const region = r[lo] as Region;
    return { owner: region.owner, position: region.text.locate(offset - region.base) };
  }
}

function shiftOperand(e: FieldOrTransformer | RhsExpr | TransformerArg, base: number): void {
  e.span.start += base;
  e.span.end += base;
  switch (e.kind) {
    case 'transformer':
      for (const a of e.args) shiftOperand(a, base);
      break;
    case 'list':
      for (const v of e.values) shiftOperand(v, base);
      break;
    case 'val':
      shiftOperand(e.field, base);
      break;
    case 'field':
    case 'value':
    case 'listref':
      break;
  }
}

/** Add `base` to every span of a freshly parsed AST (in place). */
export function shiftSpans(e: Expr, base: number): void {
  if (base === 0) return;
  e.span.start += base;
  e.span.end += base;
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const c of e.children) shiftSpans(c, base);
      break;
    case 'not':
      shiftSpans(e.child, base);
      break;
    case 'unary':
      shiftOperand(e.left, base);
      break;
    case 'binary':
      shiftOperand(e.left, base);
      shiftOperand(e.right, base);
      break;
    case 'identifier':
      break;
  }
}
