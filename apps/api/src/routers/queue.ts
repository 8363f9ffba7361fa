import { tracked } from '@trpc/server';
import { z } from 'zod';
import { enterQueue, enterQueueInput, leaveQueue, toQueueTicket, watchTicket } from '@frontrow/core';
import { QUEUE_TOKEN_STATUSES } from '@frontrow/db';
import { publicProcedure, router, ticketProcedure } from '../trpc.ts';

/** API.md's `QueueTicket`. */
const queueTicket = z.object({
  token: z.string(),
  userId: z.string(),
  concertId: z.string(),
  status: z.enum(QUEUE_TOKEN_STATUSES),
  position: z.number().int().positive().nullable(),
  estimatedWaitSeconds: z.number().int().nonnegative().nullable(),
  activeUntil: z.string().nullable(),
});

/**
 * `queue.watch` only: a browser `EventSource` cannot send headers, so the token may also come as tRPC's
 * `connectionParams` query parameter (`?connectionParams={"token":"<token>"}`, what `httpSubscriptionLink`
 * sends with its `connectionParams` option). An `Authorization` header, when present, wins.
 */
const tokenFromConnectionParams = publicProcedure.use(({ ctx, next }) => {
  if (ctx.authorization || !ctx.req) return next();
  const token = connectionParamsToken(ctx.req.url);
  return token ? next({ ctx: { authorization: `Bearer ${token}` } }) : next();
});

function connectionParamsToken(url: string): string | undefined {
  const raw = new URL(url, 'http://localhost').searchParams.get('connectionParams');
  if (!raw) return undefined;
  const parsed = z.object({ token: z.string().min(1) }).safeParse(safeJson(raw));
  return parsed.success ? parsed.data.token : undefined;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined; // not JSON: no token here, and the guard answers TOKEN_MISSING
  }
}

export const queueRouter = router({
  enter: publicProcedure
    .input(enterQueueInput)
    .output(queueTicket)
    .mutation(({ ctx, input }) => enterQueue(ctx, input)),
  /** The hot path of a flash crowd: the guard's one primary-key read is the whole answer. */
  status: ticketProcedure.output(queueTicket).query(({ ctx }) => toQueueTicket(ctx.token, ctx.ticket)),
  leave: ticketProcedure.output(queueTicket).mutation(({ ctx }) => leaveQueue(ctx, { token: ctx.token, ticket: ctx.ticket })),
  watch: tokenFromConnectionParams.concat(ticketProcedure).subscription(async function* ({ ctx, signal }) {
    for await (const ticket of watchTicket(ctx, { token: ctx.token, ticket: ctx.ticket, signal })) {
      // the event id says what changed, so a reconnecting client's Last-Event-ID names the state it saw
      yield tracked(`${ticket.status}:${ticket.position ?? ''}:${ticket.activeUntil ?? ''}:${ticket.estimatedWaitSeconds ?? ''}`, ticket);
    }
  }),
});
