/**
 * Looks up metadata (name, image, privileged, start time, mounts, ...) for a container id found in
 * a process's cgroups, from the state container runtimes keep on disk: runc state directories
 * (plain runc with any `--root`, containerd and Docker through their runc roots), Docker's
 * container directory and containers/storage (Podman, CRI-O). Results are cached; a miss is
 * retried after a short delay because a runtime writes its state only after the container's
 * first process exists. It never throws: unreadable state yields `undefined`.
 *
 * containerd's gRPC socket is not used: its runc state (`/run/containerd/runc/<namespace>`)
 * already carries the CRI annotations (container name, image, pod).
 */
import type { ContainerInfo } from '../../engine/event.js';
import { lookupContainersStorage, lookupDocker } from './engine-state.js';
import { discoverRuncRoots, hostBoundingCapabilityCount, lookupRunc, runcRootType } from './runc-state.js';

/** Options of {@link createContainerResolver}. Paths exist for tests (fake state dirs). */
export interface ContainerResolverOptions {
  /** runc root directories (`runc --root`) searched first. Default: the runtimes' usual roots. */
  runcRoots?: string[];
  /**
   * Directories searched (a few levels deep) for other runc roots, e.g. a `runc --root /run/x`.
   * Default `['/run']`; an empty list turns discovery off.
   */
  discoverBelow?: string[];
  /** Docker's data root (default /var/lib/docker). */
  dockerRoot?: string;
  /** containers/storage roots of Podman and CRI-O. */
  storageRoots?: string[];
  /** How long a miss is remembered before the state is read again (ms, default 1000). */
  missTtlMs?: number;
  /** Entries kept (default 4096); the oldest go first. */
  maxEntries?: number;
  /**
   * How many capabilities a privileged container has (default: this process's bounding set, as
   * runtimes give privileged containers everything they have).
   */
  hostCapabilityCount?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** Resolves a container id (12-character short id, full id or runc name) to its metadata. */
export type ContainerResolver = (id: string) => ContainerInfo | undefined;

const DEFAULT_RUNC_ROOTS = [
  '/run/runc',
  '/run/docker/runtime-runc/moby',
  '/run/containerd/runc/k8s.io',
  '/run/containerd/runc/default',
  '/run/containerd/runc/moby',
  '/run/crun',
];

/** See the module comment. */
export function createContainerResolver(opts: ContainerResolverOptions = {}): ContainerResolver {
  const fixedRoots = opts.runcRoots ?? DEFAULT_RUNC_ROOTS;
  const discoverBelow = opts.discoverBelow ?? ['/run'];
  const dockerRoot = opts.dockerRoot ?? '/var/lib/docker';
  const storageRoots = opts.storageRoots ?? ['/var/lib/containers/storage', '/run/containers/storage'];
  const missTtl = opts.missTtlMs ?? 1000;
  const maxEntries = opts.maxEntries ?? 4096;
  const now = opts.now ?? Date.now;
  const hostCaps = opts.hostCapabilityCount ?? hostBoundingCapabilityCount();
  const cache = new Map<string, { info: ContainerInfo | undefined; at: number }>();

  const lookup = (id: string): ContainerInfo | undefined => {
    const seen = new Set<string>();
    const tryRoots = (paths: string[]): ContainerInfo | undefined => {
      for (const p of paths) {
        if (seen.has(p)) continue;
        seen.add(p);
        const info = lookupRunc({ path: p, type: runcRootType(p) }, id, hostCaps);
        if (info) return info;
      }
      return undefined;
    };
    const fromRunc = tryRoots(fixedRoots);
    // Docker and containers/storage know names and images that runc's state lacks.
    const richer =
      lookupDocker(dockerRoot, id) ?? firstOf(storageRoots, (r) => lookupContainersStorage(r, id));
    if (richer) return fromRunc ? merge(fromRunc, richer) : richer;
    if (fromRunc) return fromRunc;
    for (const base of discoverBelow) {
      const info = tryRoots(discoverRuncRoots(base, 3));
      if (info) return info;
    }
    return undefined;
  };

  return (id: string): ContainerInfo | undefined => {
    if (id === '' || id === 'host') return undefined;
    const hit = cache.get(id);
    if (hit && (hit.info !== undefined || now() - hit.at < missTtl)) return hit.info;
    let info: ContainerInfo | undefined;
    try {
      info = lookup(id);
    } catch {
      info = undefined;
    }
    if (cache.size >= maxEntries && !cache.has(id)) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(id, { info, at: now() });
    return info;
  };
}

function firstOf<T>(items: string[], f: (s: string) => T | undefined): T | undefined {
  for (const s of items) {
    const v = f(s);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** runc's view (privileged from the real config, mounts) completed with the engine's name and image. */
function merge(runc: ContainerInfo, engine: ContainerInfo): ContainerInfo {
  return {
    ...runc,
    ...engine,
    privileged: engine.privileged ?? runc.privileged,
    mounts: runc.mounts ?? engine.mounts,
  };
}
