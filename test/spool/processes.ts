/**
 * Real processes for the spool crash tests: the built `vigil hub` (dist/) on a fixed port, and the
 * stand-in agent (`agent-process.ts`, transpiled to run with node against dist/).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { VIGIL_BIN } from '../helpers/cli.js';

export const TOKEN = 'spool-crash-test-token-0123456789';

let hubCommand: boolean | undefined;
/** Whether the built CLI has `vigil hub` (reason to skip otherwise); asked once. */
export function haveHubCommand(): boolean {
  hubCommand ??= spawnSync(process.execPath, [VIGIL_BIN, 'hub', '--help'], { encoding: 'utf8' }).status === 0;
  return hubCommand;
}

/** A port free right now (the hub is restarted on the same one, so it cannot be 0). */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A process whose stdout lines are collected as they come. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  private partial = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-20_000)));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first stdout line matching `re` (waiting up to `ms`). */
  async waitLine(re: RegExp, ms = 30_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines.find((x) => re.test(x));
      if (l !== undefined) return l;
      if (this.child.exitCode !== null || Date.now() > end)
        throw new Error(`no line matching ${re} (exit ${this.child.exitCode}); stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** Starts `vigil hub` on `port` over the SQLite file `db`; resolves once it listens. */
export async function startHubProcess(db: string, port: number): Promise<Proc> {
  const p = new Proc(
    spawn(process.execPath, [VIGIL_BIN, 'hub', '--store', `sqlite:${db}`, '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, VIGIL_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await p.waitLine(/listening on/);
  return p;
}

/**
 * Transpiles `agent-process.ts` into `dir` with its `../../src/` imports pointed at dist/src, and
 * returns the script's path.
 */
export function buildAgentScript(dir: string): string {
  const source = readFileSync(join(REPO_ROOT, 'test', 'spool', 'agent-process.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const dist = pathToFileURL(join(REPO_ROOT, 'dist', 'src')).href;
  const out = join(dir, 'agent-process.mjs');
  writeFileSync(out, js.replaceAll("'../../src/", `'${dist}/`));
  return out;
}

export function startAgentProcess(
  script: string,
  args: { spoolDir: string; hubUrl: string; rate: number; count: number | 'forever' },
): Proc {
  return new Proc(
    spawn(
      process.execPath,
      [script, args.spoolDir, args.hubUrl, TOKEN, String(args.rate), String(args.count)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
}
