import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A hot read as a named prepared statement on the ORM's own pool: PostgreSQL parses and plans it once per
 * connection instead of on every call (the ORM sends each query as new text). Outside any transaction only:
 * it takes whichever pooled connection is free.
 */
export async function queryPrepared<T extends QueryResultRow>(
  em: EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  return (await (await nativePool(em)).query<T>({ name, text, values })).rows;
}

/** One transaction's connection: named prepared statements only. */
export type PreparedTransaction = {
  query<T extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<T[]>;
};

/**
 * Runs `work` in one transaction on a connection of the ORM's own pool (its timeouts and lock_timeout
 * apply), with named prepared statements: for a use case whose cost is its round trips and their parsing
 * (payment, docs/BENCHMARKS.md). Commits if `work` returns, rolls back if it throws, and throws what it
 * threw; retrying is the caller's (core's `inTransaction`).
 */
export async function inPreparedTransaction<T>(em: EntityManager, work: (tx: PreparedTransaction) => Promise<T>): Promise<T> {
  const client: PoolClient = await (await nativePool(em)).connect();
  let broken: Error | undefined;
  try {
    await client.query('begin');
    const result = await work({ query: async (name, text, values) => (await client.query({ name, text, values })).rows });
    await client.query('commit');
    return result;
  } catch (error) {
    // a failed rollback means a broken connection: the pool must not hand it out again
    await client.query('rollback').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

async function nativePool(em: EntityManager): Promise<Pool> {
  return await em.getConnection().getNativeClient();
}
