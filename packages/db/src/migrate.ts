import type { MikroORM } from '@mikro-orm/postgresql';
import {
  type RunSql,
  MIGRATE_COMMAND,
  assertSchemaCurrentBy,
  databaseName,
  isMissingDatabase,
  pendingMigrationsBy,
} from './schema-state.ts';

export type MigrationResult = { applied: string[] };

/** Applies pending migrations; a second run applies nothing. */
export async function migrate(orm: MikroORM): Promise<MigrationResult> {
  const applied = await orm.migrator.up();
  return { applied: applied.map((m) => m.name) };
}

export { MIGRATE_COMMAND, isMissingDatabase, databaseName };

/** The code's migrations the database has not applied (schema-state.ts), read on the ORM's connection. */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  return await pendingMigrationsBy(ormSql(orm));
}

/** For `start:api` and `start:worker`: schema-state.ts's check on the ORM's connection. */
export async function assertSchemaCurrent(orm: MikroORM, databaseName: string): Promise<void> {
  await assertSchemaCurrentBy(ormSql(orm), databaseName);
}

function ormSql(orm: MikroORM): RunSql {
  return async <T extends object>(sql: string) => await orm.em.getConnection().execute<T[]>(sql);
}
