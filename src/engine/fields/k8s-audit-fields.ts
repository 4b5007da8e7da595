/**
 * The field table of the `k8s_audit` source: the k8saudit plugin's `ka.*` fields, the json plugin's
 * `json.*` / `jevt.*` fields, and the `evt.*` fields libsinsp gives every event.
 *
 * Names, types, argument kinds and list-ness follow the plugins' field lists (every plugin field is a
 * string, `(list)` fields are multi-valued); `test/conformance/field-catalog.test.ts` checks them.
 * Descriptions are ours.
 */
import { SYSCALL_FIELD_DEFS } from './syscall-fields.js';
import type { FieldArgKind, FieldDef } from './types.js';

type Row = readonly [
  name: string,
  desc: string,
  opts?: { list?: true; arg?: FieldArgKind; deprecated?: true },
];

const LIST = { list: true } as const;
const LIST_INDEX = { list: true, arg: 'index' } as const;

/** Container-list fields: the same set exists for containers, initContainers and ephemeralContainers. */
function containerRows(list: 'containers' | 'initContainers' | 'ephemeralContainers', what: string): Row[] {
  const p = `ka.req.pod.${list}`;
  const rows: Row[] = [
    [`${p}.name`, `Names of the ${what} of a pod in the request.`, LIST_INDEX],
    [`${p}.image`, `Images of the ${what} of a pod in the request.`, LIST_INDEX],
    [`${p}.image.repository`, `Image repositories (image without tag or digest) of the ${what}.`, LIST_INDEX],
    [`${p}.command`, `Commands of the ${what}, each as JSON text.`, LIST_INDEX],
    [`${p}.args`, `Arguments of the ${what}, each as JSON text.`, LIST_INDEX],
    [`${p}.privileged`, `securityContext.privileged of the ${what} that set it.`, LIST_INDEX],
    [
      `${p}.allow_privilege_escalation`,
      `securityContext.allowPrivilegeEscalation of the ${what} that set it.`,
      LIST_INDEX,
    ],
    [`${p}.read_only_fs`, `securityContext.readOnlyRootFilesystem of the ${what} that set it.`, LIST_INDEX],
    [`${p}.run_as_user`, `securityContext.runAsUser of the ${what} that set it.`, LIST_INDEX],
    [
      `${p}.eff_run_as_user`,
      `User id each of the ${what} starts as: its own runAsUser, else the pod's, else 0.`,
      LIST_INDEX,
    ],
    [`${p}.run_as_group`, `securityContext.runAsGroup of the ${what} that set it.`, LIST_INDEX],
    [
      `${p}.eff_run_as_group`,
      `Group id each of the ${what} starts as: its own runAsGroup, else the pod's, else 0.`,
      LIST_INDEX,
    ],
    [`${p}.proc_mount`, `securityContext.procMount of the ${what} that set it.`, LIST_INDEX],
    [`${p}.add_capabilities`, `Capabilities the ${what} add (securityContext.capabilities.add).`, LIST_INDEX],
  ];
  // The plugin has no host_port field for ephemeral containers (they cannot declare ports).
  if (list !== 'ephemeralContainers') {
    rows.push([`${p}.host_port`, `Host ports of the ${what} (hostPort, else containerPort).`, LIST_INDEX]);
  }
  return rows;
}

