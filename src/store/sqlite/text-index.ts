/**
 * The SQLite store's text index: which stored alerts contain which words, so that a text filter for a
 * rare string reads a few rows instead of scanning millions.
 *
 * Layout. Alerts are grouped by `seq` (the rowid: insertion order) into blocks of {@link BLOCK_ROWS}.
 * A word is a maximal run of ASCII letters, digits, `_` and non-ASCII characters, lower-cased (ASCII
 * only, as SQLite's LIKE folds). Words get ids in `text_terms` (the vocabulary). For each block,
 * `text_blocks (block, term) → seqs` lists the block's alerts containing the word (offsets in the
 * block, 16 bits each) for the blocks of the segment being filled (and of the newest closed one).
 * When a segment of {@link SEGMENT_BLOCKS} blocks is full, its postings become one row per word,
 * `text_segments (term, segment) → blocks mask, alert count, offsets` (offsets over 2 KiB in
 * `text_postings`), so a word's rows sit together and a rare word is read from a page or two. Both
 * are written in key order as ingest goes on (a block when it is full, a segment when its last block
 * is), so indexing appends pages instead of touching one page per word, which is what makes
 * per-alert posting indexes (FTS5's, for one) expensive to maintain. `text_progress.indexed_seq`:
 * every alert at or below it is indexed; the alerts above (at most a partly filled block, plus any
 * lag) are scanned. The indexer also keeps the hourly counts (counts.ts).
 *
 * Lookup. The filter keeps its meaning (the output contains the string, ASCII case folded: LIKE
 * decides); the index only narrows the rows LIKE reads. Each word of the string must appear in a
 * matching alert: whole if it is bounded inside the string, else as a word ending with it (first
 * word), starting with it (last word), or containing it (a string that is one word fragment). The
 * vocabulary gives the terms for each, the postings the candidate alerts (an AND across the string's
 * words, rarest first, an OR across the terms of one word). When the candidates are too many, the
 * plain scan in time order is faster for a first page and is used instead.
 *
 * Alert columns (rule, priority, source, hostname, namespace) are indexed the same
 * way, as pseudo-words ({@link dimensionTerm}: a control character no output word contains, a letter
 * for the column, the exact value), so a filter on a rare host or priority reads its postings
 * instead of a per-alert B-tree index that every insert would have to update. Such a filter is
 * narrowed like a text word (an AND with the others, rarest first, within the same budget); a common
 * value is found sooner by walking the time index.
 *
 * Digit-only words longer than {@link MAX_INDEXED_DIGITS} (nanosecond times, counters, inode numbers:
 * nearly every alert has new ones) are not indexed, so the vocabulary does not grow with every alert;
 * a string whose only words are such numbers, or digit fragments, is found by scanning.
 */
import type Database from 'better-sqlite3';
import { addRow, clampCountsRows, COUNT_COLUMNS, CountDelta, type CountRow } from './counts.js';

/** Alerts per block (by seq). */
export const BLOCK_BITS = 12;
export const BLOCK_ROWS = 1 << BLOCK_BITS;
/** Blocks per segment: the bitmask of a segment's blocks fits a 32-bit integer. */
export const SEGMENT_BLOCKS = 32;
/** Longest all-digit word that is indexed. */
export const MAX_INDEXED_DIGITS = 6;
/** Vocabulary terms one word of a query may expand to (a fragment such as `e` matches too many). */
const MAX_TERMS_PER_WORD = 512;
/** Largest postings kept in a text_segments row; longer ones go to text_postings. */
const MAX_INLINE_POSTINGS = 2048;
/** Recent candidate blocks sampled to find a query's rarest word. */
const SAMPLE_BLOCKS = 3;
/**
 * Alerts the rarest word of a query may be estimated to have for the index to be read (beyond, the
 * string is common and a scan in time order fills a page sooner).
 */
const MAX_FIRST_WORD_ALERTS = 200_000;

/** Alert columns indexed as pseudo-words, and the letter that marks each. */
const DIMENSIONS = {
  rule: 'r',
  priority: 'p',
  source: 's',
  hostname: 'h',
  k8s_ns: 'n',
} as const;
export type Dimension = keyof typeof DIMENSIONS;

