/**
 * End-to-end tests of the built `vigil` command: exit codes, reports and the replay contract
 * (alerts on stdout, summary on stderr, malformed input counted with line numbers).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runVigil } from '../helpers/cli.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures } from '../helpers/fixtures.js';

let dir: string;

const RULES = `
- list: shells
  items: [bash, sh]

- macro: spawned_process
  condition: evt.type in (execve, execveat)

- rule: Shell spawned
  desc: a shell was started
  condition: spawned_process and proc.name in (shells)
  output: shell started (user=%user.name command=%proc.cmdline parent=%proc.pname)
  priority: WARNING
  tags: [shell, T1059]

- rule: Audit secret read
  desc: secret read
  condition: ka.verb=get and ka.target.resource=secrets
  output: secret read (user=%ka.user.name secret=%ka.target.name)
  priority: NOTICE
  source: k8s_audit
`;

const INVALID = `- rule: Broken
  desc: broken on purpose
  condition: evt.type=open and and proc.name=cat
  output: "x %proc.name"
  priority: INFO
`;

const proc = (name: string, parent?: object) => ({
  pid: 100,
  tid: 100,
  name,
  exe: `/bin/${name}`,
  exepath: `/bin/${name}`,
  args: ['-c', 'id'],
  uid: 0,
  user: 'root',
  ...(parent ? { parent } : {}),
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  writeFileSync(join(dir, 'invalid.yaml'), INVALID);
  const events = [
    { type: 'execve', dir: '<', ts: '1700000000000000001', res: 0, proc: proc('bash', proc('sshd')) },
    { type: 'openat', dir: '<', ts: '1700000000000000002', res: 3, proc: proc('cat') },
    '{"type": "execve", "dir": "<", "proc": {',
    { type: 'execve', dir: '<', ts: '1700000000000000003', res: 0, proc: proc('sh', proc('node')) },
  ];
  writeFileSync(
    join(dir, 'events.jsonl'),
    events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n') + '\n',
  );
  const audit = {
    kind: 'Event',
    auditID: 'a1',
    stage: 'ResponseComplete',
    verb: 'get',
    user: { username: 'alice' },
    objectRef: { resource: 'secrets', name: 'db-password', namespace: 'default' },
    stageTimestamp: '2026-11-25T10:00:00.123456Z',
  };
  writeFileSync(
    join(dir, 'audit.jsonl'),
    [
      JSON.stringify(audit),
      '{"kind": 0}',
      '\u0000\u0001garbage\u00ff',
      JSON.stringify({ ...audit, auditID: 'a2' }),
    ].join('\n') + '\n',
  );
});

describe('vigil (built CLI)', () => {
  it('prints help that lists the commands', () => {
    const r = runVigil(['--help']);
    expect(r.status).toBe(0);
    for (const word of ['replay', 'rules', 'Examples']) expect(r.stdout).toContain(word);
  });

  it("run --help names the environment variables that change the agent's work", () => {
    const r = runVigil(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('VIGIL_CAPTURE_FLUSH_MS');
    expect(r.stdout).toMatch(/VIGIL_REUSE_VERDICTS=1\|agent\|0/);
  });

  it('rejects an unknown option with a usage error', () => {
    const r = runVigil(['replay', '--no-such-flag', 'x']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown option/);
  });

  it('validate: Ok and exit 0 for a valid file', () => {
    const r = runVigil(['rules', 'validate', join(dir, 'rules.yaml')]);
    expect(r.stdout).toContain('rules.yaml: Ok');
    expect(r.status).toBe(0);
  });

  it('validate: file:line:col, Falco code and exit 1 for an invalid file', () => {
    const r = runVigil(['rules', 'validate', join(dir, 'invalid.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('invalid.yaml: Invalid');
    expect(r.stdout).toMatch(/invalid\.yaml:3:\d+: error LOAD_ERR_COMPILE_CONDITION/);
    expect(r.stdout).toContain('^');
  });

  it('validate --json: Falco-shaped machine report', () => {
    const r = runVigil(['rules', 'validate', '--json', join(dir, 'invalid.yaml'), join(dir, 'rules.yaml')]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as {
      falco_load_results: { name: string; successful: boolean; errors: { code: string }[] }[];
    };
    const byName = new Map(report.falco_load_results.map((x) => [x.name, x]));
    expect(byName.get(join(dir, 'invalid.yaml'))?.successful).toBe(false);
    expect(byName.get(join(dir, 'invalid.yaml'))?.errors[0]?.code).toBe('LOAD_ERR_COMPILE_CONDITION');
    expect(byName.get(join(dir, 'rules.yaml'))?.successful).toBe(true);
  });

  it('validate: unreadable file is LOAD_ERR_FILE_READ', () => {
    const r = runVigil(['rules', 'validate', join(dir, 'missing.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('LOAD_ERR_FILE_READ');
  });

  it('list-fields lists fields of a source', () => {
    const r = runVigil(['rules', 'list-fields', '--source', 'k8s_audit']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ka.verb');
    expect(r.stdout).not.toContain('proc.name ');
    const j = runVigil(['rules', 'list-fields', '--json']);
    const fields = JSON.parse(j.stdout) as { name: string; source: string }[];
    expect(fields.find((f) => f.name === 'proc.aname')?.source).toBe('syscall');
  });

  it('explain shows the expanded condition and event types', () => {
    const r = runVigil(['rules', 'explain', '--rules', join(dir, 'rules.yaml'), 'Shell spawned']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(evt.type in (execve, execveat) and proc.name in (bash, sh))');
    expect(r.stdout).toMatch(/event types: execve, execveat/);
    const missing = runVigil(['rules', 'explain', '--rules', join(dir, 'rules.yaml'), 'Shell']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("Did you mean: 'Shell spawned'");
  });

  it('replay (syscall): alerts on stdout, malformed line reported, rest processed', () => {
    const r = runVigil(['replay', '--rules', join(dir, 'rules.yaml'), join(dir, 'events.jsonl')]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^22:13:20\.000000001: Warning shell started \(user=root command=bash -c id parent=sshd\)$/,
    );
    expect(lines[1]).toContain('parent=node');
    expect(r.stderr).toContain('events.jsonl:3: invalid JSON');
    expect(r.stderr).toMatch(/3 events .* 2 alerts; 1 malformed line/);
  });

  it('replay --json: Falco JSON alerts', () => {
    const r = runVigil(['replay', '--json', '--rules', join(dir, 'rules.yaml'), join(dir, 'events.jsonl')]);
    const alert = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>;
    expect(alert).toMatchObject({
      rule: 'Shell spawned',
      priority: 'Warning',
      source: 'syscall',
      tags: ['T1059', 'shell'],
      time: '2023-11-14T22:13:20.000000001Z',
    });
    expect(alert.output_fields).toMatchObject({
      'user.name': 'root',
      'proc.pname': 'sshd',
      'proc.cmdline': 'bash -c id',
    });
    expect(r.stdout.split('\n')[0]).toContain('"evt.time":1700000000000000001');
  });

  it('replay (k8s audit): garbage and non-audit lines counted, valid events still detected', () => {
    const r = runVigil(['replay', '--rules', join(dir, 'rules.yaml'), join(dir, 'audit.jsonl')]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stdout).toContain('secret read (user=alice secret=db-password)');
    expect(r.stderr).toContain("audit.jsonl:2: data not recognized as a k8s audit event (no 'auditID')");
    expect(r.stderr).toContain('audit.jsonl:3: invalid JSON');
    expect(r.stderr).toMatch(/2 malformed lines/);
  });

  it('replay: invalid rules → exit 1 with the diagnostic', () => {
    const r = runVigil(['replay', '--rules', join(dir, 'invalid.yaml'), join(dir, 'events.jsonl')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('LOAD_ERR_COMPILE_CONDITION');
  });

  it.skipIf(!haveFixtures)(
    `replay: Falco's malformed audit event fal_01_003 gives no detection (${haveFixtures ? 'fixtures' : FIXTURES_SKIP_REASON})`,
    () => {
      const r = runVigil([
        'replay',
        '--rules',
        fixturePath('rules/k8saudit/k8saudit-0.6.0/k8s_audit_rules.yaml'),
        fixturePath('k8s_audit/events/fal_01_003.json'),
      ]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('fal_01_003.json:1: data not recognized as a k8s audit event');
    },
  );
});
