import type { EntityManager } from '@frontrow/db';

/** The queue figures of a concert, as the queue use cases read them. */
export type ConcertQueueRow = {
  id: string;
  max_active: number;
  active_count: number;
  active_ttl_seconds: number;
  admitted_through: string;
  admit_rate_per_minute: number | null;
};

/** The concert's queue figures, in the caller's transaction; null for an unknown concert. */
export async function readConcertQueue(em: EntityManager, concertId: string, options: { forUpdate?: boolean } = {}) {
  const rows = await em.execute<ConcertQueueRow[]>(
    `select id, max_active, active_count, active_ttl_seconds, admitted_through, admit_rate_per_minute
       from concert where id = ?${options.forUpdate ? ' for update' : ''}`,
    [concertId],
  );
  return rows[0] ?? null;
}
