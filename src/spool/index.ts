/**
 * Durable agent → hub shipping: the on-disk spool (`spool.ts`) and the shipper that drains it to the
 * hub (`shipper.ts`). docs/spool.md explains the guarantees, the configuration and each counter.
 *
 * ```ts
 * const spool = openSpool({ dir: '/var/lib/vigil/spool' });
 * const shipper = startShipper({ spool, hubUrl: 'https://hub:8765', token });
 * detector.onAlert = (a) => spool.append(a);   // never blocks; drops are counted
 * // on shutdown:
 * await shipper.close();
 * await spool.close();
 * ```
 */
export {
  openSpool,
  Spool,
  SpoolLockedError,
  type FsyncPolicy,
  type SpoolBatch,
  type SpoolOptions,
  type SpoolPosition,
  type SpoolStats,
} from './spool.js';
export { startShipper, type Shipper, type ShipperOptions, type ShipperStats } from './shipper.js';
