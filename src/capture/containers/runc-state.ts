/**
 * Container metadata from runc's state directories: `<root>/<id>/state.json`, which runc writes
 * when it creates a container and which every runc-based runtime keeps (plain `runc --root R`,
 * containerd's `/run/containerd/runc/<namespace>`, Docker's `/run/docker/runtime-runc/moby`).
 *
 * runc knows no image: the OCI annotations it copies into the state's `labels` carry one when a
 * higher-level runtime set them (containerd's CRI plugin, Podman), otherwise the bundle path
 * stands in for it, the way a user finds the container's files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo, ContainerMount } from '../../engine/event.js';

/** The parts of runc's state.json this module reads (libcontainer's `State`). */
interface RuncStateJson {
  id?: unknown;
  created?: unknown;
  config?: {
    rootfs?: unknown;
    labels?: unknown;
    namespaces?: unknown;
    capabilities?: { Effective?: unknown; Bounding?: unknown } | null;
    mounts?: unknown;
    mask_paths?: unknown;
  };
}

/** A runc root directory and the runtime that owns it (container.type). */
export interface RuncRoot {
  path: string;
  type: string;
}

/** Annotations naming the image, in the order runtimes set them. */
const IMAGE_ANNOTATIONS = [
  'io.kubernetes.cri.image-name', // containerd CRI
  'io.kubernetes.cri-o.ImageName', // CRI-O
  'org.opencontainers.image.ref.name',
  'org.opencontainers.image.base.name',
];

/** Annotations naming the container. */
const NAME_ANNOTATIONS = [
  'io.kubernetes.cri.container-name',
  'io.kubernetes.container.name',
  'io.kubernetes.cri-o.ContainerName',
  'nerdctl/name',
  'io.podman.annotations.name',
];

const MS_RDONLY = 1;
const MS_SHARED = 1 << 20;
const MS_SLAVE = 1 << 19;
const MS_PRIVATE = 1 << 18;

/** Parses runc's `labels` (`key=value` strings) into annotations and the bundle path. */
function parseLabels(labels: unknown): { annotations: Record<string, string>; bundle?: string } {
  const annotations: Record<string, string> = {};
  let bundle: string | undefined;
  if (!Array.isArray(labels)) return { annotations };
  for (const l of labels) {
    if (typeof l !== 'string') continue;
    const eq = l.indexOf('=');
    if (eq <= 0) continue;
    const k = l.slice(0, eq);
    const v = l.slice(eq + 1);
    // runc adds the bundle directory as a label of its own; it is not an annotation.
    if (k === 'bundle') bundle = v;
    else annotations[k] = v;
  }
  return { annotations, ...(bundle !== undefined ? { bundle } : {}) };
}

/** `2026-11-26T02:05:06.340071378Z` → ns since the epoch (Date keeps only ms). */
export function parseRfc3339Nanos(text: string): bigint | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const secMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secMs)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(secMs) * 1_000_000n + BigInt(frac);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The capability names a fully privileged process has here: this agent's bounding set. */
export function hostBoundingCapabilityCount(statusText?: string): number {
  try {
    const text = statusText ?? readFileSync('/proc/self/status', 'utf8');
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text);
    let mask = BigInt(`0x${m?.[1] ?? '0'}`);
    let n = 0;
    while (mask > 0n) {
      if (mask & 1n) n++;
      mask >>= 1n;
    }
    return n;
  } catch {
    return 0;
  }
}

/**
 * Whether the container runs privileged: Docker's `--privileged` (and Kubernetes'
 * `privileged: true`) give the container every capability the runtime has, with no masked /proc
 * paths. runc's config records both.
 */
function isPrivileged(cfg: NonNullable<RuncStateJson['config']>, hostCaps: number): boolean {
  const eff = new Set(strings(cfg.capabilities?.Effective));
  if (!eff.has('CAP_SYS_ADMIN')) return false;
  if (hostCaps > 0 && eff.size < hostCaps) return false;
  return strings(cfg.mask_paths).length === 0;
}

function mountsOf(v: unknown): ContainerMount[] {
  if (!Array.isArray(v)) return [];
  const out: ContainerMount[] = [];
  for (const m of v as unknown[]) {
    if (typeof m !== 'object' || m === null) continue;
    const r = m as { source?: unknown; destination?: unknown; flags?: unknown; device?: unknown };
    if (typeof r.destination !== 'string') continue;
    const flags = typeof r.flags === 'number' ? r.flags : 0;
    const rdwr = (flags & MS_RDONLY) === 0;
    const propagation =
      flags & MS_SHARED ? 'shared' : flags & MS_SLAVE ? 'slave' : flags & MS_PRIVATE ? 'private' : '';
    out.push({
      source: typeof r.source === 'string' ? r.source : '',
      dest: r.destination,
      mode: rdwr ? 'rw' : 'ro',
      rdwr,
      propagation,
    });
  }
  return out;
}

