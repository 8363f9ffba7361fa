/**
 * The database as the processes around the use cases see it: the handle the runtime opens (`MikroORM`,
 * its `EntityManager`), and what the API's probes and /metrics ask of it outside any use case.
 */
import { MIGRATE_COMMAND, type MikroORM, countRoundTrips, pendingMigrations } from '@frontrow/db';

export type { EntityManager, MikroORM } from '@frontrow/db';

/** What an operator runs when the schema is behind the code (the answer of /readyz says it). */
export { MIGRATE_COMMAND };

export type DatabaseProbe = {
  /** One `select 1` on the ORM's pool. */
  ping(): Promise<void>;
  /** Migrations of this code not yet applied to the database. */
  pendingMigrations(): Promise<string[]>;
  /** Queries sent on the ORM's pool since the probe was made (one per round trip). */
  roundTrips(): number;
};

export async function databaseProbe(orm: MikroORM): Promise<DatabaseProbe> {
  const counter = await countRoundTrips(orm);
  return {
    ping: async () => {
      await orm.em.getConnection().execute('select 1');
    },
    pendingMigrations: () => pendingMigrations(orm),
    roundTrips: () => counter.read(),
  };
}
