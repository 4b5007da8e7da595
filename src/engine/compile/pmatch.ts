/**
 * The `pmatch` operator: does any of a set of search paths prefix a path, component by component?
 *
 * Mirrors libsinsp's `path_prefix_map`: paths are split on `/` with empty components dropped
 * (`/opt//dir/` is `opt, dir`), every path gets an implicit root component (so `/` prefixes every
 * path), `/opt/dir` matches `/opt/dir` and `/opt/dir/sub/file` but not `/opt/dir2`, and a search
 * path longer than the subject never matches. Components holding glob characters (`* ? [`) are
 * matched with fnmatch (`/opt/*\/subdir`). The search paths are built once into a trie, where a
 * shorter path absorbs longer ones below it (adding `/usr` drops `/usr/lib`).
 */
import { compileGlob, type GlobMatcher } from './glob.js';

interface Entry {
  /** Longer search paths continue here; `undefined` means this component ends a search path. */
  sub: Trie | undefined;
}

interface Trie {
  dirs: Map<string, Entry>;
  globs: { pattern: string; match: GlobMatcher; entry: Entry }[];
}

function newTrie(): Trie {
  return { dirs: new Map(), globs: [] };
}

/** Path components, empty ones skipped, behind a root component. */
export function splitPath(path: string): string[] {
  const out = ['root'];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (i > start) out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

const GLOB_CHARS = /[?*[]/;

function add(trie: Trie, comps: readonly string[], idx: number): void {
  const comp = comps[idx] as string;
  const last = idx === comps.length - 1;
  const isGlob = GLOB_CHARS.test(comp);
  let entry: Entry | undefined;
  if (isGlob) entry = trie.globs.find((g) => g.pattern === comp)?.entry;
  else entry = trie.dirs.get(comp);

  if (entry === undefined) {
    const created: Entry = { sub: undefined };
    if (!last) {
      created.sub = newTrie();
      add(created.sub, comps, idx + 1);
    }
    if (isGlob) trie.globs.push({ pattern: comp, match: compileGlob(comp), entry: created });
    else trie.dirs.set(comp, created);
    return;
  }
  if (last) {
    // this path is a prefix of everything already below: keep only the shorter one
    entry.sub = undefined;
  } else if (entry.sub !== undefined) {
    add(entry.sub, comps, idx + 1);
  }
  // else: an existing shorter path already covers this one
}

function matchFrom(trie: Trie, comps: readonly string[], idx: number): boolean {
  const comp = comps[idx] as string;
  const direct = trie.dirs.get(comp);
  if (direct !== undefined && check(direct, comps, idx + 1)) return true;
  for (const g of trie.globs) {
    if (g.match(comp) && check(g.entry, comps, idx + 1)) return true;
  }
  return false;
}

function check(entry: Entry, comps: readonly string[], next: number): boolean {
  if (entry.sub === undefined) return true; // a search path ends here: prefix found
  if (next >= comps.length) return false; // subject ended before the search path did
  return matchFrom(entry.sub, comps, next);
}

/** A compiled set of search paths. */
export class PathPrefixSearch {
  private readonly root = newTrie();
  private empty = true;

  constructor(paths: Iterable<string>) {
    for (const p of paths) {
      add(this.root, splitPath(p), 0);
      this.empty = false;
    }
  }

  /** True when one of the search paths is a component-wise prefix of `path`. */
  match(path: string): boolean {
    if (this.empty) return false;
    return matchFrom(this.root, splitPath(path), 0);
  }
}
