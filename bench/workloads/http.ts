/**
 * The "realistic" workload of `npm run bench:capture`: a small Node HTTP service on loopback and a
 * keep-alive load generator, run as two processes so each reports its own CPU time.
 *
 *   node dist/bench/workloads/http.js server DIR
 *       serves GET /item?i=K: reads two files of DIR per request (a per-item JSON document and a
 *       shared template, through fs.promises like typical handlers do: open, fstat, read, close on
 *       libuv's thread pool) and answers with a small JSON body. Prints {"port":N} once listening.
 *       GET /__cpu answers {"cpuNs":…}, the process's user + system time so far.
 *   node dist/bench/workloads/http.js client PORT REQUESTS CONCURRENCY
 *       issues REQUESTS requests over CONCURRENCY keep-alive connections and prints
 *       {"requests":…,"ns":wall,"cpuNs":own CPU time,"errors":…}.
 *   node dist/bench/workloads/http.js files DIR
 *       writes the files the server reads (16 item documents and the template).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { join } from 'node:path';

/** Item documents the server rotates through (the page cache keeps them all, as in production). */
export const ITEM_FILES = 16;

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function writeFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < ITEM_FILES; i++) {
    const doc = { id: i, name: `item-${i}`, tags: ['a', 'b', 'c'], body: 'x'.repeat(512 + i * 64) };
    writeFileSync(join(dir, `item-${i}.json`), JSON.stringify(doc));
  }
  writeFileSync(join(dir, 'template.txt'), 'item {{name}} has {{n}} tags\n'.repeat(32));
}

function server(dir: string): void {
  const srv = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/__cpu') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ cpuNs: cpuNs() }));
      return;
    }
    const m = /^\/item\?i=(\d+)/.exec(url);
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const i = Number(m[1]) % ITEM_FILES;
    Promise.all([readFile(join(dir, `item-${i}.json`), 'utf8'), readFile(join(dir, 'template.txt'), 'utf8')])
      .then(([doc, template]) => {
        const item = JSON.parse(doc) as { name: string; tags: string[] };
        const text = template
          .slice(0, 64)
          .replace('{{name}}', item.name)
          .replace('{{n}}', String(item.tags.length));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ name: item.name, tags: item.tags, text }));
      })
      .catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
  });
  srv.keepAliveTimeout = 60_000;
  srv.listen(0, '127.0.0.1', () => {
    const addr = srv.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    process.stdout.write(JSON.stringify({ port }) + '\n');
  });
  process.on('SIGTERM', () => srv.close(() => process.exit(0)));
}

function get(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve(res.statusCode === 200 ? n : -1));
    });
    req.on('error', reject);
    req.end();
  });
}

async function client(port: number, requests: number, concurrency: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let errors = 0;
  const cpu0 = cpuNs();
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < requests) {
      const i = next++;
      try {
        if ((await get(agent, port, `/item?i=${i}`)) < 0) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const ns = Number(process.hrtime.bigint() - t0);
  agent.destroy();
  process.stdout.write(JSON.stringify({ requests, ns, cpuNs: cpuNs() - cpu0, errors }) + '\n');
}

const [mode, a1, a2, a3] = process.argv.slice(2);
if (mode === 'server' && a1) server(a1);
else if (mode === 'files' && a1) writeFiles(a1);
else if (mode === 'client' && a1 && a2) await client(Number(a1), Number(a2), Number(a3 ?? 8));
else {
  process.stderr.write('usage: http.js server DIR | client PORT REQUESTS [CONCURRENCY] | files DIR\n');
  process.exit(2);
}
