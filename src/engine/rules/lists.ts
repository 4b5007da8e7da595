/**
 * Lists: expansion of list references inside lists, and textual substitution of list names in
 * conditions (Falco's `compile_list_infos` and `resolve_list`).
 *
 * Substitution works on the condition text before it is parsed: every occurrence of a list name
 * delimited by blanks, `(`, `)`, `,`, `=` or the ends of the text is replaced by the list's items
 * joined with `, ` (items with a space and no leading quote are double-quoted). Blanks around the
 * name are consumed. An empty list also removes one neighbouring comma, so `(a, empty)` → `(a)`
 * and `x in (empty)` → `x in ( )`. Lists are applied in definition order, each to the result of
 * the previous one; quoted strings are not special (Falco behaves the same way).
 */
import type { ListInfo } from './collector.js';
import type { MappedText } from './mapped-text.js';

export interface CompiledList {
  name: string;
  /** Items after expanding references to lists defined before this list (visibility). */
  items: string[];
  /** Text substituted for the name. */
  substitution: string;
  /** The name contains a delimiter, so it can match across words. */
  hasDelimiter: boolean;
  used: boolean;
  info: ListInfo;
}

/** Quote an item holding a space, unless it already starts with a quote (no escaping, as Falco). */
export function quoteItem(e: string): string {
  return e.includes(' ') && e[0] !== '"' && e[0] !== "'" ? `"${e}"` : e;
}

/** Expand references to other lists (one level, visibility-limited) and precompute substitutions. */
export function compileLists(lists: ReadonlyMap<string, ListInfo>): Map<string, CompiledList> {
  const out = new Map<string, CompiledList>();
  const usedByLists = new Set<string>();
  for (const list of lists.values()) {
    const items: string[] = [];
    for (const item of list.items) {
      const ref = lists.get(item);
      if (ref && ref.index < list.visibility) {
        usedByLists.add(ref.name);
        items.push(...ref.items);
      } else {
        items.push(item);
      }
    }
    out.set(list.name, {
      name: list.name,
      items,
      substitution: items.map(quoteItem).join(', '),
      hasDelimiter: /[ \t\n\r(),=]/.test(list.name) || list.name.length === 0,
      used: false,
      info: list,
    });
  }
  for (const name of usedByLists) {
    const l = out.get(name);
    if (l) l.used = true;
  }
  return out;
}

const BLANKS = ' \t\n\r';
const DELIMS = ' \t\n\r(),=';

/** Substitute one list in a condition; returns the same object when the name does not occur. */
export function substituteList(cnd: MappedText, list: CompiledList): MappedText {
  const name = list.name;
  if (name.length === 0) return cnd;
  let text = cnd.text;
  let start = text.indexOf(name);
  if (start < 0) return cnd;
  let current = cnd;
  const sub = list.substitution;
  while (start >= 0) {
    const nameStart = start;
    let end = start + name.length;
    if (
      (start === 0 || DELIMS.includes(text[start - 1] as string)) &&
      (end >= text.length || DELIMS.includes(text[end] as string))
    ) {
      while (start > 0 && BLANKS.includes(text[start - 1] as string)) start--;
      while (end < text.length && BLANKS.includes(text[end] as string)) end++;
      if (sub.length === 0) {
        if (start > 0 && text[start - 1] === ',') start--;
        else if (end < text.length && text[end] === ',') end++;
      }
      // Falco rebuilds the text as prefix + " " + items + " " + suffix (no leading blank at the start).
      const replacement = start > 0 ? ` ${sub} ` : `${sub} `;
      current = current.replace(start, end, replacement, nameStart);
      text = current.text;
      list.used = true;
      // Same arithmetic as Falco, so repeated names are found exactly as Falco finds them.
      start += sub.length + 1;
    }
    start = text.indexOf(name, start + 1);
  }
  return current;
}

const DELIM_RE = /[ \t\n\r(),=]+/;

/**
 * Apply every list, in definition order. A list whose name has no delimiter can only match a whole
 * word of the text, so the text's words are kept in a set and lists absent from it are skipped
 * without scanning (words brought in by substitutions are added, since later lists may match them).
 * Names of the lists that were substituted are pushed to `used`.
 */
export function substituteLists(cnd: MappedText, lists: Iterable<CompiledList>, used?: string[]): MappedText {
  let out = cnd;
  const words = new Set(cnd.text.split(DELIM_RE));
  for (const l of lists) {
    if (!l.hasDelimiter && !words.has(l.name)) continue;
    const before = out;
    out = substituteList(out, l);
    if (out !== before) {
      for (const w of l.substitution.split(DELIM_RE)) words.add(w);
      used?.push(l.name);
    }
  }
  return out;
}
