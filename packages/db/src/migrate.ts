import type { MikroORM } from '@mikro-orm/postgresql';

export type MigrationResult = { applied: string[] };

/** Applies pending migrations; a second run applies nothing. */
export async function migrate(orm: MikroORM): Promise<MigrationResult> {
  const applied = await orm.migrator.up();
  return { applied: applied.map((m) => m.name) };
}
