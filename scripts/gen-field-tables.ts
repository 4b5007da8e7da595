/**
 * Generates src/engine/fields/syscall-event-info.generated.ts: the per-event facts the syscall field
 * extractors need (libsinsp looks them up in its event table): event category, the fd / I/O / wait flags,
 * which events are not system calls, the categories of generic syscalls, the enter events that have no
 * fd although their exit event has one, and the set of event parameter names that `evt.arg.NAME` /
 * `evt.rawarg.NAME` accept.
 *
 * Inputs:
 * - scripts/data/scap-events.txt (driver event table facts, shared with the scap reader's generator);
 * - field_catalog/syscall_events.json (schema 4.3.0) from the shared fixtures, when present: parameter
 *   names of the current events.
 *
 * Usage: npx vite-node scripts/gen-field-tables.ts [path/to/syscall_events.json]
 * The output is committed, so the repository works without the fixtures.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'scripts', 'data', 'scap-events.txt');
const OUT = join(ROOT, 'src', 'engine', 'fields', 'syscall-event-info.generated.ts');
const DEFAULT_CATALOG = resolve(
  ROOT,
  '..',
  'shared',
  'fixtures',
  'falco',
  'field_catalog',
  'syscall_events.json',
);

/** Bits of the generated flags (a subset of libsinsp's ppm_event_flags). */
const F_FD = 1; // CREATES_FD | USES_FD | DESTROYS_FD
const F_READ = 2; // READS_FROM_FD
const F_WRITE = 4; // WRITES_TO_FD
const F_WAITS = 8; // WAITS

interface Row {
  name: string;
  dir: 'E' | 'X';
  category: string;
  flags: number;
  old: boolean;
  params: string[];
}

function parseSource(text: string): { rows: Row[]; generic: Map<string, string> } {
  const macros = new Map<string, string[]>();
  const rows: Row[] = [];
  const generic = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const parts = line.split(/\s+/);
    if (line.startsWith('%')) {
      const name = parts[0]!.slice(1);
      macros.set(name, expand(parts.slice(2), macros));
      continue;
    }
    if (parts[0] === 'S') {
      if (parts[1] && parts[2]) generic.set(parts[1], parts[2]);
      continue;
    }
    if (!/^\d+$/.test(parts[0] ?? '')) continue;
    const [, name, dir, category, flagText] = parts;
    if (!name || (dir !== 'E' && dir !== 'X') || !category || !flagText) continue;
    const flagNames = flagText === '-' ? [] : flagText.split('|');
    let flags = 0;
    for (const f of flagNames) {
      if (f === 'CREATES_FD' || f === 'USES_FD' || f === 'DESTROYS_FD') flags |= F_FD;
      else if (f === 'READS_FROM_FD') flags |= F_READ;
      else if (f === 'WRITES_TO_FD') flags |= F_WRITE;
      else if (f === 'WAITS') flags |= F_WAITS;
    }
    const params = expand(parts.slice(5), macros).map((p) => p.split(':')[0]!);
    rows.push({ name, dir, category, flags, old: flagNames.includes('OLD_VERSION'), params });
  }
  return { rows, generic };
}

function expand(tokens: string[], macros: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.startsWith('%')) out.push(...(macros.get(t.slice(1)) ?? []));
    else out.push(t);
  }
  return out;
}

interface CatalogEvent {
  name: string;
  params?: { name: string }[];
}

function catalogParamNames(path: string): string[] {
  if (!existsSync(path)) return [];
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { sections: { events: CatalogEvent[] }[] };
  const names: string[] = [];
  for (const s of doc.sections) for (const e of s.events) for (const p of e.params ?? []) names.push(p.name);
  return names;
}

async function main(): Promise<void> {
  const { rows, generic } = parseSource(readFileSync(SOURCE, 'utf8'));
  // One entry per event name: the newest (last, non-OLD_VERSION preferred) exit row decides the
  // category; flags are the union over every version and direction.
  const info = new Map<string, { category: string; flags: number; rank: number }>();
  const params = new Set<string>();
  for (const r of rows) {
    for (const p of r.params) params.add(p);
    const rank = (r.dir === 'X' ? 2 : 0) + (r.old ? 0 : 1);
    const cur = info.get(r.name);
    if (!cur) info.set(r.name, { category: r.category, flags: r.flags, rank });
    else {
      cur.flags |= r.flags;
      if (rank >= cur.rank) {
        cur.category = r.category;
        cur.rank = rank;
      }
    }
  }
  // EVENT_INFO's flags are per name; libsinsp reads the flags of the event's own direction. Enter
  // events without an fd flag (setsockopt, fchown, ... whose exit carries the fd) are not fd events.
  const enterFd = new Map<string, boolean>();
  for (const r of rows) {
    if (r.dir !== 'E') continue;
    enterFd.set(r.name, (enterFd.get(r.name) ?? false) || (r.flags & F_FD) !== 0);
  }
  const enterWithoutFd = [...enterFd.entries()]
    .filter(([name, has]) => !has && ((info.get(name)?.flags ?? 0) & F_FD) !== 0)
    .map(([name]) => name)
    .sort();
  const catalogPath = process.argv[2] ?? DEFAULT_CATALOG;
  for (const p of catalogParamNames(catalogPath)) params.add(p);

  const lines: string[] = [];
  lines.push('/**');
  lines.push(
    ' * GENERATED by scripts/gen-field-tables.ts from scripts/data/scap-events.txt and the syscall event',
  );
  lines.push(' * catalog: per-event facts the syscall field extractors use. Do not edit by hand.');
  lines.push(' */');
  lines.push('');
  lines.push(
    '/** Flag bits: 1 = creates/uses/destroys an fd, 2 = reads from an fd, 4 = writes to an fd, 8 = waits. */',
  );
  lines.push(
    'export const EVENT_INFO: Readonly<Record<string, readonly [category: string, flags: number]>> = {',
  );
  for (const name of [...info.keys()].sort()) {
    const i = info.get(name)!;
    lines.push(`  ${JSON.stringify(name)}: [${JSON.stringify(i.category)}, ${i.flags}],`);
  }
  lines.push('};');
  lines.push('');
  lines.push(
    '/** Events whose enter event has no fd flag although their exit event has one (fd.* are missing on the enter). */',
  );
  lines.push('export const ENTER_WITHOUT_FD: ReadonlySet<string> = new Set([');
  for (const name of enterWithoutFd) lines.push(`  ${JSON.stringify(name)},`);
  lines.push(']);');
  lines.push('');
  lines.push('/** Category libsinsp gives a generic syscall event, by syscall name. */');
  lines.push('export const GENERIC_SYSCALL_CATEGORY: Readonly<Record<string, string>> = {');
  for (const name of [...generic.keys()].sort()) {
    lines.push(`  ${JSON.stringify(name)}: ${JSON.stringify(generic.get(name))},`);
  }
  lines.push('};');
  lines.push('');
  lines.push('/** Every event parameter name (what `evt.arg.NAME` and `evt.rawarg.NAME` accept). */');
  lines.push('export const PARAM_NAMES: readonly string[] = [');
  for (const p of [...params].sort()) lines.push(`  ${JSON.stringify(p)},`);
  lines.push('];');
  lines.push('');
  // Formatted like the rest of the tree, so a regeneration shows only real changes.
  const options = (await prettier.resolveConfig(OUT)) ?? {};
  writeFileSync(OUT, await prettier.format(lines.join('\n'), { ...options, filepath: OUT }));
  console.log(
    `wrote ${OUT}: ${info.size} events, ${generic.size} generic syscalls, ${params.size} parameter names`,
  );
}

await main();
