/**
 * `vigil hub`: a standalone hub (HTTP API over a store) for agents on other machines to ship to, and
 * for `vigil alerts` to query. Prints where it listens and where its data lives; stops cleanly on
 * SIGINT/SIGTERM (in-flight requests finish, the store is closed). Usage errors exit with 2.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BATCH_ALERTS } from '../../hub/limits.js';
import { ensureToken } from '../../hub/token.js';
import type { Store, StoreConfig } from '../../store/index.js';

/** Default store: SQLite under ./vigil-data. */
export const DEFAULT_HUB_STORE = 'sqlite:vigil-data/vigil.db';
export const DEFAULT_HUB_LISTEN = '127.0.0.1:7878';
/** Shortest token accepted (as in the config file). */
const MIN_TOKEN_LENGTH = 16;

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` (all interfaces) or `PORT` (loopback). */
export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (m === null || !(port >= 0 && port <= 65535))
    throw new InvalidArgumentError('must be HOST:PORT, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::1]:7878');
  const host = m[1] ?? m[2] ?? '';
  if (s.startsWith(':')) return { host: '0.0.0.0', port };
  return { host: host === '' ? '127.0.0.1' : host, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('must be a positive integer');
  return Number(v);
}

/** Tokens of a token file: one per line; blank lines and `#` comments are skipped. */
export function readTokenFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read token file ${file}: ${(e as Error).message}`);
  }
  const tokens = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (tokens.length === 0) throw new Error(`token file ${file} holds no token`);
  return tokens;
}

/** Where the data lives, for people (no password). */
function describeStore(c: StoreConfig): string {
  if (c.kind === 'sqlite') return `SQLite ${c.path === ':memory:' ? '(in memory)' : resolve(c.path)}`;
  try {
    const u = new URL(c.url);
    if (u.password !== '') u.password = '***';
    return `PostgreSQL ${u.toString()}`;
  } catch {
    return 'PostgreSQL';
  }
}

interface HubFlags {
  store: string;
  listen: { host: string; port: number };
  tokenFile?: string;
  auth: boolean;
  tlsCert?: string;
  tlsKey?: string;
  maxBodyBytes: number;
  maxBatch: number;
}

function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

/** Registers `vigil hub`. */
export function registerHub(program: Command): void {
  program
    .command('hub')
    .description('run the hub: the HTTP API agents ship alerts to and `vigil alerts` queries, over a store')
    .exitOverride(usageExit)
    .addOption(
      new Option('--store <url>', 'where alerts are stored: sqlite:<path>, a file path, or postgres://…')
        .env('VIGIL_STORE')
        .default(DEFAULT_HUB_STORE),
    )
    .addOption(
      new Option('--listen <host:port>', 'address to listen on (port 0: any free port)')
        .env('VIGIL_LISTEN')
        .argParser(parseListenAddress)
        .default(parseListenAddress(DEFAULT_HUB_LISTEN), DEFAULT_HUB_LISTEN),
    )
    .option('--token-file <file>', 'accepted API tokens, one per line (VIGIL_TOKEN adds one more)')
    .option('--no-auth', 'accept requests without a token (only allowed on a loopback address)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .addOption(
      new Option('--max-body-bytes <n>', 'largest accepted request body')
        .argParser(positiveInt)
        .default(DEFAULT_MAX_BODY_BYTES),
    )
    .addOption(
      new Option('--max-batch <n>', 'most alerts in one POST /v1/alerts')
        .argParser(positiveInt)
        .default(DEFAULT_MAX_BATCH_ALERTS),
    )
    .addHelpText(
      'after',
      `
Authentication: every route but /healthz needs "Authorization: Bearer <token>". Tokens come from
--token-file and VIGIL_TOKEN; with neither, a token is generated once into <data dir>/token and
reused (clients: VIGIL_TOKEN=$(cat vigil-data/token)). Tokens are at least ${MIN_TOKEN_LENGTH} characters.

Examples:
  $ vigil hub                                          SQLite in ./vigil-data, http://127.0.0.1:7878
  $ vigil hub --store sqlite:/var/lib/vigil/vigil.db --listen 0.0.0.0:7878 --token-file /etc/vigil/tokens
  $ vigil hub --store postgres://vigil@db/vigil --tls-cert hub.crt --tls-key hub.key --listen :7878
  $ VIGIL_TOKEN=$(cat vigil-data/token) vigil alerts --since 1h

