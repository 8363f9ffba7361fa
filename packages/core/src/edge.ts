/**
 * `@frontrow/core/edge`: the queue's reading side without the ORM: what the streams process
 * (apps/api/src/streams/) and the API's guards need to verify a queue token, answer its state and watch it.
 * Each module here loads `zod`, `pg` and `node:` modules at most, never MikroORM or the entities (the
 * streams process's test checks its module graph); the package's main entry exports all of it too.
 */
export * from './config.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './database-errors.ts';
export * from './database-state.ts';
export * from './text.ts';
export * from './queue/token-signer.ts';
export * from './queue/position.ts';
export * from './queue/crowd-rules.ts';
export * from './queue/ticket.ts';
export * from './queue/watch-ticket.ts';
export * from './queue/admission-memory.ts';
export * from './queue/watch-registry.ts';
// the database's side of a process with no ORM: apps reach the database through core (docs/ARCHITECTURE.md)
export {
  type PreparedSource,
  type RunSql,
  MIGRATE_COMMAND,
  assertSchemaCurrentBy,
  databaseName,
  openPool,
  pendingMigrationsBy,
} from '@frontrow/db/pg';
