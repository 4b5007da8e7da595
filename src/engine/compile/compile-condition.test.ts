import { describe, expect, it } from 'vitest';
import { parseCondition } from '../condition/parser.js';
import type { FieldArgKind, FieldDef, FieldProvider, FieldType, FieldValue } from '../fields/types.js';
import { compileCondition, compileValue, invalidateFieldMemo, type CompileResult } from './index.js';

/** Test events: field name (with `[arg]` when given) → value. */
type Ev = Record<string, FieldValue>;

const FIELDS: [string, FieldType, FieldArgKind?, boolean?][] = [
  ['proc.name', 'CHARBUF'],
  ['proc.pname', 'CHARBUF'],
  ['proc.cmdline', 'CHARBUF'],
  ['fd.name', 'CHARBUF'],
  ['fd.directory', 'CHARBUF'],
  ['fs.path.name', 'FSPATH'],
  ['proc.pid', 'INT64'],
  ['proc.ppid', 'INT64'],
  ['evt.num', 'UINT64'],
  ['evt.cpu', 'INT16'],
  ['fd.port', 'PORT'],
  ['evt.is_open_read', 'BOOL'],
  ['fd.ip', 'IPADDR'],
  ['fd.sip', 'IPADDR'],
  ['fd.cip', 'IPADDR'],
  ['fd.net', 'IPNET'],
  ['evt.buffer', 'BYTEBUF'],
  ['ka.user.groups', 'CHARBUF', 'none', true],
  ['fd.types', 'CHARBUF', 'none', true],
  ['proc.aname', 'CHARBUF', 'index'],
  ['evt.arg', 'CHARBUF', 'index-or-key'],
  ['ka.uri.param', 'CHARBUF', 'key-required'],
  ['evt.rawarg', 'DYNAMIC', 'index-or-key'],
  ['evt.type', 'CHARBUF'],
  ['proc.args', 'CHARBUF'],
  ['out.only', 'CHARBUF'],
];

function makeProvider(): { provider: FieldProvider<Ev>; extractions: Map<string, number> } {
  const defs = new Map<string, FieldDef>();
  for (const [name, type, arg = 'none', isList = false] of FIELDS) {
    defs.set(name, {
      name,
      type,
      desc: '',
      source: 'syscall',
      arg,
      isList,
      outputOnly: name === 'out.only',
      ...(name === 'proc.aname' ? { multiValue: 'ancestors' as const } : {}),
      ...(name === 'fd.ip' || name === 'fd.net'
        ? { multiValue: 'either-end' as const, filterOnly: true }
        : {}),
    });
  }
  const extractions = new Map<string, number>();
  const provider: FieldProvider<Ev> = {
    source: 'syscall',
    lookup(name) {
      const def = defs.get(name);
      if (def) return { def };
      for (const prefix of ['evt.arg', 'evt.rawarg']) {
        if (name.startsWith(`${prefix}.`))
          return { def: defs.get(prefix)!, argFromName: name.slice(prefix.length + 1) };
      }
      return undefined;
    },
    extractor(def) {
      return (e, arg) => {
        const key = arg === undefined ? def.name : `${def.name}[${arg}]`;
        extractions.set(key, (extractions.get(key) ?? 0) + 1);
        return e[key];
      };
    },
    all: () => [...defs.values()],
  };
  return { provider, extractions };
}

const { provider } = makeProvider();

function compile(
  cond: string,
  p: FieldProvider<Ev> = provider,
  skipUnknownFilter = false,
): CompileResult<Ev> {
  const parsed = parseCondition(cond);
  if (!parsed.ok) throw new Error(`parse error in ${cond}: ${parsed.error.message}`);
  return compileCondition(parsed.ast, p, { skipUnknownFilter });
}

function run(cond: string, e: Ev): boolean {
  const r = compile(cond);
  if (!r.ok) throw new Error(`${cond}: ${r.errors.map((x) => x.message).join('; ')}`);
  return r.filter(e);
}

function errorOf(cond: string): string {
  const r = compile(cond);
  if (r.ok) throw new Error(`${cond} compiled`);
  return r.errors.map((x) => x.message).join('; ');
}

