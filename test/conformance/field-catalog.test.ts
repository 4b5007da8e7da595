/**
 * Conformance of the field tables with Falco's published field catalogue: every field Falco documents
 * for the `syscall` source (libsinsp + container plugin) and the `k8s_audit` source (k8saudit + json
 * plugins) exists in our tables with the same type, list-ness and (for plugins) argument kind; and
 * every field the default rulesets name resolves.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { k8sAuditFields, syscallFields } from '../../src/engine/fields/index.js';
import type { FieldArgKind, FieldProvider, FieldType } from '../../src/engine/fields/types.js';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson, readFixtureText } from '../helpers/fixtures.js';

interface SyscallCatalog {
  classes: { class: string; fields: { name: string; type: string }[] }[];
}
interface PluginField {
  name: string;
  type: string;
  arg: string;
}
interface K8sCatalog {
  fields: PluginField[];
  json_plugin_fields: PluginField[];
}

/** Catalogue type text → our type and list-ness (`LIST(CHARBUF)`, `string (list)`). */
function catalogType(t: string): { type: FieldType; isList: boolean } {
  const list = /^LIST\((\w+)\)$/.exec(t);
  if (list) return { type: list[1] as FieldType, isList: true };
  if (t === 'string') return { type: 'CHARBUF', isList: false };
  if (t === 'string (list)') return { type: 'CHARBUF', isList: true };
  if (t === 'uint64') return { type: 'UINT64', isList: false };
  return { type: t as FieldType, isList: false };
}

function pluginArg(a: string): FieldArgKind {
  switch (a) {
    case 'None':
      return 'none';
    case 'Index':
      return 'index';
    case 'Key':
      return 'key';
    case 'Key, Required':
      return 'key-required';
    default:
      throw new Error(`unexpected catalogue argument kind ${a}`);
  }
}

describe.skipIf(!haveFixtures)(
  `field catalogue conformance (${haveFixtures ? 'fixtures present' : FIXTURES_SKIP_REASON})`,
  () => {
    it('has every syscall field of the catalogue with its type', () => {
      const catalog = readFixtureJson<SyscallCatalog>('field_catalog', 'syscall_fields.json');
      const problems: string[] = [];
      let n = 0;
      for (const cls of catalog.classes) {
        for (const f of cls.fields) {
          n++;
          const want = catalogType(f.type);
          const found = syscallFields.lookup(f.name);
          if (!found || found.argFromName !== undefined) {
            problems.push(`${f.name}: missing`);
            continue;
          }
          const d = found.def;
          if (d.type !== want.type || d.isList !== want.isList) {
            problems.push(`${f.name}: ${d.type}${d.isList ? ' list' : ''} instead of ${f.type}`);
          }
        }
      }
      expect(n).toBe(268);
      expect(problems).toEqual([]);
    });

    it('has every k8s_audit field of the k8saudit and json plugins with type, list-ness and argument', () => {
      const catalog = readFixtureJson<K8sCatalog>('field_catalog', 'k8saudit_fields.json');
      const problems: string[] = [];
      const all = [...catalog.fields, ...catalog.json_plugin_fields];
      for (const f of all) {
        const want = catalogType(f.type);
        const found = k8sAuditFields.lookup(f.name);
        if (!found) {
          problems.push(`${f.name}: missing`);
          continue;
        }
        const d = found.def;
        if (d.type !== want.type || d.isList !== want.isList)
          problems.push(`${f.name}: type ${d.type} list ${d.isList}`);
        if (d.arg !== pluginArg(f.arg)) problems.push(`${f.name}: argument ${d.arg} instead of ${f.arg}`);
      }
      expect(all.length).toBe(106);
      expect(problems).toEqual([]);
    });

    it('lists no ka.* / json field the plugins do not have', () => {
      const catalog = readFixtureJson<K8sCatalog>('field_catalog', 'k8saudit_fields.json');
      const known = new Set([...catalog.fields, ...catalog.json_plugin_fields].map((f) => f.name));
      const extra = k8sAuditFields
        .all()
        .map((d) => d.name)
        .filter((n) => !n.startsWith('evt.') && !known.has(n));
      expect(extra).toEqual([]);
    });

    describe('fields named by the default rulesets resolve', () => {
      const FIELD =
        /(?<![\w.%/-])((?:evt|proc|thread|fd|fdlist|user|group|container|k8s|fs|syscall|ka|jevt|json)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\[[^\]\s]*\])?/g;
      const OUTPUT_FIELD =
        /%((?:evt|proc|thread|fd|fdlist|user|group|container|k8s|fs|syscall|ka|jevt|json)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
      const QUOTED = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g;

      /** Field names of conditions (quoted strings removed) and outputs of a rules file. */
      function fieldsOf(path: string[]): Set<string> {
        const docs = parse(readFixtureText(...path)) as Record<string, unknown>[];
        const names = new Set<string>();
        for (const d of docs) {
          if (typeof d.condition === 'string') {
            for (const m of d.condition.replace(QUOTED, '""').matchAll(FIELD)) names.add(m[1]!);
          }
          if (typeof d.output === 'string') for (const m of d.output.matchAll(OUTPUT_FIELD)) names.add(m[1]!);
        }
        return names;
      }

      /** Output tokens take the longest prefix that names a field (`%proc.name.` is `proc.name`). */
      function resolves(provider: FieldProvider<unknown>, name: string): boolean {
        const parts = name.split('.');
        for (let n = parts.length; n >= 2; n--) if (provider.lookup(parts.slice(0, n).join('.'))) return true;
        return false;
      }

      const cases: [string, string[], FieldProvider<unknown>][] = [
        [
          'stable',
          ['rules', 'falcosecurity-rules', 'main', 'falco_rules.yaml'],
          syscallFields as FieldProvider<unknown>,
        ],
        [
          'incubating',
          ['rules', 'falcosecurity-rules', 'main', 'falco-incubating_rules.yaml'],
          syscallFields as FieldProvider<unknown>,
        ],
        [
          'sandbox',
          ['rules', 'falcosecurity-rules', 'main', 'falco-sandbox_rules.yaml'],
          syscallFields as FieldProvider<unknown>,
        ],
        [
          'k8s audit',
          ['rules', 'k8saudit', 'main', 'k8s_audit_rules.yaml'],
          k8sAuditFields as FieldProvider<unknown>,
        ],
      ];
      for (const [label, path, provider] of cases) {
        it(label, () => {
          const names = fieldsOf(path);
          expect(names.size).toBeGreaterThan(20);
          expect([...names].filter((n) => !resolves(provider, n))).toEqual([]);
        });
      }
    });
  },
);
