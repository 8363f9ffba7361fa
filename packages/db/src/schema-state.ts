/**
 * Whether the database has the schema this code reads, asked with any way of running SQL: the ORM's
 * connection (migrate.ts, for `start:api` and `start:worker`) or a plain `pg` pool (the streams process,
 * which loads no ORM). Read only: nothing is created, not even the migrator's table.
 */
import { MIGRATION_NAMES } from './migrations/names.ts';

/** What to run when the schema is behind (OPERATIONS.md). */
export const MIGRATE_COMMAND = 'frontrow db migrate';

/** Runs one statement without parameters and gives its rows. */
export type RunSql = <T extends object>(sql: string) => Promise<T[]>;

/** The code's migrations the database has not applied; every one of them when the database has none. */
export async function pendingMigrationsBy(run: RunSql): Promise<string[]> {
  const [table] = await run<{ name: string | null }>(`select to_regclass('mikro_orm_migrations')::text as name`);
  if (!table?.name) return [...MIGRATION_NAMES];
  const rows = await run<{ name: string }>('select name from mikro_orm_migrations');
  // the migrator stores a name with or without its extension, depending on how it was listed
  const applied = new Set(rows.map((row) => row.name.replace(/\.[jt]s$/, '')));
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
}

/** PostgreSQL's "database does not exist" (SQLSTATE 3D000), through the driver or the ORM's wrapper. */
export function isMissingDatabase(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if ('code' in cause && cause.code === '3D000') return true;
  }
  return false;
}

/**
 * For the processes that never migrate nor create anything: throws one line saying what to run when the
 * database does not exist or its schema is behind the code's migrations.
 */
export async function assertSchemaCurrentBy(run: RunSql, databaseName: string): Promise<void> {
  let pending: string[];
  try {
    pending = await pendingMigrationsBy(run);
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
