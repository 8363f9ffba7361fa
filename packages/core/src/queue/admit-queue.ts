import type { Deps } from '../deps.ts';
import { inTransaction } from '../unit-of-work.ts';
import { ADMIT_RATE_WINDOW_SECONDS, admitRatePerMinute, nextAdmittedThrough, paceAdmissions, slotsToAdmit } from './admission.ts';
import { readConcertQueue } from './concert-queue.ts';
import { type AdmissionHalt, LAPSED_TOKEN_SQL, NO_SHOW_SQL, SOLD_OUT_SQL, admissionHalt, isOpeningDue } from './crowd-rules.ts';
import { type Opening, openSales } from './open-sales.ts';

export type AdmitQueueInput = { concertId: string };

/** What one admission round did; null ids of unknown concerts make a round that does nothing. */
export type AdmissionRound = {
  concertId: string;
  /** ACTIVE tokens past `activeUntil`, now EXPIRED. */
  expired: number;
  /** ACTIVE tokens never claimed within the arrival window, now EXPIRED with reason NO_SHOW. */
  noShows: number;
  /** Tickets promoted from WAITING to ACTIVE in this round, in ticket order. */
  admittedTickets: number[];
  /** ACTIVE tokens after the round: never above `maxActive`. */
  active: number;
  /** The highest ticket admitted before this round: every ticket this round admits is above it (FIFO). */
  previousAdmittedThrough: number;
  admittedThrough: number;
  admitRatePerMinute: number | null;
  /** Why this round admitted nobody into free places (paused, closed, sold out), or null. */
  halted: AdmissionHalt | null;
  soldOut: boolean;
  /** The fair opening this round ran (the pre-queue's random order and its seed), or null. */
  opening: Opening | null;
};

/**
 * One admission round of a concert (the worker's `queue.admit` job): expires lapsed ACTIVE tokens, finds
 * whether the concert is sold out, then, unless admission is halted (paused, sales closed, sold out:
 * crowd-rules.ts `admissionHalt`), promotes the oldest WAITING tokens, in ticket order, into the free ACTIVE places, raises `admittedThrough`
 * and records the admission rate of the last minute and the ACTIVE count it ends with (both behind
 * `estimatedWaitSeconds`). Idempotent: a second round right after changes nothing.
 *
 * Rounds of one concert are serialised across every worker by a transaction-scoped advisory lock on the
 * concert id, so two workers never both see the same free places. `queue.enter` holds the same lock shared
 * while it draws a ticket, so a round never promotes past a ticket that is drawn but not yet committed.
 */
