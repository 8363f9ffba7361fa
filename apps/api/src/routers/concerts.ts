import { z } from 'zod';
import { listAvailableDates, listAvailableDatesInput, listConcerts, listSeats, listSeatsInput, SEAT_STATUSES } from '@frontrow/core';
import { admittedProcedure, publicProcedure, router } from '../trpc.ts';

const concertSummary = z.object({ id: z.string(), title: z.string(), venue: z.string(), dates: z.array(z.string()) });
const availableDate = z.object({ scheduleId: z.string(), date: z.string(), startsAt: z.string(), availableSeats: z.number().int() });
const seatMap = z.object({
  scheduleId: z.string(),
  date: z.string(),
  seats: z.array(z.object({ number: z.number().int(), price: z.number().int(), status: z.enum(SEAT_STATUSES) })),
});

export const concertsRouter = router({
  list: publicProcedure.output(z.array(concertSummary)).query(({ ctx }) => listConcerts(ctx)),
  availableDates: admittedProcedure
    .input(listAvailableDatesInput)
    .output(z.array(availableDate))
    .query(({ ctx, input }) => listAvailableDates(ctx, ctx.ticket, input)),
  seats: admittedProcedure
    .input(listSeatsInput)
    .output(seatMap)
    .query(({ ctx, input }) => listSeats(ctx, ctx.ticket, input)),
});
