/**
 * Path helpers shared by the syscall extractors: joining a directory and a path the way libsinsp
 * builds `fd.name` / `fs.path.name` / `evt.abspath`, and splitting a path for `fd.directory` /
 * `fd.filename`.
 */

/**
 * Joins `dir` and `path` (unless `path` is absolute) and normalises the result: `.` segments and
 * repeated slashes go, `..` removes the previous segment (never above `/`), no trailing slash.
 */
export function concatPaths(dir: string, path: string): string {
  const full = path.startsWith('/') ? path : dir.endsWith('/') ? dir + path : `${dir}/${path}`;
  const out: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** Collapses runs of `/` into one (libsinsp's treatment of `fd.nameraw`). */
export function collapseSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/**
 * libsinsp's directory of a file name: everything before the last `/`; `/` when the only slash is
 * the first character or there is none; the name unchanged when it ends with `/`.
 */
export function directoryOf(name: string): string {
  const pos = name.lastIndexOf('/');
  if (pos > 0) return pos < name.length - 1 ? name.slice(0, pos) : name;
  return '/';
}

/**
 * libsinsp's file name of a path: what follows the last `/`; the name unchanged when it ends with
 * `/`; `/` when there is no slash at all (a quirk kept for compatibility).
 */
export function filenameOf(name: string): string {
  const pos = name.lastIndexOf('/');
  if (pos < 0) return '/';
  return pos < name.length - 1 ? name.slice(pos + 1) : name;
}
