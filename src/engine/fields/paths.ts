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
  // Most paths are already normal: nothing to fold, keep the string.
  if (isNormalPath(full)) return full;
  const out: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * True when `p` is what {@link concatPaths} returns for it: absolute, no empty, `.` or `..`
 * component, no trailing slash (except `/` itself).
 */
function isNormalPath(p: string): boolean {
  const n = p.length;
  if (n === 0 || p.charCodeAt(0) !== 0x2f) return false;
  if (n === 1) return true;
  // Each component starts after a slash: it must be neither empty nor `.` nor `..`.
  for (let i = 0; i < n; i++) {
    if (p.charCodeAt(i) !== 0x2f) continue;
    const a = i + 1 < n ? p.charCodeAt(i + 1) : 0x2f;
    if (a === 0x2f) return false; // an empty component: `//`, or a trailing slash
    if (a === 0x2e) {
      const b = i + 2 < n ? p.charCodeAt(i + 2) : 0x2f;
      if (b === 0x2f) return false; // `.`
      if (b === 0x2e && (i + 3 >= n || p.charCodeAt(i + 3) === 0x2f)) return false; // `..`
    }
  }
  return true;
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
