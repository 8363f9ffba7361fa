import pg, { type Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
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

/**
 * Statements sent together as one simple query: one round trip, which PostgreSQL runs as one implicit
 * transaction (all or nothing; locks held until the last statement ends), each statement with a snapshot
 * of its own, so a statement sees what committed while an earlier one waited for a lock. For a use case
 * whose whole cost would otherwise be its begin and commit round trips (`queue.enter`). The simple protocol
 * takes no parameters: every value goes in through `sqlLiteral`. The rows of each statement, in order.
 */
export async function queryScript(em: EntityManager, statements: string[]): Promise<QueryResultRow[][]> {
  const results = await (await nativePool(em)).query(statements.join(';\n'));
  // pg answers one statement with a result, several with an array of them
  return (Array.isArray(results) ? (results as QueryResult[]) : [results]).map((result) => result.rows);
}

/** A value as an SQL string literal, quoted and escaped by the driver (`pg`'s own escaping). */
export function sqlLiteral(value: string): string {
  return pg.escapeLiteral(value);
}
