/** The environment variables Vigil reads (kept apart from the config loader so `--help` loads little). */

/** Environment variables read, with what they set (documented in docs/configuration.md). */
export const ENV_VARS: Readonly<Record<string, string>> = {
  VIGIL_CONFIG: 'the config file (default: none; built-in defaults)',
  VIGIL_DATA_DIR: 'data_dir',
  VIGIL_RULES: 'rules.files (comma-separated)',
  VIGIL_DRIVER: 'capture.driver',
  VIGIL_CAPTURE_FLUSH_MS:
    'capture.flush_interval (milliseconds; also read by `vigil run` and `vigil capture`)',
  VIGIL_REUSE_VERDICTS:
    'repeated opens: 1 reuses their verdict and lets the probe count them (default), agent reuses in the agent only, 0 evaluates every one (docs/running.md)',
  VIGIL_LISTEN: 'hub.listen',
  VIGIL_STORE_URL: 'store.url',
  VIGIL_HUB_URL: 'agent.hub_url',
  VIGIL_TOKEN: 'a hub token (added to hub.tokens; used by the agent and `vigil alerts`)',
};
