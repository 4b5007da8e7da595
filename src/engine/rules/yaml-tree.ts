/**
 * YAML → a small neutral tree with source offsets, read the way Falco's yaml-cpp reads rules files.
 *
 * Every scalar keeps its exact source text (failsafe schema: no number or boolean conversion, so
 * `desc: 0.10` stays `0.10`); typed decoding (`decodeBool`, `decodeUint`) follows yaml-cpp's
 * converters, because Falco decodes keys with them (`capture: "yes"` is true, `capture_duration:
 * "x"` fails). Plain `~`, `null` and empty values are nulls. Aliases are resolved; for duplicate
 * keys the first one wins, as with yaml-cpp's `node[key]`.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { SourcePosition } from '../diagnostics.js';

export type ScalarStyle = 'plain' | 'double' | 'single' | 'literal' | 'folded';

interface NodeBase {
  /** Offset of the node's first character in the file content. */
  start: number;
  /** Offset just past the node's value. */
  end: number;
}

export interface YScalar extends NodeBase {
  kind: 'scalar';
  value: string;
  style: ScalarStyle;
  /** Explicit tag (`!!str`), if any. */
  tag?: string;
}

export interface YNull extends NodeBase {
  kind: 'null';
}

export interface YEntry {
  key: YNode;
  value: YNode;
}

export interface YMap extends NodeBase {
  kind: 'map';
  entries: YEntry[];
}

export interface YSeq extends NodeBase {
  kind: 'seq';
  items: YNode[];
}

export type YNode = YScalar | YNull | YMap | YSeq;

/** A rules file being read: its text and a line index for positions. */
export class YamlFile {
  private readonly lines: LineCounter;

  constructor(
    readonly name: string,
    readonly content: string,
    lines?: LineCounter,
  ) {
    this.lines = lines ?? buildLineCounter(content);
  }

  /** 1-based line/column of an offset in this file. */
  position(offset: number): SourcePosition {
    const o = Math.max(0, Math.min(offset, this.content.length));
    const { line, col } = this.lines.linePos(o);
    return { file: this.name, line, col, offset: o };
  }
}

function buildLineCounter(content: string): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = content.indexOf('\n'); i >= 0; i = content.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return lc;
}

export type ParsedYaml =
  | { ok: true; file: YamlFile; docs: YNode[] }
  | { ok: false; file: YamlFile; message: string; offset: number };

const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);

/** Parse every document of a file. Syntax errors give the first error (message and offset). */
export function parseYamlFile(name: string, content: string): ParsedYaml {
  const lineCounter = new LineCounter();
  let documents;
  try {
    documents = parseAllDocuments(content, {
      lineCounter,
      schema: 'failsafe',
      uniqueKeys: false,
      prettyErrors: false,
      strict: false,
    });
  } catch (e) {
    // The yaml package reports problems as values; an exception here is a library failure on odd input.
    const file = new YamlFile(name, content);
    return { ok: false, file, message: e instanceof Error ? e.message : String(e), offset: 0 };
  }
  const file = new YamlFile(name, content, lineCounter);
  const list = Array.isArray(documents) ? documents : [documents];
  const docs: YNode[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) return { ok: false, file, message: err.message, offset: err.pos[0] };
  }
  for (const doc of list) {
    const contents = doc.contents as YamlNode | null;
    const at = doc.range[0];
    docs.push(contents ? convert(contents, doc, at, 0) : { kind: 'null', start: at, end: at });
  }
  return { ok: true, file, docs };
}

type Doc = Document.Parsed;

const MAX_ALIAS_DEPTH = 64;

function convert(node: YamlNode, doc: Doc, fallbackOffset: number, aliasDepth: number): YNode {
  if (isAlias(node)) {
    const target = aliasDepth < MAX_ALIAS_DEPTH ? node.resolve(doc) : undefined;
    const at = node.range?.[0] ?? fallbackOffset;
    if (!target) return { kind: 'null', start: at, end: at };
    return convert(target as YamlNode, doc, at, aliasDepth + 1);
  }
  const range = node.range ?? [fallbackOffset, fallbackOffset, fallbackOffset];
  const start = range[0];
  const end = range[1];
  if (isScalar(node)) {
    const value = node.value === null || node.value === undefined ? '' : String(node.value);
    const style = scalarStyle(node.type);
    if (style === 'plain' && !node.tag && NULL_WORDS.has(value)) return { kind: 'null', start, end };
    const s: YScalar = { kind: 'scalar', value, style, start, end };
    if (node.tag) s.tag = node.tag;
    return s;
  }
  if (isMap(node)) {
    const entries: YEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const key: YNode = keyNode
        ? convert(keyNode, doc, start, aliasDepth)
        : { kind: 'null', start, end: start };
      const valNode = pair.value as YamlNode | null;
      const value: YNode = valNode
        ? convert(valNode, doc, key.end, aliasDepth)
        : { kind: 'null', start: key.end, end: key.end };
      entries.push({ key, value });
    }
    return { kind: 'map', entries, start, end };
  }
  if (isSeq(node)) {
    const items = node.items.map((item) =>
      item
        ? convert(item as YamlNode, doc, start, aliasDepth)
        : ({ kind: 'null', start, end: start } as YNull),
    );
    return { kind: 'seq', items, start, end };
  }
  return { kind: 'null', start, end };
}

