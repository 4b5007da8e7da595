/** The hub's default request limits (a module of their own so the CLI can show them without loading the server). */

/** Largest accepted request body, bytes. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Most alerts in one `POST /v1/alerts`. */
export const DEFAULT_MAX_BATCH_ALERTS = 50_000;