/**
 * The pseudo-word of a column's value: U+0001 (never part of an output word, and below every word
 * character, so vocabulary lookups for words skip these), the column's letter, the exact value.
 */
export function dimensionTerm(d: Dimension, value: string | number): string {
  return `\u0001${DIMENSIONS[d]}${value}`;
}

/** Lowest word character: vocabulary terms at or above it are words, below it pseudo-words. */
const FIRST_WORD_TERM = '0';

interface OffsetsRow {
  block: number;
  seqs: Buffer;
}
/**
 * Reading one candidate costs a page read of its own (16 KiB, the rows are scattered); walking the
 * time index reads rows in order, a dozen per page. Measured over 10M benchmark alerts (2026-11-26):
 * ~7 µs per candidate against ~0.4 µs per row walked, plus ~1 µs per row for a text filter's LIKE.
 */
const CANDIDATE_ROW_US = 7;
const WALK_ROW_US = 0.4;
const LIKE_ROW_US = 1;

/**
 * How many alerts the index may name for a filter to be read through it. A page found by walking the
 * time index (or the rule index: `universe` is the alerts that walk covers) reads about
 * `limit × universe / matching` rows; the candidates one (dearer) row each. So the index pays while
 * the matches are fewer than √(walk cost ÷ candidate cost × limit × universe): about
 * 0.24·√(limit × universe) for column values, 0.45·√(…) with text. A count reads every match either
 * way and takes the index up to a twentieth of the store. Never under 1,000 (a few milliseconds),
 * never over 100,000 (the list is bound as one JSON parameter).
 */
export function candidateBudget(limit: number | 'count', universe: number, text = false): number {
  const perRow = (WALK_ROW_US + (text ? LIKE_ROW_US : 0)) / CANDIDATE_ROW_US;
  const b = limit === 'count' ? universe / 20 : Math.sqrt(perRow * limit * universe);
  return Math.round(Math.min(100_000, Math.max(1000, b)));
}

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

/** Calls `each` with the start and end of every word of the folded `s`. */
function eachWord(s: string, each: (start: number, end: number) => void): void {
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const word = i < s.length && isWordChar(s.charCodeAt(i));
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      each(start, i);
      start = -1;
    }
  }
}

