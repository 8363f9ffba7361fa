import { z } from 'zod';
import {
  closeSales,
  concertIdSchema,
  concertSeatCounts,
  configureQueue,
  configureQueueInput,
  listConcerts,
  pauseQueue,
  queueStats,
  resumeQueue,
} from '@frontrow/core';
import { operatorProcedure, router } from '../trpc.ts';

const concertInput = z.object({ concertId: concertIdSchema });
const count = z.number().int().nonnegative();

/** API.md's `operator.stats`: `frontrow queue status`'s figures (the crowd's too) and the seats now. */
const operatorStats = z.object({
  concertId: z.string(),
  waiting: count,
  active: count,
  maxActive: count,
  activeTtlSeconds: count,
  admittedLastMinute: count,
  admitRatePerMinute: z.number().nonnegative().nullable(),
  admittedThrough: count,
  preQueue: count,
  salesOpenAt: z.string().nullable(),
  openedAt: z.string().nullable(),
  arrivalSeconds: count,
  noShowsLastMinute: count,
  admitPerMinute: count.nullable(),
  paused: z.boolean(),
  salesClosedAt: z.string().nullable(),
  soldOut: z.boolean(),
  seats: z.object({ available: count, held: count, sold: count }),
  at: z.string(),
});

const queueConfig = z.object({
  concertId: z.string(),
  maxActive: count,
  activeTtlSeconds: count,
  admitPerMinute: count.nullable(),
  arrivalSeconds: count,
  salesOpenAt: z.string().nullable(),
});
const pauseState = z.object({ concertId: z.string(), paused: z.boolean() });

/**
 * The operators' console (`/console`): a concert's live figures and its queue controls, behind the operator
 * role. The figures are `frontrow queue status`'s (core's `queueStats`) and the seats' states now; the
 * controls are the CLI's (`frontrow queue config|pause|resume`, `frontrow concert close`), each core's use case.
 */
export const operatorRouter = router({
  concerts: operatorProcedure
    .output(z.array(z.object({ id: z.string(), title: z.string(), venue: z.string(), dates: z.array(z.string()) })))
    .query(({ ctx }) => listConcerts(ctx)),
  stats: operatorProcedure
    .input(concertInput)
    .output(operatorStats)
    .query(async ({ ctx, input }) => {
      const [queue, seats] = await Promise.all([queueStats(ctx, input), concertSeatCounts(ctx, input)]);
      return { ...queue, seats: { available: seats.AVAILABLE, held: seats.HELD, sold: seats.RESERVED }, at: ctx.clock.now().toISOString() };
    }),
  /** Capacity, admission time, admission cap, arrival window, opening (core's `configureQueue`, as `frontrow queue config`). */
  configure: operatorProcedure
    .input(configureQueueInput)
    .output(queueConfig)
    .mutation(({ ctx, input }) => configureQueue(ctx, input)),
  /** Admission stops until `resume` (core's `pauseQueue`, as `frontrow queue pause`). */
  pause: operatorProcedure
    .input(concertInput)
    .output(pauseState)
    .mutation(({ ctx, input }) => pauseQueue(ctx, input)),
  /** Admission goes on at once (core's `resumeQueue`, as `frontrow queue resume`). */
  resume: operatorProcedure
    .input(concertInput)
    .output(pauseState)
    .mutation(({ ctx, input }) => resumeQueue(ctx, input)),
  /** The sale ends; everyone waiting is let go with SALES_CLOSED (core's `closeSales`, as `frontrow concert close`). */
  closeSales: operatorProcedure
    .input(concertInput)
    .output(z.object({ concertId: z.string(), salesClosedAt: z.string(), expired: count }))
    .mutation(({ ctx, input }) => closeSales(ctx, input)),
});