describe('missing values', () => {
  it.each([
    'proc.name = x',
    'proc.name != x',
    'proc.name in (x)',
    'proc.pid < 5',
    'proc.name contains x',
    'proc.name glob *',
  ])('%s is false when the field is missing, and its negation true', (cond) => {
    expect(run(cond, {})).toBe(false);
    expect(run(`not ${cond}`, {})).toBe(false === run(cond, {}));
  });

  it('exists tests presence', () => {
    expect(run('proc.name exists', {})).toBe(false);
    expect(run('proc.name exists', { 'proc.name': '' })).toBe(true);
    expect(run('not proc.name exists', {})).toBe(true);
  });
});

describe('string operators', () => {
  const e: Ev = {
    'proc.name': 'bash',
    'fd.name': '/opt/dir/SUBDIR/file.txt',
    'proc.cmdline': 'curl http://x',
  };
  it.each([
    ['proc.name = bash', true],
    ['proc.name == bash', true],
    ['proc.name != bash', false],
    ['proc.name < 5', false],
    ['proc.name >= 5', true],
    ['proc.name > 5', true],
    ['proc.name <= 5', false],
    ['fd.name contains /dir', true],
    ['fd.name contains /subdir', false],
    ['fd.name icontains /subdir', true],
    ['fd.name icontains notthis', false],
    ['fd.name startswith /opt', true],
    ['fd.name endswith .txt', true],
    ['fd.name glob /opt/*', true],
    ['fd.name glob /opt/*/file.txt', true],
    ['fd.name iglob /OPT/*', true],
    ['fd.name glob /OPT/*', false],
    ['fd.name pmatch (/opt/dir)', true],
    ['fd.name pmatch (/opt/di)', false],
    ['fd.name pmatch (/tmp, /opt/*/SUBDIR)', true],
    ['proc.name in (sh, bash, zsh)', true],
    ['proc.name in (sh, zsh)', false],
    ['proc.name intersects (bash)', true],
    ['proc.name in ()', false],
    ['proc.name regex "ba.h"', true],
    ['proc.name regex "ba"', false],
    ['proc.cmdline contains "curl http"', true],
  ])('%s → %s', (cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });

  it('accepts numbers from extractors for string fields', () => {
    expect(run('proc.name = 12', { 'proc.name': 12 })).toBe(true);
  });
});

describe('numeric and boolean operators', () => {
  const e: Ev = {
    'proc.pid': 42,
    'evt.num': 2n ** 63n,
    'evt.cpu': 1,
    'fd.port': 443,
    'evt.is_open_read': true,
  };
  it.each([
    ['proc.pid = 42', true],
    ['proc.pid = 0x2a', true],
    ['proc.pid = +42', true],
    ['proc.pid != 42', false],
    ['proc.pid > -500', true],
    ['proc.pid <= 42', true],
    ['proc.pid in (1, 42)', true],
    ['proc.pid in (1, 2)', false],
    ['evt.num > 4294967295', true],
    ['evt.num = 9223372036854775808', true],
    ['evt.num in (9223372036854775808)', true],
    ['evt.cpu < 300', true],
    ['fd.port in (80, 443)', true],
    ['evt.is_open_read = true', true],
    ['evt.is_open_read != true', false],
    ['evt.is_open_read in (false)', false],
  ])('%s → %s', (cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });

  it('mixes number and bigint values', () => {
    expect(run('proc.pid = 42', { 'proc.pid': 42n })).toBe(true);
    expect(run('proc.pid in (42)', { 'proc.pid': 42n })).toBe(true);
    expect(run('evt.is_open_read = true', { 'evt.is_open_read': 1 })).toBe(true);
  });
});

describe('IP addresses and networks', () => {
  const v4: Ev = { 'fd.ip': '142.251.111.147', 'fd.sip': '142.251.111.147', 'fd.net': '142.251.111.147' };
  const v6: Ev = {
    'fd.ip': '2001:4860:4860::8888',
    'fd.sip': '2001:4860:4860::8888',
    'fd.net': '2001:4860:4860::8888',
  };
  it.each([
    [v4, 'fd.ip == 142.251.111.147', true],
    [v4, 'fd.ip != 142.251.111.147', false],
    [v4, 'fd.sip != 0:0:0:0:0:0:0:1', true],
    [v4, "fd.sip == '0:0:0:0:0:0:0:1'", false],
    [v4, 'fd.net == 142.251.0.0/8', true],
    [v4, 'fd.net != 10.0.0.0/8', true],
    [v4, 'fd.net != 2001:db8:abcd:0012::0/64', true],
    [v4, 'fd.net == 2001:db8:abcd:0012::0/64', false],
    [v4, 'fd.net in (10.0.0.0/8, 142.0.0.0/8)', true],
    [v4, 'fd.ip in (10.0.0.1, 142.251.111.147)', true],
    [v4, 'fd.ip = 142.251.0.0/16', true],
    [v4, 'fd.sip == oneof (10.0.0.1, 142.251.111.147)', true],
    [v4, 'fd.sip != allof (10.0.0.1, 192.168.0.1)', true],
    [v6, 'fd.ip == 2001:4860:4860::8888', true],
    [v6, 'fd.sip != 127.0.0.1', true],
    [v6, "fd.sip == '127.0.0.1'", false],
    [v6, 'fd.net == 2001:4860::0/32', true],
    [v6, 'fd.net != 10.0.0.0/8', true],
    [v6, 'fd.net == 10.0.0.0/8', false],
  ])('%#: %s', (e, cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });

  it('rejects malformed addresses at compile time', () => {
    expect(errorOf('fd.ip = 1.2.3')).toContain('IP address');
    expect(errorOf('fd.net = 10.0.0.0/99')).toContain('IP network');
  });
});

