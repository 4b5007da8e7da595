/**
 * Advisory schema check of a rules file (Falco's `rule_json_schema.h`, JSON schema draft-06).
 *
 * Falco validates each document against the schema and records `validation_ok` or
 * `validation_failed`; loading goes on either way (the reader's checks decide errors). The schema is
 * small, so it is written out here as code over the YAML tree. YAML scalars get the JSON types
 * Falco's YAML→JSON conversion gives them: quoted and block scalars are strings, plain scalars are
 * null, booleans, integers or numbers when they look like one (YAML 1.2 core schema), else strings.
 */
import type { YNode } from './yaml-tree.js';

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'object' | 'array';

const INT_RE = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const FLOAT_RE =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const BOOL_RE = /^(?:true|True|TRUE|false|False|FALSE)$/;

function jsonType(n: YNode): JsonType {
  switch (n.kind) {
    case 'null':
      return 'null';
    case 'map':
      return 'object';
    case 'seq':
      return 'array';
    case 'scalar':
      if (n.style !== 'plain' || n.tag === '!!str' || n.tag === 'tag:yaml.org,2002:str') return 'string';
      if (BOOL_RE.test(n.value)) return 'boolean';
      if (INT_RE.test(n.value)) return 'integer';
      if (FLOAT_RE.test(n.value)) return 'number';
      return 'string';
  }
}

type Check = (n: YNode) => boolean;

const isString: Check = (n) => jsonType(n) === 'string';
const isBool: Check = (n) => jsonType(n) === 'boolean';
const isInt: Check = (n) => jsonType(n) === 'integer';
const any: Check = () => true;
const arrayOf =
  (item: Check): Check =>
  (n) =>
    n.kind === 'seq' && n.items.every(item);
const enumOf =
  (values: readonly string[]): Check =>
  (n) =>
    isString(n) && n.kind === 'scalar' && values.includes(n.value);

function object(props: Record<string, Check>, required: readonly string[] = [], minProperties = 0): Check {
  return (n) => {
    if (n.kind !== 'map') return false;
    const seen = new Set<string>();
    for (const e of n.entries) {
      if (e.key.kind !== 'scalar') return false;
      const check = Object.prototype.hasOwnProperty.call(props, e.key.value) ? props[e.key.value] : undefined;
      if (!check || !check(e.value)) return false;
      seen.add(e.key.value);
    }
    return seen.size >= minProperties && required.every((r) => seen.has(r));
  };
}

const PRIORITY = enumOf([
  'EMERGENCY',
  'ALERT',
  'CRITICAL',
  'ERROR',
  'WARNING',
  'NOTICE',
  'INFO',
  'INFORMATIONAL',
  'DEBUG',
]);
const OVERRIDDEN = enumOf(['append', 'replace']);
const OVERRIDE = object(
  Object.fromEntries(
    [
      'items',
      'desc',
      'condition',
      'output',
      'priority',
      'enabled',
      'exceptions',
      'capture',
      'capture_duration',
      'capture_events',
      'capture_filesize',
      'tags',
      'warn_evttypes',
      'skip-if-unknown-filter',
    ].map((k) => [k, OVERRIDDEN]),
  ),
  [],
  1,
);
const ALTERNATIVE = object({ name: isString, version: isString }, ['name', 'version']);
const PLUGIN_VERSION = object({ name: isString, version: isString, alternatives: arrayOf(ALTERNATIVE) }, [
  'name',
  'version',
]);
const EXCEPTION = object({ name: isString, fields: any, comps: any, values: any }, ['name']);

const FALCO_RULE = object({
  // Legacy engine versions are plain integers (`required_engine_version: 15`).
  required_engine_version: (n) => isString(n) || isInt(n),
  required_plugin_versions: arrayOf(PLUGIN_VERSION),
  macro: isString,
  condition: isString,
  list: isString,
  items: arrayOf((n) => isInt(n) || isString(n)),
  rule: isString,
  desc: isString,
  enabled: isBool,
  output: isString,
  append: isBool,
  priority: PRIORITY,
  capture: isBool,
  capture_duration: isInt,
  capture_events: isInt,
  capture_filesize: isInt,
  source: isString,
  exceptions: arrayOf(EXCEPTION),
  override: OVERRIDE,
  tags: arrayOf(isString),
  warn_evttypes: isBool,
  'skip-if-unknown-filter': isBool,
});

/** Whether every (non-empty) document of a file passes the rules schema. */
export function validateRulesSchema(docs: readonly YNode[]): boolean {
  return docs.every((doc) => doc.kind === 'null' || (doc.kind === 'seq' && doc.items.every(FALCO_RULE)));
}
