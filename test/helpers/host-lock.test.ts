import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withHostLock } from './host-lock.js';

describe('withHostLock', () => {
  it('lets one holder in at a time', async () => {
    const name = `t-${process.pid}-serial`;
    const log: string[] = [];
    const hold = (id: string) =>
      withHostLock(name, async () => {
        log.push(`${id} in`);
        await new Promise((r) => setTimeout(r, 100));
        log.push(`${id} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out']);
  });

  it('takes over a lock whose owner died, and gives up on a live one after its timeout', async () => {
    const name = `t-${process.pid}-stale`;
    const dir = join(tmpdir(), `vigil-test-${name}.lock`);
    const dead = spawnSync('true').pid!;
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), String(dead));
    await expect(withHostLock(name, () => Promise.resolve('taken'))).resolves.toBe('taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), String(process.pid));
    await expect(withHostLock(name, () => Promise.resolve('no'), 200)).rejects.toThrow(/held by pid/);
    rmSync(dir, { recursive: true, force: true });
  });
});