const STYLES: Readonly<Record<string, ScalarStyle>> = {
  QUOTE_DOUBLE: 'double',
  QUOTE_SINGLE: 'single',
  BLOCK_LITERAL: 'literal',
  BLOCK_FOLDED: 'folded',
};

function scalarStyle(type: string | undefined): ScalarStyle {
  return (type !== undefined ? STYLES[type] : undefined) ?? 'plain';
}

/** Value of the first entry whose key is the scalar `key` (yaml-cpp `node[key]`). */
export function getEntry(map: YMap, key: string): YEntry | undefined {
  for (const e of map.entries) {
    if (e.key.kind === 'scalar' && e.key.value === key) return e;
  }
  return undefined;
}

export function getValue(map: YMap, key: string): YNode | undefined {
  return getEntry(map, key)?.value;
}

export function hasKey(map: YMap, key: string): boolean {
  return getEntry(map, key) !== undefined;
}

/** Text of a key node (scalar keys only; other keys have no name). */
export function keyText(node: YNode): string | undefined {
  return node.kind === 'scalar' ? node.value : undefined;
}

const BOOL_PAIRS: [string, string][] = [
  ['y', 'n'],
  ['yes', 'no'],
  ['true', 'false'],
  ['on', 'off'],
];

/** yaml-cpp accepts a word in lower case, UPPER case or Capitalised only. */
function flexibleLower(s: string): string | undefined {
  if (s === s.toLowerCase() || s === s.toUpperCase()) return s.toLowerCase();
  const rest = s.slice(1);
  if (s[0] === s[0]?.toUpperCase() && rest === rest.toLowerCase()) return s.toLowerCase();
  return undefined;
}

/** yaml-cpp `convert<bool>`: y/yes/true/on and n/no/false/off, in flexible case; else undefined. */
export function decodeBool(text: string): boolean | undefined {
  const lower = flexibleLower(text);
  if (lower === undefined) return undefined;
  for (const [t, f] of BOOL_PAIRS) {
    if (lower === t) return true;
    if (lower === f) return false;
  }
  return undefined;
}

/**
 * yaml-cpp `convert<unsigned>`: a stream read with base detection (`0x1f` hex, `017` octal),
 * trailing blanks allowed, no sign other than `+`; undefined when it does not decode or exceeds `max`.
 */
export function decodeUint(text: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))[ \t\r\n]*$/.exec(text);
  if (!m) return undefined;
  let n: number;
  if (m[1] !== undefined) n = parseInt(m[1], 16);
  else if (m[2] !== undefined) n = parseInt(m[2], 8);
  else n = Number(m[3]);
  return Number.isFinite(n) && n <= max ? n : undefined;
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** Source length of a double-quoted escape: `\xHH`, `\uHHHH`, `\UHHHHHHHH`, else two characters. */
const ESCAPE_LENGTHS: Readonly<Record<string, number>> = { x: 4, u: 6, U: 10 };

function escapeLength(src: string, j: number): number {
  return ESCAPE_LENGTHS[src[j + 1] ?? ''] ?? 2;
}

/**
 * For each character of a scalar's value, the offset in the file it comes from. Plain and block
 * scalars differ from their source only by folded line breaks and indentation, which the alignment
 * skips, so the map is exact for them; quoted scalars with escapes are mapped on a best-effort basis.
 */
export function alignScalar(content: string, node: YScalar): Int32Array {
  const { value, style } = node;
  const end = Math.min(node.end, content.length);
  let j = node.start;
  if (style === 'double' || style === 'single') j++;
  else if (style === 'literal' || style === 'folded') {
    const nl = content.indexOf('\n', node.start);
    j = nl < 0 || nl >= end ? end : nl + 1;
  }
  const map = new Int32Array(value.length + 1);
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    while (j < end) {
      const s = content[j];
      if (s === c) break;
      if (isBlank(c) && isBlank(s)) break;
      if (style === 'double' && s === '\\') break;
      j++;
    }
    map[i] = Math.min(j, end);
    if (j >= end) continue;
    if (style === 'double' && content[j] === '\\' && c !== '\\') j += escapeLength(content, j);
    else if (style === 'double' && content[j] === '\\') j += 2;
    else if (style === 'single' && content[j] === "'" && content[j + 1] === "'") j += 2;
    else j++;
    if (isBlank(c) && !isBlank(value[i + 1])) {
      while (j < end && isBlank(content[j])) j++;
    }
  }
  map[value.length] = Math.min(j, end);
  return map;
}