describe('byte buffers', () => {
  const e: Ev = { 'evt.buffer': new Uint8Array([0x61, 0x00, 0x62]) };
  it.each([
    ['evt.buffer = "a\\x00b"', true],
    ['evt.buffer = "ab"', false],
    ['evt.buffer bcontains 610062', true],
    ['evt.buffer bcontains 610162', false],
    ['evt.buffer bstartswith 6100', true],
    ['evt.buffer bstartswith 6101', false],
    ['evt.buffer contains b', true],
    ['evt.buffer endswith "\\x00b"', true],
  ])('%s → %s', (cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });

  it('requires hex for bcontains', () => {
    expect(errorOf('evt.buffer bcontains 2g')).toBe(
      'filter error: bcontains and bstartswith operator support hex strings only',
    );
    expect(errorOf('evt.buffer bstartswith 123')).toContain('hex strings only');
  });
});

describe('list-valued fields', () => {
  it('in needs every value in the set, intersects any', () => {
    const e: Ev = { 'ka.user.groups': ['system:masters', 'system:authenticated'] };
    expect(run('ka.user.groups in (system:masters, system:authenticated, x)', e)).toBe(true);
    expect(run('ka.user.groups in (system:masters)', e)).toBe(false);
    expect(run('ka.user.groups intersects (system:masters)', e)).toBe(true);
    expect(run('ka.user.groups intersects (x)', e)).toBe(false);
    expect(run('ka.user.groups in (x)', { 'ka.user.groups': [] })).toBe(true);
    expect(run('ka.user.groups intersects (x)', { 'ka.user.groups': [] })).toBe(false);
  });

  it('only exists, in and intersects apply to lists', () => {
    expect(errorOf('ka.user.groups = x')).toBe("filter error: '=' operator not supported list filters");
    expect(errorOf('ka.user.groups contains x')).toContain('not supported list filters');
  });
});

describe('multi-candidate fields', () => {
  it('either-end: = and in hold for one end, != only when no end is equal', () => {
    const e: Ev = {
      'fd.ip': ['172.40.111.222', '142.251.111.147'],
      'fd.net': ['172.40.111.222', '142.251.111.147'],
    };
    expect(run('fd.ip = 142.251.111.147', e)).toBe(true);
    expect(run('fd.ip = 172.40.111.222', e)).toBe(true);
    expect(run('fd.ip != 142.251.111.147', e)).toBe(false);
    expect(run('fd.ip != 10.0.0.1', e)).toBe(true);
    expect(run('fd.ip in (10.0.0.1, 172.40.111.222)', e)).toBe(true);
    expect(run('fd.net != 127.0.0.0/8', e)).toBe(true);
    expect(run('fd.net = 172.0.0.0/8', e)).toBe(true);
  });

  it('ancestors: the process itself is skipped, any operator holds for one ancestor', () => {
    const e: Ev = { 'proc.aname': ['good-exe', 'bash', 'init'], 'proc.aname[1]': 'bash' };
    expect(run('proc.aname = init', e)).toBe(true);
    expect(run('proc.aname = good-exe', e)).toBe(false);
    expect(run('proc.aname in (bash)', e)).toBe(true);
    expect(run('proc.aname != bash', e)).toBe(true); // init differs
    expect(run('proc.aname exists', e)).toBe(true);
    expect(run('proc.aname exists', { 'proc.aname': ['init'] })).toBe(false);
    expect(run('proc.aname[1] = bash', e)).toBe(true);
    expect(run('toupper(proc.aname) = GOOD-EXE', e)).toBe(true); // transformers see the process itself
  });

  it('other fields handing over several values use the either-end rule', () => {
    const e: Ev = { 'proc.name': ['a', 'b'] };
    expect(run('proc.name = b', e)).toBe(true);
    expect(run('proc.name != b', e)).toBe(false);
  });

  it('filter-only fields are refused in outputs', () => {
    const v = compileValue({ kind: 'field', name: 'fd.ip', span: { start: 0, end: 5 } }, provider);
    expect(v.ok).toBe(false);
    if (!v.ok)
      expect(v.errors[0]?.message).toBe('fd.ip is filter only and cannot be used as a display field');
  });
});

