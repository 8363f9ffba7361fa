import { tracked } from '@trpc/server';
import { z } from 'zod';
import {
  DomainError,
  QUEUE_TICKET_STATUSES,
  enterQueue,
  enterQueueInput,
  leaveQueue,
  toQueueTicket,
  watchTicket,
  QUEUE_EXPIRED_REASONS,
} from '@frontrow/core';
import type { Context } from '../context.ts';
import { ReasonedTRPCError } from '../errors.ts';
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

/**
 * `queue.watch` only: a browser `EventSource` cannot send headers, so the queue token may also come as
 * tRPC's `connectionParams` query parameter (`?connectionParams={"queueToken":"<token>"}`, what
 * `httpSubscriptionLink` sends with its `connectionParams` option). An `X-Queue-Token` header, when
 * present, wins.
 */
const tokenFromConnectionParams = publicProcedure.use(({ ctx, next }) => {
  if (ctx.queueToken || !ctx.req) return next();
  const queueToken = connectionParamsToken(ctx.req.url);
  return queueToken ? next({ ctx: { queueToken } }) : next();
});

function connectionParamsToken(url: string): string | undefined {
  const raw = new URL(url, 'http://localhost').searchParams.get('connectionParams');
  if (!raw) return undefined;
  const parsed = z.object({ queueToken: z.string().min(1).max(4096) }).safeParse(safeJson(raw));
  return parsed.success ? parsed.data.queueToken : undefined;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined; // not JSON: no token here, and the guard answers TOKEN_MISSING
  }
}

/**
 * The stream's place among the process's open streams. Thrown inside a subscription, a DomainError would
 * not pass the procedures' error mapping (which sees only the resolver's result): mapped here.
 */
function openStream(ctx: Context & { ticket: { tokenId: string } }, signal: AbortSignal | undefined) {
  try {
    return ctx.watches?.open(ctx.ticket.tokenId, signal);
  } catch (error) {
    if (error instanceof DomainError) throw new ReasonedTRPCError(error.reason, error.message, error);
    throw error;
  }
}

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
    const stream = openStream(ctx, signal);
    try {
      for await (const ticket of watchTicket(ctx, { token: ctx.token, ticket: ctx.ticket, signal: stream?.signal ?? signal })) {
        // the event id says what changed, so a reconnecting client's Last-Event-ID names the state it saw
        yield tracked(
          `${ticket.status}:${ticket.position ?? ''}:${ticket.activeUntil ?? ''}:${ticket.estimatedWaitSeconds ?? ''}:${ticket.paused ? 'p' : ''}${ticket.soldOut ? 's' : ''}`,
          ticket,
        );
      }
    } finally {
      stream?.close();
    }
  }),
});
