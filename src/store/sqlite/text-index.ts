/**
 * The SQLite store's text index: which stored alerts contain which words, so that a text filter for a
 * rare string reads a few rows instead of scanning millions.
 *
 * Layout. Alerts are grouped by `seq` (the rowid: insertion order) into blocks of {@link BLOCK_ROWS}.
 * A word is a maximal run of ASCII letters, digits, `_` and non-ASCII characters, lower-cased (ASCII
 * only, as SQLite's LIKE folds). Words get ids in `text_terms` (the vocabulary). For each block,
 * `text_blocks (block, term) → seqs` lists the block's alerts containing the word (offsets in the
 * block, 16 bits each); for each segment of {@link SEGMENT_BLOCKS} blocks, `text_segments (term,
 * segment) → blocks` is a bitmask of the blocks that have the word. Both are written in key order
 * as ingest goes on (a block when it is full, a segment when its last block is written), so indexing
 * appends pages instead of touching one page per word, which is what makes per-alert posting indexes
 * (FTS5's, for one) expensive to maintain. `text_progress.indexed_seq`: every alert at or below it is
 * indexed; the alerts above (at most a partly filled block, plus any lag) are scanned.
 *
 * Lookup. The filter keeps its meaning (the output contains the string, ASCII case folded: LIKE
 * decides); the index only narrows the rows LIKE reads. Each word of the string must appear in a
 * matching alert: whole if it is bounded inside the string, else as a word ending with it (first
 * word), starting with it (last word), or containing it (a string that is one word fragment). The
 * vocabulary gives the terms for each, the segments and blocks the candidate alerts (an AND across
 * the string's words, an OR across the terms of one word). When the candidates are too many, the
 * plain scan in time order is faster for a first page and is used instead.
 *
 * Digit-only words longer than {@link MAX_INDEXED_DIGITS} (nanosecond times, counters, inode numbers:
 * nearly every alert has new ones) are not indexed, so the vocabulary does not grow with every alert;
 * a string whose only words are such numbers, or digit fragments, is found by scanning.
 */
import type Database from 'better-sqlite3';

/** Alerts per block (by seq). */
export const BLOCK_BITS = 12;
export const BLOCK_ROWS = 1 << BLOCK_BITS;
/** Blocks per segment: the bitmask of a segment's blocks fits a 32-bit integer. */
export const SEGMENT_BLOCKS = 32;
/** Longest all-digit word that is indexed. */
export const MAX_INDEXED_DIGITS = 6;
/** Vocabulary terms one word of a query may expand to (a fragment such as `e` matches too many). */
const MAX_TERMS_PER_WORD = 512;
/** Candidate blocks beyond which the index is not used (the string is common: scan in time order). */
const MAX_CANDIDATE_BLOCKS = 96;
/**
 * Most alerts the index may name for a text filter to be read through it; a commoner string is
 * found faster by walking the time index, where a page fills quickly.
 */
export const TEXT_CANDIDATES_MAX = 5000;

/** A word character: ASCII letter, digit, `_`, or any non-ASCII UTF-16 unit. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c >= 128;
}

/** ASCII lower case (LIKE folds ASCII only; so does the index). */
function foldAscii(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

function allDigits(w: string): boolean {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether a whole word is in the index. */
export function isIndexedWord(w: string): boolean {
  return w.length <= MAX_INDEXED_DIGITS || !allDigits(w);
}

/** Calls `each` with every indexed word of `text` (folded; repeated words repeat). */
export function forEachWord(text: string, each: (word: string) => void): void {
  const s = foldAscii(text);
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const word = i < s.length && isWordChar(s.charCodeAt(i));
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const w = s.slice(start, i);
      if (isIndexedWord(w)) each(w);
      start = -1;
    }
  }
}

/** One word of a query string, and whether the matched text may extend it on either side. */
export interface QueryWord {
  word: string;
  /** The word starts the string: in the output it may be the end of a longer word. */
  openLeft: boolean;
  /** The word ends the string: in the output it may be the start of a longer word. */
  openRight: boolean;
}

/** The words of a text filter (folded), with their open ends. */
export function queryWords(text: string): QueryWord[] {
  const s = foldAscii(text);
  const out: QueryWord[] = [];
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const word = i < s.length && isWordChar(s.charCodeAt(i));
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push({ word: s.slice(start, i), openLeft: start === 0, openRight: i === s.length });
      start = -1;
    }
  }
  return out;
}

