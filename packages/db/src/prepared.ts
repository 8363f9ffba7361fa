import type { QueryResultRow } from 'pg';
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
  const pool = await em.getConnection().getNativeClient();
  return (await pool.query<T>({ name, text, values })).rows;
}
