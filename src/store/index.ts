export * from './run-store.js';
export {
  MIGRATIONS,
  SCHEMA_VERSION,
  RunStoreError,
  applyMigrations,
  checkSchema,
  schemaVersion,
  type Migration,
} from './schema.js';
