import { z } from 'zod';
import { Concert, type EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { type TicketState, assertTicketConcert } from '../queue/ticket.ts';
import { concertIdSchema } from '../queue/concert-id.ts';
import { SEAT_FREE_SQL, UPCOMING_SQL } from './hold-rules.ts';

export const listAvailableDatesInput = z.object({ concertId: concertIdSchema });

export type ListAvailableDatesInput = z.input<typeof listAvailableDatesInput>;
export type AvailableDate = { scheduleId: string; date: string; startsAt: string; availableSeats: number };

type DateRow = { schedule_id: string; date: string; starts_at: string; available_seats: string };

/**
 * The performances still to come with at least one seat free now, ascending. One aggregate query:
 * every admitted user asks this. The filters are booking's rules in SQL (`UPCOMING_SQL`, `SEAT_FREE_SQL`): a hold past its expiry counts
 * as free whether or not the worker has caught up (invariant 2).
 */
export async function listAvailableDates(
  deps: Pick<Deps, 'em' | 'clock'>,
  ticket: Pick<TicketState, 'concertId'>,
  raw: ListAvailableDatesInput,
): Promise<AvailableDate[]> {
  const input = listAvailableDatesInput.parse(raw);
  assertTicketConcert(ticket, input.concertId);
  const em = deps.em.fork();
  const now = deps.clock.now();
  const rows = await em.getConnection().execute<DateRow[]>(AVAILABLE_DATES_SQL, [now, input.concertId, now, now]);
  if (rows.length === 0) await assertConcertExists(em, input.concertId);
  return rows.map((row) => ({
    scheduleId: String(row.schedule_id),
    date: row.date,
    startsAt: row.starts_at,
    availableSeats: Number(row.available_seats),
  }));
}

const AVAILABLE_DATES_SQL = `select s.id as schedule_id, to_char(s.date, 'YYYY-MM-DD') as date,
            to_char(s.starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as starts_at,
            count(*) filter (where ${SEAT_FREE_SQL('seat', '?')}) as available_seats
       from schedule s join seat on seat.schedule_id = s.id
      where s.concert_id = ? and ${UPCOMING_SQL('s', '?')}
      group by s.id
     having count(*) filter (where ${SEAT_FREE_SQL('seat', '?')}) > 0
      order by s.date`;

export async function assertConcertExists(em: EntityManager, concertId: string): Promise<void> {
  if ((await em.count(Concert, { id: concertId })) === 0) throw new DomainError('CONCERT_NOT_FOUND', `no concert ${concertId}`);
}