/** Calls `each` with every indexed word of `text` (folded; repeated words repeat). */
export function forEachWord(text: string, each: (word: string) => void): void {
  const s = foldAscii(text);
  eachWord(s, (start, end) => {
    const w = s.slice(start, end);
    if (isIndexedWord(w)) each(w);
  });
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
  eachWord(s, (start, end) =>
    out.push({ word: s.slice(start, end), openLeft: start === 0, openRight: end === s.length }),
  );
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
  private readonly segmentRows: Database.Statement;
  private readonly addSegment: Database.Statement;
  private readonly addPostings: Database.Statement;
  private readonly dropBlocks: Database.Statement;
  private readonly addBlockTimes: Database.Statement;
  private readonly advance: Database.Statement;
  private readonly indexBlock: Database.Transaction<() => number>;
  /** Term ids already looked up (terms are never renumbered, so this never goes stale). */
  private readonly termIds = new Map<string, number>();

  constructor(private readonly db: Database.Database) {
    this.progress = db.prepare('SELECT indexed_seq FROM text_progress').pluck();
    this.maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM alerts').pluck();
    this.rows = db
      .prepare(
        `SELECT seq, output, ${COUNT_COLUMNS}, k8s_ns FROM alerts WHERE seq BETWEEN ? AND ? ORDER BY seq`,
      )
      .safeIntegers(true);
    this.findTerm = db.prepare('SELECT id FROM text_terms WHERE term = ?').pluck();
    this.addTerm = db.prepare('INSERT INTO text_terms (term) VALUES (?)');
    this.addBlock = db.prepare('INSERT OR REPLACE INTO text_blocks (block, term, seqs) VALUES (?, ?, ?)');
    this.segmentRows = db.prepare(
      'SELECT block, term, seqs FROM text_blocks WHERE block BETWEEN ? AND ? ORDER BY block',
    );
    this.addSegment = db.prepare(
      'INSERT OR REPLACE INTO text_segments (term, segment, blocks, alerts, seqs, big) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.addPostings = db.prepare('INSERT INTO text_postings (seqs) VALUES (?)');
    this.dropBlocks = db.prepare('DELETE FROM text_blocks WHERE block < ?');
    this.addBlockTimes = db.prepare(
      'INSERT OR REPLACE INTO text_block_times (block, min_time, max_time) VALUES (?, ?, ?)',
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
    const counts = new CountDelta();
    let n = 0;
    let offset = 0;
    let minTime: bigint | undefined;
    let maxTime: bigint | undefined;
    const add = (w: string): void => {
      const list = postings.get(w);
      if (list === undefined) postings.set(w, [offset]);
      else if (list[list.length - 1] !== offset) list.push(offset);
    };
    for (const r of this.rows.iterate(Math.max(first, done + 1), last) as Iterable<
      CountRow & { seq: bigint; output: string; k8s_ns: string | null }
    >) {
      offset = Number(r.seq) - first;
      n++;
      addRow(counts, r);
      if (minTime === undefined || r.time < minTime) minTime = r.time;
      if (maxTime === undefined || r.time > maxTime) maxTime = r.time;
      forEachWord(r.output, add);
      add(dimensionTerm('rule', r.rule));
      add(dimensionTerm('priority', Number(r.priority)));
      add(dimensionTerm('source', r.source));
      add(dimensionTerm('hostname', r.hostname));
      if (r.k8s_ns !== null) add(dimensionTerm('k8s_ns', r.k8s_ns));
    }
    const rows: [number, Buffer][] = [];
    for (const [w, offsets] of postings) rows.push([this.termId(w), encodeOffsets(offsets)]);
    // Key order: the block's entries go to the end of the table as a run of appended pages.
    rows.sort((a, b) => a[0] - b[0]);
    for (const [term, seqs] of rows) this.addBlock.run(block, term, seqs);
    if (minTime !== undefined && maxTime !== undefined) this.addBlockTimes.run(block, minTime, maxTime);
    if ((block + 1) % SEGMENT_BLOCKS === 0) this.writeSegment(Math.floor(block / SEGMENT_BLOCKS));
    // The hourly counts cover exactly the indexed alerts (counts.ts).
    counts.apply(this.db, 1);
    this.advance.run(last);
    return n;
  }

  /**
   * Writes a finished segment's postings, one row per word (its blocks' offsets together), so a
   * lookup reads a word's few rows rather than seeking into every block; then drops the block rows
   * of older segments (the newest closed segment keeps them: lookups sample its last blocks).
   */
  private writeSegment(segment: number): void {
    const firstBlock = segment * SEGMENT_BLOCKS;
    const parts = new Map<number, { mask: number; alerts: number; chunks: Buffer[] }>();
    for (const r of this.segmentRows.iterate(firstBlock, firstBlock + SEGMENT_BLOCKS - 1) as Iterable<{
      block: number;
      term: number;
      seqs: Buffer;
    }>) {
      let p = parts.get(r.term);
      if (!p) parts.set(r.term, (p = { mask: 0, alerts: 0, chunks: [] }));
      const i = r.block - firstBlock;
      p.mask = (p.mask | (1 << i)) >>> 0;
      p.alerts += r.seqs.length / 2;
      const head = Buffer.allocUnsafe(3);
      head.writeUInt8(i, 0);
      head.writeUInt16LE(r.seqs.length / 2, 1);
      p.chunks.push(head, r.seqs);
    }
    for (const [term, p] of [...parts].sort((x, y) => x[0] - y[0])) {
      const seqs = Buffer.concat(p.chunks);
      if (seqs.length <= MAX_INLINE_POSTINGS)
        this.addSegment.run(term, segment, p.mask, p.alerts, seqs, null);
      else {
        const big = this.addPostings.run(seqs).lastInsertRowid;
        this.addSegment.run(term, segment, p.mask, p.alerts, null, big);
      }
    }
    this.dropBlocks.run(firstBlock);
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

/** Columns that also have a B-tree index on (column, time) in the alerts table. */
const BTREE_DIMENSIONS: ReadonlySet<Dimension> = new Set(['rule']);

/** What a filter asks that the index can narrow: its text, and values of indexed columns. */
export interface IndexQuery {
  text?: string;
  /** Per column, the values any of which matches (priority: every rank at or above the asked one). */
  values?: Partial<Record<Dimension, readonly (string | number)[]>>;
}

/** The terms one query word or column may be (JSON ids), and whether the column has a B-tree index. */
interface Group {
  terms: string;
  btree: boolean;
}

/** `from … to-1`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** What the index says about a filter: the alerts that may match, and how far it reaches. */
export interface TextCandidates {
  /** JSON array of seqs (at most the budget: {@link candidateBudget}). */
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
  private readonly maxSeq: Database.Statement;
  private readonly exact: Database.Statement;
  private readonly like: Database.Statement;
  private readonly prefix: Database.Statement;
  private readonly segmentAlerts: Database.Statement;
  private readonly blockBytes: Database.Statement;
  private readonly segmentRows: Database.Statement;
  private readonly segmentRowsIn: Database.Statement;
  private readonly blockRows: Database.Statement;
  private readonly blockTimeRows: Database.Statement;

  constructor(db: Database.Database) {
    const terms = 'term IN (SELECT value FROM json_each(?))';
    this.progress = db.prepare('SELECT indexed_seq FROM text_progress').pluck();
    this.maxSeq = db.prepare('SELECT coalesce(max(seq), 0) FROM alerts').pluck();
    this.exact = db.prepare('SELECT id FROM text_terms WHERE term = ?').pluck();
    this.like = db
      .prepare(
        `SELECT id FROM text_terms WHERE term >= '${FIRST_WORD_TERM}' AND term LIKE ? ESCAPE '\\' LIMIT ${MAX_TERMS_PER_WORD + 1}`,
      )
      .pluck();
    this.prefix = db
      .prepare(`SELECT id FROM text_terms WHERE term >= ? AND term < ? LIMIT ${MAX_TERMS_PER_WORD + 1}`)
      .pluck();
    // Sizes without reading postings: a segment row's count, and the length of a block's offsets.
    this.segmentAlerts = db
      .prepare(`SELECT coalesce(sum(alerts), 0) FROM text_segments WHERE ${terms}`)
      .pluck();
    this.blockBytes = db
      .prepare(
        `SELECT coalesce(sum(length(seqs)), 0) FROM text_blocks WHERE block IN (SELECT value FROM json_each(?)) AND ${terms}`,
      )
      .pluck();
    const postings = 'segment, coalesce(seqs, (SELECT p.seqs FROM text_postings p WHERE p.id = big)) AS seqs';
    this.segmentRows = db.prepare(`SELECT ${postings} FROM text_segments WHERE ${terms}`);
    this.segmentRowsIn = db.prepare(
      `SELECT ${postings} FROM text_segments WHERE ${terms} AND segment IN (SELECT value FROM json_each(?))`,
    );
    this.blockRows = db.prepare(
      `SELECT block, seqs FROM text_blocks WHERE block IN (SELECT value FROM json_each(?)) AND ${terms}`,
    );
    this.blockTimeRows = db
      .prepare(
        'SELECT block, min_time, max_time FROM text_block_times WHERE block IN (SELECT value FROM json_each(?))',
      )
      .safeIntegers(true);
  }

  /** The time range of each of `blocks` that has one (indexed blocks; ns). */
  blockTimes(blocks: readonly number[]): Map<number, { min: bigint; max: bigint }> {
    const out = new Map<number, { min: bigint; max: bigint }>();
    for (const r of this.blockTimeRows.iterate(JSON.stringify(blocks)) as Iterable<{
      block: bigint;
      min_time: bigint;
      max_time: bigint;
    }>) {
      out.set(Number(r.block), { min: r.min_time, max: r.max_time });
    }
    return out;
  }

  /** Every alert at or below this seq is indexed (0: none yet). */
  indexedSeq(): number {
    return this.progress.get() as number;
  }

  /** The highest seq stored (about how many alerts the store holds). */
  storedSeq(): number {
    return this.maxSeq.get() as number;
  }

  /** Stored alerts the index does not cover yet (a text filter scans them). */
  lag(): number {
    return Math.max(0, this.storedSeq() - this.indexedSeq());
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
   * The term groups of a query: per text word, the terms it may be; per column, the pseudo-words of
   * its values. `none`: some group has no indexed alert at all.
   */
  private groups(q: IndexQuery): Group[] | 'none' {
    const out: Group[] = [];
    if (q.text !== undefined && q.text !== '') {
      for (const w of queryWords(q.text)) {
        const terms = this.termsFor(w);
        if (terms === undefined) continue;
        if (terms.length === 0) return 'none'; // a word no indexed alert has
        out.push({ terms: JSON.stringify(terms), btree: false });
      }
    }
    for (const [d, values] of Object.entries(q.values ?? {}) as [Dimension, readonly (string | number)[]][]) {
      const terms: number[] = [];
      for (const v of values) {
        const id = this.exact.get(dimensionTerm(d, v)) as number | undefined;
        if (id !== undefined) terms.push(id);
      }
      if (terms.length === 0) return 'none';
      out.push({ terms: JSON.stringify(terms), btree: BTREE_DIMENSIONS.has(d) });
    }
    return out;
  }

  /** Closed segments are read from text_segments, the blocks after them (`open`) from text_blocks. */
  private openBlocks(blocks: number): number[] {
    return range(Math.floor(blocks / SEGMENT_BLOCKS) * SEGMENT_BLOCKS, blocks);
  }

  /** Alerts per group (an upper bound for a text word with several terms; exact for a column). */
  private groupSizes(groups: readonly Group[], open: readonly number[]): number[] {
    const openJson = JSON.stringify(open);
    return groups.map(
      (g) =>
        (this.segmentAlerts.get(g.terms) as number) + (this.blockBytes.get(openJson, g.terms) as number) / 2,
    );
  }

  /**
   * Candidates for a filter's text and column values, or undefined when the index cannot narrow
   * them enough to beat the alternative (the filter is then answered by walking the time index, or
   * the rule or container index, testing each row, as without this index). `limit`: the page size,
   * or `count` (see {@link candidateBudget}).
   */
  candidates(q: IndexQuery, limit: number | 'count'): TextCandidates | undefined {
    const indexedSeq = this.progress.get() as number;
    const blocks = Math.floor((indexedSeq + 1) / BLOCK_ROWS);
    if (blocks === 0) return undefined;
    const groups = this.groups(q);
    if (groups === 'none') return { ids: '[]', indexedSeq };
    // The rule has a B-tree index of its own, which finds a page faster than candidates.
    if (groups.every((g) => g.btree)) return undefined;
    const open = this.openBlocks(blocks);
    const sizes = this.groupSizes(groups, open);
    // The alternative to candidates walks the rule index when the filter has a rule, reading that
    // rule's alerts in time order until a page is found; else the time index.
    let universe = this.storedSeq();
    groups.forEach((g, i) => {
      if (g.btree) universe = Math.min(universe, sizes[i]!);
    });
    const budget = candidateBudget(limit, universe, q.text !== undefined && q.text !== '');
    const order = groups.map((_, g) => g).sort((x, y) => sizes[x]! - sizes[y]!);
    if (sizes[order[0]!]! > MAX_FIRST_WORD_ALERTS) return undefined;
    this.prepareBits(blocks);
    if (sizes[order[0]!]! > budget) {
      // Each word alone is over the budget: the newest few blocks with every word say roughly how
      // many alerts the whole string has. A common string is left to the scan before more is read.
      // (When the rarest word is within the budget, so is the string: no estimate is needed — a
      // sample of a few blocks is too small for a value on 1 alert in thousands.)
      const sample = range(Math.max(0, blocks - SAMPLE_BLOCKS), blocks);
      let inSample: Offsets | undefined;
      for (const g of order) inSample = this.read(groups[g]!.terms, open, inSample, sample);
      if ((inSample!.count / sample.length) * blocks > budget) return undefined;
    }
    // Each word alone may be common while the string is rare (a pod name's parts): intersect per
    // alert, rarest word first, reading the next word only where candidates remain.
    let cand: Offsets | undefined;
    for (const g of order) {
      if (cand && cand.count <= budget) {
        // Few enough for the row tests; the next word is still read when that is cheaper than
        // checking the rows it may rule out. (Up to 300 offsets per candidate was tried: a common
        // word's postings are megabytes, and it was slower over 10M benchmark alerts.)
        const toRead = (sizes[g]! * cand.blocks.size) / blocks;
        if (cand.count <= 16 || toRead > 10 * cand.count) break;
      }
      cand = this.read(groups[g]!.terms, open, cand);
    }
    if (!cand || cand.count > budget) return undefined;
    const ids: number[] = [];
    const bits = cand.bits;
    for (const block of [...cand.blocks].sort((x, y) => x - y)) {
      for (let w = block * WORDS_PER_BLOCK, end = w + WORDS_PER_BLOCK; w < end; w++) {
        for (let m = bits[w]!; m !== 0; m &= m - 1) ids.push(w * 32 + (31 - Math.clz32(m & -m)));
      }
    }
    return { ids: JSON.stringify(ids), indexedSeq };
  }

  /**
   * How many indexed alerts (seq at or below {@link indexedSeq}) have the given column values,
   * exactly, from the postings alone; undefined when there are no values. (An alert has one value
   * per column, so the postings of a column's values are disjoint and their sizes add up.)
   */
  countIndexed(values: NonNullable<IndexQuery['values']>): { count: number; indexedSeq: number } | undefined {
    const indexedSeq = this.progress.get() as number;
    const blocks = Math.floor((indexedSeq + 1) / BLOCK_ROWS);
    const groups = this.groups({ values });
    if (groups === 'none') return { count: 0, indexedSeq };
    if (groups.length === 0) return undefined;
    const open = this.openBlocks(blocks);
    const sizes = this.groupSizes(groups, open);
    if (groups.length === 1) return { count: sizes[0]!, indexedSeq };
    this.prepareBits(blocks);
    let cand: Offsets | undefined;
    for (const g of groups.map((_, i) => i).sort((x, y) => sizes[x]! - sizes[y]!)) {
      cand = this.read(groups[g]!.terms, open, cand);
      if (cand.count === 0) break;
    }
    return { count: cand!.count, indexedSeq };
  }

  /** Two bitsets over seqs (a word's alerts are read into one, filtered by the other), reused. */
  private bitsets: [Uint32Array, Uint32Array] = [new Uint32Array(0), new Uint32Array(0)];
  private nextBitset = 0;

  private prepareBits(blocks: number): void {
    const words = blocks * WORDS_PER_BLOCK;
    if (this.bitsets[0].length < words) {
      // Room to grow, so a growing store does not reallocate at every query.
      const size = Math.ceil(words * 1.25);
      this.bitsets = [new Uint32Array(size), new Uint32Array(size)];
    }
  }

  /** A cleared bitset other than the one `within` uses. */
  private freshBits(within: Offsets | undefined): Uint32Array {
    let bits = this.bitsets[this.nextBitset]!;
    if (bits === within?.bits) {
      this.nextBitset ^= 1;
      bits = this.bitsets[this.nextBitset]!;
    }
    this.nextBitset ^= 1;
    bits.fill(0);
    return bits;
  }

  /**
   * The alerts having one of `terms` (JSON ids): in `only` blocks when given, else in every indexed
   * block (`open`: those not yet in a segment); restricted to `within` when given.
   */
  private read(terms: string, open: readonly number[], within?: Offsets, only?: readonly number[]): Offsets {
    const bits = this.freshBits(within);
    const out: Offsets = { bits, blocks: new Set(), count: 0 };
    const keep = within?.bits;
    const add = (block: number, buf: Buffer, from: number, n: number): void => {
      if (within && !within.blocks.has(block)) return;
      const base = block * BLOCK_ROWS;
      let added = false;
      for (let i = from, end = from + n * 2; i + 1 < end; i += 2) {
        const seq = base + (buf[i]! | (buf[i + 1]! << 8));
        const w = seq >>> 5;
        const bit = 1 << (seq & 31);
        if (keep && (keep[w]! & bit) === 0) continue;
        if ((bits[w]! & bit) === 0) {
          bits[w] = bits[w]! | bit;
          out.count++;
          added = true;
        }
      }
      if (added) out.blocks.add(block);
    };
    const firstOpen = open[0] ?? Infinity;
    let blocks: readonly number[];
    if (only) {
      blocks = within ? only.filter((b) => within.blocks.has(b)) : only;
    } else {
      blocks = within ? open.filter((b) => within.blocks.has(b)) : open;
      const rows = within
        ? this.segmentRowsIn.iterate(
            terms,
            JSON.stringify([
              ...new Set(
                [...within.blocks].filter((b) => b < firstOpen).map((b) => Math.floor(b / SEGMENT_BLOCKS)),
              ),
            ]),
          )
        : this.segmentRows.iterate(terms);
      for (const r of rows as Iterable<{ segment: number; seqs: Buffer }>) {
        const buf = r.seqs;
        for (let i = 0; i + 2 < buf.length;) {
          const block = r.segment * SEGMENT_BLOCKS + buf[i]!;
          const n = buf[i + 1]! | (buf[i + 2]! << 8);
          add(block, buf, i + 3, n);
          i += 3 + n * 2;
        }
      }
    }
    if (blocks.length > 0) {
      for (const r of this.blockRows.iterate(JSON.stringify(blocks), terms) as Iterable<OffsetsRow>) {
        add(r.block, r.seqs, 0, r.seqs.length / 2);
      }
    }
    return out;
  }
}

/** A set of alerts: a bit per seq, the blocks having any, and how many. */
interface Offsets {
  bits: Uint32Array;
  blocks: Set<number>;
  count: number;
}

const WORDS_PER_BLOCK = BLOCK_ROWS / 32;

/**
 * After alerts were deleted (in the deleting transaction): when the newest alerts went, new alerts
 * take their seqs again (seq is max + 1), so the index forgets the segment holding the highest
 * remaining seq and everything after it, to index them again.
 */
export function clampTextIndex(db: Database.Database): void {
  const hi = db.prepare('SELECT coalesce(max(seq), 0) FROM alerts').pluck().get() as number;
  const done = db.prepare('SELECT indexed_seq FROM text_progress').pluck().get() as number;
  if (hi >= done) return;
  // Indexed again from the segment's first block (the block rows of closed segments are gone).
  const segment = Math.floor(Math.floor((hi + 1) / BLOCK_ROWS) / SEGMENT_BLOCKS);
  // The alerts left there will be counted again when indexed: out of the hourly counts until then.
  clampCountsRows(db, Math.max(0, segment * SEGMENT_BLOCKS * BLOCK_ROWS - 1), done);
  db.prepare('DELETE FROM text_blocks WHERE block >= ?').run(segment * SEGMENT_BLOCKS);
  db.prepare('DELETE FROM text_block_times WHERE block >= ?').run(segment * SEGMENT_BLOCKS);
  db.prepare(
    'DELETE FROM text_postings WHERE id IN (SELECT big FROM text_segments WHERE segment >= ? AND big IS NOT NULL)',
  ).run(segment);
  db.prepare('DELETE FROM text_segments WHERE segment >= ?').run(segment);
  db.prepare('UPDATE text_progress SET indexed_seq = ?').run(
    Math.max(0, segment * SEGMENT_BLOCKS * BLOCK_ROWS - 1),
  );
}

/** After a retention pass: drops the blocks and segments below the oldest remaining alert. */
export function dropOldTextIndex(db: Database.Database): void {
  const lo = db.prepare('SELECT coalesce(min(seq), 0) FROM alerts').pluck().get() as number;
  const firstBlock = Math.floor(lo / BLOCK_ROWS);
  db.transaction(() => {
    db.prepare('DELETE FROM text_blocks WHERE block < ?').run(firstBlock);
    db.prepare('DELETE FROM text_block_times WHERE block < ?').run(firstBlock);
    const segment = Math.floor(firstBlock / SEGMENT_BLOCKS);
    db.prepare(
      'DELETE FROM text_postings WHERE id IN (SELECT big FROM text_segments WHERE segment < ? AND big IS NOT NULL)',
    ).run(segment);
    db.prepare('DELETE FROM text_segments WHERE segment < ?').run(segment);
    // Hours whose alerts are all gone.
    db.prepare('DELETE FROM alert_counts WHERE n = 0').run();
  }).immediate();
}
