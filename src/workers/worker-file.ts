/**
 * Where a worker thread's module is. Worker threads run JavaScript only: from the compiled tree the
 * module sits beside its caller; from the TypeScript sources (the test runner) it is taken from
 * `dist/`, which the test setup builds.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled file of the worker module `name` (e.g. `writer-thread`) in the folder of `callerUrl`
 * (`import.meta.url` of the module starting the worker).
 */
export function compiledWorkerFile(callerUrl: string, name: string): string {
  const caller = fileURLToPath(callerUrl);
  const dir = caller.slice(0, Math.max(caller.lastIndexOf('/'), caller.lastIndexOf('\\')) + 1);
  if (caller.endsWith('.js')) return `${dir}${name}.js`;
  const compiled = `${dir.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$1src$2')}${name}.js`;
  if (!existsSync(compiled)) {
    throw new Error(`the worker module ${name} is not built (${compiled} is missing): run npm run build`);
  }
  return compiled;
}