describe('modifiers', () => {
  const e: Ev = { 'proc.name': 'myexe' };
  it.each([
    ['proc.name == oneof (myexe, bash)', true],
    ['proc.name == oneof (myexe, myexe)', false],
    ['proc.name == anyof (bash, sh)', false],
    ['proc.name == allof (myexe, myexe)', true],
    ['proc.name != oneof (myexe, myexe, bash)', true],
    ['proc.name != allof (bash, sh)', true],
    ['proc.name != allof (myexe, bash)', false],
    ['proc.name contains allof (my, exe)', true],
    ['proc.name startswith oneof (my, mye)', false],
    ['proc.name glob anyof (my*, *exe)', true],
    ['proc.name regex oneof (my.*, .*exe)', false],
    ['proc.name == oneof ()', false],
    ['proc.name != allof ()', false],
  ])('%s → %s', (cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });
});

describe('field-to-field comparisons', () => {
  it('compares two extracted values of one type', () => {
    expect(run('proc.name = val(proc.pname)', { 'proc.name': 'a', 'proc.pname': 'a' })).toBe(true);
    expect(run('proc.name = val(proc.pname)', { 'proc.name': 'a', 'proc.pname': 'b' })).toBe(false);
    expect(run('proc.name != val(proc.pname)', { 'proc.name': 'a' })).toBe(false); // rhs missing
    expect(run('proc.pid < val(proc.ppid)', { 'proc.pid': 1, 'proc.ppid': 2 })).toBe(true);
  });

  it('enforces libsinsp restrictions', () => {
    expect(errorOf('proc.name = val(evt.is_open_read)')).toBe(
      "field 'proc.name' has type 'CHARBUF' while the right-hand side field 'evt.is_open_read' has incompatible type 'BOOL'",
    );
    expect(errorOf('proc.name = val(fs.path.name)')).toContain("incompatible type 'FSPATH'");
    expect(errorOf('proc.name pmatch val(proc.pname)')).toBe(
      "operator 'PMATCH' doesn't support right-hand side fields",
    );
    expect(errorOf('proc.name regex val(proc.pname)')).toBe(
      "operator 'REGEX' doesn't support right-hand side fields",
    );
    expect(errorOf('fd.ip = val(fd.sip)')).toBe("field 'fd.ip' doesn't support right-hand side fields");
    expect(errorOf('fd.sip = val(fd.ip)')).toBe("field 'fd.ip' can't be used as a right-hand side field");
    expect(errorOf('fd.net = val(fd.net)')).toBe("field type 'IPNET' doesn't support right-hand side fields");
    expect(run('fd.sip = val(fd.cip)', { 'fd.sip': '10.0.0.1', 'fd.cip': '10.0.0.1' })).toBe(true);
  });

  it('compares transformer results', () => {
    expect(run('tolower(proc.name) = tolower(proc.pname)', { 'proc.name': 'AbC', 'proc.pname': 'aBc' })).toBe(
      true,
    );
  });
});

