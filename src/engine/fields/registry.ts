/**
 * Field providers: a field table plus its extractors behind the `FieldProvider` interface the
 * compiler, the output formatter and `vigil rules list-fields` use.
 *
 * Lookups are exact. The only names resolved beyond the table are the dotted-argument forms libsinsp
 * and the plugins accept (`evt.arg.flags` is `evt.arg` with argument `flags`, `container.label.app`
 * is `container.label[app]`), and only for fields marked `dottedArg`.
 */
import type { EventSource, Extractor, FieldDef, FieldProvider } from './types.js';

export interface ProviderSpec<E> {
  source: EventSource;
  defs: readonly FieldDef[];
  extractor: (def: FieldDef) => Extractor<E>;
  /** Whether `def.name + '.' + arg` names the field with that argument (default: any non-empty arg). */
  acceptDottedArg?: (def: FieldDef, arg: string) => boolean;
}

export function createFieldProvider<E>(spec: ProviderSpec<E>): FieldProvider<E> {
  const byName = new Map<string, FieldDef>();
  for (const d of spec.defs) byName.set(d.name, d);
  // Longest names first so `k8s.pod.label.x` never resolves through a shorter dotted field.
  const dotted = spec.defs.filter((d) => d.dottedArg).sort((a, b) => b.name.length - a.name.length);
  const accept = spec.acceptDottedArg ?? (() => true);
  const all = Object.freeze([...spec.defs]);
  return {
    source: spec.source,
    lookup(name: string) {
      const def = byName.get(name);
      if (def) return { def };
      for (const d of dotted) {
        if (name.length > d.name.length + 1 && name.startsWith(d.name) && name[d.name.length] === '.') {
          const arg = name.slice(d.name.length + 1);
          return accept(d, arg) ? { def: d, argFromName: arg } : undefined;
        }
      }
      return undefined;
    },
    extractor(def: FieldDef): Extractor<E> {
      return spec.extractor(def);
    },
    all() {
      return all;
    },
  };
}
