/**
 * Extractors of the `k8s_audit` source: JSON lookups into the audit `Event` object, following the
 * k8saudit plugin (`ka.*`) and the json plugin (`json.*` / `jevt.*`).
 *
 * What counts as missing, as in the plugins: a key that is absent gives no value; a list field whose
 * result is empty gives no value (the plugin framework treats zero values as "not extracted"); an
 * object without `auditID` is not an audit event and has no `ka.*` values. Values that are not JSON
 * strings are rendered as JSON text (`403`, `true`, `{"a":1}`), because every plugin field is a string.
 *
 * Reads: `json` (the parsed Event), `ts`, `num`, `hostname`.
 */
import type { K8sAuditEvent } from '../event.js';
import { commonEventExtractor } from './syscall-extractors.js';
import type { Extractor, FieldDef, FieldValue } from './types.js';

type X = Extractor<K8sAuditEvent>;
type Json = unknown;

const factories = new Map<string, (def: FieldDef) => X>();
const MISSING: X = () => undefined;

function field(name: string, fn: X): void {
  factories.set(name, () => fn);
}

/** The extractor for a k8s_audit field; unknown names always give `undefined`. */
export function k8sAuditExtractor(def: FieldDef): X {
  const make = factories.get(def.name);
  if (make) return make(def);
  const common = commonEventExtractor(def.name, 'k8s_audit');
  return common ?? MISSING;
}

/** Names the extractor table covers (for tests). */
export function k8sAuditExtractorNames(): ReadonlySet<string> {
  return new Set(factories.keys());
}

// ---------------------------------------------------------------------------------------------
// JSON helpers (the semantics of fastjson as the plugins use it)

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One step of a lookup: an object member, or an array element by decimal index; '' is the value itself. */
function step(v: Json, key: string): Json {
  if (key === '') return v;
  if (isObject(v)) return Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
  if (Array.isArray(v) && /^[0-9]+$/.test(key)) return v[Number(key)];
  return undefined;
}

