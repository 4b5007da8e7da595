/**
 * Generates src/capture/scap/event-table.generated.ts, the scap event schema the reader decodes with.
 *
 * Inputs:
 * - scripts/data/scap-events.txt: event codes, categories, flags, print formats, flag tables and the
 *   parameter layouts of old event versions (facts of the capture format, transcribed);
 * - field_catalog/syscall_events.json (schema 4.3.0, from the shared fixtures): parameter names and
 *   types of the current events. Parameters it lists beyond the transcribed ones are appended (newer
 *   drivers only ever append parameters), events the transcription leaves without parameters take
 *   them from the catalog, and where the catalog names or types an existing parameter differently
 *   the catalog's name and type are used (it is the current schema) and the change is reported.
 *
 * Usage: npx vite-node scripts/gen-scap-event-table.ts [path/to/syscall_events.json]
 * The output is committed, so the repository works without the fixtures.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { EC as EVENT_CATEGORIES, PT as PARAM_TYPES } from '../src/capture/scap/event-table.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'scripts', 'data', 'scap-events.txt');
const OUT = join(ROOT, 'src', 'capture', 'scap', 'event-table.generated.ts');
const DEFAULT_CATALOG = resolve(
  ROOT,
  '..',
  'shared',
  'fixtures',
  'falco',
  'field_catalog',
  'syscall_events.json',
);

const PT: Record<string, number> = PARAM_TYPES;
const PF: Record<string, number> = { NA: 0, DEC: 1, HEX: 2, OCT: 6 };
const EC: Record<string, number> = EVENT_CATEGORIES;
const EF: Record<string, number> = {
  CREATES_FD: 1,
  DESTROYS_FD: 2,
  USES_FD: 4,
  READS_FROM_FD: 8,
  WRITES_TO_FD: 16,
  MODIFIES_STATE: 32,
  UNUSED: 64,
  WAITS: 128,
  SKIPPARSERESET: 256,
  OLD_VERSION: 512,
  LARGE_PAYLOAD: 2048,
};
/** Types printed as numbers: their default format is decimal. */
const NUMERIC = new Set([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'ERRNO',
  'FD',
  'PID',
  'FDLIST',
  'SYSCALLID',
  'SIGTYPE',
  'RELTIME',
  'ABSTIME',
  'PORT',
  'FLAGS8',
  'FLAGS16',
  'FLAGS32',
  'UID',
  'GID',
  'DYN',
  'MODE',
  'ENUMFLAGS8',
  'ENUMFLAGS16',
  'ENUMFLAGS32',
  'SIGSET',
]);

type Param = [name: string, type: string, fmt: string, table: string, dirfd: number | undefined];
interface Row {
  code: number;
  name: string;
  dir: 'E' | 'X';
  cat: string;
  flags: string[];
  params: Param[];
}

function fail(msg: string): never {
  throw new Error(`gen-scap-event-table: ${msg}`);
}

