import { describe, expect, it } from 'vitest';
import { impliedWords, outputPrefixes, planTextWords, WordSample, words } from './text-plan.js';

describe('impliedWords', () => {
  it('keeps words bounded by separators, the last one as a prefix, and never the first', () => {
    expect(impliedWords('redis-91-7d9f8b6c5-7x')).toEqual([
      { word: '91', prefix: false },
      { word: '7d9f8b6c5', prefix: false },
      { word: '7x', prefix: true },
    ]);
    // A separator at either end: the first word is whole, the last is no longer a prefix.
    expect(impliedWords('/etc/shadow ')).toEqual([
      { word: 'etc', prefix: false },
      { word: 'shadow', prefix: false },
    ]);
    expect(impliedWords('Cat /ETC/Shadow')).toEqual([
      { word: 'etc', prefix: false },
      { word: 'shadow', prefix: true },
    ]);
  });

  it('has nothing to offer for one fragment, separators alone, or text outside ASCII', () => {
    expect(impliedWords('hadow')).toEqual([]);
    expect(impliedWords('--/ %_')).toEqual([]);
    expect(impliedWords('user=Ärger x')).toEqual([]);
    // Underscore separates, as in the index.
    expect(impliedWords('a_b')).toEqual([{ word: 'b', prefix: true }]);
  });

  it('splits as the index does', () => {
    expect(words('k8s_pod_name=redis-91 (x)')).toEqual(['k8s', 'pod', 'name', 'redis', '91', 'x']);
  });
});

describe('planTextWords', () => {
  // 1,000 outputs: every one has "common", one in ten "tenth", one in a hundred "hundredth" and a
  // unique id; texts are then judged against 1,000,000 alerts of the same mix.
  const outputs = Array.from(
    { length: 1000 },
    (_, i) =>
      `alert common ${i % 10 === 0 ? 'tenth' : 'other'} ${i % 100 === 0 ? 'hundredth' : 'plain'} id${i}-pod`,
  );
  const sample = new WordSample(outputs, 1_000_000);

  it('keeps the plain condition for a text the sample finds common', () => {
    expect(planTextWords(' common tenth ', sample)).toBeUndefined();
    expect(planTextWords('common', sample)).toBeUndefined();
  });

  it('uses the rarest words, never a common one, until they name few alerts', () => {
    // An unseen id (rare), then "hundredth" (1 %); "pod" starts a word of every output.
    expect(planTextWords('x hundredth id99999-pod', sample)).toBe("'id99999' & 'hundredth'");
    // A rare word and nothing else worth reading ("plain…" is in 99 %).
    expect(planTextWords('x id77777 plain', sample)).toBe("'id77777'");
    // Two unseen words name few enough: "tenth" (10 %) is not needed.
    expect(planTextWords('x common tenth other nothing-seen', sample)).toBe("'nothing' & 'seen':*");
    // Only words in more than a tenth of the outputs: nothing worth reading.
    expect(planTextWords('x common other', sample)).toBeUndefined();
  });

  it('keeps the plain condition when the usable words still name more than 0.2 % of the alerts', () => {
    // "tenth" alone names 100,000 of 1,000,000 alerts; "hundredth" alone 10,000 (1 %).
    expect(planTextWords('x common tenth other', sample)).toBeUndefined();
    expect(planTextWords('x hundredth plain', sample)).toBeUndefined();
    // Both together: 1,000 (0.1 %), worth reading.
    expect(planTextWords('x tenth hundredth plain', sample)).toBe("'hundredth' & 'tenth'");
  });

  it('estimates prefixes from the words they start', () => {
    expect(sample.frequency('id12', true)).toBeCloseTo(11 / 1000);
    expect(sample.frequency('hundredth', false)).toBeCloseTo(10 / 1000);
    expect(sample.frequency('never', false)).toBeCloseTo(0.5 / 1000);
  });

  it('reads a prefix of two or three characters through its own term', () => {
    // "hundredth" ends the text: words starting with "hun" (1 %).
    expect(planTextWords('x id99999-hun', sample)).toBe("'id99999' & 'hun~'");
    expect(planTextWords('x id99999-hu', sample)).toBe("'id99999' & 'hu~'");
    // One character: only a prefix query says it (and "p" starts "pod" and "plain" everywhere).
    expect(planTextWords('x id99999-p', sample)).toBe("'id99999'");
    expect(planTextWords('x id99999-q', sample)).toBe("'id99999' & 'q':*");
  });

  it('reads a longer prefix whole when it names few alerts, else through its first three characters', () => {
    // "id5" starts 111 of the 1,000 ids; "id5x" none: rare enough for a prefix query.
    expect(planTextWords('x hundredth id5x', sample)).toBe("'id5x':* & 'hundredth'");
    // Over 10M alerts the sample cannot tell "id12" (11 in 1,000) is rare enough: "id1" (111 in
    // 1,000) is above a tenth, so only "hundredth" is left, and it names too many.
    const big = new WordSample(outputs, 10_000_000);
    expect(planTextWords('x tenth hundredth id12', big)).toBe("'hundredth' & 'tenth'");
    expect(planTextWords('x id12', big)).toBeUndefined();
    expect(planTextWords('x id123', sample)).toBe("'id123':*");
  });

  it('does nothing without a sample', () => {
    expect(planTextWords('x hundredth id5', new WordSample([], 0))).toBeUndefined();
  });
});

describe('outputPrefixes', () => {
  it('lists the first two and three characters of every word once, lower-cased', () => {
    expect(outputPrefixes('Cat /etc/shadow cat x9 a CATS')).toBe('ca~ cat~ et~ etc~ sh~ sha~ x9~');
    expect(outputPrefixes('')).toBe('');
    expect(outputPrefixes('-- / a_b')).toBe('');
  });

  it('leaves outputs outside ASCII to SQL', () => {
    expect(outputPrefixes('user=Ärger')).toBeNull();
    expect(outputPrefixes('K\u212A')).toBeNull();
  });
});
