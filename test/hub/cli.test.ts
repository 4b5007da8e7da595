/**
 * `vigil hub` and `vigil alerts` driven through the built binary (dist/, built by the global setup), as
 * a user runs them: startup lines, token handling, signals, the table, JSON lines, filters, --follow
 * and the error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient } from '../../src/hub/client.js';
import { alertToWire, type WireAlert } from '../../src/hub/wire.js';
import { VIGIL_BIN } from '../helpers/cli.js';
import { BASE_NS, makeAlert, startTestHub, TOKEN, type TestHub } from './helpers.js';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs vigil to completion without blocking this process: the hubs under test run in this process, so a
 * synchronous spawn would stop them from answering.
 */
function vigil(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIGIL_BIN, ...args], {
      env: { ...process.env, VIGIL_TOKEN: '', VIGIL_HUB_URL: '', ...env },
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** A long-running vigil process with its output collected as it comes. */
class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;
  constructor(args: string[], env: Record<string, string> = {}, cwd?: string) {
    this.child = spawn(process.execPath, [VIGIL_BIN, ...args], {
      env: { ...process.env, VIGIL_TOKEN: '', VIGIL_HUB_URL: '', ...env },
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : -1))),
    );
  }
  async waitFor(re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.stdout);
      if (m) return m;
      if (Date.now() > end || this.child.exitCode !== null)
        throw new Error(`no ${String(re)} in output:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-hub-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('vigil hub', () => {
  it('serves a store, says where, and stops cleanly on SIGTERM', async () => {
    const tokenFile = join(dir, 'tokens');
    writeFileSync(tokenFile, `# hub tokens\n${TOKEN}\n\nsecond-token-0123456789\n`);
    const db = join(dir, 'a', 'vigil.db');
    const p = new Proc([
      'hub',
      '--store',
      `sqlite:${db}`,
      '--listen',
      '127.0.0.1:0',
      '--token-file',
      tokenFile,
    ]);
    try {
      const [, url] = await p.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect(p.stdout).toContain(`SQLite ${db}`);
      expect(p.stdout).toContain('2 tokens accepted');
      const c = new HubClient({ url: url!, token: 'second-token-0123456789' });
      expect(await c.postAlerts([makeAlert(1), makeAlert(2)])).toEqual({ inserted: 2, duplicates: 0 });
      c.close();
      // vigil alerts against it.
      const r = await vigil(['alerts', '--json'], { VIGIL_HUB_URL: url!, VIGIL_TOKEN: TOKEN });
      expect(r.status, r.stderr).toBe(0);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as WireAlert).id),
      ).toEqual([makeAlert(1).id, makeAlert(2).id]);
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
    }
    expect(p.stderr).toMatch(/SIGTERM: finishing in-flight requests\nvigil hub: stopped\n/);
    expect(existsSync(db)).toBe(true);
  });

  it('generates a token in the data folder once, then reuses it; SIGINT stops it', async () => {
    const cwd = join(dir, 'gen');
    mkdirSync(cwd, { recursive: true });
    const p1 = new Proc(['hub', '--listen', '127.0.0.1:0'], {}, cwd);
    await p1.waitFor(/listening on/);
    const file = join(cwd, 'vigil-data', 'token');
    expect(p1.stdout).toContain(`token generated in ${file}`);
    const token = readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(await p1.stop('SIGINT')).toBe(0);
    const p2 = new Proc(['hub', '--listen', '127.0.0.1:0'], {}, cwd);
    const [, url] = await p2.waitFor(/listening on (http:\/\/[\d.:]+)/);
    expect(p2.stdout).toContain(`token read from ${file}`);
    const r = await vigil(['alerts', '--hub', url!, '--token', token]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('no alerts match');
    expect(await p2.stop()).toBe(0);
  });

  it('exits 2 on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['--listen', 'nonsense'], /--listen.*must be HOST:PORT/],
      [['--no-auth', '--listen', '0.0.0.0:0'], /refusing to serve 0\.0\.0\.0 without authentication/],
      [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
      [['--store', 'mysql://x/y'], /unknown store URL scheme/],
    ];
    const runs = await Promise.all(cases.map(([args]) => vigil(['hub', ...args], {}, dir)));
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  });

  it('exits 1 when the port is taken, saying so', async () => {
    const t = await startTestHub();
    try {
      const r = await vigil([
        'hub',
        '--store',
        `sqlite:${join(dir, 'b', 'v.db')}`,
        '--listen',
        `127.0.0.1:${t.hub.port}`,
        '--no-auth',
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*another process uses that port/);
    } finally {
      await t.close();
    }
  });
});

