/**
 * Opening a run store for reading only: never creating the file or its folder, and still reading
 * a store that sits in a read-only place.
 *
 * The store is in WAL mode. A reader of a WAL database needs its `-shm` (and `-wal`) file, and
 * SQLite creates them beside the store when they are missing. Where that is impossible (a folder
 * the user cannot write, a read-only mount) and no other connection has them open, nobody can be
 * writing the store, so the file alone holds every committed row: it is then read into memory
 * and opened from there (a snapshot; it does not see later changes, which cannot come).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RunStoreError } from './schema.js';

/** How the store was opened: on the file, or as an in-memory snapshot of it. */
export interface ReadOnlyDatabase {
  readonly db: Database.Database;
  /** True when the store's place was read-only and the file was read into memory. */
  readonly snapshot: boolean;
}

/** SQLite's errors for a reader that cannot open or create the `-shm` and `-wal` files. */
function cannotOpenBeside(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY'))
  );
}

/** The header bytes that say "WAL mode" (offsets 18 and 19 of an SQLite file, 2 = WAL). */
const WRITE_VERSION_OFFSET = 18;
const READ_VERSION_OFFSET = 19;

/**
 * Opens the store file `file` (an absolute path) read-only. Throws RunStoreError, naming the
 * path, when there is no file there or it cannot be read.
 */
export function openReadOnlyDatabase(file: string): ReadOnlyDatabase {
  if (!existsSync(file)) {
    throw new RunStoreError(
      `no run store at ${file} (nothing was created there; a search creates a store, and --store names it)`,
    );
  }
  if (!statSync(file).isFile()) {
    throw new RunStoreError(`no run store at ${file}: it is not a file`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    // The first read is what opens (or fails to create) the -shm and -wal files.
    db.pragma('schema_version');
    return { db, snapshot: false };
  } catch (error) {
    db?.close();
    if (!cannotOpenBeside(error)) {
      if (
        (error as { code?: unknown }).code === 'SQLITE_NOTADB' ||
        (error as { code?: unknown }).code === 'SQLITE_CORRUPT'
      ) {
        throw new RunStoreError(
          `${file} is not a Nascent run store: it is not an SQLite database (${(error as Error).message})`,
          { cause: error },
        );
      }
      throw new RunStoreError(`cannot open run store ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { db: openSnapshot(file, error), snapshot: true };
  }
}

function openSnapshot(file: string, cause: unknown): Database.Database {
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new RunStoreError(
      `cannot open run store ${file} read-only: its write-ahead log ${wal} holds changes, and ${file}-shm cannot be opened or created in ${dirname(file)} (${(cause as Error).message}); open it as a user who can write ${dirname(file)}`,
      { cause },
    );
  }
  let image: Buffer;
  try {
    image = readFileSync(file);
  } catch (error) {
    throw new RunStoreError(`cannot read run store ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // An in-memory database has no WAL: mark the copy as a rollback-journal file.
  if (image.length > READ_VERSION_OFFSET && image[WRITE_VERSION_OFFSET] === 2) {
    image[WRITE_VERSION_OFFSET] = 1;
    image[READ_VERSION_OFFSET] = 1;
  }
  try {
    const db = new Database(image, { readonly: true });
    db.pragma('schema_version');
    return db;
  } catch (error) {
    throw new RunStoreError(
      `${file} is not a Nascent run store: it cannot be read as an SQLite database (${(error as Error).message})`,
      { cause: error },
    );
  }
}
