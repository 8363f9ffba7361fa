import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { concertIdSchema } from './concert-id.ts';
import { readConcertQueue } from './concert-queue.ts';
import { ADMITTED_TOKEN_SQL, isPreQueue } from './crowd-rules.ts';

export type QueueStats = {
  concertId: string;
  /** Tokens in line. */
  waiting: number;
  /** Admitted tokens not past `activeUntil` (a lapsed one no longer counts, whether or not the admitter ran). */
  active: number;
  maxActive: number;
  activeTtlSeconds: number;
  /** Admissions in the last minute, counted. */
  admittedLastMinute: number;
  /** The admitter's measured rate over its window, behind `estimatedWaitSeconds`; null until measured. */
  admitRatePerMinute: number | null;
  admittedThrough: number;
  /** Users waiting in the pre-queue for the opening (0 once it opened, or with no pre-queue). */
  preQueue: number;
  /** When the sale opens (pre-queue), or null. */
  salesOpenAt: string | null;
  /** When the opening shuffle ran, or null. */
  openedAt: string | null;
  /** Seconds an admitted user has to show up. */
  arrivalSeconds: number;
  /** Admitted users whose arrival window ran out in the last minute with no call: slots freed for the line. */
  noShowsLastMinute: number;
  /** The operator's cap on admissions a minute (`queue config --admit-per-minute`), or null. */
  admitPerMinute: number | null;
  /** Admission paused by the operator. */
  paused: boolean;
  /** When the sale closed, or null while open. */
  salesClosedAt: string | null;
  /** No seat of a future date AVAILABLE or HELD, as of the admitter's last round. */
  soldOut: boolean;
};

/** The waiting room of one concert at a glance, for operators (`frontrow queue status`). */
export async function queueStats(deps: Pick<Deps, 'em' | 'clock'>, raw: { concertId: string }): Promise<QueueStats> {
  const concertId = concertIdSchema.parse(raw.concertId);
  const em = deps.em.fork();
  const concert = await readConcertQueue(em, concertId);
  if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `concert ${concertId} does not exist`);
  const now = deps.clock.now();
  const arrival = concert.arrival_seconds * 1000;
  const [row] = await em.execute<{ waiting: string; active: string; admitted_last_minute: string; no_shows: string }[]>(
    `select (select count(*) from queue_token where concert_id = ? and status = 'WAITING') as waiting,
            (select count(*) from queue_token t where t.concert_id = ? and ${ADMITTED_TOKEN_SQL('t', '?')}) as active,
            (select count(*) from queue_token where concert_id = ? and activated_at > ?) as admitted_last_minute,
            (select count(*) from queue_token where concert_id = ? and expired_reason = 'NO_SHOW' and activated_at > ? and activated_at <= ?) as no_shows`,
    [
      concertId,
      concertId,
      now,
      concertId,
      new Date(now.getTime() - 60_000),
      concertId,
      new Date(now.getTime() - 60_000 - arrival),
      new Date(now.getTime() - arrival),
    ],
  );
  return {
    concertId,
    waiting: Number(row?.waiting ?? 0),
    active: Number(row?.active ?? 0),
    maxActive: concert.max_active,
    activeTtlSeconds: concert.active_ttl_seconds,
    admittedLastMinute: Number(row?.admitted_last_minute ?? 0),
    admitRatePerMinute: concert.admit_rate_per_minute,
    admittedThrough: Number(concert.admitted_through),
    preQueue: isPreQueue(concert) ? Number(row?.waiting ?? 0) : 0,
    salesOpenAt: concert.sales_open_at === null ? null : new Date(concert.sales_open_at).toISOString(),
    openedAt: concert.opened_at === null ? null : new Date(concert.opened_at).toISOString(),
    arrivalSeconds: concert.arrival_seconds,
    noShowsLastMinute: Number(row?.no_shows ?? 0),
    admitPerMinute: concert.admit_per_minute,
    paused: concert.paused,
    salesClosedAt: concert.sales_closed_at === null ? null : new Date(concert.sales_closed_at).toISOString(),
    soldOut: concert.sold_out,
  };
}
