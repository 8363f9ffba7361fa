import { initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import { DomainError, assertAdmitted, isDatabaseUnavailable, readTicketState } from '@frontrow/core';
import type { Context } from './context.ts';
import { ReasonedTRPCError, fail, reasonOf } from './errors.ts';

const t = initTRPC.context<Context>().create({
  // a comment line every 15 s keeps an idle `queue.watch` stream from being cut by proxies
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
  errorFormatter({ shape, error }) {
    const reason = reasonOf(error);
    const issues =
      error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.map(String), message: i.message })) : undefined;
    // only a server fault is hidden; tRPC's own 4xx (an unknown procedure, a wrong method) keeps its message
    const internal = reason === undefined && shape.data.httpStatus >= 500;
    return {
      message: internal ? 'internal server error' : shape.message,
      code: shape.code,
      // no stack, whatever NODE_ENV says: 5xx details stay in the server log
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        ...(reason ? { reason } : {}),
        ...(issues ? { issues } : {}),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns a DomainError (or a ZodError from a use case) into the tRPC error of its reason. */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof DomainError) throw new ReasonedTRPCError(cause.reason, cause.message, cause);
    // a read outside inTransaction (a list, the token guard) meets a down database: BUSY/503, not a 500
    if (isDatabaseUnavailable(cause)) throw new ReasonedTRPCError('BUSY', 'the database is unavailable; retry shortly', cause);
    if (cause instanceof ZodError && result.error.code === 'INTERNAL_SERVER_ERROR') {
      throw new ReasonedTRPCError('VALIDATION', 'invalid input', cause);
    }
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapDomainErrors);

const BEARER = /^Bearer\s+(\S+)$/i;

/** Any valid token, whatever its status: for `queue.status`, `queue.watch`, `queue.leave`. */
export const ticketProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.authorization) fail('TOKEN_MISSING', 'send your queue token as "Authorization: Bearer <token>"');
  const token = BEARER.exec(ctx.authorization)?.[1];
  if (!token) fail('TOKEN_INVALID', 'the Authorization header is not "Bearer <token>"');
  // the signature is checked before any query: a forged token never reaches the database
  const claims = await ctx.tokens.verify(token);
  if (!claims) fail('TOKEN_INVALID', 'the queue token is forged, altered or malformed');
  const ticket = await readTicketState(ctx.em, claims, ctx.clock.now());
  if (!ticket) fail('TOKEN_INVALID', 'unknown queue token');
  return next({ ctx: { ...ctx, token, ticket } });
});

/** An ACTIVE token (admitted and not lapsed): for dates, seats, hold, cancel and pay. */
export const admittedProcedure = ticketProcedure.use(async ({ ctx, next }) => {
  assertAdmitted(ctx.ticket);
  return next({ ctx });
});