/** Splits `registry/repo:tag@digest` into its parts (container.image.repository/tag/digest). */
export function splitImage(image: string): { repository: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash separates the tag; one before it belongs to a registry port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return {
    repository: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** ContainerInfo from the text of a runc state.json, or undefined when it is not one. */
export function containerFromRuncState(
  text: string,
  shortId: string,
  root: RuncRoot,
  hostCaps: number,
): ContainerInfo | undefined {
  let doc: RuncStateJson;
  try {
    doc = JSON.parse(text) as RuncStateJson;
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || typeof doc.id !== 'string') return undefined;
  const cfg = doc.config ?? {};
  const { annotations, bundle } = parseLabels(cfg.labels);
  const info: ContainerInfo = { id: shortId, fullId: doc.id, type: root.type };
  let name: string | undefined;
  for (const k of NAME_ANNOTATIONS) name ??= annotations[k];
  info.name = name ?? doc.id;
  let image: string | undefined;
  for (const k of IMAGE_ANNOTATIONS) image ??= annotations[k];
  if (image !== undefined) {
    const p = splitImage(image);
    info.image = image;
    info.imageRepository = p.repository;
    if (p.tag !== undefined) info.imageTag = p.tag;
    if (p.digest !== undefined) info.imageDigest = p.digest;
  } else {
    // No image: the bundle (or rootfs) is what the container runs.
    const where = bundle ?? (typeof cfg.rootfs === 'string' ? cfg.rootfs : undefined);
    if (where !== undefined) {
      info.image = where;
      info.imageRepository = where;
    }
  }
  if (typeof doc.created === 'string') {
    const ts = parseRfc3339Nanos(doc.created);
    if (ts !== undefined) info.startTs = ts;
  }
  info.privileged = isPrivileged(cfg, hostCaps);
  const ns = Array.isArray(cfg.namespaces)
    ? (cfg.namespaces as unknown[]).map((n) => (n as { type?: unknown } | null)?.type)
    : [];
  info.hostPid = !ns.includes('NEWPID');
  info.hostNetwork = !ns.includes('NEWNET');
  info.hostIpc = !ns.includes('NEWIPC');
  if (Object.keys(annotations).length > 0) info.labels = annotations;
  const mounts = mountsOf(cfg.mounts);
  if (mounts.length > 0) info.mounts = mounts;
  const podNs =
    annotations['io.kubernetes.cri.sandbox-namespace'] ?? annotations['io.kubernetes.pod.namespace'];
  const podName = annotations['io.kubernetes.cri.sandbox-name'] ?? annotations['io.kubernetes.pod.name'];
  const podUid = annotations['io.kubernetes.cri.sandbox-uid'] ?? annotations['io.kubernetes.pod.uid'];
  if (podNs !== undefined || podName !== undefined) {
    info.k8s = {
      ...(podNs !== undefined ? { namespace: podNs } : {}),
      ...(podName !== undefined ? { podName } : {}),
      ...(podUid !== undefined ? { podUid } : {}),
    };
  }
  return info;
}

/** The type a runc root belongs to, from where it lives. */
export function runcRootType(path: string): string {
  if (path.includes('/containerd/')) return 'containerd';
  if (path.includes('/docker/')) return 'docker';
  if (path.includes('crio') || path.includes('/containers/')) return 'cri-o';
  return 'runc';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Directories below `base` (down to `depth` levels) that hold runc state directories: a child
 * directory with a state.json. Bounded by `maxDirs` visited directories so a large /run costs
 * little.
 */
export function discoverRuncRoots(base: string, depth: number, maxDirs = 2000): string[] {
  const found: string[] = [];
  let visited = 0;
  const walk = (dir: string, level: number): void => {
    if (visited++ >= maxDirs) return;
    let entries;
    try {
      entries = readDirents(dir);
    } catch {
      return;
    }
    let isRoot = false;
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const child = join(dir, e.name);
      if (!isRoot && isFile(join(child, 'state.json'))) {
        isRoot = true;
        found.push(dir);
      }
    }
    if (isRoot || level >= depth) return;
    for (const e of entries) {
      if (!e.isDirectory() || SKIP_DIRS.has(e.name)) continue;
      walk(join(dir, e.name), level + 1);
    }
  };
  walk(base, 0);
  return found;
}

/** Directories below /run that never hold runtime state but can be large. */
const SKIP_DIRS = new Set(['user', 'udev', 'systemd', 'log', 'lock', 'sendsigs.omit.d', 'mount']);

function readDirents(dir: string): import('node:fs').Dirent[] {
  return readdirSync(dir, { withFileTypes: true });
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Looks the id (short or full) up in one runc root. */
export function lookupRunc(root: RuncRoot, id: string, hostCaps: number): ContainerInfo | undefined {
  if (!isDir(root.path)) return undefined;
  let names: string[];
  try {
    names = readdirSync(root.path);
  } catch {
    return undefined;
  }
  for (const n of names) {
    // container.id is the first 12 characters of a hex id, or a whole non-hex runc name.
    if (n !== id && !(id.length === 12 && n.startsWith(id) && /^[0-9a-f]{64}$/.test(n))) continue;
    try {
      const info = containerFromRuncState(
        readFileSync(join(root.path, n, 'state.json'), 'utf8'),
        id,
        root,
        hostCaps,
      );
      if (info) return info;
    } catch {
      /* removed meanwhile */
    }
  }
  return undefined;
}
