/**
 * The run store's schema, as an ordered list of versioned migrations.
 *
 * A migration is applied once, inside one `BEGIN IMMEDIATE` transaction together with its row in
 * `schema_migrations`, so two processes opening the same new file cannot both apply it and a
 * crash in the middle leaves the previous version intact. Never edit a released migration: add
 * the next version instead.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Every error the store raises about a file, a schema or a missing record. */
export class RunStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunStoreError';
  }
}

const V1 = `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  name TEXT UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed')),
  space TEXT NOT NULL,
  strategy TEXT NOT NULL,
  dataset TEXT NOT NULL,
  seed INTEGER NOT NULL,
  config TEXT NOT NULL,
  code_version TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  error TEXT
);

CREATE TABLE candidates (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  genome TEXT NOT NULL,
  genome_json TEXT NOT NULL,
  architecture TEXT,
  hash TEXT NOT NULL,
  operator TEXT NOT NULL,
  params INTEGER,
  flops INTEGER,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX candidates_run_seq ON candidates(run_id, seq);
CREATE INDEX candidates_run_generation ON candidates(run_id, generation, seq);
CREATE INDEX candidates_hash ON candidates(hash);

CREATE TABLE lineage (
  child_id TEXT NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  parent_id TEXT NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  position INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX lineage_parent ON lineage(parent_id);

CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_id TEXT NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  hash TEXT NOT NULL,
  evaluation_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'killed', 'failed')),
  error TEXT,
  fidelity REAL NOT NULL,
  metrics TEXT NOT NULL,
  epochs TEXT NOT NULL,
  reused_from INTEGER REFERENCES evaluations(id) ON DELETE SET NULL,
  worker TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE INDEX evaluations_run ON evaluations(run_id);
CREATE INDEX evaluations_candidate ON evaluations(candidate_id);
CREATE INDEX evaluations_reuse ON evaluations(hash, evaluation_key, status);

CREATE TABLE objectives (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (evaluation_id, name)
);

CREATE TABLE strategy_states (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  phase TEXT NOT NULL CHECK (phase IN ('asked', 'told')),
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE run_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX run_events_run ON run_events(run_id, id);
`;

const V2 = `
CREATE TABLE final_trainings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  candidate_id TEXT REFERENCES candidates(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('candidate', 'baseline')),
  architecture TEXT NOT NULL,
  settings TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  error TEXT,
  metrics TEXT NOT NULL,
  epochs TEXT NOT NULL,
  model_path TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE INDEX final_trainings_run ON final_trainings(run_id, id);
`;

/** Prefix the v3 migration gives the evaluation keys it cannot recompute: never reused. */
export const LEGACY_KEY_PREFIX = 'legacy:';

/**
 * v3: evaluation identities. Keys become the full evaluation identity (run/identity.ts); the keys
 * of older rows (which ignored weight inheritance, the macro options of the cells space and the
 * dataset's files) are kept with a `legacy:` prefix, so they are never reused. A `decision`
 * column tells a run's own verdicts (a screen's, a pruner's) from results; older verdicts are
 * recognised by what they stored.
 */
const V3 = `
ALTER TABLE evaluations ADD COLUMN decision TEXT;
UPDATE evaluations SET decision = 'screened-out'
  WHERE json_valid(metrics) AND json_type(metrics, '$.screened_out') IS NOT NULL;
UPDATE evaluations SET decision = 'not-promoted'
  WHERE decision IS NULL AND error LIKE 'not promoted by successive halving%';
UPDATE evaluations SET evaluation_key = '${LEGACY_KEY_PREFIX}' || evaluation_key
  WHERE evaluation_key NOT LIKE '${LEGACY_KEY_PREFIX}%';
`;

/** Ordered by version, strictly increasing. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, candidates, lineage, evaluations, objectives, strategy states, events',
    sql: V1,
  },
  {
    version: 2,
    description: 'final trainings: re-trained best candidates and baselines, with model files',
    sql: V2,
  },
  {
    version: 3,
    description:
      'evaluation identities: older keys marked legacy (never reused), decisions told from results',
    sql: V3,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

function checkOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(
        `run store migrations must have strictly increasing positive versions (got ${migration.version} after ${previous})`,
      );
    }
    previous = migration.version;
  }
}

const MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at TEXT NOT NULL
)`;

function hasTable(db: Database.Database, name: string): boolean {
  const row = db
    .prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
    )
    .get(name);
  return (row?.n ?? 0) > 0;
}

function userTableCount(db: Database.Database): number {
  const row = db
    .prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .get();
  return row?.n ?? 0;
}

/**
 * The schema version of an open database: 0 for an empty database. Throws for an SQLite
 * database that is not a run store.
 */
export function schemaVersion(db: Database.Database, file: string): number {
  if (!hasTable(db, 'schema_migrations')) {
    if (userTableCount(db) > 0) {
      throw new RunStoreError(
        `${file} is an SQLite database but not a Nascent run store (it has no schema_migrations table)`,
      );
    }
    return 0;
  }
  const row = db
    .prepare<[], { version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    )
    .get();
  return row?.version ?? 0;
}

function tooNew(file: string, version: number, known: number): RunStoreError {
  return new RunStoreError(
    `run store ${file} has schema version ${version}, this Nascent knows up to ${known}: upgrade Nascent`,
  );
}

/**
 * Brings the database up to the newest migration; applies nothing when it is already there.
 * Returns the versions it applied.
 */
export function applyMigrations(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  checkOrder(migrations);
  const known = migrations.at(-1)?.version ?? 0;
  // Cheap check first, outside any write lock, so a reader of a newer store fails fast.
  const before = schemaVersion(db, file);
  if (before > known) throw tooNew(file, before, known);
  if (before === known) return [];

  const run = db.transaction((): number[] => {
    // Re-read under the write lock: another process may have migrated in between.
    const current = schemaVersion(db, file);
    if (current > known) throw tooNew(file, current, known);
    db.exec(MIGRATIONS_TABLE);
    const record = db.prepare<[number, string]>(
      'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)',
    );
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, new Date().toISOString());
      applied.push(migration.version);
    }
    return applied;
  });
  return run.immediate();
}

/** For a read-only connection: the schema must be exactly the one this code knows. */
export function checkSchema(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const known = migrations.at(-1)?.version ?? 0;
  const version = schemaVersion(db, file);
  if (version > known) throw tooNew(file, version, known);
  if (version < known) {
    throw new RunStoreError(
      `run store ${file} has schema version ${version}, this Nascent needs ${known}: open it once for writing (for example with nascent search --resume) to upgrade it`,
    );
  }
}
