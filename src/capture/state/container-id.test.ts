import { describe, expect, it } from 'vitest';
import { containerFromCgroupPath, containerFromCgroups, containerIdFromCgroups } from './container-id.js';

const ID = '697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f3';

describe('containerFromCgroupPath', () => {
  it.each([
    [`/docker/${ID}`, 'docker'],
    [`/system.slice/docker-${ID}.scope`, 'docker'],
    [`/kubepods/besteffort/pod1234/${ID}`, 'containerd'],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
    [`/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope`, 'cri-o'],
    [`/machine.slice/libpod-${ID}.scope`, 'podman'],
    [`/${ID}`, 'runc'],
  ])('%s is a %s container', (path, runtime) => {
    expect(containerFromCgroupPath(path)).toEqual({ id: ID.slice(0, 12), fullId: ID, runtime });
  });

  it('takes runc scope names as they are', () => {
    expect(containerFromCgroupPath('/system.slice/runc-vigil-test-1.scope')).toEqual({
      id: 'vigil-test-1',
      fullId: 'vigil-test-1',
      runtime: 'runc',
    });
  });

  it.each([
    '/',
    '/user.slice/user-1000.slice/session-1.scope',
    '/system.slice/ssh.service',
    '/init.scope',
    `/docker/${ID.slice(1)}`,
  ])('%s is the host', (path) => {
    expect(containerFromCgroupPath(path)).toBeUndefined();
  });
});

describe('containerFromCgroups', () => {
  it('reads subsystem=path entries and cgroup v2 lines, first container wins', () => {
    expect(containerIdFromCgroups(['cpuset=/', `memory=/docker/${ID}`])).toBe(ID.slice(0, 12));
    expect(containerFromCgroups([`0::/system.slice/docker-${ID}.scope`])?.runtime).toBe('docker');
    expect(containerIdFromCgroups(['cpu=/user.slice'])).toBe('host');
    expect(containerIdFromCgroups(undefined)).toBe('host');
  });
});