API reference: docs/hub.md. Metrics: docs/metrics.md. Stops on SIGINT/SIGTERM after in-flight requests.`,
    )
    .action(async (o: HubFlags) => {
      process.exitCode = await runHub(o);
    });
}

async function runHub(o: HubFlags): Promise<number> {
  // Loaded here, not at start: other commands need neither the server nor the store drivers.
  const { openStore, parseStoreUrl } = await import('../../store/index.js');
  const { startHub } = await import('../../hub/server.js');
  const fail = (code: number, msg: string): number => {
    process.stderr.write(`vigil hub: ${msg}\n`);
    return code;
  };
  let storeConfig: StoreConfig;
  try {
    storeConfig = parseStoreUrl(o.store);
  } catch (e) {
    return fail(2, `--store: ${(e as Error).message}`);
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    return fail(2, '--tls-cert and --tls-key go together');

  // Tokens.
  const tokens: string[] = [];
  let tokenNote: string;
  try {
    if (o.tokenFile !== undefined) tokens.push(...readTokenFile(o.tokenFile));
  } catch (e) {
    return fail(2, (e as Error).message);
  }
  const envToken = process.env['VIGIL_TOKEN'];
  if (envToken !== undefined && envToken !== '') tokens.push(envToken);
  for (const t of tokens)
    if (t.length < MIN_TOKEN_LENGTH) return fail(2, `tokens must be at least ${MIN_TOKEN_LENGTH} characters`);
  const dataDir =
    storeConfig.kind === 'sqlite' && storeConfig.path !== ':memory:'
      ? dirname(resolve(storeConfig.path))
      : resolve('vigil-data');
  if (!o.auth) {
    if (tokens.length > 0) return fail(2, '--no-auth contradicts --token-file / VIGIL_TOKEN');
    if (!isLoopback(o.listen.host))
      return fail(
        2,
        `refusing to serve ${o.listen.host} without authentication: --no-auth is for loopback addresses only`,
      );
    tokenNote = 'off (--no-auth; loopback only)';
  } else if (tokens.length === 0) {
    const file = join(dataDir, 'token');
    let created = false;
    try {
      const t = ensureToken(file);
      tokens.push(t.token);
      created = t.created;
    } catch (e) {
      return fail(1, (e as Error).message);
    }
    tokenNote = `token ${created ? 'generated in' : 'read from'} ${file} (clients: VIGIL_TOKEN=$(cat ${file}))`;
  } else {
    tokenNote = `${tokens.length} token${tokens.length === 1 ? '' : 's'} accepted`;
  }

  let store: Store;
  try {
    store = await openStore(storeConfig);
  } catch (e) {
    const cause = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : '';
    return fail(1, `cannot open the store ${o.store}: ${(e as Error).message}${cause}`);
  }
  let hub;
  try {
    hub = await startHub({
      store,
      listen: o.listen,
      tokens,
      ...(o.tlsCert !== undefined && o.tlsKey !== undefined
        ? { tls: { cert: o.tlsCert, key: o.tlsKey } }
        : {}),
      maxBodyBytes: o.maxBodyBytes,
      maxBatchAlerts: o.maxBatch,
      onError: (m) => process.stderr.write(`vigil hub: ${m}\n`),
    });
  } catch (e) {
    await store.close();
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? ' (another process uses that port: pick one with --listen)' : '';
    return fail(1, `cannot listen on ${o.listen.host}:${o.listen.port}: ${(e as Error).message}${hint}`);
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`vigil hub: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`vigil hub: ${signal}: finishing in-flight requests\n`);
      void hub
        .close()
        .then(() => store.close())
        .then(
          () => {
            process.stderr.write('vigil hub: stopped\n');
            resolveExit(0);
          },
          (e: unknown) => {
            process.stderr.write(`vigil hub: error while stopping: ${(e as Error).message}\n`);
            resolveExit(1);
          },
        );
    };
    // Handlers first: whoever reads the banner may signal at once.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.stdout.write(
      `vigil hub listening on ${hub.url}\n` +
        `  data:   ${describeStore(storeConfig)}\n` +
        `  auth:   ${tokenNote}\n` +
        `  api:    ${hub.url}/v1/alerts, /v1/rules, /metrics (/healthz is open)\n`,
    );
  });
}
