/**
 * Reading Falco's legacy regression specs (avocado `!mux` YAML) and mapping their paths to
 * shared/fixtures/falco (the mapping table of the fixtures README).
 */
import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';
import { fixturePath } from './fixtures.js';

const muxTag: Tags[number] = {
  tag: '!mux',
  collection: 'map',
  resolve: (value: unknown) => value,
} as unknown as Tags[number];

export interface FalcoTestCase {
  name: string;
  detect?: boolean;
  detect_level?: string | string[];
  detect_counts?: Record<string, number>[];
  rules_file?: string | string[];
  enable_source?: string;
  trace_file?: string;
  conf_file?: string;
  addl_cmdline_opts?: string;
  stderr_contains?: string;
  stdout_contains?: string;
  validate_rules_file?: string | string[];
  validate_errors?: { item_type: string; item_name: string; code: string; message: string }[];
  validate_warnings?: { item_type: string; item_name: string; code: string; message: string }[];
  exit_status?: number;
  [key: string]: unknown;
}

/** All cases of a spec file, keyed by test name, in file order. */
export function readFalcoSpec(...parts: string[]): FalcoTestCase[] {
  const doc = parse(readFileSync(fixturePath(...parts), 'utf8'), { customTags: [muxTag] }) as {
    trace_files: Record<string, Omit<FalcoTestCase, 'name'>>;
  };
  return Object.entries(doc.trace_files).map(([name, c]) => ({ name, ...c }));
}

/** Map a path as written in a legacy spec to the fixtures folder. */
export function mapSpecPath(p: string): string {
  const rules: [RegExp, string][] = [
    [
      /^BUILD_DIR\/falcosecurity-rules-falco-prefix\/src\/falcosecurity-rules-falco\/falco_rules\.yaml$/,
      'rules/falcosecurity-rules/falco-rules-1.0.1/falco_rules.yaml',
    ],
    [
      /^BUILD_DIR\/k8saudit-rules-prefix\/src\/k8saudit-rules\/k8s_audit_rules\.yaml$/,
      'rules/k8saudit/k8saudit-0.6.0/k8s_audit_rules.yaml',
    ],
    [/^\.\/rules\/k8s_audit\/(.+)$/, 'k8s_audit/test_rules/$1'],
    [/^trace_files\/k8s_audit\/(.+)$/, 'k8s_audit/events/$1'],
    [/^trace_files\/plugins\/(.+)$/, 'plugins/cloudtrail/$1'],
    [/^trace_files\/psp\/(.+)$/, 'syscall/scap/psp/$1'],
    [/^trace_files\/(.+\.scap)$/, 'syscall/scap/$1'],
    [/^rules\/plugins\/(.+)$/, 'plugins/test_rules/$1'],
    [/^(?:\.\/)?rules\/(.+)$/, 'syscall/test_rules/$1'],
    [/^BUILD_DIR\/test\/confs\/plugins\/(.+)$/, 'plugins/confs/$1'],
    [/^(?:\.\/)?confs\/(.+)$/, 'syscall/confs/$1'],
  ];
  for (const [re, to] of rules) {
    if (re.test(p)) return fixturePath(p.replace(re, to));
  }
  return fixturePath(p);
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
