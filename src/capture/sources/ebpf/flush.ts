/**
 * How often the eBPF loader hands what it drained to the agent (its `--flush-ms`). Kept apart from
 * the source so the configuration loader can share the default without loading the driver.
 *
 * Each hand-over wakes the loader's writer thread and then the agent; under a light workload (a few
 * thousand events a second) a wake-up costs the agent more than the events it brings. 50 ms rather
 * than the 10 ms poll cut the agent's CPU by about 40% under bench:capture's HTTP workload
 * (adr/0006, seventh round), and bounds how late an event reaches the rules to about 60 ms.
 */

/** The default hand-over interval in ms. */
export const DEFAULT_FLUSH_MS = 50;

/** The longest interval accepted, in ms. */
export const MAX_FLUSH_MS = 1000;

/** A whole number of milliseconds from 0 to {@link MAX_FLUSH_MS}, or undefined. */
export function parseFlushMs(text: string): number | undefined {
  const v = text.trim();
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n <= MAX_FLUSH_MS ? n : undefined;
}
