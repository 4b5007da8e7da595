/**
 * libsinsp evaluation conformance: the `eval_event` vectors of
 * engine_vectors/libsinsp_filter_vectors.json (from libs' filter_compiler.ut.cpp,
 * filter_transformer.ut.cpp, filter_op_*.ut.cpp and filterchecks/*.cpp) compiled with Vigil's
 * syscall field table and run on the synthetic event each libsinsp test built (rebuilt in
 * test/helpers/synthetic-events.ts).
 *
 * Expectations: `true` / `false` is the filter result; `throws` means compiling (or evaluating)
 * fails; `no_throw` means it compiles. Vectors whose event cannot be rebuilt are listed with their
 * reason, and the suite requires at least 90% of all vectors to pass.
 */
import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../src/engine/compile/index.js';
import { parseCondition } from '../../src/engine/condition/index.js';
import type { SyscallEvent } from '../../src/engine/event.js';
import { syscallFields } from '../../src/engine/fields/index.js';
import type { FieldProvider } from '../../src/engine/fields/types.js';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson } from '../helpers/fixtures.js';
import { syntheticEventFor } from '../helpers/synthetic-events.js';

interface Vector {
  source: string;
  line: number;
  test: string;
  kind: string;
  input: string;
  expect: boolean | 'throws' | 'no_throw';
}

/**
 * Vectors Vigil evaluates differently from libsinsp, each with the reason. They count as failures
 * in the pass rate.
 */
const LOCAL_SIDE =
  "libsinsp decides which end of a connection is local by looking the client address up in the host's interface list; " +
  "the test's list lacks the client address, so libsinsp reports the server end as local. Vigil's event model takes " +
  'the local side from FdInfo.isServer, and the rebuilt event is an honest client connect';
const KNOWN_DIVERGENCES: Readonly<Record<string, string>> = {
  'filter_op_net_compare.ut.cpp:49 fd.lip == 142.251.111.147': LOCAL_SIDE,
  'filter_op_net_compare.ut.cpp:51 fd.rip == 172.40.111.222': LOCAL_SIDE,
  'filter_op_net_compare.ut.cpp:150 fd.lip == 2001:4860:4860::8888': LOCAL_SIDE,
  'filter_op_net_compare.ut.cpp:152 fd.rip == ::1': LOCAL_SIDE,
};

type Outcome = { status: 'pass' } | { status: 'fail'; detail: string } | { status: 'skip'; reason: string };

const provider = syscallFields as unknown as FieldProvider<SyscallEvent>;

function runVector(v: Vector): Outcome {
  const built = syntheticEventFor(v);
  if ('skip' in built) return { status: 'skip', reason: built.skip };
  const parsed = parseCondition(v.input, { maxDepth: 1000 });
  let compiled: ReturnType<typeof compileCondition<SyscallEvent>> | undefined;
  let error: string | undefined;
  if (!parsed.ok) error = `parse: ${parsed.error.message}`;
  else {
    compiled = compileCondition(parsed.ast, provider);
    if (!compiled.ok) error = compiled.errors.map((e) => e.message).join('; ');
  }
  if (v.expect === 'throws') {
    if (error !== undefined) return { status: 'pass' };
    try {
      if (compiled?.ok) compiled.filter(built.event);
    } catch {
      return { status: 'pass' };
    }
    return { status: 'fail', detail: 'expected an error, but it compiled and ran' };
  }
  if (error !== undefined || !compiled?.ok) return { status: 'fail', detail: `did not compile: ${error}` };
  if (v.expect === 'no_throw') return { status: 'pass' };
  let got: boolean;
  try {
    got = compiled.filter(built.event);
  } catch (e: unknown) {
    return { status: 'fail', detail: `evaluation threw: ${e instanceof Error ? e.message : String(e)}` };
  }
  return got === v.expect
    ? { status: 'pass' }
    : { status: 'fail', detail: `expected ${String(v.expect)}, got ${String(got)}` };
}

function loadVectors(): Vector[] {
  if (!haveFixtures) return [];
  const file = readFixtureJson<{ cases: Vector[] }>('engine_vectors', 'libsinsp_filter_vectors.json');
  return file.cases.filter((c) => c.kind === 'eval_event');
}

const label = (v: Vector): string => `${v.source.split('/').pop()}:${v.line} ${v.input}`;

describe.skipIf(!haveFixtures)('libsinsp eval_event vectors', () => {
  const vectors = loadVectors();
  const outcomes = vectors.map((v) => ({ v, o: runVector(v) }));

  it('has the expected number of vectors', () => {
    expect(vectors).toHaveLength(457);
  });

  it('lists every vector not run, grouped by reason', () => {
    const skipped = new Map<string, string[]>();
    for (const { v, o } of outcomes) {
      if (o.status !== 'skip') continue;
      const list = skipped.get(o.reason) ?? [];
      list.push(label(v));
      skipped.set(o.reason, list);
    }
    const lines: string[] = [];
    for (const [reason, list] of skipped) {
      lines.push(`not run (${list.length}): ${reason}`, ...list.map((l) => `  - ${l}`));
    }
    console.info(lines.length > 0 ? lines.join('\n') : 'every eval_event vector was run');
    // each skip names its reason
    for (const reason of skipped.keys()) expect(reason.length).toBeGreaterThan(10);
  });

  it('passes at least 90% of the vectors', () => {
    const passed = outcomes.filter(({ o }) => o.status === 'pass').length;
    const failures = outcomes
      .filter(({ o }) => o.status === 'fail')
      .map(({ v, o }) => {
        const why = KNOWN_DIVERGENCES[label(v)];
        return `${label(v)} → ${(o as { detail: string }).detail}${why === undefined ? '' : ` (known: ${why})`}`;
      });
    if (failures.length > 0)
      console.info(`failing eval_event vectors (${failures.length}):\n${failures.join('\n')}`);
    console.info(
      `eval_event vectors: ${passed}/${vectors.length} passed (${((100 * passed) / vectors.length).toFixed(1)}%)`,
    );
    expect(passed / vectors.length).toBeGreaterThanOrEqual(0.9);
  });

  // One test per libsinsp test, so a regression names it. Vectors listed in KNOWN_DIVERGENCES
  // must still fail (so the list shrinks when a divergence is fixed); all others must pass.
  const byTest = new Map<string, { v: Vector; o: Outcome }[]>();
  for (const entry of outcomes) {
    const k = `${entry.v.source.split('/').pop()} ${entry.v.test.split('.').pop()}`;
    byTest.set(k, [...(byTest.get(k) ?? []), entry]);
  }
  it.each([...byTest.entries()])('%s', (_name, entries) => {
    for (const { v, o } of entries) {
      if (o.status === 'skip') continue;
      const known = KNOWN_DIVERGENCES[label(v)];
      if (known !== undefined) {
        expect(o.status, `${label(v)} now passes: remove it from KNOWN_DIVERGENCES`).toBe('fail');
      } else {
        expect(o.status === 'fail' ? `${label(v)} → ${o.detail}` : 'pass').toBe('pass');
      }
    }
  });
});

if (!haveFixtures) {
  describe('libsinsp eval_event vectors', () => {
    it.skip(FIXTURES_SKIP_REASON, () => undefined);
  });
}
