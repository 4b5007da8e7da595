/**
 * Rare-text searches on PostgreSQL through an index of the outputs' words and word prefixes.
 *
 * The trigram index answers `output ILIKE '%…%'` by reading the posting list of every trigram of the
 * text. A pod name such as `redis-91-7d9f8b6c5-7x` is rare as a whole (1 alert in 29,000 in the
 * benchmark) but made of trigrams nearly every alert has (the replica set's hash, the `  3` that
 * starts every hex container id): 400–750 ms over 10M alerts, spent reading lists, for 276 rows.
 *
 * Migration 5 indexes each output's terms (`alert_output_terms`, a tsvector in a GIN index): its
 * words (the lower-cased output split at every character that is not an ASCII letter or digit) and,
 * for every word, its first two and first three characters marked with `~` (`7d~`, `7d9~`: "a word
 * starting with"). A text whose words are bounded by separators within it names whole words of every
 * output that contains it (`91` in `redis-91-7d9f8b6c5-7x`), and its last word a word prefix (`7x`
 * → `7x~`); its first word may be the end of a longer word and is not used. Those terms are a
 * condition every matching output meets, so the result is exact as long as the whole text is still
 * tested on the rows they find.
 *
 * Prefixes are terms of their own because GIN reads a prefix query (`'7x':*`) by collecting every
 * alert of every matching word into a bitmap before intersecting it with the other words, while
 * exact terms are intersected by skipping through their lists from the rarest: for a pod-name
 * suffix on 1 alert in 97, 15–17 ms against 1.5–2 ms of index scan at 1M alerts; over 10M the
 * benchmark's rare text went from p95 132–214 ms to 31 ms. A prefix longer than three characters uses
 * its first three (`7d9~`), or the prefix query itself when the sample finds it rare enough that its
 * bitmap is small.
 *
 * The writer computes an output's prefix terms ({@link outputPrefixes}) and stores them in
 * `output_prefixes`; rows written without them (COPY, psql, rows stored before migration 5) get them
 * from SQL inside the index expression, the same terms more slowly (a regular expression: 60–90 µs
 * per output against ~5 µs in JavaScript).
 *
 * Which terms to use comes from a sample of outputs (about 2,000, taken again every few minutes):
 * a text the sample finds common keeps the plain condition (the planner walks the time index and
 * stops after a page); otherwise the terms the sample finds rarest are used, rarest first, until
 * they name a few hundred alerts, and a term in more than a tenth of the sample is never used
 * (reading its list is the cost being avoided); when the usable terms still name more than about
 * 0.2 % of the alerts, the plain condition is kept (reading them all would cost more than the
 * trigram index). Texts with characters outside ASCII keep the plain
 * condition (PostgreSQL's and JavaScript's lower case may differ there).
 */

/** Outputs a sample holds (fewer when the table is smaller). */
export const SAMPLE_SIZE = 2000;
/** Terms in more than this fraction of outputs are not used. */
const MAX_WORD_FREQUENCY = 0.1;
/** Terms stop being added once they name about this many alerts. */
const TARGET_CANDIDATES = 200;
/** Terms at most. */
const MAX_WORDS = 4;
/**
 * Terms that still name more than this fraction of the table are not used: reading and rechecking
 * each alert they name costs 15–40 µs, so past ~0.2 % (20,000 of 10M alerts) the trigram index's
 * plain condition (0.4–0.75 s over 10M alerts, whatever the text) is cheaper. A pod name whose other
 * words are all common left one word naming 90,000 alerts: 3.4 s.
 */
const MAX_CANDIDATE_FRACTION = 0.002;
/** A text in at least this many sampled outputs is common: the plain condition finds a page fast. */
const COMMON_IN_SAMPLE = 3;
const NON_ASCII = /[^\x00-\x7f]/;
/** The longest word prefix the index holds as a term (`ab~`, `abc~`). */
const LONGEST_PREFIX_TERM = 3;
/**
 * A prefix longer than {@link LONGEST_PREFIX_TERM} is read as a prefix query (its whole length,
 * through a bitmap of every alert it names) when it names at most this many alerts, else through its
 * first three characters' term.
 */
const MAX_PARTIAL_MATCH_ROWS = 10_000;

/**
 * The prefix terms of an output, space-separated, in first-seen order: `ab~` and `abc~` for every
 * word (runs of ASCII letters and digits, lower-cased) of at least two or three characters. The
 * same set `alert_output_terms` derives in SQL when given none. Null for an output with characters outside
 * ASCII: there PostgreSQL's `lower()` decides what a word is, so SQL derives them.
 */
