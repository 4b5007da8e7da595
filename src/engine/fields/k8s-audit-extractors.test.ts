import { describe, expect, it } from 'vitest';
import type { K8sAuditEvent } from '../event.js';
import { k8sAuditFields } from './index.js';
import { jsonText, parsePointer } from './k8s-audit-extractors.js';
import type { FieldValue } from './types.js';

function get(event: K8sAuditEvent, text: string): FieldValue {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(text)!;
  const found = k8sAuditFields.lookup(m[1]!);
  if (!found) throw new Error(`unknown field ${m[1]!}`);
  return k8sAuditFields.extractor(found.def)(event, m[2] ?? found.argFromName);
}

function audit(json: Record<string, unknown>, ts = 1_700_000_000_123_456_789n): K8sAuditEvent {
  return { source: 'k8s_audit', num: 7, ts, json };
}

const podCreate = audit({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: 'a1b2',
  stage: 'ResponseComplete',
  verb: 'create',
  requestURI:
    '/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply&dryRun=All&x=a+b%2Fc&x=second',
  user: { username: 'alice@example.com', groups: ['platform', 'system:authenticated'] },
  impersonatedUser: { username: 'bob' },
  sourceIPs: ['10.0.0.1', '10.0.0.2'],
  userAgent: 'kubectl/v1.30',
  objectRef: { resource: 'pods', namespace: 'shop', name: 'web-1', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 201 },
  annotations: {
    'authorization.k8s.io/decision': 'allow',
    'authorization.k8s.io/reason': '',
    'pod-security.kubernetes.io/audit-violations': 'privileged (container "web")',
  },
  requestObject: {
    kind: 'Pod',
    spec: {
      hostNetwork: true,
      hostPID: false,
      securityContext: { runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3000, 3001] },
      containers: [
        {
          name: 'web',
          image: 'registry.local:5000/shop/web:1.2@sha256:abc',
          command: ['/bin/sh', '-c'],
          args: ['run'],
          securityContext: {
            privileged: true,
            runAsUser: 0,
            capabilities: { add: ['NET_ADMIN', 'SYS_TIME'] },
          },
          ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 443 }],
        },
        { name: 'sidecar', image: 'busybox', securityContext: { readOnlyRootFilesystem: true } },
      ],
      initContainers: [{ name: 'init', image: 'alpine:3', securityContext: { privileged: false } }],
      volumes: [
        { name: 'sock', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } },
        { name: 'cfg', configMap: { name: 'cfg' } },
        { name: 'flex', flexVolume: { driver: 'example/lvm' } },
      ],
    },
  },
  responseObject: { metadata: { name: 'web-1' } },
});

