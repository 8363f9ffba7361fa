import { z } from 'zod';
import { Schedule, Seat, type SeatStatus } from '@frontrow/db';
import { isoDate } from '../dates.ts';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { type TicketState, assertTicketConcert } from '../queue/ticket.ts';
import { concertIdSchema } from '../queue/concert-id.ts';
import { seatStatusAt } from './hold-rules.ts';
import { assertConcertExists } from './list-available-dates.ts';

export const listSeatsInput = z.object({ concertId: concertIdSchema, date: isoDate });

export type ListSeatsInput = z.input<typeof listSeatsInput>;
export type SeatView = { number: number; price: number; status: SeatStatus };
export type SeatMap = { scheduleId: string; date: string; seats: SeatView[] };

/** All 50 seats of one performance, ascending, as they are now: a lapsed hold reads AVAILABLE (invariant 2). */
export async function listSeats(
  deps: Pick<Deps, 'em' | 'clock'>,
  ticket: Pick<TicketState, 'concertId'>,
  raw: ListSeatsInput,
): Promise<SeatMap> {
  const input = listSeatsInput.parse(raw);
  assertTicketConcert(ticket, input.concertId);
  const em = deps.em.fork();
  const schedule = await em.findOne(Schedule, { concert: input.concertId, date: input.date });
  if (!schedule) {
    await assertConcertExists(em, input.concertId);
    throw new DomainError('SCHEDULE_NOT_FOUND', `concert ${input.concertId} has no performance on ${input.date}`);
  }
  const seats = await em.find(Seat, { schedule }, { orderBy: { number: 'asc' } });
  const now = deps.clock.now();
  return {
    scheduleId: schedule.id,
    date: schedule.date,
    seats: seats.map((seat) => ({ number: seat.number, price: seat.price, status: seatStatusAt(seat, now) })),
  };
}
