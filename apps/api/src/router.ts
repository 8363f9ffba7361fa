import { authRouter } from './routers/auth.ts';
import { concertsRouter } from './routers/concerts.ts';
import { operatorRouter } from './routers/operator.ts';
import { paymentsRouter } from './routers/payments.ts';
import { queueRouter } from './routers/queue.ts';
import { reservationsRouter } from './routers/reservations.ts';
import { walletRouter } from './routers/wallet.ts';
import { router } from './trpc.ts';

/** The whole wire contract of API.md, one router per domain. */
export const appRouter = router({
  concerts: concertsRouter,
  queue: queueRouter,
  reservations: reservationsRouter,
  wallet: walletRouter,
  payments: paymentsRouter,
  auth: authRouter,
  operator: operatorRouter,
});

export type AppRouter = typeof appRouter;
