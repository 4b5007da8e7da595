/**
 * Container id from a process's cgroups, the way libsinsp's container engines recognise them:
 * the last path component of a cgroup carries the runtime's id, with a runtime-specific prefix and
 * suffix (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`,
 * a bare 64-hex id under `/docker/` or `/kubepods/...`). Hex ids are shortened to 12 characters, as
 * container.id prints them. Processes outside any container get `host`.
 */

/** Container runtimes we recognise from cgroups. */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'runc';

export interface CgroupContainer {
  /** container.id: 12 hex characters for hex ids, the name otherwise. */
  id: string;
  /** The full id as found in the cgroup path. */
  fullId: string;
  runtime: ContainerRuntime;
}

/** container.id of processes that run on the host. */
export const HOST_CONTAINER_ID = 'host';

const HEX64 = /^[0-9a-f]{64}$/;

/** Layouts of the last cgroup path component: prefix, suffix, runtime. Order matters. */
const LAYOUTS: readonly (readonly [string, string, ContainerRuntime])[] = [
  ['docker-', '.scope', 'docker'],
  ['cri-containerd-', '.scope', 'containerd'],
  ['containerd-', '.scope', 'containerd'],
  ['crio-conmon-', '.scope', 'cri-o'],
  ['crio-', '.scope', 'cri-o'],
  ['crio-', '', 'cri-o'],
  ['libpod-conmon-', '.scope', 'podman'],
  ['libpod-', '.scope', 'podman'],
  ['libpod-', '', 'podman'],
];

/** Runtime of a bare 64-hex id, by the cgroup directory it sits in. */
function bareRuntime(path: string): ContainerRuntime {
  if (path.includes('/docker/')) return 'docker';
  if (path.includes('crio') || path.includes('/machine.slice/')) return 'cri-o';
  if (path.includes('libpod')) return 'podman';
  if (path.includes('kubepods')) return 'containerd';
  return 'runc';
}

/** Container of one cgroup path, or undefined for host cgroups. */
export function containerFromCgroupPath(path: string): CgroupContainer | undefined {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const last = trimmed.slice(slash + 1);
  if (last === '') return undefined;
  for (const [prefix, suffix, runtime] of LAYOUTS) {
    if (!last.startsWith(prefix) || !last.endsWith(suffix)) continue;
    const id = last.slice(prefix.length, last.length - suffix.length);
    if (HEX64.test(id)) return { id: id.slice(0, 12), fullId: id, runtime };
  }
  if (HEX64.test(last)) return { id: last.slice(0, 12), fullId: last, runtime: bareRuntime(trimmed) };
  // runc with the systemd cgroup driver names the scope after the container: runc-<name>.scope.
  const runc = /^runc-(.+)\.scope$/.exec(last);
  if (runc?.[1]) {
    const name = runc[1];
    return { id: HEX64.test(name) ? name.slice(0, 12) : name, fullId: name, runtime: 'runc' };
  }
  return undefined;
}

/**
 * Container of a process from its cgroups (`subsystem=path` entries as in /proc/<pid>/cgroup and
 * scap process lists, or bare paths). The first entry that names a container wins.
 */
export function containerFromCgroups(cgroups: readonly string[] | undefined): CgroupContainer | undefined {
  if (!cgroups) return undefined;
  for (const entry of cgroups) {
    const eq = entry.indexOf('=');
    // "cpuset=/docker/<id>", "0::/docker/<id>" (cgroup v2 from /proc), or a bare path.
    let path = eq >= 0 ? entry.slice(eq + 1) : entry;
    const colon = path.lastIndexOf('::');
    if (colon >= 0) path = path.slice(colon + 2);
    const c = containerFromCgroupPath(path);
    if (c) return c;
  }
  return undefined;
}

/** container.id for a process: the container found in its cgroups, or `host`. */
export function containerIdFromCgroups(cgroups: readonly string[] | undefined): string {
  return containerFromCgroups(cgroups)?.id ?? HOST_CONTAINER_ID;
}