describe('transformers', () => {
  const e: Ev = {
    'fd.name': '/tmp/file_to_run',
    'fd.directory': '/tmp',
    'evt.num': 1,
    'proc.name': 'MyExe',
    'fd.types': ['file', 'ipv4'],
  };
  it.each([
    ['tolower(proc.name) = myexe', true],
    ['toupper(proc.name) = MYEXE', true],
    ['basename(fd.name) = file_to_run', true],
    ['len(fd.name) = 16', true],
    ['len(fd.types) = 2', true],
    ['join("-", (fd.name, fd.directory)) = /tmp/file_to_run-/tmp', true],
    ['join(",", (evt.num, evt.num)) = "1,1"', true],
    ['join(",", ()) = ""', true],
    ['join(fd.directory, fd.types) = file/tmpipv4', true],
    ['concat(fd.directory, concat("aaa", toupper(fd.name))) = /tmpaaa/TMP/FILE_TO_RUN', true],
    ['len(join("-", (fd.name, fd.directory))) = 21', true],
    ['b64(concat("YWFh", "YmJi")) = aaabbb', true],
    ['toupper(fd.types) intersects (IPV4)', true],
    ['getopt(("-n", "-t", "hello"), "nt:")[t] = hello', true],
    ['getopt(("-t", "v1", "-t"), "t:")[t] = ""', true],
    ['getopt(("-lpe", "/bin/sh"), "lpe:") intersects ("/bin/sh")', true],
    ['getopt(("-n"), "nt:")[t] exists', false],
  ])('%s → %s', (cond, expected) => {
    expect(run(cond, e)).toBe(expected);
  });

  it('a missing input makes the transformed value missing', () => {
    expect(run('tolower(proc.pname) exists', e)).toBe(false);
    expect(run('concat(proc.pname, "x") != x', e)).toBe(false);
  });

  it.each([
    ['toupper(fd.name)[x] = foo', "filter error: transformer 'toupper' does not support field arguments"],
    [
      'toupper(proc.pid) = 1',
      "can't add field transformer: type 'INT64' is not supported by 'toupper' transformer applied on field 'proc.pid'",
    ],
    ['toupper(evt.rawarg.res) = 1', "field 'evt.rawarg' does not support transformers"],
    ['join("-") = foo', 'join() requires exactly 2 arguments: separator and list'],
    [
      'join(fd.types, ("a", "b")) = foo',
      'join() first argument (separator) must be a single value, not a list',
    ],
    ['join("a", "b") = foo', 'join() second argument must be a list'],
    ['concat("aaa") = foo', 'concat() requires at least 2 arguments'],
    ['concat(fd.types, "a") = foo', 'concat() arguments must be strings'],
    ['concat(fs.path.name, "a") = foo', 'concat() arguments must be strings'],
    ['getopt(("a")) intersects ("n")', 'getopt() requires exactly 2 arguments: args list and optstring'],
    ['getopt("not_a_list", "n") intersects ("n")', 'getopt() first argument must be a list'],
    ['getopt(("-n"), ("n")) intersects ("n")', 'getopt() second argument (optstring) must be a single value'],
    ['getopt(("-n"), "n")[""] = n', 'getopt() field argument must be a single option character'],
  ])('%s is rejected', (cond, message) => {
    expect(errorOf(cond)).toBe(message);
  });
});

describe('compile errors', () => {
  it('unknown fields, optionally as skip-if-unknown-filter', () => {
    expect(errorOf('proc.nme = x')).toBe('filter_check called with nonexistent field proc.nme');
    const r = compile('evt.type = open and proc.nme = x and proc.pid = x', provider, true);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.unknownField).toBe(true);
      expect(r.errors.map((x) => x.message)).toEqual(['filter_check called with nonexistent field proc.nme']);
    }
    const plain = compile('proc.nme = x', provider, false);
    expect(plain.ok === false && plain.unknownField).toBeFalsy();
  });

  it('field arguments', () => {
    expect(errorOf('proc.name[1] = x')).toBe('filter_check called with nonexistent field proc.name[1]');
    expect(errorOf('ka.uri.param = x')).toBe("filter error: field 'ka.uri.param' requires an argument");
    expect(errorOf('proc.aname[x] = bash')).toContain('numeric argument');
    expect(run('proc.aname[2] = bash', { 'proc.aname[2]': 'bash' })).toBe(true);
    expect(run('evt.arg.flags contains O_CREAT', { 'evt.arg[flags]': 'O_RDWR|O_CREAT' })).toBe(true);
    expect(errorOf('out.only = x')).toContain('only be used in outputs');
  });

  it('unresolved macros and list names', () => {
    expect(errorOf('evt.type = open and my_macro')).toBe("Undefined macro 'my_macro' used in filter.");
    expect(errorOf('proc.name in my_list')).toBe("filter error: unexpected identifier 'my_list'");
  });

  it('values that do not parse for the field type', () => {
    expect(errorOf('proc.pid = 1.0')).toContain("invalid numeric value '1.0'");
    expect(errorOf('proc.pid in (1, x)')).toContain("invalid numeric value 'x'");
    expect(errorOf('evt.is_open_read = yes')).toBe('filter error: unrecognized boolean value yes');
    expect(errorOf('proc.name = "\\x00"')).toContain('NUL');
    expect(errorOf('proc.name regex "(?:a)"')).toContain('invalid regular expression');
    expect(errorOf('proc.pid contains 1')).toBe(
      "filter error: 'contains' operator not supported for numeric filters",
    );
  });

  it('reports every failing check, with its span', () => {
    const cond = 'proc.nme = x or proc.pid glob 1';
    const r = compile(cond);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toHaveLength(2);
      expect(cond.slice(r.errors[0]!.span.start, r.errors[0]!.span.end)).toBe('proc.nme');
    }
  });
});

