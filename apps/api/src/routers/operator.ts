import { z } from 'zod';
import { concertIdSchema, concertSeatCounts, configureQueue, configureQueueInput, listConcerts, queueStats } from '@frontrow/core';
import { operatorProcedure, router } from '../trpc.ts';

const concertInput = z.object({ concertId: concertIdSchema });
const count = z.number().int().nonnegative();

/** API.md's `operator.stats`: `frontrow queue status`'s figures and the seats now. */
const operatorStats = z.object({
  concertId: z.string(),
  waiting: count,
  active: count,
  maxActive: count,
  activeTtlSeconds: count,
  admittedLastMinute: count,
  admitRatePerMinute: z.number().nonnegative().nullable(),
  admittedThrough: count,
  seats: z.object({ available: count, held: count, sold: count }),
  at: z.string(),
});

/**
 * The operators' console (`/console`): a concert's live figures and its queue controls, behind the operator
 * role. The figures are `frontrow queue status`'s (core's `queueStats`) and the seats' states now.
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
  /** Capacity and admission time (core's `configureQueue`, as `frontrow queue config`). */
  configure: operatorProcedure
    .input(configureQueueInput)
    .output(z.object({ concertId: z.string(), maxActive: z.number(), activeTtlSeconds: z.number() }))
    .mutation(({ ctx, input }) => configureQueue(ctx, input)),
});
