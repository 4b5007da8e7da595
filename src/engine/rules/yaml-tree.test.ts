import { describe, expect, it } from 'vitest';
import {
  alignScalar,
  decodeBool,
  decodeUint,
  parseYamlFile,
  type YMap,
  type YNode,
  type YScalar,
} from './yaml-tree.js';

function first(content: string): YMap {
  const r = parseYamlFile('f.yaml', content);
  if (!r.ok) throw new Error(r.message);
  const doc = r.docs[0] as YNode;
  if (doc.kind !== 'seq') throw new Error('not a sequence');
  return doc.items[0] as YMap;
}

function value(map: YMap, key: string): YNode {
  const e = map.entries.find((x) => x.key.kind === 'scalar' && x.key.value === key);
  if (!e) throw new Error(`no ${key}`);
  return e.value;
}

describe('yaml tree', () => {
  it('keeps scalars as written and recognises nulls', () => {
    const m = first('- a: 0.10\n  b: ~\n  c:\n  d: ""\n  e: yes\n  f: null\n');
    expect(value(m, 'a')).toMatchObject({ kind: 'scalar', value: '0.10', style: 'plain' });
    expect(value(m, 'b').kind).toBe('null');
    expect(value(m, 'c').kind).toBe('null');
    expect(value(m, 'd')).toMatchObject({ kind: 'scalar', value: '', style: 'double' });
    expect(value(m, 'e')).toMatchObject({ kind: 'scalar', value: 'yes' });
    expect(value(m, 'f').kind).toBe('null');
  });

  it('resolves aliases and keeps the first of duplicate keys', () => {
    const m = first('- l: &x [a, b]\n  m: *x\n  k: 1\n  k: 2\n');
    expect(value(m, 'm')).toMatchObject({ kind: 'seq' });
    expect((value(m, 'k') as YScalar).value).toBe('1');
  });

  it('reports syntax errors with an offset', () => {
    const r = parseYamlFile('bad.yaml', 'this : is : not : yaml\n');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.file.position(r.offset).line).toBe(1);
      expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it('decodes booleans and unsigned integers like yaml-cpp', () => {
    expect(decodeBool('yes')).toBe(true);
    expect(decodeBool('Off')).toBe(false);
    expect(decodeBool('TRUE')).toBe(true);
    expect(decodeBool('tRue')).toBeUndefined();
    expect(decodeBool('1')).toBeUndefined();
    expect(decodeUint('10000')).toBe(10000);
    expect(decodeUint('0x10')).toBe(16);
    expect(decodeUint('010')).toBe(8);
    expect(decodeUint('-1')).toBeUndefined();
    expect(decodeUint('not_a_number')).toBeUndefined();
    expect(decodeUint('4294967296', 0xffffffff)).toBeUndefined();
  });

  it('maps every character of plain and block scalars to its source offset', () => {
    const content = [
      '- p: evt.type = open and',
      '     proc.name = cat',
      '  f: >',
      '    evt.type = open and',
      '      proc.name = cat',
      '    and fd.num > 0',
      '  l: |',
      '    a and',
      '    b',
      '  d: "x \\" y"',
    ].join('\n');
    const m = first(content);
    for (const key of ['p', 'f', 'l', 'd']) {
      const s = value(m, key) as YScalar;
      const map = alignScalar(content, s);
      for (let i = 0; i < s.value.length; i++) {
        const c = s.value[i] as string;
        if (/\s/.test(c)) continue;
        // Every non-blank character maps to the same character in the file.
        expect(content[map[i] as number], `${key}[${i}]`).toBe(c === '"' && key === 'd' ? '\\' : c);
      }
    }
  });
});
