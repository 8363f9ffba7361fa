import { z } from 'zod';
import { Concert, Schedule, Seat, ticketSequenceName } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../unit-of-work.ts';
import { CONCERT_TIME_ZONE, concertToday, isoDate, isoDateTime } from '../dates.ts';
import { wellFormedText } from '../text.ts';

export const SEATS_PER_SCHEDULE = 50;

export const createConcertInput = z.object({
  title: wellFormedText.trim().min(1).max(200),
  venue: wellFormedText.trim().min(1).max(200),
  dates: z
    .array(isoDate)
    .min(1)
    .max(366)
    .refine((dates) => new Set(dates).size === dates.length, 'dates must be distinct'),
  price: z.number().int().min(0).max(10_000_000).default(50_000),
  maxActive: z.number().int().min(1).max(1_000_000).optional(),
  activeTtlSeconds: z.number().int().min(1).max(86_400).optional(),
  /** Seconds an admitted user has to show up (default: QUEUE_ARRIVAL_SECONDS). */
  arrivalSeconds: z.number().int().min(1).max(86_400).optional(),
  /** When the sale opens: entries before it wait in a pre-queue and get a random order at the opening. */
  salesOpenAt: isoDateTime.optional(),
  /** Performances start at this UTC time of day; 10:00 UTC is 19:00 in Seoul. */
  startsAtUtc: z
    .string()
    .regex(/^\d{2}:\d{2}$/)
    .default('10:00'),
});

export type CreateConcertInput = z.input<typeof createConcertInput>;
export type CreatedConcert = { concertId: string; schedules: { scheduleId: string; date: string }[] };

/** The input schema on a given day: no performance before `today` (YYYY-MM-DD, see `concertToday`); today is fine. */
export function createConcertInputOn(today: string) {
  return createConcertInput.superRefine((input, ctx) => {
    input.dates.forEach((date, index) => {
      if (date < today)
        ctx.addIssue({
          code: 'custom',
          path: ['dates', index],
          message: `${date} is in the past (today is ${today} in ${CONCERT_TIME_ZONE})`,
        });
    });
  });
}

/** Creates a concert, one schedule per date with 50 seats at `price`, and its ticket sequence. Dates in the past are refused. */
export async function createConcert(deps: Deps, raw: CreateConcertInput): Promise<CreatedConcert> {
  const input = createConcertInputOn(concertToday(deps.clock.now())).parse(raw);
  return await inTransaction(deps.em, async (em) => {
    const concert = em.create(Concert, {
      title: input.title,
      venue: input.venue,
      maxActive: input.maxActive ?? deps.settings.defaultMaxActive,
      activeTtlSeconds: input.activeTtlSeconds ?? deps.settings.defaultActiveTtlSeconds,
      arrivalSeconds: input.arrivalSeconds ?? deps.settings.defaultArrivalSeconds,
      salesOpenAt: input.salesOpenAt === undefined ? null : new Date(input.salesOpenAt),
    });
    const schedules = [...input.dates].sort().map((date) => {
      const schedule = em.create(Schedule, { concert, date, startsAt: new Date(`${date}T${input.startsAtUtc}:00Z`) });
      for (let number = 1; number <= SEATS_PER_SCHEDULE; number++) {
        em.create(Seat, { schedule, number, price: input.price, status: 'AVAILABLE' });
      }
      return schedule;
    });
    await em.flush();
    await em.getConnection().execute(`create sequence ${ticketSequenceName(concert.id)} as bigint`, [], 'run', em.getTransactionContext());
    return { concertId: concert.id, schedules: schedules.map((s) => ({ scheduleId: s.id, date: s.date })) };
  });
}