/** Offsets of a block's alerts, as stored: 16-bit little-endian, ascending. */
function encodeOffsets(offsets: number[]): Buffer {
  const b = Buffer.allocUnsafe(offsets.length * 2);
  for (let i = 0; i < offsets.length; i++) b.writeUInt16LE(offsets[i]!, i * 2);
  return b;
}

/**
 * The writer side: indexes whole blocks of stored alerts, one block per {@link step}, on the
 * writer's connection. Stateless between steps (everything is read back from the database), so a
 * restart, another process's writes or a retention pass never leave it inconsistent.
 */
export class TextIndexer {
  private readonly progress: Database.Statement;
  private readonly maxSeq: Database.Statement;
  private readonly rows: Database.Statement;
  private readonly findTerm: Database.Statement;
  private readonly addTerm: Database.Statement;
  private readonly addBlock: Database.Statement;
  private readonly segmentTerms: Database.Statement;
  private readonly addSegment: Database.Statement;
  private readonly advance: Database.Statement;
  private readonly indexBlock: Database.Transaction<() => number>;
  /** Term ids already looked up (terms are never renumbered, so this never goes stale). */
  private readonly termIds = new Map<string, number>();

  constructor(db: Database.Database) {
    this.progress = db.prepare('SELECT indexed_seq FROM text_progress').pluck();
    this.maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM alerts').pluck();
    this.rows = db.prepare('SELECT seq, output FROM alerts WHERE seq BETWEEN ? AND ? ORDER BY seq');
    this.findTerm = db.prepare('SELECT id FROM text_terms WHERE term = ?').pluck();
    this.addTerm = db.prepare('INSERT INTO text_terms (term) VALUES (?)');
    this.addBlock = db.prepare('INSERT OR REPLACE INTO text_blocks (block, term, seqs) VALUES (?, ?, ?)');
    this.segmentTerms = db.prepare('SELECT block, term FROM text_blocks WHERE block BETWEEN ? AND ?');
    this.addSegment = db.prepare(
      'INSERT OR REPLACE INTO text_segments (term, segment, blocks) VALUES (?, ?, ?)',
    );
    this.advance = db.prepare('UPDATE text_progress SET indexed_seq = ?');
    this.indexBlock = db.transaction(() => this.indexNextBlock());
  }

  /** Alerts stored above the index's progress (the part a text filter scans). */
  lag(): number {
    return Math.max(0, (this.maxSeq.get() as number) - (this.progress.get() as number));
  }

  /**
   * Indexes the next block when it is complete (a later alert exists) and returns how many alerts
   * it held; 0 when there is no complete block to index.
   */
  step(): number {
    return this.indexBlock.immediate();
  }

  private indexNextBlock(): number {
    const done = this.progress.get() as number;
    const block = Math.floor((done + 1) / BLOCK_ROWS);
    const first = block * BLOCK_ROWS;
    const last = first + BLOCK_ROWS - 1;
    if ((this.maxSeq.get() as number) <= last) return 0;
    const postings = new Map<string, number[]>();
    let n = 0;
    for (const r of this.rows.iterate(Math.max(first, done + 1), last) as Iterable<{
      seq: number;
      output: string;
    }>) {
      const offset = r.seq - first;
      n++;
      forEachWord(r.output, (w) => {
        const list = postings.get(w);
        if (list === undefined) postings.set(w, [offset]);
        else if (list[list.length - 1] !== offset) list.push(offset);
      });
    }
    const rows: [number, Buffer][] = [];
    for (const [w, offsets] of postings) rows.push([this.termId(w), encodeOffsets(offsets)]);
    // Key order: the block's entries go to the end of the table as a run of appended pages.
    rows.sort((a, b) => a[0] - b[0]);
    for (const [term, seqs] of rows) this.addBlock.run(block, term, seqs);
    if ((block + 1) % SEGMENT_BLOCKS === 0) this.writeSegment(Math.floor(block / SEGMENT_BLOCKS));
    this.advance.run(last);
    return n;
  }

