import type { EntityManager } from '@frontrow/db';
import { CONCERT_CROWD_COLUMNS, type ConcertCrowdColumns } from './crowd-rules.ts';

/** The queue figures of a concert, as the queue use cases read them. */
export type ConcertQueueRow = {
  id: string;
  max_active: number;
  active_count: number;
  active_ttl_seconds: number;
  admitted_through: string;
  admit_rate_per_minute: number | null;
  /** The admitter's pacing under `admit_per_minute` (admission.ts `paceAdmissions`). */
  admit_next_at: Date | string | null;
} & ConcertCrowdColumns;

/**
 * The concert's queue columns of concert alias `c` (all but `id`), for a select list: one list for every
 * reader of them (`readConcertQueue`, `queue.enter`, the token's status read in ticket.ts, the in-memory
 * admission state), so a column added here reaches all of them.
 */
export function concertQueueColumns(c: string): string {
  return `${c}.max_active, ${c}.active_count, ${c}.active_ttl_seconds, ${c}.admitted_through, ${c}.admit_rate_per_minute, ${c}.admit_next_at, ${CONCERT_CROWD_COLUMNS(c)}`;
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
