/**
 * The container resolver against fake runtime state directories (runc state.json as runc 1.1
 * writes it, Docker's config.v2.json/hostconfig.json, containers/storage's containers.json):
 * name, image, privileged, start time, namespaces, annotations; short and full ids; caching and
 * the retry of misses; unreadable state never throws.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContainerResolver } from './index.js';
import { discoverRuncRoots, parseRfc3339Nanos, splitImage } from './runc-state.js';

const ID = '6842fbe148243d313b25755ed783fd5e0670bc8fc9f854183d5e8eb947465396';
const ALL_CAPS = ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_MODULE'];

function runcState(
  opts: { caps?: string[]; labels?: string[]; masked?: string[]; namespaces?: string[] } = {},
): object {
  return {
    id: ID,
    init_process_pid: 3758,
    created: '2026-11-26T02:05:06.340071378Z',
    config: {
      rootfs: '/tmp/bundle/rootfs',
      labels: opts.labels ?? ['bundle=/tmp/bundle'],
      namespaces: (opts.namespaces ?? ['NEWPID', 'NEWNET', 'NEWIPC', 'NEWUTS', 'NEWNS']).map((type) => ({
        type,
        path: '',
      })),
      capabilities: { Bounding: opts.caps ?? ['CAP_CHOWN'], Effective: opts.caps ?? ['CAP_CHOWN'] },
      mask_paths: opts.masked ?? ['/proc/kcore'],
      mounts: [
        { source: 'proc', destination: '/proc', device: 'proc', flags: 14 },
        { source: '/data', destination: '/data', device: 'bind', flags: 20480 | 1 },
      ],
    },
  };
}

function fakeRoot(state: object, id = ID): string {
  const root = mkdtempSync(join(tmpdir(), 'vigil-runc-root-'));
  mkdirSync(join(root, id));
  writeFileSync(join(root, id, 'state.json'), JSON.stringify(state));
  return root;
}

const NO_OTHERS = { discoverBelow: [], dockerRoot: '/nonexistent', storageRoots: [] };

describe('createContainerResolver: runc state', () => {
  it('resolves a short id to name, bundle-as-image, start time, namespaces and mounts', () => {
    const root = fakeRoot(runcState());
    const resolve = createContainerResolver({ runcRoots: [root], ...NO_OTHERS });
    const c = resolve(ID.slice(0, 12));
    expect(c).toMatchObject({
      id: ID.slice(0, 12),
      fullId: ID,
      name: ID,
      type: 'runc',
      image: '/tmp/bundle',
      imageRepository: '/tmp/bundle',
      privileged: false,
      hostPid: false,
      hostNetwork: false,
      startTs: 1_795_658_706_340_071_378n,
    });
    expect(c?.mounts).toEqual([
      { source: 'proc', dest: '/proc', mode: 'rw', rdwr: true, propagation: '' },
      { source: '/data', dest: '/data', mode: 'ro', rdwr: false, propagation: '' },
    ]);
    // runc's own bundle label is not an annotation.
    expect(c?.labels).toBeUndefined();
  });

  it('uses CRI annotations for the name, image and pod when a runtime set them', () => {
    const root = fakeRoot(
      runcState({
        labels: [
          'bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/x',
          'io.kubernetes.cri.container-name=web',
          'io.kubernetes.cri.image-name=registry.example.com:5000/shop/web:2.14.1',
          'io.kubernetes.cri.sandbox-namespace=shop',
          'io.kubernetes.cri.sandbox-name=web-6d4cf56db6-x7k2p',
        ],
      }),
    );
    const c = createContainerResolver({ runcRoots: [root], ...NO_OTHERS })(ID.slice(0, 12));
    expect(c).toMatchObject({
      name: 'web',
      image: 'registry.example.com:5000/shop/web:2.14.1',
      imageRepository: 'registry.example.com:5000/shop/web',
      imageTag: '2.14.1',
      k8s: { namespace: 'shop', podName: 'web-6d4cf56db6-x7k2p' },
    });
    expect(c?.labels?.['io.kubernetes.cri.container-name']).toBe('web');
  });

  it('privileged: every capability and no masked paths; host namespaces when not unshared', () => {
    const opts = { ...NO_OTHERS, hostCapabilityCount: ALL_CAPS.length };
    const root = fakeRoot(runcState({ caps: ALL_CAPS, masked: [], namespaces: ['NEWNS', 'NEWUTS'] }));
    const c = createContainerResolver({ runcRoots: [root], ...opts })(ID.slice(0, 12));
    expect(c?.privileged).toBe(true);
    expect(c?.hostPid).toBe(true);
    expect(c?.hostNetwork).toBe(true);
    const masked = fakeRoot(runcState({ caps: ALL_CAPS, masked: ['/proc/kcore'] }));
    const some = createContainerResolver({ runcRoots: [masked], ...opts })(ID.slice(0, 12));
    expect(some?.privileged).toBe(false);
  });

  it('finds runc roots below a directory (a `runc --root` of its own) and by full id or name', () => {
    const base = mkdtempSync(join(tmpdir(), 'vigil-run-'));
    const root = join(base, 'myruntime', 'runc');
    mkdirSync(join(root, ID), { recursive: true });
    writeFileSync(join(root, ID, 'state.json'), JSON.stringify(runcState()));
    mkdirSync(join(root, 'my-named-container'));
    writeFileSync(
      join(root, 'my-named-container', 'state.json'),
      JSON.stringify({ ...runcState(), id: 'my-named-container' }),
    );
    expect(discoverRuncRoots(base, 3)).toEqual([root]);
    const resolve = createContainerResolver({
      runcRoots: [],
      discoverBelow: [base],
      dockerRoot: '/nonexistent',
      storageRoots: [],
    });
    expect(resolve(ID)?.name).toBe(ID);
    expect(resolve('my-named-container')?.name).toBe('my-named-container');
    expect(resolve('0123456789ab')).toBeUndefined();
  });

  it('caches hits, retries misses after missTtlMs, and never throws on broken state', () => {
    const root = mkdtempSync(join(tmpdir(), 'vigil-runc-root-'));
    let now = 0;
    const resolve = createContainerResolver({
      runcRoots: [root],
      ...NO_OTHERS,
      missTtlMs: 1000,
      now: () => now,
    });
    const short = ID.slice(0, 12);
    expect(resolve(short)).toBeUndefined();
    // The runtime writes its state after the container's first events: found once the miss expires.
    mkdirSync(join(root, ID));
    writeFileSync(join(root, ID, 'state.json'), JSON.stringify(runcState()));
    now = 500;
    expect(resolve(short)).toBeUndefined();
    now = 1500;
    const hit = resolve(short);
    expect(hit?.name).toBe(ID);
    writeFileSync(join(root, ID, 'state.json'), '{ not json');
    now = 99_999;
    expect(resolve(short)).toBe(hit);
    const broken = createContainerResolver({ runcRoots: [root], ...NO_OTHERS });
    expect(() => broken(short)).not.toThrow();
    expect(broken(short)).toBeUndefined();
    expect(broken('host')).toBeUndefined();
  });
});

describe('createContainerResolver: Docker and containers/storage', () => {
  it('Docker: name without the slash, image, created, privileged and host modes from hostconfig.json', () => {
    const docker = mkdtempSync(join(tmpdir(), 'vigil-docker-'));
    mkdirSync(join(docker, 'containers', ID), { recursive: true });
    writeFileSync(
      join(docker, 'containers', ID, 'config.v2.json'),
      JSON.stringify({
        ID,
        Name: '/web',
        Created: '2026-11-26T01:00:00.5Z',
        Image: 'sha256:abcdef0123456789abcdef',
        Config: { Image: 'nginx:1.27', Labels: { tier: 'front' } },
      }),
    );
    writeFileSync(
      join(docker, 'containers', ID, 'hostconfig.json'),
      JSON.stringify({ Privileged: true, NetworkMode: 'host', PidMode: '' }),
    );
    const c = createContainerResolver({
      runcRoots: [],
      discoverBelow: [],
      dockerRoot: docker,
      storageRoots: [],
    })(ID.slice(0, 12));
    expect(c).toMatchObject({
      name: 'web',
      type: 'docker',
      image: 'nginx:1.27',
      imageRepository: 'nginx',
      imageTag: '1.27',
      imageId: 'abcdef012345',
      privileged: true,
      hostNetwork: true,
      hostPid: false,
      labels: { tier: 'front' },
      startTs: 1_795_654_800_500_000_000n,
    });
  });

  it('CRI-O and Podman through containers.json metadata', () => {
    const storage = mkdtempSync(join(tmpdir(), 'vigil-storage-'));
    mkdirSync(join(storage, 'overlay-containers'));
    writeFileSync(
      join(storage, 'overlay-containers', 'containers.json'),
      JSON.stringify([
        {
          id: ID,
          names: ['k8s_web_web-1_shop_uid_0'],
          image: 'f00dfeedf00dfeed',
          created: '2026-11-26T01:00:00Z',
          metadata: JSON.stringify({
            'pod-name': 'web-1',
            'image-name': 'quay.io/shop/web:3',
            'metadata-name': 'web',
          }),
        },
        {
          id: 'a'.repeat(64),
          names: ['happy_turing'],
          metadata: JSON.stringify({ 'image-name': 'docker.io/library/alpine:3.20' }),
        },
      ]),
    );
    const resolve = createContainerResolver({
      runcRoots: [],
      discoverBelow: [],
      dockerRoot: '/nonexistent',
      storageRoots: [storage],
    });
    expect(resolve(ID.slice(0, 12))).toMatchObject({
      type: 'cri-o',
      name: 'web',
      imageRepository: 'quay.io/shop/web',
      imageTag: '3',
      k8s: { podName: 'web-1' },
    });
    expect(resolve('a'.repeat(12))).toMatchObject({
      type: 'podman',
      name: 'happy_turing',
      image: 'docker.io/library/alpine:3.20',
    });
  });
});

describe('helpers', () => {
  it('parses RFC 3339 times with nanoseconds and offsets', () => {
    expect(parseRfc3339Nanos('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(parseRfc3339Nanos('1970-01-01T01:00:01+01:00')).toBe(1_000_000_000n);
    expect(parseRfc3339Nanos('yesterday')).toBeUndefined();
  });
  it('splits image references', () => {
    expect(splitImage('localhost:5000/a/b')).toEqual({ repository: 'localhost:5000/a/b' });
    expect(splitImage('nginx@sha256:00ff')).toEqual({ repository: 'nginx', digest: 'sha256:00ff' });
    expect(splitImage('a/b:1@sha256:00')).toEqual({ repository: 'a/b', tag: '1', digest: 'sha256:00' });
  });
});