const KA_ROWS: readonly Row[] = [
  ['ka.auditid', 'Unique id of the audit event.'],
  ['ka.stage', 'Stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic).'],
  ['ka.auth.decision', 'Authorization decision (annotation authorization.k8s.io/decision).'],
  ['ka.auth.reason', 'Authorization reason (annotation authorization.k8s.io/reason).'],
  ['ka.auth.openshift.decision', 'Authentication decision annotated by the OpenShift API server.'],
  ['ka.validations.admission.policy.failure', 'Failure reported by a validating admission policy.'],
  ['ka.security.pod.violations', 'Pod security admission violations annotated on the event.'],
  ['ka.auth.openshift.username', 'User name annotated by the OpenShift API server authentication.'],
  ['ka.user.name', 'Name of the user making the request.'],
  ['ka.user.groups', 'Groups of the user making the request.', LIST],
  ['ka.impuser.name', 'Name of the impersonated user.'],
  ['ka.verb', 'Request verb (get, list, create, delete, ...).'],
  ['ka.uri', 'Request URI as the client sent it.'],
  ['ka.uri.param', 'One query parameter of the request URI (ka.uri.param[key]).', { arg: 'key-required' }],
  ['ka.target.name', 'Name of the object the request is about.'],
  ['ka.target.namespace', 'Namespace of the object the request is about.'],
  ['ka.target.resource', 'Resource of the object the request is about (pods, secrets, ...).'],
  ['ka.target.subresource', 'Subresource of the request (exec, attach, log, ...).'],
  ['ka.target.pod.name', 'Name of the pod the request targets.'],
  ['ka.req.binding.subjects', 'Subjects of a role binding in the request, each as JSON text.', LIST],
  [
    'ka.req.binding.subjects.user_names',
    'Names of the User subjects of a role binding in the request.',
    LIST,
  ],
  [
    'ka.req.binding.subjects.serviceaccount_names',
    'Names of the ServiceAccount subjects of a role binding.',
    LIST,
  ],
  [
    'ka.req.binding.subjects.serviceaccount_ns_names',
    'namespace:name of the ServiceAccount subjects of a role binding.',
    LIST,
  ],
  [
    'ka.req.binding.subjects.group_names',
    'Names of the Group subjects of a role binding in the request.',
    LIST,
  ],
  ['ka.req.binding.role', 'Role a role binding in the request refers to.'],
  [
    'ka.req.binding.subject.has_name',
    'Obsolete; kept for compatibility (always true).',
    { arg: 'key-required', deprecated: true },
  ],
  ['ka.req.configmap.name', 'Name of the config map the request is about.'],
  ['ka.req.configmap.obj', 'Data of a config map in the request, as JSON text.'],
  ...containerRows('containers', 'containers'),
  [
    'ka.req.container.image',
    'Obsolete: image of the first container of a pod in the request.',
    { deprecated: true },
  ],
  [
    'ka.req.container.image.repository',
    'Obsolete: image repository of the first container.',
    { deprecated: true },
  ],
  ['ka.req.pod.host_ipc', 'hostIPC of a pod in the request.'],
  ['ka.req.pod.host_network', 'hostNetwork of a pod in the request.'],
  ['ka.req.container.host_network', 'Obsolete alias of ka.req.pod.host_network.', { deprecated: true }],
  ['ka.req.pod.host_pid', 'hostPID of a pod in the request.'],
  [
    'ka.req.container.privileged',
    'Obsolete: true when any container of the pod is privileged.',
    { deprecated: true },
  ],
  ['ka.req.pod.run_as_user', 'Pod-level securityContext.runAsUser.'],
  ['ka.req.pod.run_as_group', 'Pod-level securityContext.runAsGroup.'],
  ['ka.req.role.rules', 'Rules of a role in the request, each as JSON text.', LIST],
  ['ka.req.role.rules.apiGroups', 'API groups named by the rules of a role in the request.', LIST_INDEX],
  [
    'ka.req.role.rules.nonResourceURLs',
    'Non-resource URLs named by the rules of a role in the request.',
    LIST_INDEX,
  ],
  ['ka.req.role.rules.verbs', 'Verbs named by the rules of a role in the request.', LIST_INDEX],
  ['ka.req.role.rules.resources', 'Resources named by the rules of a role in the request.', LIST_INDEX],
  ['ka.req.pod.fs_group', 'Pod-level securityContext.fsGroup.'],
  ['ka.req.pod.supplemental_groups', 'Pod-level securityContext.supplementalGroups.', LIST],
  ['ka.req.service.type', 'Type of a service in the request.'],
  ['ka.req.service.ports', 'Ports of a service in the request, each as JSON text.', LIST_INDEX],
  ['ka.req.pod.volumes.hostpath', 'hostPath paths of the volumes of a pod in the request.', LIST_INDEX],
  [
    'ka.req.volume.hostpath',
    'Obsolete: true when a volume mounts the given host path (a trailing * matches a prefix).',
    { arg: 'key-required', deprecated: true },
  ],
  [
    'ka.req.pod.volumes.flexvolume_driver',
    'flexVolume drivers of the volumes of a pod in the request.',
    LIST_INDEX,
  ],
  [
    'ka.req.pod.volumes.volume_type',
    'Volume source kinds (hostPath, secret, ...) of the volumes of a pod.',
    LIST_INDEX,
  ],
  ['ka.resp.name', 'Name of the object in the response.'],
  ['ka.response.code', 'HTTP status code of the response.'],
  ['ka.response.reason', 'Reason given with the response status (usually on failures).'],
  ['ka.useragent', 'User agent of the client.'],
  ['ka.sourceips', 'Client IP addresses of the request.', LIST_INDEX],
  ['ka.cluster.name', 'Name of the cluster the event comes from.'],
  ...containerRows('initContainers', 'init containers'),
  ...containerRows('ephemeralContainers', 'ephemeral containers'),
];

const JSON_ROWS: readonly Row[] = [
  [
    'json.value',
    'Value at a JSON pointer (RFC 6901) in the event: json.value[/user/username].',
    { arg: 'key-required' },
  ],
  ['json.obj', 'The whole event as indented JSON text.'],
  ['json.rawtime', 'Event time in ns since epoch, as text.'],
  ['jevt.value', 'Alias of json.value.', { arg: 'key-required' }],
  ['jevt.obj', 'Alias of json.obj.'],
  ['jevt.rawtime', 'Alias of json.rawtime.'],
];

/** The `evt.*` fields libsinsp provides for every event, whatever its source. */
const COMMON_EVT_FIELDS: ReadonlySet<string> = new Set([
  'evt.num',
  'evt.time',
  'evt.time.s',
  'evt.time.iso8601',
  'evt.datetime',
  'evt.datetime.s',
  'evt.rawtime',
  'evt.rawtime.s',
  'evt.rawtime.ns',
  'evt.reltime',
  'evt.reltime.s',
  'evt.reltime.ns',
  'evt.pluginname',
  'evt.plugininfo',
  'evt.source',
  'evt.is_async',
  'evt.asynctype',
  'evt.hostname',
]);

function toDef(row: Row): FieldDef {
  const [name, desc, opts] = row;
  const def: FieldDef = {
    name,
    type: 'CHARBUF',
    desc,
    source: 'k8s_audit',
    arg: opts?.arg ?? 'none',
    isList: opts?.list ?? false,
  };
  if (opts?.deprecated) def.deprecated = true;
  return Object.freeze(def);
}

/** Every field of the `k8s_audit` source: common `evt.*`, then `ka.*`, then `json.*` / `jevt.*`. */
export const K8S_AUDIT_FIELD_DEFS: readonly FieldDef[] = Object.freeze([
  ...SYSCALL_FIELD_DEFS.filter((d) => COMMON_EVT_FIELDS.has(d.name)).map((d) =>
    Object.freeze({ ...d, source: 'k8s_audit' as const }),
  ),
  ...KA_ROWS.map(toDef),
  ...JSON_ROWS.map(toDef),
]);
