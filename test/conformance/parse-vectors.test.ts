/**
 * libsinsp parser conformance: every `kind: "parse"` vector of
 * engine_vectors/libsinsp_filter_vectors.json (extracted from libs' filter_parser.ut.cpp) must be
 * accepted or rejected like libsinsp does, with the exact error text where the vector gives one.
 * Accept vectors are also retried with leading/trailing blanks and with spaces replaced by `\n`
 * and by `\t`, as libs' `test_accept` does (see the file's `_about`).
 */
import { describe, expect, it } from 'vitest';
import { parseCondition } from '../../src/engine/condition/index.js';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson } from '../helpers/fixtures.js';

interface ParseVector {
  source: string;
  line: number;
  test: string;
  kind: string;
  input: string;
  expect: 'accept' | 'reject';
  error?: string;
}

function loadVectors(): ParseVector[] {
  if (!haveFixtures) return [];
  const file = readFixtureJson<{ cases: ParseVector[] }>('engine_vectors', 'libsinsp_filter_vectors.json');
  return file.cases.filter((c) => c.kind === 'parse');
}

/**
 * Replaces spaces by `blank` outside quoted strings. Inside a quoted string a space is data, not a
 * separator: replacing it would turn libsinsp's legacy `\ ` escape (vector `"bad escape \ "`)
 * into `\<newline>`, which no escaping rule accepts. Quoted strings end, like in the lexer, at the
 * first delimiter not preceded by a backslash.
 */
function replaceSpacesOutsideQuotes(input: string, blank: string): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let prev = c;
      while (j < input.length && !(input[j] === c && prev !== '\\')) {
        prev = input[j] as string;
        j++;
      }
      out += input.slice(i, j + 1);
      i = j;
    } else {
      out += c === ' ' ? blank : c;
    }
  }
  return out;
}

/** The inputs libs' test_accept tries for one accept vector. */
function acceptVariants(input: string): string[] {
  return [
    input,
    ` ${input} `,
    `\n${input}\n`,
    replaceSpacesOutsideQuotes(input, '\n'),
    replaceSpacesOutsideQuotes(input, '\t'),
  ];
}

function describeFailure(v: ParseVector, input: string, detail: string): string {
  return `${v.test} (${v.source}:${v.line}) ${JSON.stringify(input)}: ${detail}`;
}

describe.skipIf(!haveFixtures)(
  `libsinsp parse vectors ${haveFixtures ? '' : `(${FIXTURES_SKIP_REASON})`}`,
  () => {
    const vectors = loadVectors();
    const accepts = vectors.filter((v) => v.expect === 'accept');
    const rejects = vectors.filter((v) => v.expect === 'reject');

    it('has the expected number of vectors (350 accept, 195 reject)', () => {
      expect(accepts.length).toBe(350);
      expect(rejects.length).toBe(195);
    });

    it('accepts every accept vector, also with extra blanks and with spaces as \\n and \\t', () => {
      const failures: string[] = [];
      for (const v of accepts) {
        for (const input of acceptVariants(v.input)) {
          const r = parseCondition(input);
          if (!r.ok) {
            failures.push(describeFailure(v, input, `${r.error.message} at ${r.error.offset}`));
          }
        }
      }
      expect(failures).toEqual([]);
    });

    it('rejects every reject vector, with the exact message where one is given', () => {
      const failures: string[] = [];
      for (const v of rejects) {
        const r = parseCondition(v.input);
        if (r.ok) {
          failures.push(describeFailure(v, v.input, 'accepted'));
        } else if (v.error !== undefined && r.error.message !== v.error) {
          failures.push(
            describeFailure(
              v,
              v.input,
              `message ${JSON.stringify(r.error.message)}, want ${JSON.stringify(v.error)}`,
            ),
          );
        } else if (r.error.offset < 0 || r.error.offset > v.input.length) {
          failures.push(describeFailure(v, v.input, `offset ${r.error.offset} out of range`));
        }
      }
      expect(failures).toEqual([]);
    });

    it('includes vectors with exact error messages', () => {
      expect(rejects.filter((v) => v.error !== undefined).length).toBeGreaterThan(0);
    });
  },
);
