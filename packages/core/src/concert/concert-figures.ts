import type { EntityManager } from '@frontrow/db';
import { ADMITTED_TOKEN_SQL } from '../queue/crowd-rules.ts';

/** One concert's figures for `/metrics`: the line now, and totals since the concert began. */
export type ConcertFigures = {
  concertId: string;
  /** Tokens in line (WAITING). */
  waiting: number;
  /** Admitted tokens not past `activeUntil` at `now` (`isAdmittedToken`, as `queue status` counts them). */
  active: number;
  /** Tokens ever admitted. */
  admitted: number;
  /** Tokens that ended EXPIRED, whatever the reason. */
  expired: number;
  /** Tokens ended by the close of the sale (reason SALES_CLOSED). */
  closedOut: number;
  /** Admitted tokens never claimed in the arrival window (reason NO_SHOW). */
  noShows: number;
};

/** One concert's bookings: holds ever made, holds that expired unpaid, payments and the money they took. */
export type BookingFigures = { concertId: string; holds: number; expiredHolds: number; payments: number; paid: number };

/** One concert's crowd flags: admission paused, sold out (as of the admitter's last round), sale closed. */
export type CrowdFlags = { concertId: string; paused: boolean; soldOut: boolean; salesClosed: boolean };

export type AllConcertFigures = { queue: ConcertFigures[]; bookings: BookingFigures[]; flags: CrowdFlags[] };

type QueueRow = {
  concert_id: string;
  waiting: string;
  active: string;
  admitted: string;
  expired: string;
  closed_out: string;
  no_shows: string;
};
type BookingRow = { concert_id: string; holds: string; expired: string; payments: string; paid: string };
type FlagRow = { concert_id: string; paused: boolean; sold_out: boolean; sales_closed: boolean };

/** The line of every concert, grouped in one read: a concert with no token has no row. */
const QUEUE_FIGURES_SQL = `select t.concert_id::text as concert_id,
        count(*) filter (where t.status = 'WAITING') as waiting,
        count(*) filter (where ${ADMITTED_TOKEN_SQL('t', '?')}) as active,
        count(*) filter (where t.activated_at is not null) as admitted,
        count(*) filter (where t.status = 'EXPIRED') as expired,
        count(*) filter (where t.expired_reason = 'SALES_CLOSED') as closed_out,
        count(*) filter (where t.expired_reason = 'NO_SHOW') as no_shows
   from queue_token t group by t.concert_id`;

const BOOKING_FIGURES_SQL = `select r.concert_id::text as concert_id,
        count(*) as holds,
        count(*) filter (where r.status = 'EXPIRED') as expired,
        count(p.id) as payments,
        coalesce(sum(p.amount), 0) as paid
   from reservation r left join payment p on p.reservation_id = r.id
  group by r.concert_id`;

const CROWD_FLAGS_SQL = 'select id::text as concert_id, paused, sold_out, sales_closed_at is not null as sales_closed from concert';

/**
 * Every concert's figures at `now` (the `Clock`'s, as every rule is judged): three grouped reads, sent
 * together, whatever the number of concerts. The API's `/metrics` shows them; a lapsed ACTIVE token
 * counts as no longer active here exactly as `queueStats` and the guards judge it.
 */
export async function readConcertFigures(em: EntityManager, now: Date): Promise<AllConcertFigures> {
  const connection = em.getConnection();
  const [queueRows, bookingRows, flagRows] = await Promise.all([
    connection.execute<QueueRow[]>(QUEUE_FIGURES_SQL, [now]),
    connection.execute<BookingRow[]>(BOOKING_FIGURES_SQL),
    connection.execute<FlagRow[]>(CROWD_FLAGS_SQL),
  ]);
  return {
    queue: queueRows.map((row) => ({
      concertId: row.concert_id,
      waiting: Number(row.waiting),
      active: Number(row.active),
      admitted: Number(row.admitted),
      expired: Number(row.expired),
      closedOut: Number(row.closed_out),
      noShows: Number(row.no_shows),
    })),
    bookings: bookingRows.map((row) => ({
      concertId: row.concert_id,
      holds: Number(row.holds),
      expiredHolds: Number(row.expired),
      payments: Number(row.payments),
      paid: Number(row.paid),
    })),
    flags: flagRows.map((row) => ({ concertId: row.concert_id, paused: row.paused, soldOut: row.sold_out, salesClosed: row.sales_closed })),
  };
}