function parseSource(text: string): {
  rows: Row[];
  tables: Map<string, [string, number][]>;
  syscalls: [string, string][];
} {
  const macros = new Map<string, string[]>();
  const rows: Row[] = [];
  const tables = new Map<string, [string, number][]>();
  const syscalls: [string, string][] = [];
  const expand = (tokens: string[], depth = 0): string[] => {
    if (depth > 8) fail('macro nesting too deep');
    return tokens.flatMap((t) => {
      if (!t.startsWith('%')) return [t];
      const m = macros.get(t.slice(1));
      if (!m) fail(`unknown macro ${t}`);
      return expand(m, depth + 1);
    });
  };
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    if (line.startsWith('%')) {
      const eq = line.indexOf('=');
      if (eq < 0) fail(`${where}: macro without '='`);
      macros.set(
        line.slice(1, eq).trim(),
        line
          .slice(eq + 1)
          .trim()
          .split(/\s+/),
      );
      continue;
    }
    if (line.startsWith('@')) {
      const [name, ...pairs] = line.slice(1).split(/\s+/);
      if (!name) fail(`${where}: table without a name`);
      tables.set(
        name,
        pairs.map((p) => {
          const [n, v] = p.split('=');
          if (!n || v === undefined || !/^\d+$/.test(v)) fail(`${where}: bad pair ${p}`);
          return [n, Number(v)];
        }),
      );
      continue;
    }
    if (line.startsWith('S ')) {
      const [, name, cat] = line.split(/\s+/);
      if (!name || !cat || EC[cat] === undefined) fail(`${where}: bad syscall line`);
      syscalls.push([name, cat]);
      continue;
    }
    const [codeS, name, dir, cat, flagsS, ...rest] = line.split(/\s+/);
    const code = Number(codeS);
    if (!Number.isInteger(code) || !name || (dir !== 'E' && dir !== 'X') || !cat || !flagsS)
      fail(`${where}: bad event line`);
    if (code !== rows.length) fail(`${where}: expected code ${rows.length}, got ${code}`);
    if (EC[cat] === undefined) fail(`${where}: unknown category ${cat}`);
    const flags = flagsS === '-' ? [] : flagsS.split('|');
    for (const f of flags) if (EF[f] === undefined) fail(`${where}: unknown flag ${f}`);
    const params = expand(rest).map((tok): Param => {
      const m = /^([A-Za-z0-9_]+):([A-Z0-9_]+)(?:@(\d+))?(?:\/([A-Z]+))?(?:\/([a-z0-9_]+))?$/.exec(tok);
      if (!m) fail(`${where}: bad param ${tok}`);
      const [, pname, type, dirfd, fmt, table] = m as unknown as [
        string,
        string,
        string,
        string | undefined,
        string | undefined,
        string | undefined,
      ];
      if (PT[type] === undefined) fail(`${where}: unknown type ${type}`);
      if (fmt !== undefined && PF[fmt] === undefined) fail(`${where}: unknown format ${fmt}`);
      return [
        pname,
        type,
        fmt ?? (NUMERIC.has(type) ? 'DEC' : 'NA'),
        table ?? '',
        dirfd === undefined ? undefined : Number(dirfd),
      ];
    });
    rows.push({ code, name, dir, cat, flags, params });
  }
  return { rows, tables, syscalls };
}

interface CatalogParam {
  type: string;
  name: string;
  flags?: string[];
}
interface CatalogEvent {
  name: string;
  dir: '>' | '<';
  params: CatalogParam[];
}

function loadCatalog(path: string): CatalogEvent[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as {
    _about?: { schema_version?: string };
    sections: { events: CatalogEvent[] }[];
  };
  console.log(`catalog ${path} (schema ${doc._about?.schema_version ?? '?'})`);
  return doc.sections.flatMap((s) => s.events);
}

/** The flag table with exactly these names (the catalog names flags, not tables). */
function tableFor(names: string[] | undefined, tables: Map<string, [string, number][]>): string {
  if (!names || names.length === 0) return '';
  const want = [...names].sort().join(',');
  // Only an exact match: a table that merely contains the names may give them other values.
  for (const [t, pairs] of tables) {
    if (
      pairs
        .map((p) => p[0])
        .sort()
        .join(',') === want
    )
      return t;
  }
  return '';
}

function merge(rows: Row[], catalog: CatalogEvent[], tables: Map<string, [string, number][]>): string[] {
  const notes: string[] = [];
  for (const ev of catalog) {
    const dir = ev.dir === '>' ? 'E' : 'X';
    const candidates = rows.filter((r) => r.name === ev.name && r.dir === dir && !r.flags.includes('UNUSED'));
    // The catalog describes the current version: the highest code with that name and direction.
    const row = candidates[candidates.length - 1];
    if (!row) continue; // generic syscalls (no code of their own) and newer codes
    for (const [i, cp] of ev.params.entries()) {
      const mine = row.params[i];
      const type = cp.type === 'DYNAMIC' ? 'DYN' : cp.type;
      if (PT[type] === undefined) {
        notes.push(`${row.code} ${row.name}: catalog type ${type} unknown, parameter ${cp.name} skipped`);
        break;
      }
      if (!mine) {
        row.params.push([
          cp.name,
          type,
          NUMERIC.has(type) ? (type.startsWith('FLAGS') ? 'HEX' : 'DEC') : 'NA',
          tableFor(cp.flags, tables),
          undefined,
        ]);
        continue;
      }
      if (mine[0] !== cp.name || mine[1] !== type) {
        // The catalog is the current schema: its name and type win (the bytes are the same, the
        // rendering and the evt.arg name follow the current driver).
        notes.push(
          `${row.code} ${row.name} ${dir} param ${i}: table ${mine[0]}:${mine[1]}, catalog ${cp.name}:${type} (catalog used)`,
        );
        const flagType = type.includes('FLAGS');
        const table = flagType ? mine[3] || tableFor(cp.flags, tables) : '';
        const fmt = NUMERIC.has(type) ? (NUMERIC.has(mine[1]) ? mine[2] : flagType ? 'HEX' : 'DEC') : 'NA';
        row.params[i] = [cp.name, type, fmt, table, mine[4]];
      }
    }
  }
  return notes;
}

