/**
 * The field registry: one provider per event source (`syscall`, `k8s_audit`), each a field table plus
 * its extractors, and the renderers for alert text and JSON.
 */
import type { K8sAuditEvent, SyscallEvent } from '../event.js';
import { k8sAuditExtractor } from './k8s-audit-extractors.js';
import { K8S_AUDIT_FIELD_DEFS } from './k8s-audit-fields.js';
import { createFieldProvider } from './registry.js';
import { PARAM_NAMES } from './syscall-event-info.generated.js';
import { syscallExtractor } from './syscall-extractors.js';
import { SYSCALL_FIELD_DEFS } from './syscall-fields.js';
import type { FieldDef, FieldProvider } from './types.js';

export { jsonFieldValue, renderFieldValue } from './render.js';
export { createFieldProvider, type ProviderSpec } from './registry.js';
export type {
  EventSource,
  Extractor,
  FieldArgKind,
  FieldDef,
  FieldProvider,
  FieldType,
  FieldValue,
  Scalar,
} from './types.js';

const PARAMS: ReadonlySet<string> = new Set(PARAM_NAMES);

/** libsinsp accepts `evt.arg.NAME` / `evt.rawarg.NAME` only for known parameter names. */
function acceptSyscallDottedArg(def: FieldDef, arg: string): boolean {
  switch (def.name) {
    case 'evt.arg':
    case 'evt.rawarg':
      return PARAMS.has(arg);
    case 'evt.abspath':
      return arg === 'src' || arg === 'dst';
    default:
      return true;
  }
}

/** Fields of the `syscall` source (libsinsp filterchecks and the container plugin). */
export const syscallFields: FieldProvider<SyscallEvent> = createFieldProvider<SyscallEvent>({
  source: 'syscall',
  defs: SYSCALL_FIELD_DEFS,
  extractor: syscallExtractor,
  acceptDottedArg: acceptSyscallDottedArg,
});

/** Fields of the `k8s_audit` source (k8saudit and json plugins, plus the common `evt.*` fields). */
export const k8sAuditFields: FieldProvider<K8sAuditEvent> = createFieldProvider<K8sAuditEvent>({
  source: 'k8s_audit',
  defs: K8S_AUDIT_FIELD_DEFS,
  extractor: k8sAuditExtractor,
});

/** The provider of a source; `undefined` for sources the engine does not know (plugin sources). */
export function fieldProviderFor(source: 'syscall'): FieldProvider<SyscallEvent>;
export function fieldProviderFor(source: 'k8s_audit'): FieldProvider<K8sAuditEvent>;
export function fieldProviderFor(
  source: string,
): FieldProvider<SyscallEvent> | FieldProvider<K8sAuditEvent> | undefined;
export function fieldProviderFor(
  source: string,
): FieldProvider<SyscallEvent> | FieldProvider<K8sAuditEvent> | undefined {
  if (source === 'syscall') return syscallFields;
  if (source === 'k8s_audit') return k8sAuditFields;
  return undefined;
}
