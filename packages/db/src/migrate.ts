import type { MikroORM } from '@mikro-orm/postgresql';
import { migrations } from './migrations/index.ts';

export type MigrationResult = { applied: string[] };

/** Applies pending migrations; a second run applies nothing. */
export async function migrate(orm: MikroORM): Promise<MigrationResult> {
  const applied = await orm.migrator.up();
  return { applied: applied.map((m) => m.name) };
}

/** What to run when the schema is behind (OPERATIONS.md). */
export const MIGRATE_COMMAND = 'frontrow db migrate';

/**
 * The code's migrations the database has not applied, read without writing anything (the migrator's own
 * listing would create its table in an empty database). Every one of them when the database has none.
 */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  const connection = orm.em.getConnection();
  const [table] = await connection.execute<{ name: string | null }[]>(`select to_regclass('mikro_orm_migrations')::text as name`);
  if (!table?.name) return migrations.map((m) => m.name);
  const rows = await connection.execute<{ name: string }[]>('select name from mikro_orm_migrations');
  // the migrator stores a name with or without its extension, depending on how it was listed
  const applied = new Set(rows.map((row) => row.name.replace(/\.[jt]s$/, '')));
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}

/** PostgreSQL's "database does not exist" (SQLSTATE 3D000), through the driver or the ORM's wrapper. */
export function isMissingDatabase(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if ('code' in cause && cause.code === '3D000') return true;
  }
  return false;
}

/**
 * For `start:api` and `start:worker`, which never migrate nor create anything: throws one line saying
 * what to run when the database does not exist or its schema is behind the code's migrations.
 */
export async function assertSchemaCurrent(orm: MikroORM, databaseName: string): Promise<void> {
  let pending: string[];
  try {
    pending = await pendingMigrations(orm);
  } catch (error) {
    if (!isMissingDatabase(error)) throw error;
    throw new Error(
      `database "${databaseName}" does not exist: create it (createdb ${databaseName}), then run \`${MIGRATE_COMMAND}\` (check DATABASE_URL for a typo)`,
    );
  }
  if (pending.length > 0) {
    throw new Error(
      `the database schema is behind this code (${pending.length} migration(s) pending: ${pending.join(', ')}); run \`${MIGRATE_COMMAND}\` first`,
    );
  }
}

/** The database a connection string names (`postgres://…/frontrow` → `frontrow`). */
export function databaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
}