export function outputPrefixes(output: string): string | null {
  if (NON_ASCII.test(output)) return null;
  const terms = new Set<string>();
  for (const w of words(output.toLowerCase())) {
    if (w.length >= 2) terms.add(`${w.slice(0, 2)}~`);
    if (w.length >= 3) terms.add(`${w.slice(0, 3)}~`);
  }
  return [...terms].join(' ');
}

/** Splits lower-cased text into words as `alert_output_terms` does (runs of ASCII letters and digits). */
export function words(lowered: string): string[] {
  return lowered.split(/[^a-z0-9]+/).filter((w) => w !== '');
}

/** Word frequencies of a sample of outputs. */
export class WordSample {
  private readonly counts = new Map<string, number>();
  /** Each sampled output's distinct words (for prefixes). */
  private readonly wordSets: string[][];
  private readonly lowered: string[];
  readonly size: number;

  /** `rows`: the table's estimated row count when the sample was taken. */
  constructor(
    outputs: readonly string[],
    readonly rows: number,
    readonly takenAt = Date.now(),
  ) {
    this.size = outputs.length;
    this.lowered = outputs.map((o) => o.toLowerCase());
    this.wordSets = this.lowered.map((o) => [...new Set(words(o))]);
    for (const set of this.wordSets) for (const w of set) this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
  }

  /** Estimated fraction of outputs with word `w` (or, `prefix`, a word starting with it). */
  frequency(w: string, prefix = false): number {
    let n = 0;
    if (!prefix) n = this.counts.get(w) ?? 0;
    else for (const set of this.wordSets) if (set.some((x) => x.startsWith(w))) n++;
    // Half a sampled output when none has it: rare, not absent.
    return (n || 0.5) / Math.max(1, this.size);
  }

  /** How many sampled outputs contain `text` (case-insensitively). */
  holding(text: string): number {
    const needle = text.toLowerCase();
    let n = 0;
    for (const o of this.lowered) if (o.includes(needle)) n++;
    return n;
  }
}

/** A word of a searched text every output containing the text has (as a word, or a word prefix). */
export interface TextWord {
  word: string;
  prefix: boolean;
}

/**
 * The words of `text` every output containing it must have: those with a separator on both sides
 * within the text (whole words) and the last one when a separator precedes it (a word prefix).
 * Empty for text outside ASCII.
 */
export function impliedWords(text: string): TextWord[] {
  if (NON_ASCII.test(text)) return [];
  const lowered = text.toLowerCase();
  const out: TextWord[] = [];
  for (const m of lowered.matchAll(/[a-z0-9]+/g)) {
    const start = m.index;
    const end = start + m[0].length;
    // The first run may continue to the left in an output: it is the end of some word.
    if (start === 0) continue;
    out.push({ word: m[0], prefix: end === lowered.length });
  }
  return out;
}

/** One term of a tsquery: a word, a prefix term (`abc~`) or a prefix query (`'a':*`). */
interface Term {
  query: string;
  frequency: number;
}

/** The term reading `w` from the index, with its frequency in the sample. */
function termOf(w: TextWord, sample: WordSample): Term {
  if (!w.prefix) return { query: `'${w.word}'`, frequency: sample.frequency(w.word) };
  if (w.word.length === 1) return { query: `'${w.word}':*`, frequency: sample.frequency(w.word, true) };
  if (w.word.length > LONGEST_PREFIX_TERM) {
    const whole = sample.frequency(w.word, true);
    if (whole * sample.rows <= MAX_PARTIAL_MATCH_ROWS) return { query: `'${w.word}':*`, frequency: whole };
  }
  const head = w.word.slice(0, LONGEST_PREFIX_TERM);
  return { query: `'${head}~'`, frequency: sample.frequency(head, true) };
}

/** A tsquery (input syntax, lexemes quoted) of the terms to use for `text`, or undefined: plain. */
export function planTextWords(text: string, sample: WordSample): string | undefined {
  if (sample.size === 0 || sample.holding(text) >= COMMON_IN_SAMPLE) return undefined;
  const usable = impliedWords(text)
    .map((w) => termOf(w, sample))
    .filter((t) => t.frequency <= MAX_WORD_FREQUENCY)
    .sort((a, b) => a.frequency - b.frequency);
  const chosen: Term[] = [];
  let expected = Math.max(1, sample.rows);
  for (const t of usable) {
    if (chosen.length >= MAX_WORDS || expected <= TARGET_CANDIDATES) break;
    if (chosen.some((c) => c.query === t.query)) continue;
    chosen.push(t);
    expected *= t.frequency;
  }
  // (Never below the few hundred a plan aims at: on a small table those are cheap whatever the fraction.)
  const bound = Math.max(TARGET_CANDIDATES, sample.rows * MAX_CANDIDATE_FRACTION);
  if (chosen.length === 0 || expected > bound) return undefined;
  return chosen.map((t) => t.query).join(' & ');
}
