import type { MikroORM } from '@mikro-orm/postgresql';
import type { PoolClient } from 'pg';

export type RoundTripCounter = {
  /** Queries sent to PostgreSQL through the ORM's pool since the counter was installed. */
  read(): number;
};

const counted = new WeakSet<PoolClient>();
const counters = new WeakMap<object, RoundTripCounter>();

/**
 * Counts the round trips of the ORM's connection pool: every query sent on a pooled connection (the ORM's,
 * the prepared statements of prepared.ts, a script of several statements sent as one), whoever sent it.
 * For the bench's "database round trips per call" (docs/BENCHMARKS.md), read through /metrics. A client is
 * counted from its first checkout after this is installed; `pg` has no query event, so each pooled
 * client's own `query` is wrapped once. Installed once per ORM; a second call returns the same counter.
 */
export async function countRoundTrips(orm: MikroORM): Promise<RoundTripCounter> {
  const existing = counters.get(orm);
  if (existing) return existing;
  const pool = await orm.em.getConnection().getNativeClient();
  let trips = 0;
  pool.on('acquire', (client: PoolClient) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      trips++;
      return query(...args);
    };
  });
  const counter = { read: () => trips };
  counters.set(orm, counter);
  return counter;
}