  private writeSegment(segment: number): void {
    const firstBlock = segment * SEGMENT_BLOCKS;
    const masks = new Map<number, number>();
    for (const r of this.segmentTerms.iterate(firstBlock, firstBlock + SEGMENT_BLOCKS - 1) as Iterable<{
      block: number;
      term: number;
    }>) {
      masks.set(r.term, ((masks.get(r.term) ?? 0) | (1 << (r.block - firstBlock))) >>> 0);
    }
    for (const [term, mask] of masks) this.addSegment.run(term, segment, mask);
  }

  private termId(w: string): number {
    let id = this.termIds.get(w);
    if (id !== undefined) return id;
    id = (this.findTerm.get(w) as number | undefined) ?? Number(this.addTerm.run(w).lastInsertRowid);
    // Bounded: a huge vocabulary is looked up again rather than held.
    if (this.termIds.size >= 500_000) this.termIds.clear();
    this.termIds.set(w, id);
    return id;
  }
}

/** What the index says about a text filter: the alerts that may match, and how far it reaches. */
export interface TextCandidates {
  /** JSON array of seqs (at most {@link TEXT_CANDIDATES_MAX}). */
  ids: string;
  /** Alerts above this seq are not indexed: they are tested by LIKE alone. */
  indexedSeq: number;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The reader side: candidates for a text filter, on the store's read connection. */
export class TextSearch {
  private readonly progress: Database.Statement;
  private readonly exact: Database.Statement;
  private readonly like: Database.Statement;
  private readonly prefix: Database.Statement;
  private readonly segments: Database.Statement;
  private readonly blockTerms: Database.Statement;
  private readonly blockOffsets: Database.Statement;

  constructor(db: Database.Database) {
    this.progress = db.prepare('SELECT indexed_seq FROM text_progress').pluck();
    this.exact = db.prepare('SELECT id FROM text_terms WHERE term = ?').pluck();
    this.like = db
      .prepare(`SELECT id FROM text_terms WHERE term LIKE ? ESCAPE '\\' LIMIT ${MAX_TERMS_PER_WORD + 1}`)
      .pluck();
    this.prefix = db
      .prepare(`SELECT id FROM text_terms WHERE term >= ? AND term < ? LIMIT ${MAX_TERMS_PER_WORD + 1}`)
      .pluck();
    this.segments = db.prepare(
      'SELECT segment, blocks FROM text_segments WHERE term IN (SELECT value FROM json_each(?))',
    );
    this.blockTerms = db
      .prepare(
        'SELECT 1 FROM text_blocks WHERE block = ? AND term IN (SELECT value FROM json_each(?)) LIMIT 1',
      )
      .pluck();
    this.blockOffsets = db.prepare(
      'SELECT term, seqs FROM text_blocks WHERE block = ? AND term IN (SELECT value FROM json_each(?))',
    );
  }

  /**
   * The terms a query word may be in an output (undefined: the index cannot narrow by this word, e.g.
   * a digit fragment that may lie inside an unindexed number, or a fragment matching too many terms).
   */
  private termsFor(q: QueryWord): number[] | undefined {
    const { word, openLeft, openRight } = q;
    if (!openLeft && !openRight) {
      if (!isIndexedWord(word)) return undefined;
      const id = this.exact.get(word) as number | undefined;
      return id === undefined ? [] : [id];
    }
    // A digit fragment may be part of a long number, which is not indexed.
    if (allDigits(word)) return undefined;
    let ids: number[];
    if (!openLeft) {
      // Terms starting with the word: a range of the vocabulary's unique index.
      ids = this.prefix.all(word, `${word}\u{10ffff}`) as number[];
    } else {
      ids = this.like.all(openRight ? `%${escapeLike(word)}%` : `%${escapeLike(word)}`) as number[];
    }
    return ids.length > MAX_TERMS_PER_WORD ? undefined : ids;
  }

