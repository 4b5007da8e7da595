/**
 * Container metadata from the on-disk state of container engines that keep more than runc does:
 * Docker (`/var/lib/docker/containers/<id>/config.v2.json` and `hostconfig.json`) and the
 * containers/storage library of Podman and CRI-O (`<storage>/overlay-containers/containers.json`,
 * whose `metadata` carries the name and image). Reading files is cheap and needs no client
 * library; the engines' sockets are not used.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo } from '../../engine/event.js';
import { parseRfc3339Nanos, splitImage } from './runc-state.js';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function matchesId(full: string, id: string): boolean {
  return full === id || (id.length === 12 && full.startsWith(id));
}

function setImage(info: ContainerInfo, image: string | undefined): void {
  if (image === undefined) return;
  const p = splitImage(image);
  info.image = image;
  info.imageRepository = p.repository;
  if (p.tag !== undefined) info.imageTag = p.tag;
  if (p.digest !== undefined) info.imageDigest = p.digest;
}

/** A Docker container from `<dockerRoot>/containers/<full id>/`. */
export function lookupDocker(dockerRoot: string, id: string): ContainerInfo | undefined {
  const dir = join(dockerRoot, 'containers');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const full = names.find((n) => matchesId(n, id));
  if (full === undefined) return undefined;
  const cfg = obj(readJson(join(dir, full, 'config.v2.json')));
  if (Object.keys(cfg).length === 0) return undefined;
  const host = obj(readJson(join(dir, full, 'hostconfig.json')));
  const config = obj(cfg.Config);
  const info: ContainerInfo = { id, fullId: full, type: 'docker' };
  const name = str(cfg.Name);
  info.name = name?.startsWith('/') ? name.slice(1) : (name ?? full);
  setImage(info, str(config.Image));
  const imageId = str(cfg.Image);
  if (imageId !== undefined) info.imageId = imageId.replace(/^sha256:/, '').slice(0, 12);
  const created = str(cfg.Created);
  const ts = created !== undefined ? parseRfc3339Nanos(created) : undefined;
  if (ts !== undefined) info.startTs = ts;
  info.privileged = host.Privileged === true;
  info.hostNetwork = host.NetworkMode === 'host';
  info.hostPid = host.PidMode === 'host';
  info.hostIpc = host.IpcMode === 'host';
  const labels = obj(config.Labels);
  const l: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') l[k] = v;
  if (Object.keys(l).length > 0) info.labels = l;
  return info;
}

/**
 * A Podman or CRI-O container from a containers/storage `containers.json` (the storage root's
 * `overlay-containers/`). Their `metadata` field is JSON text with the name and image.
 */
export function lookupContainersStorage(storageRoot: string, id: string): ContainerInfo | undefined {
  const list = readJson(join(storageRoot, 'overlay-containers', 'containers.json'));
  if (!Array.isArray(list)) return undefined;
  for (const entry of list as unknown[]) {
    const e = obj(entry);
    const full = str(e.id);
    if (full === undefined || !matchesId(full, id)) continue;
    let meta: Record<string, unknown> = {};
    const metaText = str(e.metadata);
    if (metaText !== undefined) {
      try {
        meta = obj(JSON.parse(metaText));
      } catch {
        /* not JSON: keep the entry's own fields */
      }
    }
    const crio = meta['pod-name'] !== undefined || meta['pod-id'] !== undefined;
    const info: ContainerInfo = { id, fullId: full, type: crio ? 'cri-o' : 'podman' };
    const names = Array.isArray(e.names) ? (e.names as unknown[]).filter((n) => typeof n === 'string') : [];
    info.name = str(meta['metadata-name']) ?? str(meta.name) ?? (names[0] as string | undefined) ?? full;
    setImage(info, str(meta['image-name']));
    const imageId = str(e.image) ?? str(meta['image-id']);
    if (imageId !== undefined) info.imageId = imageId.slice(0, 12);
    const created = str(e.created);
    const ts = created !== undefined ? parseRfc3339Nanos(created) : undefined;
    if (ts !== undefined) info.startTs = ts;
    if (crio) {
      const podName = str(meta['pod-name']);
      if (podName !== undefined) info.k8s = { podName };
    }
    return info;
  }
  return undefined;
}