function getPath(v: Json, keys: readonly string[]): Json {
  let cur = v;
  for (const k of keys) {
    cur = step(cur, k);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** A JSON value as plugin text: strings as they are, anything else as compact JSON. */
export function jsonText(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The k8saudit plugin's recursive lookup: walking `keys`, every array met on the way is expanded
 * (all elements, or only `index` when given); an element where the rest of the path is absent
 * contributes an absent (`undefined`) entry. `undefined` as a whole means "not available".
 */
function valuesRecursive(
  v: Json,
  index: number | undefined,
  keys: readonly string[],
  from = 0,
): Json[] | undefined {
  let cur = v;
  for (let i = from; i < keys.length; i++) {
    if (Array.isArray(cur)) {
      if (index === undefined) {
        const out: Json[] = [];
        for (const el of cur as Json[]) {
          const r = valuesRecursive(el, index, keys, i);
          if (r === undefined) out.push(undefined);
          else for (const x of r) out.push(x);
        }
        return out;
      }
      if (index >= cur.length) return undefined;
      cur = cur[index] as Json;
    }
    cur = step(cur, keys[i]!);
    if (cur === undefined) return undefined;
  }
  return [cur];
}

/** Strings of the present values; a list with nothing in it is "no value". */
function stringsSkipMissing(values: readonly Json[] | undefined): FieldValue {
  if (!values) return undefined;
  const out: string[] = [];
  for (const v of values) if (v !== undefined) out.push(jsonText(v));
  return out.length === 0 ? undefined : out;
}

/** Like {@link stringsSkipMissing}, but array values contribute their elements (one level). */
function stringsFlat(values: readonly Json[] | undefined): FieldValue {
  if (!values) return undefined;
  const out: string[] = [];
  for (const v of values) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v as Json[]) out.push(jsonText(x));
    else out.push(jsonText(v));
  }
  return out.length === 0 ? undefined : out;
}

function indexArg(arg: string | undefined): number | undefined {
  return arg !== undefined && /^[0-9]+$/.test(arg) ? Number(arg) : undefined;
}

/** `ka.*` fields exist only for audit events (the plugin drops JSON without `auditID`). */
function auditJson(e: K8sAuditEvent): Record<string, Json> | undefined {
  const j = e.json;
  return j.auditID === undefined ? undefined : j;
}

/** A plain lookup field: the value at `keys` as text. */
function keysField(name: string, ...keys: string[]): void {
  field(name, (e) => {
    const j = auditJson(e);
    if (!j) return undefined;
    const v = getPath(j, keys);
    return v === undefined ? undefined : jsonText(v);
  });
}

/** A list lookup field: the array at `keys`, each element as text; not an array (or empty) = no value. */
function keysListField(name: string, ...keys: string[]): void {
  field(name, (e) => {
    const j = auditJson(e);
    if (!j) return undefined;
    const v = getPath(j, keys);
    if (!Array.isArray(v) || v.length === 0) return undefined;
    return (v as Json[]).map(jsonText);
  });
}

/** A field over `keys` with the recursive lookup, the optional `[index]` choosing array elements. */
function recursiveField(
  name: string,
  keys: readonly string[],
  collect: (values: Json[] | undefined) => FieldValue,
): void {
  field(name, (e, arg) => {
    const j = auditJson(e);
    if (!j) return undefined;
    return collect(valuesRecursive(j, indexArg(arg), keys));
  });
}

// ---------------------------------------------------------------------------------------------
// ka.* : event, user, target

keysField('ka.auditid', 'auditID');
keysField('ka.stage', 'stage');
keysField('ka.auth.decision', 'annotations', 'authorization.k8s.io/decision');
keysField('ka.auth.reason', 'annotations', 'authorization.k8s.io/reason');
keysField('ka.auth.openshift.decision', 'annotations', 'authentication.openshift.io/decision');
keysField('ka.auth.openshift.username', 'annotations', 'authentication.openshift.io/username');
keysField(
  'ka.validations.admission.policy.failure',
  'annotations',
  'validation.policy.admission.k8s.io/validation_failure',
);
keysField('ka.security.pod.violations', 'annotations', 'pod-security.kubernetes.io/audit-violations');
keysField('ka.user.name', 'user', 'username');
keysListField('ka.user.groups', 'user', 'groups');
keysField('ka.impuser.name', 'impersonatedUser', 'username');
keysField('ka.verb', 'verb');
keysField('ka.uri', 'requestURI');
keysField('ka.target.name', 'objectRef', 'name');
keysField('ka.target.namespace', 'objectRef', 'namespace');
keysField('ka.target.resource', 'objectRef', 'resource');
keysField('ka.target.subresource', 'objectRef', 'subresource');
field('ka.target.pod.name', (e) => {
  const j = auditJson(e);
  if (!j || getPath(j, ['objectRef', 'resource']) !== 'pods') return undefined;
  const v = getPath(j, ['objectRef', 'name']);
  return v === undefined ? undefined : jsonText(v);
});
keysField('ka.resp.name', 'responseObject', 'metadata', 'name');
keysField('ka.response.code', 'responseStatus', 'code');
keysField('ka.response.reason', 'responseStatus', 'reason');
keysField('ka.useragent', 'userAgent');
recursiveField('ka.sourceips', ['sourceIPs', ''], stringsSkipMissing);
// Where the plugin finds the cluster name is not part of the audit event: not available here.
field('ka.cluster.name', MISSING);

/**
 * Go's url.ParseQuery as the plugin uses it: `&`-separated pairs, `+` as space, percent escapes;
 * a malformed query (bad escape, `;`) makes the whole lookup fail.
 */
function queryParam(uri: string, key: string): string | undefined {
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  let query = uri.slice(q + 1);
  const hash = query.indexOf('#');
  if (hash >= 0) query = query.slice(0, hash);
  let found: string | undefined;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) return undefined;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawVal = eq < 0 ? '' : pair.slice(eq + 1);
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      v = decodeURIComponent(rawVal.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    if (found === undefined && k === key) found = v;
  }
  return found;
}

field('ka.uri.param', (e, arg) => {
  const j = auditJson(e);
  if (!j || arg === undefined) return undefined;
  const uri = j.requestURI;
  if (uri === undefined) return undefined;
  return queryParam(jsonText(uri), arg);
});

// ---------------------------------------------------------------------------------------------
// ka.req.* : request objects

keysListField('ka.req.binding.subjects', 'requestObject', 'subjects');
keysField('ka.req.binding.role', 'requestObject', 'roleRef', 'name');
// Documented as N/A, but the plugin has always answered true.
field('ka.req.binding.subject.has_name', (e) => (auditJson(e) ? 'true' : undefined));

function subjectsField(
  name: string,
  kind: string,
  text: (s: Record<string, Json>) => string | undefined,
): void {
  field(name, (e) => {
    const j = auditJson(e);
    const subjects = j && getPath(j, ['requestObject', 'subjects']);
    if (!Array.isArray(subjects)) return undefined;
    const out: string[] = [];
    for (const s of subjects as Json[]) {
      if (!isObject(s) || s.kind !== kind) continue;
      const t = text(s);
      if (t !== undefined) out.push(t);
    }
    return out.length === 0 ? undefined : out;
  });
}
const subjectName = (s: Record<string, Json>): string | undefined =>
  s.name === undefined ? undefined : jsonText(s.name);
