/**
 * PostgreSQL schema, as an ordered list of migrations recorded in `vigil_migrations`. Opening a store
 * applies the missing ones in one transaction under an advisory lock, so several hubs starting at once
 * against the same database migrate it exactly once. New data kinds (Kubernetes events, logs, usage
 * samples) arrive as new migrations adding their own tables; released migrations are never edited.
 */
import type { PoolClient } from 'pg';

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'alerts',
    // `id` sorts bytewise (COLLATE "C") so keyset paging orders ties exactly as SQLite does.
    // `priority` is the syslog rank, so "at or above" is a range. Container and namespace columns are
    // copies of output fields, indexed only where present because host alerts have none.
    sql: `
      CREATE TABLE alerts (
        id             text COLLATE "C" PRIMARY KEY,
        time           bigint   NOT NULL,
        rule           text     NOT NULL,
        priority       smallint NOT NULL CHECK (priority BETWEEN 0 AND 7),
        source         text     NOT NULL,
        hostname       text     NOT NULL,
        container_id   text,
        container_name text,
        k8s_ns         text,
        output         text     NOT NULL,
        output_fields  jsonb    NOT NULL,
        output_types   jsonb,
        tags           text[]   NOT NULL
      );
      CREATE INDEX alerts_time ON alerts (time, id);
      CREATE INDEX alerts_rule_time ON alerts (rule, time);
      CREATE INDEX alerts_priority_time ON alerts (priority, time);
      CREATE INDEX alerts_hostname_time ON alerts (hostname, time);
      CREATE INDEX alerts_container_id_time ON alerts (container_id, time) WHERE container_id IS NOT NULL;
      CREATE INDEX alerts_container_name_time ON alerts (container_name, time) WHERE container_name IS NOT NULL;
      CREATE INDEX alerts_k8s_ns_time ON alerts (k8s_ns, time) WHERE k8s_ns IS NOT NULL;
      CREATE INDEX alerts_tags ON alerts USING gin (tags);
    `,
  },
  {
    version: 2,
    name: 'alerts_output_trigram',
    // Free-text search (ILIKE '%…%') through a trigram index when pg_trgm can be had (it ships with
    // Debian's postgresql and is a trusted extension); without it the search still works, by scan.
    // The extension goes to "public" so that per-schema stores (tests) share one copy.
    sql: `
      DO $$
      DECLARE ext_schema text;
      BEGIN
        BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
          RAISE NOTICE 'pg_trgm unavailable (%): free-text alert search will scan', SQLERRM;
        END;
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_trgm';
        IF ext_schema IS NOT NULL THEN
          EXECUTE format('CREATE INDEX alerts_output_trgm ON alerts USING gin (output %I.gin_trgm_ops)', ext_schema);
        END IF;
      END
      $$;
    `,
  },
  {
    version: 3,
    name: 'alert_counts',
    // Hourly counts by (hour, rule, priority, source, hostname), so that counting a common rule over
    // a week sums a few thousand rows instead of walking ~650,000 index entries (627 ms at 10M
    // alerts). Kept by statement-level triggers reading the statement's transition table: exact
    // and in the same transaction as the insert or delete, whoever writes (the store, COPY, psql).
    // Groups are upserted in key order so that concurrent statements lock count rows in one order.
    // The hour is floor(time / 1 h) without overflow at either end of int64. The functions keep the
    // schema they were created in (SET search_path FROM CURRENT): a store may live in any schema.
    sql: `
      CREATE TABLE alert_counts (
        hour     bigint   NOT NULL,
        rule     text     NOT NULL,
        priority smallint NOT NULL,
        source   text     NOT NULL,
        hostname text     NOT NULL,
        n        bigint   NOT NULL,
        PRIMARY KEY (hour, rule, priority, source, hostname)
      );
      CREATE FUNCTION alert_counts_hour(t bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN t >= 0 OR t % 3600000000000 = 0 THEN t / 3600000000000
                    ELSE t / 3600000000000 - 1 END
      $$;
      CREATE FUNCTION alert_counts_added() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO alert_counts AS c (hour, rule, priority, source, hostname, n)
        SELECT alert_counts_hour(time), rule, priority, source, hostname, count(*)
          FROM changed GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (hour, rule, priority, source, hostname) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      -- Two statements: a row updated by one part of a statement cannot be deleted by another.
      CREATE FUNCTION alert_counts_removed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      DECLARE lo bigint; hi bigint;
      BEGIN
        SELECT alert_counts_hour(min(time)), alert_counts_hour(max(time)) INTO lo, hi FROM changed;
        IF lo IS NULL THEN RETURN NULL; END IF;
        UPDATE alert_counts c SET n = c.n - g.n
          FROM (SELECT alert_counts_hour(time) AS hour, rule, priority, source, hostname, count(*) AS n
                  FROM changed GROUP BY 1, 2, 3, 4, 5) g
         WHERE (c.hour, c.rule, c.priority, c.source, c.hostname)
             = (g.hour, g.rule, g.priority, g.source, g.hostname);
        DELETE FROM alert_counts WHERE hour BETWEEN lo AND hi AND n <= 0;
        RETURN NULL;
      END $$;
      CREATE FUNCTION alert_counts_cleared() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        DELETE FROM alert_counts;
        RETURN NULL;
      END $$;
      CREATE TRIGGER alerts_counts_insert AFTER INSERT ON alerts
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION alert_counts_added();
      CREATE TRIGGER alerts_counts_delete AFTER DELETE ON alerts
        REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION alert_counts_removed();
      CREATE TRIGGER alerts_counts_truncate AFTER TRUNCATE ON alerts
        FOR EACH STATEMENT EXECUTE FUNCTION alert_counts_cleared();
      INSERT INTO alert_counts (hour, rule, priority, source, hostname, n)
      SELECT alert_counts_hour(time), rule, priority, source, hostname, count(*)
        FROM alerts GROUP BY 1, 2, 3, 4, 5;
    `,
  },
  {
    version: 4,
    name: 'alerts_output_words',
    // The words of each output (lower case, split at every character that is not an ASCII letter or
    // digit) in a GIN index, for rare strings made of common trigrams (text-plan.ts): a pod name in
    // 1 alert in 29,000 took 400-750 ms over 10M alerts through the trigram index alone. Built in
    // the migration's transaction (a larger sort memory for it alone): minutes on a store of
    // millions of alerts. Not STRICT, so that the planner inlines it (a strict SQL function whose
    // body calls non-strict functions, here array_remove, is not inlined) and plans with the plain
    // expression on both sides: the index's and the queries'.
    sql: `
      CREATE FUNCTION alert_words(output text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT array_to_tsvector(array_remove(regexp_split_to_array(lower(output), '[^a-z0-9]+'), ''))
        $$;
      SET LOCAL maintenance_work_mem = '256MB';
      CREATE INDEX alerts_output_words ON alerts USING gin (alert_words(output));
    `,
  },
  {
    version: 5,
    name: 'alerts_output_terms',
    // The words index of migration 4 with each word's first two and three characters as terms of
    // their own (`7x~`: "a word starting with 7x"), so that a text ending inside a word is read by
    // exact terms, which GIN intersects by skipping through their lists, instead of a prefix query,
    // which collects every alert of every matching word first (text-plan.ts). The writer sends an
    // output's prefix terms in `output_prefixes` (a few microseconds in JavaScript); for rows without
    // them (COPY, psql, the rows already stored) the function derives the same terms with a regular
    // expression (~60-90 µs per output), so building the index over a large store takes much longer
    // than migration 4 did (161 s for 1M alerts on 2 cores, against ~35 s). The words come from one
    // regexp_replace (faster than migration 4's split). A 2-character word gives `ab~` twice and a
    // 1-character word itself: duplicates of terms it has anyway. alert_words stays (unindexed) so
    // that a hub of the previous version still running against this database searches text slowly
    // instead of failing.
    sql: `
      ALTER TABLE alerts ADD COLUMN output_prefixes text;
      CREATE FUNCTION alert_output_terms(output text, prefixes text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT array_to_tsvector(array_remove(string_to_array(w || ' ' || coalesce(prefixes,
                   regexp_replace(w, '([a-z0-9])([a-z0-9])([a-z0-9]?)[a-z0-9]*', '\\1\\2~ \\1\\2\\3~', 'g')),
                 ' '), ''))
            FROM (SELECT regexp_replace(lower(output), '[^a-z0-9]+', ' ', 'g') AS w) s
        $$;
      SET LOCAL maintenance_work_mem = '256MB';
      CREATE INDEX alerts_output_terms ON alerts USING gin (alert_output_terms(output, output_prefixes));
      DROP INDEX IF EXISTS alerts_output_words;
    `,
  },
];

/** The schema version this build knows (the last migration's). */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

/** Highest applied migration; 0 when none (or no migrations table yet). */
export async function postgresSchemaVersion(client: PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('vigil_migrations')::text AS t`,
  );
  if (exists.rows[0]?.t == null) return 0;
  const r = await client.query<{ v: number }>(
    'SELECT COALESCE(MAX(version), 0)::int AS v FROM vigil_migrations',
  );
  return r.rows[0]?.v ?? 0;
}

/**
 * Brings the schema (the client's first `search_path` schema) up to {@link POSTGRES_SCHEMA_VERSION}.
 * Returns the versions before and after.
 */
export async function migratePostgres(client: PoolClient): Promise<{ from: number; to: number }> {
  await client.query('BEGIN');
  try {
    // One lock per schema: concurrent openers wait here, then see the migrations already applied.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('vigil_migrations:' || current_schema()))`);
    await client.query(`CREATE TABLE IF NOT EXISTS vigil_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const from = await postgresSchemaVersion(client);
    if (from > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${from} is newer than this Vigil knows (${POSTGRES_SCHEMA_VERSION}): upgrade Vigil`,
      );
    }
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= from) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO vigil_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await client.query('COMMIT');
    return { from, to: await postgresSchemaVersion(client) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
