/**
 * The benchmarks' view of the repository and of the installed `vigil` command: where the repository
 * is (from bench/ or dist/bench/), the built CLI, and the Node options its `#!/usr/bin/env -S node …`
 * line gives it, so that what a benchmark starts runs as users run it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** The repository root: the nearest folder above this file with a package.json. */
export const repoRoot = findRoot();

/** The built `vigil` command. */
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** Node options of the installed `vigil` command (none when it is not built yet). */
export const cliNodeFlags: string[] = existsSync(cliPath)
  ? (
      /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(cliPath, 'utf8').split('\n', 1)[0] ?? '')?.[1] ??
      ''
    )
      .trim()
      .split(/\s+/)
      .filter(Boolean)
  : [];