describe('ka.* fields: plain lookups', () => {
  it('reads the event, user and target', () => {
    expect(get(podCreate, 'ka.auditid')).toBe('a1b2');
    expect(get(podCreate, 'ka.stage')).toBe('ResponseComplete');
    expect(get(podCreate, 'ka.verb')).toBe('create');
    expect(get(podCreate, 'ka.user.name')).toBe('alice@example.com');
    expect(get(podCreate, 'ka.user.groups')).toEqual(['platform', 'system:authenticated']);
    expect(get(podCreate, 'ka.impuser.name')).toBe('bob');
    expect(get(podCreate, 'ka.target.resource')).toBe('pods');
    expect(get(podCreate, 'ka.target.namespace')).toBe('shop');
    expect(get(podCreate, 'ka.target.name')).toBe('web-1');
    expect(get(podCreate, 'ka.target.subresource')).toBeUndefined();
    expect(get(podCreate, 'ka.target.pod.name')).toBe('web-1');
    expect(get(podCreate, 'ka.resp.name')).toBe('web-1');
    expect(get(podCreate, 'ka.useragent')).toBe('kubectl/v1.30');
    expect(get(podCreate, 'ka.sourceips')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(get(podCreate, 'ka.sourceips[1]')).toEqual(['10.0.0.2']);
  });

  it('renders non-string JSON values as JSON text', () => {
    expect(get(podCreate, 'ka.response.code')).toBe('201');
    expect(get(podCreate, 'ka.req.pod.host_network')).toBe('true');
    expect(get(podCreate, 'ka.req.pod.host_pid')).toBe('false');
    expect(get(podCreate, 'ka.req.pod.run_as_user')).toBe('1000');
    expect(get(podCreate, 'ka.req.pod.supplemental_groups')).toEqual(['3000', '3001']);
    expect(jsonText({ a: [1, 'x'], b: null })).toBe('{"a":[1,"x"],"b":null}');
  });

  it('reads the authorization annotations, empty values included', () => {
    expect(get(podCreate, 'ka.auth.decision')).toBe('allow');
    expect(get(podCreate, 'ka.auth.reason')).toBe('');
    expect(get(podCreate, 'ka.security.pod.violations')).toBe('privileged (container "web")');
    expect(get(podCreate, 'ka.validations.admission.policy.failure')).toBeUndefined();
  });

  it('has no ka.* values for JSON that is not an audit event', () => {
    const other = audit({ verb: 'create', user: { username: 'x' } });
    expect(get(other, 'ka.verb')).toBeUndefined();
    expect(get(other, 'ka.user.name')).toBeUndefined();
    expect(get(other, 'ka.req.binding.subject.has_name[x]')).toBeUndefined();
    // The json plugin does not care.
    expect(get(other, 'jevt.value[/verb]')).toBe('create');
  });

  it('parses URI query parameters like Go url.ParseQuery', () => {
    expect(get(podCreate, 'ka.uri')).toBe(
      '/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply&dryRun=All&x=a+b%2Fc&x=second',
    );
    expect(get(podCreate, 'ka.uri.param[dryRun]')).toBe('All');
    expect(get(podCreate, 'ka.uri.param[x]')).toBe('a b/c');
    expect(get(podCreate, 'ka.uri.param[missing]')).toBeUndefined();
    const bad = audit({ auditID: 'z', requestURI: '/api?a=%zz&b=1' });
    expect(get(bad, 'ka.uri.param[b]')).toBeUndefined();
    const semi = audit({ auditID: 'z', requestURI: '/api?a=1;b=2' });
    expect(get(semi, 'ka.uri.param[a]')).toBeUndefined();
    expect(get(audit({ auditID: 'z', requestURI: '/api/v1/pods' }), 'ka.uri.param[a]')).toBeUndefined();
    expect(get(audit({ auditID: 'z' }), 'ka.uri.param[a]')).toBeUndefined();
  });
});

describe('ka.req.pod.* container lists', () => {
  it('collects values over the containers, an [index] picking one', () => {
    expect(get(podCreate, 'ka.req.pod.containers.name')).toEqual(['web', 'sidecar']);
    expect(get(podCreate, 'ka.req.pod.containers.image')).toEqual([
      'registry.local:5000/shop/web:1.2@sha256:abc',
      'busybox',
    ]);
    expect(get(podCreate, 'ka.req.pod.containers.image[1]')).toEqual(['busybox']);
    expect(get(podCreate, 'ka.req.pod.containers.image[2]')).toBeUndefined();
    // The plugin cuts the image at its first ':' then at '@' (a registry port included).
    expect(get(podCreate, 'ka.req.pod.containers.image.repository')).toEqual(['registry.local', 'busybox']);
    expect(get(podCreate, 'ka.req.container.image')).toBe('registry.local:5000/shop/web:1.2@sha256:abc');
    expect(get(podCreate, 'ka.req.container.image.repository')).toBe('registry.local');
  });

  it('skips containers that do not set a security setting', () => {
    expect(get(podCreate, 'ka.req.pod.containers.privileged')).toEqual(['true']);
    expect(get(podCreate, 'ka.req.pod.containers.privileged[1]')).toBeUndefined();
    expect(get(podCreate, 'ka.req.pod.containers.read_only_fs')).toEqual(['true']);
    expect(get(podCreate, 'ka.req.pod.containers.run_as_user')).toEqual(['0']);
    expect(get(podCreate, 'ka.req.pod.containers.allow_privilege_escalation')).toBeUndefined();
    expect(get(podCreate, 'ka.req.pod.containers.proc_mount')).toBeUndefined();
    expect(get(podCreate, 'ka.req.container.privileged')).toBe('true');
  });

  it('computes effective ids from container, pod, or 0', () => {
    expect(get(podCreate, 'ka.req.pod.containers.eff_run_as_user')).toEqual(['0', '1000']);
    expect(get(podCreate, 'ka.req.pod.containers.eff_run_as_user[1]')).toEqual(['1000']);
    expect(get(podCreate, 'ka.req.pod.containers.eff_run_as_group')).toEqual(['0', '0']);
  });

  it('flattens capability, command and argument lists', () => {
    expect(get(podCreate, 'ka.req.pod.containers.add_capabilities')).toEqual(['NET_ADMIN', 'SYS_TIME']);
    expect(get(podCreate, 'ka.req.pod.containers.command')).toEqual(['/bin/sh', '-c']);
    expect(get(podCreate, 'ka.req.pod.containers.args[0]')).toEqual(['run']);
  });

  it('gives host ports, falling back to the container port', () => {
    expect(get(podCreate, 'ka.req.pod.containers.host_port')).toEqual(['8080', '443']);
  });

  it('keeps containers, init containers and ephemeral containers apart', () => {
    expect(get(podCreate, 'ka.req.pod.initContainers.name')).toEqual(['init']);
    expect(get(podCreate, 'ka.req.pod.initContainers.image.repository')).toEqual(['alpine']);
    expect(get(podCreate, 'ka.req.pod.initContainers.privileged')).toEqual(['false']);
    expect(get(podCreate, 'ka.req.pod.ephemeralContainers.image')).toBeUndefined();
    expect(get(podCreate, 'ka.req.pod.ephemeralContainers.privileged')).toBeUndefined();
  });

  it('has no value when the request has no pod', () => {
    const del = audit({ auditID: 'q', verb: 'delete', objectRef: { resource: 'pods' } });
    for (const f of [
      'ka.req.pod.containers.image',
      'ka.req.pod.containers.privileged',
      'ka.req.container.privileged',
      'ka.req.pod.volumes.hostpath',
    ]) {
      expect(get(del, f)).toBeUndefined();
    }
    const noImage = audit({
      auditID: 'q',
      requestObject: { spec: { containers: [{ name: 'x' }, { image: 'y' }] } },
    });
    expect(get(noImage, 'ka.req.pod.containers.image')).toBeUndefined();
    expect(get(noImage, 'ka.req.pod.containers.name')).toEqual(['x']);
  });
});

describe('ka.req.* volumes, roles, bindings, services', () => {
  it('reads volumes', () => {
    expect(get(podCreate, 'ka.req.pod.volumes.hostpath')).toEqual(['/var/run/docker.sock']);
    expect(get(podCreate, 'ka.req.pod.volumes.flexvolume_driver')).toEqual(['example/lvm']);
    expect(get(podCreate, 'ka.req.pod.volumes.volume_type')).toEqual(['hostPath', 'configMap', 'flexVolume']);
    expect(get(podCreate, 'ka.req.volume.hostpath[/var/run/docker.sock]')).toBe('true');
    expect(get(podCreate, 'ka.req.volume.hostpath[/var/run*]')).toBe('true');
    expect(get(podCreate, 'ka.req.volume.hostpath[/etc]')).toBe('false');
  });

  const role = audit({
    auditID: 'r',
    objectRef: { resource: 'clusterroles', name: 'admin-ish' },
    requestObject: {
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get', 'create'] },
        { nonResourceURLs: ['/metrics'], verbs: ['*'] },
      ],
    },
  });

  it('reads role rules, flattened, [N] picking a rule', () => {
    expect(get(role, 'ka.req.role.rules.verbs')).toEqual(['get', 'create', '*']);
    expect(get(role, 'ka.req.role.rules.verbs[1]')).toEqual(['*']);
    expect(get(role, 'ka.req.role.rules.resources')).toEqual(['pods', 'pods/exec']);
    expect(get(role, 'ka.req.role.rules.apiGroups')).toEqual(['']);
    expect(get(role, 'ka.req.role.rules.nonResourceURLs')).toEqual(['/metrics']);
    expect(get(role, 'ka.req.role.rules')).toEqual([
      '{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]}',
      '{"nonResourceURLs":["/metrics"],"verbs":["*"]}',
    ]);
  });

  const binding = audit({
    auditID: 'b',
    requestObject: {
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' },
        { kind: 'Group', name: 'ops' },
      ],
    },
  });

  it('reads role bindings and their subjects by kind', () => {
    expect(get(binding, 'ka.req.binding.role')).toBe('cluster-admin');
    expect(get(binding, 'ka.req.binding.subjects')).toEqual([
      '{"kind":"User","name":"alice"}',
      '{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}',
      '{"kind":"Group","name":"ops"}',
    ]);
    expect(get(binding, 'ka.req.binding.subjects.user_names')).toEqual(['alice']);
    expect(get(binding, 'ka.req.binding.subjects.serviceaccount_names')).toEqual(['deployer']);
    expect(get(binding, 'ka.req.binding.subjects.serviceaccount_ns_names')).toEqual(['ci:deployer']);
    expect(get(binding, 'ka.req.binding.subjects.group_names')).toEqual(['ops']);
    expect(get(binding, 'ka.req.binding.subject.has_name[alice]')).toBe('true');
    expect(get(role, 'ka.req.binding.subjects.user_names')).toBeUndefined();
  });

  it('reads config maps and services', () => {
    const cm = audit({
      auditID: 'c',
      objectRef: { resource: 'configmaps', name: 'app' },
      requestObject: { data: { key: 'v', n: '1' } },
    });
    expect(get(cm, 'ka.req.configmap.name')).toBe('app');
    expect(get(cm, 'ka.req.configmap.obj')).toBe('{"key":"v","n":"1"}');
    const svc = audit({
      auditID: 's',
      requestObject: { spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }, { port: 443 }] } },
    });
    expect(get(svc, 'ka.req.service.type')).toBe('NodePort');
    expect(get(svc, 'ka.req.service.ports')).toEqual(['{"port":80,"nodePort":30080}', '{"port":443}']);
    expect(get(svc, 'ka.req.service.ports[1]')).toEqual(['{"port":443}']);
  });

  it('treats empty lists as no value', () => {
    const e = audit({ auditID: 'e', user: { username: 'x', groups: [] }, requestObject: { rules: [] } });
    expect(get(e, 'ka.user.groups')).toBeUndefined();
    expect(get(e, 'ka.req.role.rules')).toBeUndefined();
    expect(get(e, 'ka.req.role.rules.verbs')).toBeUndefined();
    const notList = audit({ auditID: 'e', user: { groups: 'oops' } });
    expect(get(notList, 'ka.user.groups')).toBeUndefined();
  });
});