export async function admitQueue(deps: Deps, input: AdmitQueueInput): Promise<AdmissionRound | null> {
  return await inTransaction(deps.em, async (em) => {
    await em.execute('select pg_advisory_xact_lock(?::bigint)', [input.concertId]);
    const found = await readConcertQueue(em, input.concertId);
    if (!found) return null;
    const now = deps.clock.now();
    // the opening of a pre-queued sale comes first, once: the line it makes is admitted by this very round
    const opening = isOpeningDue(found, now) ? await openSales(em, input.concertId, now) : null;
    const concert = opening ? { ...found, opened_at: now } : found;

    const expired = await em.execute<{ id: string }[]>(
      `update queue_token set status = 'EXPIRED', version = version + 1
        where concert_id = ? and ${LAPSED_TOKEN_SQL('queue_token', '?')}
        returning id`,
      [input.concertId, now],
    );
    // admitted users who never showed up within the arrival window free their slots for the next in line
    const noShows = await em.execute<{ id: string }[]>(
      `update queue_token t set status = 'EXPIRED', expired_reason = 'NO_SHOW', version = t.version + 1
         from concert c
        where c.id = t.concert_id and t.concert_id = ? and ${NO_SHOW_SQL('t', 'c', '?::timestamptz')}
        returning t.id`,
      [input.concertId, now],
    );
    const [counted] = await em.execute<{ active: string }[]>(
      `select count(*) as active from queue_token where concert_id = ? and status = 'ACTIVE'`,
      [input.concertId],
    );
    const activeBefore = Number(counted?.active ?? 0);
    // sold out is kept here, once a round, for the status read and `queue.enter` to read off the row:
    // a seat that comes back (a hold released or lapsed) clears it at the next round, and the line moves
    const [stock] = await em.execute<{ sold_out: boolean }[]>(`select ${SOLD_OUT_SQL('?', '?')} as sold_out`, [input.concertId, now]);
    const soldOut = stock?.sold_out === true;
    const halted = admissionHalt({ ...concert, sold_out: soldOut });
    const places = halted === null ? slotsToAdmit(concert.max_active, activeBefore) : 0;
    // under an admission cap, the pacing decides how many of the free places this round may fill
    let pacing: ReturnType<typeof paceAdmissions> | null = null;
    if (places > 0 && concert.admit_per_minute !== null) {
      const [inWindow] = await em.execute<{ n: string }[]>(
        `select count(*) as n from queue_token where concert_id = ? and activated_at > ?`,
        [input.concertId, new Date(now.getTime() - 60_000)],
      );
      pacing = paceAdmissions({
        admitPerMinute: concert.admit_per_minute,
        nextAt: concert.admit_next_at === null ? null : new Date(concert.admit_next_at),
        now,
        admittedInWindow: Number(inWindow?.n ?? 0),
      });
    }
    const free = pacing === null ? places : Math.min(places, pacing.allowed);

    // A token a concurrent leave is cancelling waits for that leave, then drops out of the round (its
    // status no longer matches): the round admits fewer, never more, and the leave's nudge runs another.
    // The pick is a MATERIALIZED CTE, run once: as a subquery on the inner side of a nested loop, its
    // LIMIT applied per outer row and skipped rows this statement had updated, admitting the whole line.
    const admitted =
      free === 0
        ? []
        : await em.execute<{ ticket: string }[]>(
            `with next as materialized (
               select id from queue_token
                where concert_id = ? and status = 'WAITING'
                order by ticket limit ? for update
             )
             update queue_token t
                set status = 'ACTIVE', activated_at = ?, active_until = ?, version = t.version + 1
               from next
              where t.id = next.id and t.status = 'WAITING'
              returning t.ticket`,
            [input.concertId, free, now, new Date(now.getTime() + concert.active_ttl_seconds * 1000)],
          );
    const admittedTickets = admitted.map((row) => Number(row.ticket)).sort((a, b) => a - b);

    // the window's admissions by round (a round stamps its admissions with one `activated_at`): its second
    // round and the count after it, from the (concert_id, activated_at) index
    const since = new Date(now.getTime() - ADMIT_RATE_WINDOW_SECONDS * 1000);
    const [window] = await em.execute<{ from_at: Date | null; after: string }[]>(
      `with w as (select activated_at from queue_token where concert_id = ? and activated_at > ?),
            second as (select activated_at from w group by activated_at order by activated_at offset 1 limit 1)
       select (select activated_at from second) as from_at,
              (select count(*) from w where activated_at > (select activated_at from second)) as after`,
      [input.concertId, since],
    );
    const fromAt = window?.from_at ? new Date(window.from_at).getTime() : now.getTime();
    const rate = admitRatePerMinute(Number(window?.after ?? 0), (now.getTime() - fromAt) / 1000);
    const admittedThrough = nextAdmittedThrough(Number(concert.admitted_through), admittedTickets);
    if (pacing !== null && admittedTickets.length > 0) {
      await em.execute(`update concert set admit_next_at = ? where id = ?`, [pacing.nextAtAfter(admittedTickets.length), input.concertId]);
    }
    const active = activeBefore + admittedTickets.length;
    if (
      admittedThrough !== Number(concert.admitted_through) ||
      rate !== concert.admit_rate_per_minute ||
      active !== concert.active_count ||
      soldOut !== concert.sold_out
    ) {
      await em.execute(
        `update concert set admitted_through = greatest(admitted_through, ?), admit_rate_per_minute = ?, active_count = ?, sold_out = ? where id = ?`,
        [admittedThrough, rate, active, soldOut, input.concertId],
      );
    }
    return {
      concertId: String(concert.id),
      expired: expired.length,
      noShows: noShows.length,
      admittedTickets,
      active,
      previousAdmittedThrough: Number(concert.admitted_through),
      admittedThrough,
      admitRatePerMinute: rate,
      halted,
      soldOut,
      opening,
    };
  });
}
