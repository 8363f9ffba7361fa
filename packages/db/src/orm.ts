import { type Options, PostgreSqlDriver, defineConfig, MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { CONNECTION_OPTIONS } from './connection.ts';
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
    // the same options as every pool of ours (connection.ts): bounded waits, generic plans for named statements
    driverOptions: { ...CONNECTION_OPTIONS },
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
