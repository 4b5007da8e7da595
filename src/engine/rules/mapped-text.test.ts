import { describe, expect, it } from 'vitest';
import { MappedText } from './mapped-text.js';
import { parseYamlFile, type YScalar } from './yaml-tree.js';

function scalar(content: string): { text: MappedText; content: string } {
  const r = parseYamlFile('f.yaml', content);
  if (!r.ok) throw new Error(r.message);
  const doc = r.docs[0];
  if (doc?.kind !== 'map') throw new Error('not a map');
  const node = doc.entries[0]?.value as YScalar;
  return { text: MappedText.fromScalar(r.file, node), content };
}

describe('MappedText', () => {
  it('locates characters of a scalar', () => {
    const { text } = scalar('condition: evt.type = open\n');
    expect(text.locate(0)).toMatchObject({ file: 'f.yaml', line: 1, col: 12, offset: 11 });
    expect(text.locate(9)).toMatchObject({ line: 1, col: 21 });
    // past the end: just after the last character
    expect(text.locate(text.length)).toMatchObject({ line: 1, col: 27 });
  });

  it('keeps positions through concatenation, slicing and replacement', () => {
    const a = scalar('c: proc.name in (shells)\n').text;
    const b = MappedText.concat([
      a,
      ' ',
      MappedText.generated('and x', { file: 'g.yaml', line: 5, col: 3, offset: 40 }),
    ]);
    expect(b.text).toBe('proc.name in (shells) and x');
    expect(b.locate(b.text.indexOf('x'))).toMatchObject({ file: 'g.yaml', line: 5 });
    expect(b.locate(0)).toMatchObject({ file: 'f.yaml', col: 4 });

    const start = b.text.indexOf('shells');
    const replaced = b.replace(start, start + 6, 'bash, sh', start);
    expect(replaced.text).toBe('proc.name in (bash, sh) and x');
    // substituted characters point at the list name; the rest keeps its place
    expect(replaced.locate(start + 3)).toMatchObject({ col: 4 + start });
    expect(replaced.locate(replaced.text.indexOf(')'))).toMatchObject({ col: 4 + a.text.indexOf(')') });
    expect(replaced.slice(0, 4).text).toBe('proc');
  });
});