function emit(
  rows: Row[],
  tables: Map<string, [string, number][]>,
  syscalls: [string, string][],
  catalogPath: string,
): string {
  const q = (s: string): string => JSON.stringify(s);
  const out: string[] = [];
  out.push('/**');
  out.push(' * GENERATED by scripts/gen-scap-event-table.ts from scripts/data/scap-events.txt and');
  out.push(
    ` * ${catalogPath ? 'field_catalog/syscall_events.json (schema 4.3.0)' : '(no catalog)'}. Do not edit by hand.`,
  );
  out.push(' *');
  out.push(
    ' * EVENT_ROWS[code] = [name, E|X, category, flags, params]; a param is [name, type, format, flag table, dirfd param].',
  );
  out.push(' */');
  out.push('');
  out.push(
    'export type ParamRow = readonly [name: string, type: number, fmt: number, table?: string, dirfd?: number];',
  );
  out.push(
    "export type EventRow = readonly [name: string, dir: 'E' | 'X', category: number, flags: number, params: readonly ParamRow[]];",
  );
  out.push('');
  out.push('export const EVENT_ROWS: readonly EventRow[] = [');
  for (const r of rows) {
    const flags = r.flags.reduce((a, f) => a | (EF[f] ?? 0), 0);
    const ps = r.params.map((p) => {
      const parts = [q(p[0]), String(PT[p[1]]), String(PF[p[2]])];
      if (p[3] || p[4] !== undefined) parts.push(q(p[3]));
      if (p[4] !== undefined) parts.push(String(p[4]));
      return `[${parts.join(', ')}]`;
    });
    out.push(`  /* ${r.code} */ [${q(r.name)}, '${r.dir}', ${EC[r.cat]}, ${flags}, [${ps.join(', ')}]],`);
  }
  out.push('];');
  out.push('');
  out.push('export const FLAG_TABLES: Readonly<Record<string, readonly (readonly [string, number])[]>> = {');
  for (const [name, pairs] of tables) {
    out.push(`  ${name}: [${pairs.map(([n, v]) => `[${q(n)}, ${v}]`).join(', ')}],`);
  }
  out.push('};');
  out.push('');
  out.push('/** PPM_SC ids: [name, category]. */');
  out.push('export const SYSCALL_ROWS: readonly (readonly [string, number])[] = [');
  for (const [i, [n, c]] of syscalls.entries()) out.push(`  /* ${i} */ [${q(n)}, ${EC[c]}],`);
  out.push('];');
  out.push('');
  return out.join('\n');
}

async function main(): Promise<void> {
  const { rows, tables, syscalls } = parseSource(readFileSync(SOURCE, 'utf8'));
  for (const r of rows)
    for (const p of r.params)
      if (p[3] && !tables.has(p[3])) fail(`${r.code} ${r.name}: unknown flag table ${p[3]}`);
  const catalogPath = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_CATALOG;
  let notes: string[] = [];
  try {
    notes = merge(rows, loadCatalog(catalogPath), tables);
  } catch (err) {
    fail(`cannot read the catalog ${catalogPath}: ${(err as Error).message}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  // Formatted like the rest of the repository, so `prettier --check` stays clean.
  const config = (await prettier.resolveConfig(OUT)) ?? {};
  writeFileSync(
    OUT,
    await prettier.format(emit(rows, tables, syscalls, catalogPath), { ...config, filepath: OUT }),
  );
  console.log(
    `wrote ${OUT}: ${rows.length} event codes, ${tables.size} flag tables, ${syscalls.length} syscall ids`,
  );
}

await main();
