import { type Options, PostgreSqlDriver, defineConfig, MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import * as entities from './entities/index.ts';
import { migrations } from './migrations/index.ts';

export type OrmOptions = {
  databaseUrl: string;
  /** Connections per process; a small pool beats a large one on PostgreSQL. */
  poolSize?: number;
  debug?: boolean;
};

export function ormConfig({ databaseUrl, poolSize = 10, debug = false }: OrmOptions): Options {
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities: [
      entities.Concert,
      entities.Schedule,
      entities.Seat,
      entities.Reservation,
      entities.Payment,
      entities.Wallet,
      entities.WalletTransaction,
      entities.QueueToken,
    ],
    pool: { min: 0, max: poolSize },
    // Every wait is bounded, so a stuck lock or an exhausted pool answers BUSY and never hangs a request:
    // for a pooled connection, for a row lock (set once per connection, not per transaction), and for a
    // transaction left open by a crashed client.
    driverOptions: {
      connectionTimeoutMillis: 5_000,
      lock_timeout: 3_000,
      idle_in_transaction_session_timeout: 60_000,
      // Named prepared statements (the hot paths, prepared.ts) are planned once per connection. Left to
      // itself PostgreSQL re-plans a statement on every call when a generic plan looks dearer than a
      // custom one: the sold-out hold precheck spent 0.8 ms planning to run 0.3 ms. Our named statements
      // are keyed lookups written for a generic plan; the ORM sends its queries as text with the values in
      // them (planned per call whatever this says).
      options: '-c plan_cache_mode=force_generic_plan',
    },
    debug,
    // never create a database: a typo in DATABASE_URL must fail, not serve an empty schema
    ensureDatabase: false,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // MikroORM 7.2.1 checks versions of a batched multi-row UPDATE with a separate SELECT and then
    // updates `where id in (…)` without the version: two transactions can both pass. One statement per
    // row keeps `where id = ? and version = ?`, so a stale flush always fails with OptimisticLockError.
    useBatchUpdates: false,
    // Entities are plain data for use cases; nothing here relies on a global identity map.
    allowGlobalContext: false,
  });
}

/** Connects eagerly so a bad DATABASE_URL fails at start, not at the first request. */
export async function openOrm(options: OrmOptions): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(options));
  await orm.connect();
  return orm;
}

export type { MikroORM };
