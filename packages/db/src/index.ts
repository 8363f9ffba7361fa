export * from './entities/index.ts';
export { ormConfig, openOrm, type OrmOptions } from './orm.ts';
export {
  migrate,
  type MigrationResult,
  pendingMigrations,
  assertSchemaCurrent,
  isMissingDatabase,
  MIGRATE_COMMAND,
  databaseName,
} from './migrate.ts';
export { freePort } from './net.ts';
export { countRoundTrips, type RoundTripCounter } from './round-trips.ts';
export { listen, type Listener, type ListenOptions } from './listen.ts';
export { CONNECTION_OPTIONS, openPool } from './connection.ts';
export { ticketSequenceName } from './sequences.ts';
export {
  queryPrepared,
  type PreparedSource,
  executeScript,
  type ScriptStatement,
  inPreparedTransaction,
  type PreparedTransaction,
} from './prepared.ts';
export { MikroORM, EntityManager, OptimisticLockError, UniqueConstraintViolationException, LockMode } from '@mikro-orm/postgresql';
