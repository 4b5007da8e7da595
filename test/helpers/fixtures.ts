/**
 * Where tests find the shared Falco fixtures (see adr/0004-fixtures-location.md).
 *
 * CI places `shared/` beside the clone, so the default is `<repo>/../shared/fixtures`.
 * `VIGIL_FIXTURES` overrides it. When the folder is absent (a user's own clone), suites that
 * need it skip with a message naming the folder instead of failing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const FIXTURES_DIR = process.env.VIGIL_FIXTURES
  ? resolve(process.env.VIGIL_FIXTURES)
  : resolve(REPO_ROOT, '..', 'shared', 'fixtures');

export const FALCO_FIXTURES = join(FIXTURES_DIR, 'falco');

export const haveFixtures = existsSync(FALCO_FIXTURES);

/** Reason shown when fixture-based suites skip. */
export const FIXTURES_SKIP_REASON = `Falco fixtures not found at ${FALCO_FIXTURES} (set VIGIL_FIXTURES or place shared/fixtures beside the clone)`;

if (!haveFixtures) {
  console.warn(`[vigil tests] skipping fixture suites: ${FIXTURES_SKIP_REASON}`);
}

/** Absolute path of a file under shared/fixtures/falco. */
export function fixturePath(...parts: string[]): string {
  return join(FALCO_FIXTURES, ...parts);
}

/** Fresh parsed copy of a JSON fixture every call (tests may mutate what they get). */
export function readFixtureJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

export function readFixtureText(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}

/**
 * The scap captures of syscall/scap with events (not `empty.scap`), including those of its `libs`
 * and `psp` folders, as paths relative to that folder; empty without the fixtures.
 */
export function scapFixtureFiles(): string[] {
  if (!haveFixtures) return [];
  const dir = fixturePath('syscall', 'scap');
  return [
    ...readdirSync(dir).filter((f) => f.endsWith('.scap') && f !== 'empty.scap'),
    ...['libs', 'psp'].flatMap((d) =>
      readdirSync(join(dir, d))
        .filter((f) => f.endsWith('.scap'))
        .map((f) => join(d, f)),
    ),
  ];
}