describe('vigil alerts', () => {
  let t: TestHub;
  const env = (): Record<string, string> => ({ VIGIL_HUB_URL: t.hub.url, VIGIL_TOKEN: TOKEN });
  const data = [
    makeAlert(1, {
      rule: 'Terminal shell in container',
      priority: 'WARNING',
      containerName: 'nginx',
      containerId: '3ad7b26ded6d',
      output: 'A shell was spawned in a container with an attached terminal (user=root shell=bash)',
    }),
    makeAlert(2, {
      rule: 'Write below etc',
      priority: 'ERROR',
      hostname: 'node-b',
      output: 'File below /etc opened for writing (file=/etc/passwd)',
    }),
    makeAlert(3, {
      rule: 'Read sensitive file untrusted',
      priority: 'CRITICAL',
      containerId: 'f1c2a9e0b7d4',
      namespace: 'payments',
      output: 'Sensitive file opened for reading by curl',
    }),
    makeAlert(4, {
      rule: 'Write below etc',
      priority: 'NOTICE',
      tags: ['filesystem'],
      output: 'File below /etc opened for writing (file=/etc/hosts)',
    }),
  ];
  beforeAll(async () => {
    t = await startTestHub();
    const c = new HubClient({ url: t.hub.url, token: TOKEN });
    await c.postAlerts(data);
    c.close();
  });
  afterAll(async () => {
    await t.close();
  });

  it('prints an aligned table, oldest first, outputs cut to the terminal width', async () => {
    const r = await vigil(['alerts'], { ...env(), COLUMNS: '100' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+PRIORITY\s+RULE\s+HOST\/CONTAINER\s+OUTPUT$/);
    const col = lines[0]!.indexOf('RULE');
    expect(lines.slice(1).map((l) => l.slice(col).split(/\s{2,}/)[0])).toEqual(data.map((a) => a.rule));
    expect(lines[1]).toMatch(
      /^2025-11-24 16:00:01\.000 {2}Warning\s+Terminal shell in container\s+node-a\/nginx\s+A shell/,
    );
    expect(lines[3]).toContain('node-a/f1c2a9e0b7d4');
    expect(lines[2]).toMatch(/node-b\s+File below/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    expect(lines[1]!.endsWith('…')).toBe(true);
    // Columns line up: every row has its priority where the header has PRIORITY.
    const pcol = lines[0]!.indexOf('PRIORITY');
    expect(lines.slice(1).map((l) => l.slice(pcol).split(' ')[0])).toEqual([
      'Warning',
      'Error',
      'Critical',
      'Notice',
    ]);
  });

  it('does not cut outputs when stdout is not a terminal', async () => {
    const r = await vigil(['alerts'], env());
    expect(r.stdout).toContain(
      'A shell was spawned in a container with an attached terminal (user=root shell=bash)\n',
    );
  });

  it('prints JSON lines in the wire format with --json', async () => {
    const r = await vigil(['alerts', '--json'], env());
    expect(r.status, r.stderr).toBe(0);
    const got = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WireAlert);
    expect(got).toEqual(data.map(alertToWire));
  });

  const idsOf = (r: Run) =>
    r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as WireAlert).id.split(':')[2]);
  it('filters (each flag, run concurrently)', async () => {
    const cases: [string[], string[]][] = [
      [
        ['--rule', 'Write below etc'],
        ['2', '4'],
      ],
      [
        ['--rule', 'Write below etc', '--rule', 'Read sensitive file untrusted'],
        ['2', '3', '4'],
      ],
      [
        ['-p', 'error'],
        ['2', '3'],
      ],
      [['--priority', 'Critical'], ['3']],
      [['--tag', 'filesystem'], ['4']],
      [['--hostname', 'node-b'], ['2']],
      [['--container', 'nginx'], ['1']],
      [['--container', 'f1c2a9e0b7d4'], ['3']],
      [['--namespace', 'payments'], ['3']],
      [['-q', 'PASSWD'], ['2']],
      [
        ['--since', (BASE_NS + 2_000_000_000n).toString(), '--until', '2025-11-24T16:00:04Z'],
        ['2', '3'],
      ],
      [['--since', '10m'], []],
      [
        ['--limit', '2'],
        ['3', '4'],
      ],
    ];
    const runs = await Promise.all(cases.map(([args]) => vigil(['alerts', '--json', ...args], env())));
    runs.forEach((r, i) => {
      const [args, expected] = cases[i]!;
      expect(r.status, r.stderr).toBe(0);
      expect(idsOf(r), args.join(' ')).toEqual(expected);
    });
  });

  it('says when the limit cut the list', async () => {
    const r = await vigil(['alerts', '--limit', '3'], env());
    expect(r.stderr).toContain('(the newest 3 shown; use --limit or --since to see more)');
  });

  it('follows new alerts until interrupted', async () => {
    const p = new Proc(['alerts', '--follow', '--json', '--interval', '100', '--rule', 'Live rule'], env());
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const now = BigInt(Date.now()) * 1_000_000n;
      const c = new HubClient({ url: t.hub.url, token: TOKEN });
      await c.postAlerts([
        makeAlert(50, { rule: 'Live rule', time: now }),
        makeAlert(51, { rule: 'Other', time: now }),
      ]);
      await p.waitFor(/"agent-1:boot-1:50"/);
      await c.postAlerts([makeAlert(52, { rule: 'Live rule', time: now + 1n })]);
      await p.waitFor(/"agent-1:boot-1:52"/);
      c.close();
    } finally {
      expect(await p.stop('SIGINT')).toBe(0);
    }
    const ids = p.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as WireAlert).id);
    expect(ids).toEqual(['agent-1:boot-1:50', 'agent-1:boot-1:52']);
  });

  it('says what failed: token rejected, missing, hub not running', async () => {
    const bad = await vigil(['alerts'], { ...env(), VIGIL_TOKEN: 'wrong-token-wrong-token' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/token rejected/);
    const none = await vigil(['alerts', '--hub', t.hub.url]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/requires a token/);
    const down = await vigil(['alerts', '--hub', 'http://127.0.0.1:9', '--token', TOKEN]);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/is the hub running at http:\/\/127\.0\.0\.1:9\?/);
  });

  it('exits 2 on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['--priority', 'loud'], /must be a Falco priority/],
      [['--since', 'yesterday'], /"yesterday" is not a time/],
      [['--limit', '0'], /must be a positive integer/],
      [['--hub', 'ftp://x'], /must start with http/],
    ];
    const runs = await Promise.all(cases.map(([args]) => vigil(['alerts', ...args], env())));
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  });

  it('has examples in --help', async () => {
    const r = await vigil(['alerts', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n\s+\$ vigil alerts/);
    expect(r.stdout).toContain('VIGIL_HUB_URL');
  });
});
