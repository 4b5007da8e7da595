/**
 * Text that remembers where each of its characters came from.
 *
 * Conditions are assembled from several places before they are parsed: a YAML scalar, text appended
 * by later items (possibly in other files), exception clauses generated from exception entries, and
 * list items substituted for list names. Each piece keeps a locator, so an offset reported by the
 * parser or the compiler inside the final text maps back to `file:line:col`. Locations are computed
 * only when a diagnostic needs one.
 */
import type { SourcePosition } from '../diagnostics.js';
import { alignScalar, type YamlFile, type YNode, type YScalar } from './yaml-tree.js';

/** Where the characters of one piece come from. */
export interface Origin {
  locate(offset: number): SourcePosition | undefined;
}

interface Segment {
  /** Range in this text. */
  start: number;
  end: number;
  origin: Origin;
  /** Offset in the origin of the segment's first character. */
  originStart: number;
  /** Every character maps to `originStart` (generated or substituted text). */
  point: boolean;
}

/** A YAML scalar's value: exact positions for plain and block scalars. */
export class ScalarOrigin implements Origin {
  private map: Int32Array | undefined;

  constructor(
    private readonly file: YamlFile,
    private readonly node: YScalar,
  ) {}

  locate(offset: number): SourcePosition {
    this.map ??= alignScalar(this.file.content, this.node);
    const i = Math.max(0, Math.min(offset, this.map.length - 1));
    return this.file.position(this.map[i] ?? this.node.start);
  }
}

/** A fixed place (the start of a YAML node). */
export class PointOrigin implements Origin {
  constructor(private readonly position: SourcePosition | undefined) {}

  locate(): SourcePosition | undefined {
    return this.position;
  }
}

export class MappedText {
  private constructor(
    readonly text: string,
    private readonly segments: readonly Segment[],
  ) {}

  static readonly empty = new MappedText('', []);

  /** The value of a YAML scalar node. */
  static fromScalar(file: YamlFile, node: YScalar): MappedText {
    return new MappedText(node.value, [
      {
        start: 0,
        end: node.value.length,
        origin: new ScalarOrigin(file, node),
        originStart: 0,
        point: false,
      },
    ]);
  }

  /** The text of a YAML node (scalars map exactly; other nodes point at their start). */
  static fromNode(file: YamlFile, node: YNode, text: string): MappedText {
    if (node.kind === 'scalar' && node.value === text) return MappedText.fromScalar(file, node);
    return MappedText.generated(text, file.position(node.start));
  }

  /** Text produced by the loader: every character points at `position`. */
  static generated(text: string, position: SourcePosition | undefined): MappedText {
    if (text.length === 0) return MappedText.empty;
    return new MappedText(text, [
      { start: 0, end: text.length, origin: new PointOrigin(position), originStart: 0, point: true },
    ]);
  }

  get length(): number {
    return this.text.length;
  }

  /** Concatenate pieces; plain strings point at the position of the previous piece's end. */
  static concat(parts: readonly (MappedText | string)[]): MappedText {
    let text = '';
    const segs: Segment[] = [];
    let lastPos: SourcePosition | undefined;
    for (const p of parts) {
      const piece = typeof p === 'string' ? MappedText.generated(p, lastPos) : p;
      for (const s of piece.segments) {
        segs.push({ ...s, start: s.start + text.length, end: s.end + text.length });
      }
      text += piece.text;
      if (piece.length > 0) lastPos = piece.locate(piece.length - 1) ?? lastPos;
    }
    return new MappedText(text, segs);
  }

  /** The characters in [start, end). */
  slice(start: number, end: number): MappedText {
    const a = Math.max(0, start);
    const b = Math.min(this.text.length, end);
    if (b <= a) return MappedText.empty;
    const segs: Segment[] = [];
    for (const s of this.segments) {
      if (s.end <= a || s.start >= b) continue;
      const from = Math.max(s.start, a);
      const to = Math.min(s.end, b);
      segs.push({
        start: from - a,
        end: to - a,
        origin: s.origin,
        originStart: s.point ? s.originStart : s.originStart + (from - s.start),
        point: s.point,
      });
    }
    return new MappedText(this.text.slice(a, b), segs);
  }

  /** Replace [start, end) with `replacement`, whose characters all point where `anchor` pointed. */
  replace(start: number, end: number, replacement: string, anchor: number): MappedText {
    const pos = this.locate(anchor);
    return MappedText.concat([
      this.slice(0, start),
      MappedText.generated(replacement, pos),
      this.slice(end, this.text.length),
    ]);
  }

  /** Source position of the character at `offset` (the last character when past the end). */
  locate(offset: number): SourcePosition | undefined {
    const segs = this.segments;
    if (segs.length === 0) return undefined;
    const o = Math.max(0, Math.min(offset, this.text.length - 1));
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segs[mid] as Segment).start <= o) lo = mid;
      else hi = mid - 1;
    }
    const s = segs[lo] as Segment;
    const pos = s.origin.locate(s.point ? s.originStart : s.originStart + (o - s.start));
    // Past the end (e.g. "unexpected end of input"): just after the last character.
    if (pos && offset >= this.text.length && !s.point) {
      return { ...pos, col: pos.col + 1, offset: pos.offset + 1 };
    }
    return pos;
  }
}