describe('warnings', () => {
  const count = (cond: string): number => {
    const r = compile(cond);
    if (!r.ok) throw new Error(r.errors[0]?.message);
    return r.warnings.length;
  };
  it('flags field names and transformers used as string values', () => {
    const r = compile('proc.name = proc.pname');
    expect(r.ok && r.warnings[0]?.message).toBe(
      "'proc.pname' may be a valid field misused as a const string value",
    );
    expect(count('proc.name = "proc.pname "')).toBe(1);
    expect(count('proc.name = "toupper( proc.pname)"')).toBe(1);
    expect(count("proc.name = 'tolow(proc.pname)'")).toBe(0);
    expect(count('proc.name = unknown.field')).toBe(0);
    expect(count('proc.name = toupper(proc.pname)')).toBe(0);
    expect(count('proc.name in (a, proc.pname, b)')).toBe(1);
  });

  it('flags regexes that simpler operators could check', () => {
    for (const re of ['syscall', '^syscall$', '.*syscall.*', '.+syscall', 'syscall.?'])
      expect(count(`proc.name regex "${re}"`)).toBe(1);
    for (const re of ['syscall.{1}', 'syscall\\\\.*', 's.*l', 'syscal[l]?'])
      expect(count(`proc.name regex "${re}"`)).toBe(0);
  });
});

describe('evaluation', () => {
  it('short-circuits and/or left to right', () => {
    const { provider: p, extractions } = makeProvider();
    const r = compile('proc.name = a or proc.pname = b', p);
    if (!r.ok) throw new Error('compile');
    expect(r.filter({ 'proc.name': 'a' })).toBe(true);
    expect(extractions.get('proc.pname')).toBeUndefined();
    const and = compile('proc.name = x and proc.pname = b', p);
    if (!and.ok) throw new Error('compile');
    expect(and.filter({ 'proc.name': 'a' })).toBe(false);
    expect(extractions.get('proc.pname')).toBeUndefined();
  });

  it('extracts a field once per event across filters compiled for one provider', () => {
    const { provider: p, extractions } = makeProvider();
    const filters = ['proc.name = a', 'proc.name startswith b', 'not proc.name in (c)'].map((c) => {
      const r = compile(c, p);
      if (!r.ok) throw new Error('compile');
      return r.filter;
    });
    const e1: Ev = { 'proc.name': 'bash' };
    expect(filters.map((f) => f(e1))).toEqual([false, true, true]);
    expect(extractions.get('proc.name')).toBe(1);
    const e2: Ev = { 'proc.name': 'a' };
    expect(filters.map((f) => f(e2))).toEqual([true, false, true]);
    expect(extractions.get('proc.name')).toBe(2);
  });

  it('compileValue gives output getters, output-only fields included', () => {
    const p = parseCondition('tolower(proc.name) exists');
    if (!p.ok || p.ast.kind !== 'unary') throw new Error('parse');
    const v = compileValue(p.ast.left, provider);
    expect(v.ok && v.type).toBe('CHARBUF');
    expect(v.ok && v.get({ 'proc.name': 'BASH' })).toBe('bash');
    const o = compileValue({ kind: 'field', name: 'out.only', span: { start: 0, end: 8 } }, provider);
    expect(o.ok && o.def?.name).toBe('out.only');
  });
});

describe('per-event memo', () => {
  it('invalidateFieldMemo forgets values of a mutated event', () => {
    const r = compile('proc.name = a');
    if (!r.ok) throw new Error('compile');
    const e: Ev = { 'proc.name': 'a' };
    expect(r.filter(e)).toBe(true);
    e['proc.name'] = 'b';
    expect(r.filter(e)).toBe(true); // same object: the memo answers
    invalidateFieldMemo();
    expect(r.filter(e)).toBe(false);
  });
});
