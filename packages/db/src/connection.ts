import pg from 'pg';

/**
 * How every pooled connection of ours is opened, the ORM's (orm.ts) and a plain pool's (`openPool`). Every
 * wait is bounded, so a stuck lock or an exhausted pool answers BUSY and never hangs a request: for a pooled
 * connection, for a row lock (set once per connection, not per transaction), and for a transaction left
 * open by a crashed client.
 */
export const CONNECTION_OPTIONS = {
  connectionTimeoutMillis: 5_000,
  lock_timeout: 3_000,
  idle_in_transaction_session_timeout: 60_000,
  // Named prepared statements (the hot paths, prepared.ts) are planned once per connection. Left to
  // itself PostgreSQL re-plans a statement on every call when a generic plan looks dearer than a
  // custom one: the sold-out hold precheck spent 0.8 ms planning to run 0.3 ms. Our named statements
  // are keyed lookups written for a generic plan; the ORM sends its queries as text with the values in
  // them (planned per call whatever this says).
  options: '-c plan_cache_mode=force_generic_plan',
} as const;

/**
 * A `pg` pool opened as the ORM's is (`CONNECTION_OPTIONS`), for a process that loads no ORM (the streams
 * process). `name` tells its connections apart in pg_stat_activity. Connections open on demand; a lost one
 * is an `onError`, never an uncaught error.
 */
export function openPool(options: { databaseUrl: string; max: number; name: string; onError?: (error: Error) => void }): pg.Pool {
  const pool = new pg.Pool({
    ...CONNECTION_OPTIONS,
    connectionString: options.databaseUrl,
    max: options.max,
    application_name: options.name,
  });
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}
