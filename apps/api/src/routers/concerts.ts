import { z } from 'zod';
import { listConcerts } from '@frontrow/core';
import { publicProcedure, router } from '../trpc.ts';

const concertSummary = z.object({ id: z.string(), title: z.string(), venue: z.string(), dates: z.array(z.string()) });

export const concertsRouter = router({
  list: publicProcedure.output(z.array(concertSummary)).query(({ ctx }) => listConcerts(ctx)),
});
