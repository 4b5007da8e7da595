/**
 * Reading rules files for the engine (which does no I/O itself). A directory argument loads its
 * `*.yaml`/`*.yml` files in name order, as Falco does for a rules directory. A file that cannot be
 * read becomes a LOAD_ERR_FILE_READ diagnostic; the others still load.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '../engine/diagnostics.js';
import type { RulesFile } from '../engine/rules/index.js';

export interface ReadRulesResult {
  files: RulesFile[];
  diagnostics: Diagnostic[];
}

function readError(path: string, err: unknown): Diagnostic {
  const reason = err instanceof Error ? err.message : String(err);
  return {
    severity: 'error',
    code: 'LOAD_ERR_FILE_READ',
    message: `Could not read rules file ${path}: ${reason}`,
    position: { file: path, line: 0, col: 0, offset: 0 },
    context: [{ kind: 'file', name: path }],
  };
}

export function readRulesFiles(paths: readonly string[]): ReadRulesResult {
  const files: RulesFile[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const path of paths) {
    try {
      if (statSync(path).isDirectory()) {
        const names = readdirSync(path)
          .filter((n) => /\.ya?ml$/.test(n))
          .sort();
        for (const n of names) {
          const p = join(path, n);
          try {
            files.push({ name: p, content: readFileSync(p, 'utf8') });
          } catch (err) {
            diagnostics.push(readError(p, err));
          }
        }
        continue;
      }
      files.push({ name: path, content: readFileSync(path, 'utf8') });
    } catch (err) {
      diagnostics.push(readError(path, err));
    }
  }
  return { files, diagnostics };
}
