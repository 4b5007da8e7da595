/**
 * The default container resolver (src/capture/containers) against real runc containers: it finds
 * the test harness's own runc root (`runc --root /run/vigil-test-runc`) by looking below /run, and
 * reads name, bundle, privileged, namespaces and start time from runc's state.json.
 */
import { describe, expect, it } from 'vitest';
import { createContainerResolver } from '../../src/capture/containers/index.js';
import { runcSkipReason, withRuncContainer } from '../helpers/runc.js';

const SKIP = runcSkipReason();

describe.skipIf(SKIP !== undefined)('container resolver on live runc containers', () => {
  it('resolves an unprivileged and a privileged host-network container by short id', async () => {
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    await withRuncContainer({}, async (c) =>
      withRuncContainer({ privileged: true, hostNetwork: true }, async (p) => {
        const resolve = createContainerResolver();
        const a = resolve(c.shortId);
        expect(a).toMatchObject({
          id: c.shortId,
          fullId: c.id,
          name: c.id,
          type: 'runc',
          image: c.bundle,
          privileged: false,
          hostNetwork: false,
          hostPid: false,
        });
        expect(a?.startTs).toBeGreaterThan(before);
        expect(a?.labels?.['org.vigil.test.id']).toBe(c.id);
        const b = resolve(p.shortId);
        expect(b).toMatchObject({ name: p.id, privileged: true, hostNetwork: true });
        // Cached: the same object until the container is gone and the cache entry too.
        expect(resolve(c.shortId)).toBe(a);
      }),
    );
  }, 60_000);
});