subjectsField('ka.req.binding.subjects.user_names', 'User', subjectName);
subjectsField('ka.req.binding.subjects.serviceaccount_names', 'ServiceAccount', subjectName);
subjectsField('ka.req.binding.subjects.serviceaccount_ns_names', 'ServiceAccount', (s) =>
  s.name === undefined
    ? undefined
    : `${s.namespace === undefined ? '' : jsonText(s.namespace)}:${jsonText(s.name)}`,
);
subjectsField('ka.req.binding.subjects.group_names', 'Group', subjectName);

keysField('ka.req.configmap.name', 'objectRef', 'name');
keysField('ka.req.configmap.obj', 'requestObject', 'data');

keysField('ka.req.pod.host_ipc', 'requestObject', 'spec', 'hostIPC');
keysField('ka.req.pod.host_network', 'requestObject', 'spec', 'hostNetwork');
keysField('ka.req.container.host_network', 'requestObject', 'spec', 'hostNetwork');
keysField('ka.req.pod.host_pid', 'requestObject', 'spec', 'hostPID');
keysField('ka.req.pod.run_as_user', 'requestObject', 'spec', 'securityContext', 'runAsUser');
keysField('ka.req.pod.run_as_group', 'requestObject', 'spec', 'securityContext', 'runAsGroup');
keysField('ka.req.pod.fs_group', 'requestObject', 'spec', 'securityContext', 'fsGroup');
keysListField(
  'ka.req.pod.supplemental_groups',
  'requestObject',
  'spec',
  'securityContext',
  'supplementalGroups',
);
keysField('ka.req.service.type', 'requestObject', 'spec', 'type');
recursiveField('ka.req.service.ports', ['requestObject', 'spec', 'ports', ''], stringsSkipMissing);

keysListField('ka.req.role.rules', 'requestObject', 'rules');
for (const [fieldName, key] of [
  ['ka.req.role.rules.apiGroups', 'apiGroups'],
  ['ka.req.role.rules.nonResourceURLs', 'nonResourceURLs'],
  ['ka.req.role.rules.verbs', 'verbs'],
  ['ka.req.role.rules.resources', 'resources'],
] as const) {
  // Every rule's list, flattened; [N] picks the Nth rule.
  recursiveField(fieldName, ['requestObject', 'rules', key], (values) => {
    if (!values) return undefined;
    const out: string[] = [];
    for (const v of values) if (Array.isArray(v)) for (const x of v as Json[]) out.push(jsonText(x));
    return out.length === 0 ? undefined : out;
  });
}

recursiveField(
  'ka.req.pod.volumes.hostpath',
  ['requestObject', 'spec', 'volumes', 'hostPath', 'path'],
  stringsSkipMissing,
);
recursiveField(
  'ka.req.pod.volumes.flexvolume_driver',
  ['requestObject', 'spec', 'volumes', 'flexVolume', 'driver'],
  stringsSkipMissing,
);
recursiveField('ka.req.pod.volumes.volume_type', ['requestObject', 'spec', 'volumes', ''], (values) => {
  if (!values) return undefined;
  // The volume source kinds: every member of a volume other than its name.
  const out: string[] = [];
  for (const v of values) if (isObject(v)) for (const k of Object.keys(v)) if (k !== 'name') out.push(k);
  return out.length === 0 ? undefined : out;
});
field('ka.req.volume.hostpath', (e, arg) => {
  const j = auditJson(e);
  if (!j || arg === undefined) return undefined;
  const paths = valuesRecursive(j, undefined, ['requestObject', 'spec', 'volumes', 'hostPath', 'path']);
  if (!paths) return undefined;
  // A trailing * asks for a prefix match.
  const prefix = arg.endsWith('*') ? arg.slice(0, -1) : undefined;
  for (const p of paths) {
    if (p === undefined) continue;
    const s = jsonText(p);
    if (s === arg || (prefix !== undefined && s.startsWith(prefix))) return 'true';
  }
  return 'false';
});

/** Image repository as the plugin derives it: the image up to the first `:`, then up to the first `@`. */
function imageRepository(image: string): string {
  const colon = image.indexOf(':');
  const noTag = colon < 0 ? image : image.slice(0, colon);
  const at = noTag.indexOf('@');
  return at < 0 ? noTag : noTag.slice(0, at);
}

/** Images of a container list; every container must have one (else no value, as in the plugin). */
function images(j: Record<string, Json>, list: string, index: number | undefined): string[] | undefined {
  const values = valuesRecursive(j, index, ['requestObject', 'spec', list, 'image']);
  if (!values) return undefined;
  const out: string[] = [];
  for (const v of values) {
    if (v === undefined) return undefined;
    out.push(jsonText(v));
  }
  return out.length === 0 ? undefined : out;
}

