export * from './run-store.js';
export {
  LEGACY_KEY_PREFIX,
  MIGRATIONS,
  SCHEMA_VERSION,
  RunStoreError,
  applyMigrations,
  checkSchema,
  schemaVersion,
  type Migration,
} from './schema.js';
