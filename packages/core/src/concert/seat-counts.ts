import { Schedule, Seat, type SeatStatus } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { concertIdSchema } from '../queue/concert-id.ts';
import { seatStatusAt } from '../booking/hold-rules.ts';
import { readConcertQueue } from '../queue/concert-queue.ts';

export type SeatCounts = Record<SeatStatus, number>;

/**
 * How many seats of a concert (all its dates) are available, held and sold now, for the operators'
 * console. A lapsed hold counts as available, by booking's rule (`seatStatusAt`), as `concerts.seats` shows it.
 */
export async function concertSeatCounts(deps: Pick<Deps, 'em' | 'clock'>, raw: { concertId: string }): Promise<SeatCounts> {
  const concertId = concertIdSchema.parse(raw.concertId);
  const em = deps.em.fork();
  if (!(await readConcertQueue(em, concertId))) throw new DomainError('CONCERT_NOT_FOUND', `concert ${concertId} does not exist`);
  const schedules = await em.find(Schedule, { concert: concertId });
  const seats = await em.find(Seat, { schedule: { $in: schedules.map((s) => s.id) } });
  const now = deps.clock.now();
  const counts: SeatCounts = { AVAILABLE: 0, HELD: 0, RESERVED: 0 };
  for (const seat of seats) counts[seatStatusAt(seat, now)]++;
  return counts;
}