describe('json.* / jevt.* fields', () => {
  it('follows JSON pointers, with ~1 and ~0 escapes and array indexes', () => {
    expect(get(podCreate, 'jevt.value[/user/username]')).toBe('alice@example.com');
    expect(get(podCreate, 'json.value[/annotations/authorization.k8s.io~1decision]')).toBe('allow');
    expect(get(podCreate, 'jevt.value[/requestObject/spec/containers/1/name]')).toBe('sidecar');
    expect(get(podCreate, 'jevt.value[/responseStatus/code]')).toBe('201');
    expect(get(podCreate, 'jevt.value[/user/groups]')).toBe('["platform","system:authenticated"]');
    expect(get(podCreate, 'jevt.value[/nope]')).toBeUndefined();
    expect(get(podCreate, 'jevt.value[/user/username/deeper]')).toBeUndefined();
    expect(get(podCreate, 'jevt.value[stage]')).toBe('ResponseComplete');
    expect(parsePointer('/a~1b/c~0d/~01')).toEqual(['a/b', 'c~d', '~1']);
  });

  it('gives the raw time and the whole object', () => {
    expect(get(podCreate, 'jevt.rawtime')).toBe('1700000000123456789');
    expect(get(podCreate, 'json.rawtime')).toBe('1700000000123456789');
    const small = audit({ auditID: 'x', a: [1] });
    expect(get(small, 'jevt.obj')).toBe('{\n  "auditID": "x",\n  "a": [\n    1\n  ]\n}');
  });
});

describe('evt.* fields of audit events', () => {
  it('gives the common event fields', () => {
    expect(get(podCreate, 'evt.num')).toBe(7);
    expect(get(podCreate, 'evt.rawtime')).toBe(1_700_000_000_123_456_789n);
    expect(get(podCreate, 'evt.time.iso8601')).toBe('2023-11-14T22:13:20.123456789+0000');
    expect(get(podCreate, 'evt.source')).toBe('k8s_audit');
    expect(get(podCreate, 'evt.pluginname')).toBe('k8saudit');
    expect(get(podCreate, 'evt.is_async')).toBe(false);
    expect(get({ ...podCreate, hostname: 'hub' }, 'evt.hostname')).toBe('hub');
  });
});
