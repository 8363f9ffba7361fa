import { tracked } from '@trpc/server';
import { z } from 'zod';
import {
  QUEUE_TICKET_STATUSES,
  enterQueue,
  enterQueueInput,
  leaveQueue,
  toQueueTicket,
  watchTicket,
  QUEUE_EXPIRED_REASONS,
} from '@frontrow/core';
import { openStream, watchEventId, watchQueueToken } from '../guards.ts';
import { identifiedProcedure, ownTicketProcedure, publicProcedure, router, ticketProcedure } from '../trpc.ts';

/** API.md's `QueueTicket`. */
const queueTicket = z.object({
  token: z.string(),
  userId: z.string(),
  concertId: z.string(),
  status: z.enum(QUEUE_TICKET_STATUSES),
  position: z.number().int().positive().nullable(),
  estimatedWaitSeconds: z.number().int().nonnegative().nullable(),
  activeUntil: z.string().nullable(),
  paused: z.boolean(),
  soldOut: z.boolean(),
  expiredReason: z.enum(QUEUE_EXPIRED_REASONS).nullable(),
  salesOpenAt: z.string().nullable(),
});

/** What the caller sends to `queue.enter`: the concert; the user is the signed-in one. */
const enterInput = enterQueueInput.omit({ userId: true });

/** `queue.watch` only: the queue token may also come as tRPC's `connectionParams` (guards.ts, `watchQueueToken`). */
const tokenFromConnectionParams = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.req) return next();
  const queueToken = watchQueueToken(ctx.queueToken, ctx.req.url);
  return queueToken ? next({ ctx: { queueToken } }) : next();
});

export const queueRouter = router({
  // the signed-in user's place: a live token is only ever handed to its owner
  enter: identifiedProcedure
    .input(enterInput)
    .output(queueTicket)
    .mutation(({ ctx, input }) => enterQueue(ctx, { ...input, userId: ctx.user.userId })),
  /** The hot path of a flash crowd: the guard's answer (from memory for a WAITING token, else one primary-key read) is the whole answer. */
  status: ticketProcedure.output(queueTicket).query(({ ctx }) => toQueueTicket(ctx.token, ctx.ticket)),
  leave: ownTicketProcedure.output(queueTicket).mutation(({ ctx }) => leaveQueue(ctx, { token: ctx.token, ticket: ctx.ticket })),
  watch: tokenFromConnectionParams.concat(ticketProcedure).subscription(async function* ({ ctx, signal }) {
    // one live stream per token (a new one ends this one), at most WATCH_MAX_STREAMS per process
    const stream = openStream(ctx.watches, ctx.ticket.tokenId, signal);
    try {
      for await (const ticket of watchTicket(ctx, { token: ctx.token, ticket: ctx.ticket, signal: stream?.signal ?? signal })) {
        yield tracked(watchEventId(ticket), ticket);
      }
    } finally {
      stream?.close();
    }
  }),
});
