import pg, { type Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A hot read as a named prepared statement on the ORM's own pool (or a plain pool, `PreparedSource`): PostgreSQL parses and plans it once per
 * connection instead of on every call (the ORM sends each query as new text). Outside any transaction only:
 * it takes whichever pooled connection is free.
 */
export async function queryPrepared<T extends QueryResultRow>(
  source: PreparedSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  // told apart by shape, not by class: a pool from another copy of `pg` is a pool too
  const pool = 'getConnection' in source ? await nativePool(source) : source;
  return (await pool.query<T>({ name, text, values })).rows;
}

/**
 * Where a hot read runs: the ORM's pool (through any EntityManager), or a `pg` pool of its own for a
 * process that loads no ORM (the streams process, apps/api/src/streams/).
 */
export type PreparedSource = EntityManager | Pool;

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

/** A statement a script runs by name: prepared (SQL `prepare`) on a connection the first time it runs there. */
export type ScriptStatement = {
  name: string;
  /** SQL types of `$1`, `$2`… */
  params: string[];
  text: string;
};

/**
 * Statements run together as one simple query of `execute`s: one round trip, which PostgreSQL runs as one
 * implicit transaction (all or nothing; locks held until the last statement ends), each statement with a
 * snapshot of its own, so a statement sees what committed while an earlier one waited for a lock. Each
 * statement is prepared once per connection, so it is neither parsed nor planned again. For a use case
 * whose whole cost would otherwise be its begin and commit round trips (`queue.enter`). The simple
 * protocol carries no parameters: values go in as literals quoted by the driver. The rows of each
 * statement, in order.
 */
export async function executeScript(
  em: EntityManager,
  steps: { statement: ScriptStatement; values: string[] }[],
): Promise<QueryResultRow[][]> {
  const client = await (await nativePool(em)).connect();
  let failed: Error | undefined;
  try {
    await prepareOnce(
      client,
      steps.map((step) => step.statement),
    );
    const run = steps.map(({ statement, values }) => `execute ${statement.name}(${values.map((v) => pg.escapeLiteral(v)).join(', ')})`);
    const results: QueryResult | QueryResult[] = await client.query(run.join(';\n'));
    // pg answers one statement with a result, several with an array of them
    return (Array.isArray(results) ? results : [results]).map((result) => result.rows);
  } catch (error) {
    // as pg's own pool.query does: a connection that failed a query is not handed out again
    failed = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(failed);
  }
}

/** The statements each pooled connection has prepared; a connection that is closed takes its set with it. */
const preparedOn = new WeakMap<PoolClient, Set<string>>();

async function prepareOnce(client: PoolClient, statements: ScriptStatement[]): Promise<void> {
  const known = preparedOn.get(client) ?? new Set<string>();
  preparedOn.set(client, known);
  const missing = statements.filter((statement) => !known.has(statement.name));
  if (missing.length === 0) return;
  await client.query(missing.map((s) => `prepare ${s.name} (${s.params.join(', ')}) as ${s.text}`).join(';\n'));
  for (const statement of missing) known.add(statement.name);
}
