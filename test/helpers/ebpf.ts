/** Whether live eBPF capture can run in this test process, and why not (for named skips). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkEbpf } from '../../src/capture/driver-select.js';
import { REPO_ROOT } from './fixtures.js';

/** The probe's loader as scripts/build-bpf.sh builds it. */
export const BPF_LOADER = join(REPO_ROOT, 'native', 'bpf', 'build', 'vigil-capture');

/** Why live eBPF capture cannot run here: not root, probe not built, or the kernel refuses it. */
export async function ebpfSkipReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'eBPF capture needs Linux';
  if (process.getuid?.() !== 0) return 'loading eBPF programs needs root';
  if (!existsSync(BPF_LOADER)) return `${BPF_LOADER} is not built: run scripts/build-bpf.sh`;
  const c = await checkEbpf({ loaderPath: BPF_LOADER });
  return c.ok ? undefined : `this kernel refuses the probe: ${c.reason}`;
}
