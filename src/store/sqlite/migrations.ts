/**
 * SQLite schema, as an ordered list of migrations. Opening a database applies those it lacks, each in
 * its own transaction, and records them in `vigil_migrations`; opening an up-to-date database changes
 * nothing. New data kinds (Kubernetes events, logs, usage samples) arrive as new migrations adding
 * their own tables; released migrations are never edited.
 */
import type Database from 'better-sqlite3';

export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'alerts',
    // `seq` is the rowid (cheap appends); `id` is the producer's idempotency key. Times are int64 ns.
    // `priority` is the syslog rank so "at or above" is a range. Container and namespace columns are
    // copies of output fields, indexed only where present (partial indexes) because host alerts have none.
    // Tags stay a JSON array: the tag filter walks the time index (see docs/store.md).
    // Container names are found through `alert_containers` (name → ids, a few rows per container)
    // and then the container id index, instead of a second per-alert index: each per-alert index
    // with many distinct keys dirties a page per key per batch, and ingest speed is mostly that.
    sql: `
      CREATE TABLE alerts (
        seq            INTEGER PRIMARY KEY,
        id             TEXT    NOT NULL UNIQUE,
        time           INTEGER NOT NULL,
        rule           TEXT    NOT NULL,
        priority       INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 7),
        source         TEXT    NOT NULL,
        hostname       TEXT    NOT NULL,
        container_id   TEXT,
        container_name TEXT,
        k8s_ns         TEXT,
        output         TEXT    NOT NULL,
        output_fields  TEXT    NOT NULL,
        output_types   TEXT,
        tags           TEXT    NOT NULL
      );
      CREATE INDEX alerts_time ON alerts (time, id);
      CREATE INDEX alerts_rule_time ON alerts (rule, time);
      CREATE INDEX alerts_priority_time ON alerts (priority, time);
      CREATE INDEX alerts_hostname_time ON alerts (hostname, time);
      CREATE INDEX alerts_container_id_time ON alerts (container_id, time) WHERE container_id IS NOT NULL;
      CREATE TABLE alert_containers (
        container_id   TEXT NOT NULL,
        container_name TEXT NOT NULL,
        PRIMARY KEY (container_name, container_id)
      ) WITHOUT ROWID;
      CREATE INDEX alerts_k8s_ns_time ON alerts (k8s_ns, time) WHERE k8s_ns IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'text index and hourly counts',
    // Words → blocks of alerts (text-index.ts), and hourly counts of the indexed alerts (counts.ts). An existing store's alerts are indexed by the writer
    // after the upgrade, when it is idle; until then the text filter scans them, as before.
    // A word's segment rows sit together (WITHOUT ROWID, by term), so a rare word is a page or two;
    // postings over 2 KiB live in text_postings, since reading any column of a WITHOUT ROWID row
    // loads the whole record.
    sql: `
      CREATE TABLE text_terms (
        id   INTEGER PRIMARY KEY,
        term TEXT NOT NULL UNIQUE
      );
      CREATE TABLE text_blocks (
        block INTEGER NOT NULL,
        term  INTEGER NOT NULL,
        seqs  BLOB    NOT NULL,
        PRIMARY KEY (block, term)
      ) WITHOUT ROWID;
      CREATE TABLE text_segments (
        term    INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        blocks  INTEGER NOT NULL,
        alerts  INTEGER NOT NULL,
        seqs    BLOB,
        big     INTEGER,
        PRIMARY KEY (term, segment)
      ) WITHOUT ROWID;
      CREATE TABLE text_postings (
        id   INTEGER PRIMARY KEY,
        seqs BLOB NOT NULL
      );
      CREATE INDEX text_segments_segment ON text_segments (segment);
      CREATE TABLE alert_counts (
        hour     INTEGER NOT NULL,
        rule     TEXT    NOT NULL,
        priority INTEGER NOT NULL,
        source   TEXT    NOT NULL,
        hostname TEXT    NOT NULL,
        n        INTEGER NOT NULL,
        PRIMARY KEY (hour, rule, priority, source, hostname)
      ) WITHOUT ROWID;
      CREATE TABLE text_progress (indexed_seq INTEGER NOT NULL);
      INSERT INTO text_progress (indexed_seq) VALUES (0);
    `,
  },
  {
    version: 3,
    name: 'priority, host and namespace through the text index',
    // Each per-alert index costs the writer about a microsecond per alert (a B-tree descent and a
    // cell), and with five of them the writer was most of the hub's CPU. Priority, hostname and
    // namespace (and rule and source, which had none or keep theirs) are now indexed behind ingest
    // as pseudo-words of the text index (text-index.ts): a rare value is found through its postings,
    // a common one by walking the time index. The index is emptied so the writer builds it again,
    // with those words, when idle; until then filters scan, as before the text index existed.
    // text_block_times: the time range of each indexed block, so a page of candidates is read from
    // the newest blocks and stops once no older block can hold a newer alert.
    sql: `
      DROP INDEX alerts_priority_time;
      DROP INDEX alerts_hostname_time;
      DROP INDEX alerts_k8s_ns_time;
      DELETE FROM text_postings;
      DELETE FROM text_segments;
      DELETE FROM text_blocks;
      DELETE FROM text_terms;
      DELETE FROM alert_counts;
      UPDATE text_progress SET indexed_seq = 0;
      CREATE TABLE text_block_times (
        block    INTEGER PRIMARY KEY,
        min_time INTEGER NOT NULL,
        max_time INTEGER NOT NULL
      );
    `,
  },
];

/** The schema version this build knows (the last migration's). */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;

/** Highest applied migration; 0 for a new database. */
export function sqliteSchemaVersion(db: Database.Database): number {
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM vigil_migrations').get() as {
    v: number;
  };
  return row.v;
}

/**
 * Brings the database up to {@link SQLITE_SCHEMA_VERSION}. `BEGIN IMMEDIATE` takes the write lock
 * first, so two processes opening the same new file apply each migration once.
 * Returns the versions before and after.
 */
export function migrateSqlite(db: Database.Database): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS vigil_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const from = sqliteSchemaVersion(db);
  if (from > SQLITE_SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${from} is newer than this Vigil knows (${SQLITE_SCHEMA_VERSION}): upgrade Vigil`,
    );
  }
  const record = db.prepare('INSERT INTO vigil_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of SQLITE_MIGRATIONS) {
    const apply = db.transaction(() => {
      // Re-check under the lock: another process may have applied it since we looked.
      if (sqliteSchemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    });
    if (m.version > from) apply.immediate();
  }
  return { from, to: sqliteSchemaVersion(db) };
}
