import { describe, expect, it } from 'vitest';
import { parseCondition, printExpr } from '../condition/index.js';
import { scalarEntry, type ExceptionEntry, type ExceptionInfo } from './collector.js';
import { LoadError } from './context.js';
import { appendExceptions, isListComp, isValidExceptionComp, normalizeComp } from './exceptions.js';
import { MappedText } from './mapped-text.js';

const list = (...items: (string | ExceptionEntry)[]): ExceptionEntry => ({
  isList: true,
  item: '',
  items: items.map((i) => (typeof i === 'string' ? scalarEntry(i) : i)),
});

function ex(
  name: string,
  fields: ExceptionEntry,
  comps: ExceptionEntry,
  values: ExceptionEntry[],
): ExceptionInfo {
  return { name, fields, comps, values, ctx: [] };
}

function build(cond: string, exs: ExceptionInfo[]): string {
  return appendExceptions(MappedText.generated(cond, undefined), exs).text;
}

/** The compiled-condition form, as Falco prints it. */
function compiled(cond: string, exs: ExceptionInfo[]): string {
  const r = parseCondition(build(cond, exs));
  if (!r.ok) throw new Error(r.error.message);
  return printExpr(r.ast);
}

describe('exception operators', () => {
  it('accepts binary operators and string operators with a modifier', () => {
    for (const op of ['=', '!=', 'in', 'pmatch', 'intersects', 'startswith', 'glob', 'regex'])
      expect(isValidExceptionComp(op)).toBe(true);
    for (const op of ['startswith oneof', 'contains allof', '= oneof', ' endswith   anyof '])
      expect(isValidExceptionComp(op)).toBe(true);
    for (const op of ['no-comp', 'in oneof', '>= oneof', 'oneof', 'frobulate oneof', 'exists', '']) {
      expect(isValidExceptionComp(op), op).toBe(false);
    }
    expect(normalizeComp('  startswith   oneof ')).toBe('startswith oneof');
  });

  it('knows which operators take a list', () => {
    expect(isListComp('in')).toBe(true);
    expect(isListComp('pmatch')).toBe(true);
    expect(isListComp('startswith oneof')).toBe(true);
    expect(isListComp('=')).toBe(false);
    expect(isListComp('frobulate oneof')).toBe(false);
  });
});

describe('exceptions to condition', () => {
  it('leaves conditions without exceptions alone', () => {
    expect(build('evt.type = open', [])).toBe('evt.type = open');
  });

  it('builds the single-field form', () => {
    const e = ex('e', scalarEntry('proc.name'), scalarEntry('in'), [scalarEntry('cat'), scalarEntry('a b')]);
    expect(build('evt.type = open', [e])).toBe('(evt.type = open) and not (proc.name in (cat, "a b"))');
    expect(compiled('evt.type = open', [e])).toBe('(evt.type = open and not proc.name in (cat, "a b"))');
  });

  it('builds the multi-field form (Falco loader case exceptions_condition)', () => {
    const e = ex('e', list('proc.cmdline'), list('contains'), [list('curl 127.0.0.1')]);
    expect(compiled('proc.cmdline contains curl or proc.cmdline contains wget', [e])).toBe(
      '((proc.cmdline contains curl or proc.cmdline contains wget) and not proc.cmdline contains "curl 127.0.0.1")',
    );
  });

  it('renders list values, parenthesises scalars of list operators and ors the tuples', () => {
    const e = ex('e', list('proc.name', 'fd.name'), list('startswith oneof', 'startswith'), [
      list(list('sshd', 'sudo'), '/etc/'),
      list(list('x'), '/var/'),
    ]);
    expect(compiled('evt.type = open', [e])).toBe(
      '(evt.type = open and not ((proc.name startswith oneof (sshd, sudo) and fd.name startswith /etc/) or (proc.name startswith oneof (x) and fd.name startswith /var/)))',
    );
    const scalarForList = ex('e', list('proc.name'), list('in'), [list('shell_binaries')]);
    expect(build('c', [scalarForList])).toBe('(c) and not (( proc.name in (shell_binaries)))');
  });

  it('skips exceptions without values and keeps several in order', () => {
    const none = ex('none', list('proc.name'), list('='), []);
    const one = ex('one', scalarEntry('proc.name'), scalarEntry('in'), [scalarEntry('a')]);
    const two = ex('two', scalarEntry('fd.name'), scalarEntry('pmatch'), [scalarEntry('/tmp')]);
    expect(compiled('evt.type = open', [none, one, two])).toBe(
      '(evt.type = open and not proc.name in (a) and not fd.name pmatch (/tmp))',
    );
  });

  it('rejects values that do not fit the fields', () => {
    const mismatch = ex('e', list('proc.name', 'fd.name'), list('=', '='), [list('a')]);
    expect(() => build('c', [mismatch])).toThrow(
      new LoadError('LOAD_ERR_VALIDATE', 'Fields and values lists must have equal length', []),
    );
    const listInSingle = ex('e', scalarEntry('proc.name'), scalarEntry('in'), [list('a')]);
    expect(() => build('c', [listInSingle])).toThrow('Expected values array to contain a list of strings');
  });
});
