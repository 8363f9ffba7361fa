import { concertsRouter } from './routers/concerts.ts';
import { router } from './trpc.ts';

/** The whole wire contract of API.md, one router per domain. */
export const appRouter = router({
  concerts: concertsRouter,
});

export type AppRouter = typeof appRouter;
