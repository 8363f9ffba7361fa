/**
 * `@frontrow/db/pg`: what a process reads the database with when it loads no ORM (the streams process:
 * apps/api/src/streams/), `pg` and these modules only. Everything here is also exported by the package's
 * main entry; nothing here may import MikroORM or the entities at run time (a test checks the streams
 * process's module graph).
 */
export { queryPrepared, type PreparedSource } from './prepared.ts';
export { listen, type Listener, type ListenOptions } from './listen.ts';
export {
  MIGRATE_COMMAND,
  assertSchemaCurrentBy,
  databaseName,
  isMissingDatabase,
  pendingMigrationsBy,
  type RunSql,
} from './schema-state.ts';
export { CONNECTION_OPTIONS, openPool } from './connection.ts';
