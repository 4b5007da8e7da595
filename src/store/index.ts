/**
 * The store registry: one `const` table from backend name to opener, and `openStore` to pick one from a
 * config or a URL (`sqlite:/var/lib/vigil/vigil.db`, `postgres://user@host/db`). Callers see only
 * {@link Store}.
 */
import type { SqliteOptions } from './sqlite/connection.js';
import { openSqliteStore } from './sqlite/store.js';
import type { PostgresOptions } from './postgres/connection.js';
import { openPostgresStore } from './postgres/store.js';
import { StoreQueryError, type Store, type StoreKind } from './store.js';

export type {
  AlertFilter,
  AlertPage,
  AlertQuery,
  InsertResult,
  OneOrMany,
  RetentionPolicy,
  RetentionResult,
  Store,
  StoredAlert,
  StoreKind,
} from './store.js';
export { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT, StoreQueryError } from './store.js';
export type { SqliteOptions } from './sqlite/connection.js';
export type { PostgresOptions } from './postgres/connection.js';

/** Options of each backend, by name. */
export interface StoreOptionsByKind {
  sqlite: SqliteOptions;
  postgres: PostgresOptions;
}

/** A backend name with its options. */
export type StoreConfig = { [K in StoreKind]: { kind: K } & StoreOptionsByKind[K] }[StoreKind];

/** Every backend's opener. */
export const STORES: { readonly [K in StoreKind]: (options: StoreOptionsByKind[K]) => Promise<Store> } = {
  sqlite: openSqliteStore,
  postgres: openPostgresStore,
};

/** Opens the configured store (creating and migrating its schema as needed). */
export function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return STORES.sqlite(config);
    case 'postgres':
      return STORES.postgres(config);
  }
}

/**
 * A store config from a URL: `postgres://…` / `postgresql://…`, `sqlite:<path>` (`sqlite::memory:`
 * for memory), or a bare file path (SQLite).
 */
export function parseStoreUrl(url: string): StoreConfig {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new StoreQueryError(`store URL ${JSON.stringify(url)} names no file`);
    return { kind: 'sqlite', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new StoreQueryError(
      `unknown store URL scheme in ${JSON.stringify(url)} (use sqlite:<path> or postgres://…)`,
    );
  }
  return { kind: 'sqlite', path: url };
}
