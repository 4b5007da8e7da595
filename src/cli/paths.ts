/**
 * Where Vigil's own files are: the package root (so the CLI finds its bundled rules whether it runs
 * from dist/ or from source) and the default rules folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Package root: dist/src/cli → root, or src/cli when run from source. */
export function packageRoot(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(here, '..', '..');
}

/** Vigil's bundled rules (used when no --rules is given). */
export function defaultRulesPath(): string {
  return join(packageRoot(), 'rules');
}
