/**
 * The Falco rule-engine version Vigil implements. Rules files declare
 * `required_engine_version`; loading fails when they need a newer engine.
 * 0.63.0 is the engine version of Falco's development branch (mid-2026) whose
 * language features (transformers, `val()`, modifiers) this engine supports.
 */
export const ENGINE_VERSION = '0.63.0';

/** Plugin versions whose fields the engine provides natively (k8saudit, json, container). */
export const BUILTIN_PLUGIN_VERSIONS: Readonly<Record<string, string>> = {
  k8saudit: '0.18.0',
  json: '0.7.0',
  container: '0.4.0',
};
