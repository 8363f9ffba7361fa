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

/**
 * The concert's queue columns: one list for every reader of them (`readConcertQueue`, the token's status
 * read in ticket.ts, the in-memory admission state), so a column added here reaches all three.
 */
export const CONCERT_QUEUE_COLUMNS = [
  'max_active',
  'active_count',
  'active_ttl_seconds',
  'admitted_through',
  'admit_rate_per_minute',
] as const;

/** The queue columns of concert alias `alias`, for a select list: `c.max_active, c.active_count, …`. */
export function concertQueueColumns(alias: string): string {
  return CONCERT_QUEUE_COLUMNS.map((column) => `${alias}.${column}`).join(', ');
}

/** The concert's queue figures, in the caller's transaction; null for an unknown concert. */
export async function readConcertQueue(em: EntityManager, concertId: string, options: { forUpdate?: boolean } = {}) {
  const rows = await em.execute<ConcertQueueRow[]>(
    `select c.id, ${concertQueueColumns('c')}
       from concert c where c.id = ?${options.forUpdate ? ' for update' : ''}`,
    [concertId],
  );
  return rows[0] ?? null;
}