for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
  const p = `ka.req.pod.${list}`;
  const base = ['requestObject', 'spec', list];
  recursiveField(`${p}.name`, [...base, 'name'], stringsSkipMissing);
  field(`${p}.image`, (e, arg) => {
    const j = auditJson(e);
    return j ? images(j, list, indexArg(arg)) : undefined;
  });
  field(`${p}.image.repository`, (e, arg) => {
    const j = auditJson(e);
    const imgs = j ? images(j, list, indexArg(arg)) : undefined;
    return imgs?.map(imageRepository);
  });
  recursiveField(`${p}.command`, [...base, 'command'], stringsFlat);
  recursiveField(`${p}.args`, [...base, 'args'], stringsFlat);
  for (const [suffix, key] of [
    ['privileged', 'privileged'],
    ['allow_privilege_escalation', 'allowPrivilegeEscalation'],
    ['read_only_fs', 'readOnlyRootFilesystem'],
    ['run_as_user', 'runAsUser'],
    ['run_as_group', 'runAsGroup'],
    ['proc_mount', 'procMount'],
  ] as const) {
    recursiveField(`${p}.${suffix}`, [...base, 'securityContext', key], stringsSkipMissing);
  }
  recursiveField(`${p}.add_capabilities`, [...base, 'securityContext', 'capabilities', 'add'], stringsFlat);
  for (const [suffix, key] of [
    ['eff_run_as_user', 'runAsUser'],
    ['eff_run_as_group', 'runAsGroup'],
  ] as const) {
    // The id each container starts with: its own securityContext, else the pod's, else 0.
    field(`${p}.${suffix}`, (e, arg) => {
      const j = auditJson(e);
      if (!j) return undefined;
      const podValue = getPath(j, ['requestObject', 'spec', 'securityContext', key]);
      const fallback = podValue === undefined ? '0' : jsonText(podValue);
      const values = valuesRecursive(j, indexArg(arg), [...base, '']);
      if (!values) return undefined;
      const out: string[] = [];
      for (const c of values) {
        const own = isObject(c) ? getPath(c, ['securityContext', key]) : undefined;
        out.push(own === undefined ? fallback : jsonText(own));
      }
      return out.length === 0 ? undefined : out;
    });
  }
  if (list === 'ephemeralContainers') continue;
  field(`${p}.host_port`, (e, arg) => {
    const j = auditJson(e);
    if (!j) return undefined;
    const portLists = valuesRecursive(j, indexArg(arg), [...base, 'ports']);
    if (!portLists) return undefined;
    const out: string[] = [];
    for (const ports of portLists) {
      if (!Array.isArray(ports)) continue;
      for (const port of ports as Json[]) {
        // hostPort when set; with host networking the containerPort is the host port.
        const v = step(port, 'hostPort') ?? step(port, 'containerPort');
        if (v !== undefined) out.push(jsonText(v));
      }
    }
    return out.length === 0 ? undefined : out;
  });
}

field('ka.req.container.image', (e) => {
  const j = auditJson(e);
  return j ? images(j, 'containers', 0)?.[0] : undefined;
});
field('ka.req.container.image.repository', (e) => {
  const j = auditJson(e);
  const img = j ? images(j, 'containers', 0)?.[0] : undefined;
  return img === undefined ? undefined : imageRepository(img);
});
field('ka.req.container.privileged', (e) => {
  const j = auditJson(e);
  if (!j) return undefined;
  const values = valuesRecursive(j, undefined, [
    'requestObject',
    'spec',
    'containers',
    'securityContext',
    'privileged',
  ]);
  if (!values) return undefined;
  return values.some((v) => v === true) ? 'true' : 'false';
});

// ---------------------------------------------------------------------------------------------
// json.* / jevt.* (the json plugin)

/** An RFC 6901 pointer as the json plugin splits it (leading `/` dropped, `~1` then `~0` unescaped). */
export function parsePointer(pointer: string): string[] {
  const p = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  return p.split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerField(name: string): void {
  factories.set(name, () => {
    let lastArg: string | undefined;
    let keys: string[] = [];
    return (e, arg) => {
      if (arg === undefined || arg === '') return undefined;
      if (arg !== lastArg) {
        lastArg = arg;
        keys = parsePointer(arg);
      }
      let cur: Json = e.json;
      for (const k of keys) {
        cur = step(cur, k);
        if (cur === undefined) return undefined;
      }
      return jsonText(cur);
    };
  });
}
pointerField('json.value');
pointerField('jevt.value');
field('json.obj', (e) => JSON.stringify(e.json, null, 2));
field('jevt.obj', (e) => JSON.stringify(e.json, null, 2));
field('json.rawtime', (e) => e.ts.toString());
field('jevt.rawtime', (e) => e.ts.toString());

// evt.* specifics of plugin events; the rest comes from the shared extractors.
field('evt.pluginname', () => 'k8saudit');
field('evt.is_async', () => false);
field('evt.asynctype', MISSING);
