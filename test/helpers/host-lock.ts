/**
 * A lock shared by every test process on this host, for the few tests that must not overlap: the
 * live open storms, whose repeat counting needs a host where no other storm breaks the runs (and
 * whose consumers would drop events under two storms at once). Vitest runs test files in parallel
 * processes, so an in-process mutex would not do. The lock is a directory, made atomically, holding
 * its owner's pid; one left by a process that died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../src/spool/spool.js';

/** Runs `fn` holding the host-wide lock `name`; waits up to `timeoutMs` for it. */
export async function withHostLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const dir = join(tmpdir(), `vigil-test-${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // Just made, its pid not written yet: wait.
      }
      if (owner > 0 && !processAlive(owner)) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`the test lock ${dir} is held by pid ${owner} for more than ${timeoutMs} ms`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