  /**
   * Candidates for a text filter, or undefined when the index cannot narrow it enough to beat a
   * scan (the filter is then answered by LIKE over the rows in time order, as without an index).
   */
  candidates(text: string): TextCandidates | undefined {
    const indexedSeq = this.progress.get() as number;
    if (indexedSeq === 0) return undefined;
    const groups: number[][] = [];
    for (const w of queryWords(text)) {
      const terms = this.termsFor(w);
      if (terms === undefined) continue;
      if (terms.length === 0) return { ids: '[]', indexedSeq }; // a word no indexed alert has
      groups.push(terms);
    }
    if (groups.length === 0) return undefined;
    // The rarest words first: their block sets are the smallest to intersect with.
    const lastBlock = Math.floor((indexedSeq + 1) / BLOCK_ROWS) - 1;
    const openSegment = Math.floor((lastBlock + 1) / SEGMENT_BLOCKS);
    let blocks: Set<number> | undefined;
    for (const terms of groups) {
      const json = JSON.stringify(terms);
      const mine = new Set<number>();
      for (const r of this.segments.iterate(json) as Iterable<{ segment: number; blocks: number }>) {
        if (r.segment >= openSegment) continue;
        for (let m = r.blocks >>> 0, i = 0; m !== 0; m >>>= 1, i++) {
          if (m & 1) {
            const b = r.segment * SEGMENT_BLOCKS + i;
            if (!blocks || blocks.has(b)) mine.add(b);
          }
        }
      }
      // Blocks of the segment still being filled: asked one by one.
      for (let b = openSegment * SEGMENT_BLOCKS; b <= lastBlock; b++) {
        if ((!blocks || blocks.has(b)) && this.blockTerms.get(b, json) !== undefined) mine.add(b);
      }
      blocks = mine;
      if (blocks.size === 0) return { ids: '[]', indexedSeq };
    }
    if (!blocks || blocks.size > MAX_CANDIDATE_BLOCKS) return undefined;
    const termGroups = new Map<number, number[]>();
    groups.forEach((terms, g) => {
      for (const t of terms) (termGroups.get(t) ?? termGroups.set(t, []).get(t)!).push(g);
    });
    const allTerms = JSON.stringify([...termGroups.keys()]);
    const ids: number[] = [];
    // Per offset of a block, how many of the query's words (taken in order) were found there so far:
    // an offset counts for word g only if it counted for every word before it.
    const hits = new Uint8Array(BLOCK_ROWS);
    const offsets: Buffer[][] = groups.map(() => []);
    for (const b of [...blocks].sort((x, y) => x - y)) {
      for (const list of offsets) list.length = 0;
      for (const r of this.blockOffsets.iterate(b, allTerms) as Iterable<{ term: number; seqs: Buffer }>) {
        for (const g of termGroups.get(r.term) ?? []) offsets[g]!.push(r.seqs);
      }
      hits.fill(0);
      for (let g = 0; g < groups.length; g++) {
        for (const buf of offsets[g]!) {
          for (let i = 0; i + 1 < buf.length; i += 2) {
            const o = buf[i]! | (buf[i + 1]! << 8);
            if (hits[o] === g) hits[o] = g + 1;
          }
        }
      }
      const all = Math.min(groups.length, 255);
      for (let o = 0; o < BLOCK_ROWS; o++) if (hits[o]! >= all) ids.push(b * BLOCK_ROWS + o);
      if (ids.length > TEXT_CANDIDATES_MAX) return undefined;
    }
    return { ids: JSON.stringify(ids), indexedSeq };
  }
}

/**
 * After a retention pass: when the newest alerts went, new alerts take their seqs again (seq is
 * max + 1), so the index must forget the blocks from the highest remaining seq on. Also drops the
 * blocks and segments below the lowest remaining seq. Run in the deleting transaction.
 */
export function trimTextIndex(db: Database.Database): void {
  const { lo, hi } = db
    .prepare('SELECT coalesce(min(seq), 0) AS lo, coalesce(max(seq), 0) AS hi FROM alerts')
    .get() as {
    lo: number;
    hi: number;
  };
  const done = db.prepare('SELECT indexed_seq FROM text_progress').pluck().get() as number;
  if (hi < done) {
    // Blocks from the one holding hi + 1 are rebuilt when alerts fill them again.
    const block = Math.floor((hi + 1) / BLOCK_ROWS);
    db.prepare('DELETE FROM text_blocks WHERE block >= ?').run(block);
    db.prepare('DELETE FROM text_segments WHERE segment >= ?').run(Math.floor(block / SEGMENT_BLOCKS));
    db.prepare('UPDATE text_progress SET indexed_seq = ?').run(Math.max(0, block * BLOCK_ROWS - 1));
  }
  const firstBlock = Math.floor(lo / BLOCK_ROWS);
  db.prepare('DELETE FROM text_blocks WHERE block < ?').run(firstBlock);
  db.prepare('DELETE FROM text_segments WHERE segment < ?').run(Math.floor(firstBlock / SEGMENT_BLOCKS));
}
