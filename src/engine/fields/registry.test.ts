import { describe, expect, it } from 'vitest';
import { fieldProviderFor, k8sAuditFields, syscallFields } from './index.js';
import { k8sAuditExtractorNames } from './k8s-audit-extractors.js';
import { createFieldProvider } from './registry.js';
import { syscallExtractorNames } from './syscall-extractors.js';
import type { FieldDef } from './types.js';

describe('field providers', () => {
  it('look fields up by exact name only', () => {
    expect(syscallFields.lookup('proc.name')?.def.name).toBe('proc.name');
    expect(syscallFields.lookup('proc.name')?.argFromName).toBeUndefined();
    expect(syscallFields.lookup('proc.nam')).toBeUndefined();
    expect(syscallFields.lookup('proc.names')).toBeUndefined();
    expect(syscallFields.lookup('proc.name.x')).toBeUndefined();
    expect(syscallFields.lookup('not.a.field')).toBeUndefined();
    expect(syscallFields.lookup('ka.verb')).toBeUndefined();
    expect(k8sAuditFields.lookup('ka.verb')?.def.source).toBe('k8s_audit');
    expect(k8sAuditFields.lookup('proc.name')).toBeUndefined();
  });

  it('resolve dotted arguments of the fields that take them', () => {
    expect(syscallFields.lookup('evt.arg.flags')).toEqual({
      def: syscallFields.lookup('evt.arg')!.def,
      argFromName: 'flags',
    });
    expect(syscallFields.lookup('evt.rawarg.res')?.argFromName).toBe('res');
    expect(syscallFields.lookup('evt.rawarg.res')?.def.name).toBe('evt.rawarg');
    expect(syscallFields.lookup('evt.abspath.dst')?.argFromName).toBe('dst');
    expect(syscallFields.lookup('evt.type.is.open')?.argFromName).toBe('open');
    expect(syscallFields.lookup('container.label.io.kubernetes.pod.name')?.argFromName).toBe(
      'io.kubernetes.pod.name',
    );
    expect(syscallFields.lookup('k8s.pod.label.app')?.def.name).toBe('k8s.pod.label');
    expect(syscallFields.lookup('thread.cgroup.cpuacct')?.argFromName).toBe('cpuacct');
  });

  it('keep exact names ahead of dotted forms and reject unknown parameters', () => {
    expect(syscallFields.lookup('evt.args')?.def.name).toBe('evt.args');
    expect(syscallFields.lookup('evt.args')?.argFromName).toBeUndefined();
    expect(syscallFields.lookup('container.labels')?.argFromName).toBeUndefined();
    expect(syscallFields.lookup('thread.cgroups')?.def.name).toBe('thread.cgroups');
    expect(syscallFields.lookup('evt.arg.no_such_param')).toBeUndefined();
    expect(syscallFields.lookup('evt.abspath.middle')).toBeUndefined();
    expect(syscallFields.lookup('evt.arg.')).toBeUndefined();
    // Fields without dotted arguments do not grow any.
    expect(syscallFields.lookup('proc.aname.2')).toBeUndefined();
    expect(k8sAuditFields.lookup('ka.uri.param.x')).toBeUndefined();
  });

  it('has one extractor for every field of each table', () => {
    const sys = syscallExtractorNames();
    expect(
      syscallFields
        .all()
        .filter((d) => !sys.has(d.name))
        .map((d) => d.name),
    ).toEqual([]);
    const ka = k8sAuditExtractorNames();
    const common = new Set(
      syscallFields
        .all()
        .filter((d) => d.name.startsWith('evt.'))
        .map((d) => d.name),
    );
    expect(
      k8sAuditFields
        .all()
        .filter((d) => !ka.has(d.name) && !common.has(d.name))
        .map((d) => d.name),
    ).toEqual([]);
  });

  it('lists fields with unique names, a source and a description', () => {
    for (const provider of [syscallFields, k8sAuditFields]) {
      const names = provider.all().map((d) => d.name);
      expect(new Set(names).size).toBe(names.length);
      for (const d of provider.all()) {
        expect(d.source).toBe(provider.source);
        expect(d.desc.length).toBeGreaterThan(5);
        expect(Object.isFrozen(d)).toBe(true);
      }
    }
  });

  it('marks the special fields as data', () => {
    const def = (n: string): FieldDef => syscallFields.lookup(n)!.def;
    expect(def('proc.aname')).toMatchObject({ arg: 'index', multiValue: 'ancestors', isList: false });
    expect(def('fd.net')).toMatchObject({ type: 'IPNET', multiValue: 'either-end', filterOnly: true });
    expect(def('fd.types')).toMatchObject({ isList: true, arg: 'index' });
    expect(def('evt.dir').deprecated).toBe(true);
    expect(def('evt.outputtime').outputOnly).toBe(true);
    expect(def('evt.time').jsonAlias).toBe('evt.rawtime');
    expect(def('fd.dev').printFormat).toBe('hex');
    expect(def('proc.env').arg).toBe('key');
    expect(def('evt.arg')).toMatchObject({ arg: 'index-or-key', dottedArg: true });
    expect(k8sAuditFields.lookup('ka.req.pod.containers.image')!.def).toMatchObject({
      isList: true,
      arg: 'index',
    });
    expect(k8sAuditFields.lookup('jevt.value')!.def.arg).toBe('key-required');
  });

  it('gives the provider of a source', () => {
    expect(fieldProviderFor('syscall')).toBe(syscallFields);
    expect(fieldProviderFor('k8s_audit')).toBe(k8sAuditFields);
    expect(fieldProviderFor('aws_cloudtrail')).toBeUndefined();
  });

  it('builds providers from any table', () => {
    const defs: FieldDef[] = [
      {
        name: 'a.b',
        type: 'CHARBUF',
        desc: 'x',
        source: 'syscall',
        arg: 'key',
        isList: false,
        dottedArg: true,
      },
      { name: 'a.b.c', type: 'CHARBUF', desc: 'y', source: 'syscall', arg: 'none', isList: false },
    ];
    const p = createFieldProvider<string>({
      source: 'syscall',
      defs,
      extractor: (d) => (e, arg) => `${d.name}:${e}:${arg}`,
    });
    expect(p.lookup('a.b.c')?.def.name).toBe('a.b.c');
    expect(p.lookup('a.b.d')).toEqual({ def: defs[0], argFromName: 'd' });
    expect(p.extractor(defs[0]!)('ev', 'k')).toBe('a.b:ev:k');
    expect(p.all()).toHaveLength(2);
  });
});
