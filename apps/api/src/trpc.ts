import { type ProcedureType, type TRPCError, getTRPCErrorShape, initTRPC } from '@trpc/server';
import { ZodError, type ZodType, z } from 'zod';
import type { Identity } from '@frontrow/core';
import { DomainError, type TicketState, type TokenClaims, assertAdmitted, issueMessage, readTicketState } from '@frontrow/core/edge';
import type { Context } from './context.ts';
import { BEARER, ReasonedTRPCError, fail, reasonOf } from './errors.ts';
import { currentTicket, knownTicket, reasonedError, verifiedQueueToken } from './guards.ts';

// zod's own messages for issues a schema words no message of its own: short sentences, no patterns
z.config({ customError: issueMessage });

type Issue = { path: string[]; message: string };

const t = initTRPC.context<Context>().create({
  // a comment line every 15 s keeps an idle `queue.watch` stream from being cut by proxies
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
  errorFormatter({ shape, error, type, path }) {
    const reason = reasonOf(error);
    const issues = issuesOf(error);
    // only a server fault is hidden; the transport's refusals are worded for the client
    const internal = reason === undefined && shape.data.httpStatus >= 500;
    const message = internal
      ? 'internal server error'
      : issues
        ? issuesSentence(issues)
        : (transportMessage(error, type, path) ?? shape.message);
    return {
      message,
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

/** Where input went wrong: zod's issues, or one issue for a body that is not JSON at all. */
function issuesOf(error: TRPCError): Issue[] | undefined {
  if (error.cause instanceof ZodError) return error.cause.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
  // tRPC's JSON.parse of the body or of ?input= failed
  if (error.code === 'PARSE_ERROR' || error.cause instanceof SyntaxError) return [{ path: [], message: 'the input is not valid JSON' }];
  return undefined;
}

/** The first issue as a sentence ("amount: expected a number ≥ 1"); the rest are in `data.issues`. */
function issuesSentence(issues: Issue[]): string {
  const [first] = issues;
  if (!first) return 'invalid input';
  const where = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more in data.issues)` : '';
  return `${where}${first.message}${more}`;
}

/** tRPC's own refusals of a request, said so that a curl user knows what to change. */
function transportMessage(error: TRPCError, type: ProcedureType | 'unknown', path: string | undefined): string | undefined {
  if (error instanceof ReasonedTRPCError || error.cause instanceof DomainError) return undefined;
  switch (error.code) {
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'send content-type: application/json';
    case 'NOT_FOUND':
      return `no procedure named "${path ?? ''}" (see API.md, Procedures)`;
    case 'METHOD_NOT_SUPPORTED':
      return type === 'mutation'
        ? `${path ?? 'this procedure'} is a mutation: use POST with a JSON body`
        : `${path ?? 'this procedure'} is a ${type === 'subscription' ? 'subscription' : 'query'}: use GET (input in ?input=)`;
    case 'PAYLOAD_TOO_LARGE':
      return 'the request body is too large';
    default:
      return undefined;
  }
}

export const router = t.router;

/** A subscription's error as every procedure's error is shaped (the formatter above): a stream's `serialized-error`. */
export function subscriptionErrorShape(error: TRPCError, path: string | undefined) {
  return getTRPCErrorShape({ config: t._config, error, type: 'subscription', path, input: undefined, ctx: undefined });
}
export const createCallerFactory = t.createCallerFactory;

/** Turns a DomainError (or a ZodError from a use case) into the tRPC error of its reason. */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    // a use case's reason, or a read outside inTransaction (a list, the token guard) meeting a down database: BUSY/503, not a 500
    const reasoned = reasonedError(cause);
    if (reasoned) throw reasoned;
    if (cause instanceof ZodError && result.error.code === 'INTERNAL_SERVER_ERROR') {
      throw new ReasonedTRPCError('VALIDATION', 'invalid input', cause);
    }
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapDomainErrors);

/**
 * Who is calling (docs/API.md, "Identity"): a verified identity token in `Authorization: Bearer <token>`.
 * Every procedure that acts for a user starts here, so the user is always the signed-in one and never
 * an id from the input.
 */
export const identifiedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.authorization) fail('AUTH_MISSING', 'sign in: send your identity token as "Authorization: Bearer <token>"');
  const token = BEARER.exec(ctx.authorization)?.[1];
  if (!token) fail('AUTH_INVALID', 'the Authorization header is not "Bearer <identity token>"');
  // verified tokens are cached until they expire: a poll or a hold storm pays no signature check per call
  const user = await ctx.identities.verify(token);
  if (!user) fail('AUTH_INVALID', 'the identity token is forged, expired, or not for this service');
  return next({ ctx: { user } });
});

/**
 * An operator: a verified identity token carrying the operator role (OPERATIONS.md, "The operator
 * credential"; `frontrow auth token --operator` in development). For the `operator.*` procedures.
 */
export const operatorProcedure = identifiedProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user.operator) fail('NOT_OPERATOR', "this needs an operator's sign-in (a token with the operator role)");
  return next();
});

/** A queue token whose signature holds, whoever sends it: for reading one's own place (status, watch). */
const signedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  // tRPC merges what a middleware adds into the context: no copy of the rest here
  return next({ ctx: await verifiedQueueToken(ctx) });
});

/**
 * The signed-in user's own queue token: the identity first (AUTH_*), then the queue token's signature
 * (TOKEN_*), then that both name one user (TOKEN_NOT_YOURS), all before any query.
 */
const ownSignedProcedure = identifiedProcedure.use(async ({ ctx, next }) => {
  const signed = await verifiedQueueToken(ctx);
  if (signed.claims.userId !== ctx.user.userId) fail('TOKEN_NOT_YOURS', 'this queue token belongs to another user');
  return next({ ctx: signed });
});

type SignedContext = Context & { token: string; claims: TokenClaims; user: Identity };

/**
 * Any valid token, whatever its status, sent by anyone: for `queue.status` and `queue.watch`. A WAITING
 * token is answered from the process's in-memory admission state (no query; when that state is stale,
 * after the one read of the concert every such call shares, or BUSY); any other reads its row.
 */
export const ticketProcedure = signedProcedure.use(async ({ ctx, next }) => {
  return next({ ctx: { ticket: await currentTicket(ctx, ctx.claims) } });
});

/**
 * `ticketProcedure`'s answer when it needs no query and no wait: a token whose signature holds and whose
 * state the memory answers at once (`waitingState`: what `freshWaitingState` answers without waiting);
 * null for every other case, a stale state included (tRPC's guard answers those, errors and the wait for
 * a fresh read included). For the plain `queue.status` route (`waiting-status.ts`).
 */
export async function memoryTicket(ctx: Pick<Context, 'admissions' | 'clock' | 'tokens'>, token: string): Promise<TicketState | null> {
  if (!ctx.admissions) return null;
  const claims = await ctx.tokens.verify(token);
  return claims ? ctx.admissions.waitingState(claims, ctx.clock.now()) : null;
}

/** The caller's own token, whatever its status: for `queue.leave`. */
export const ownTicketProcedure = ownSignedProcedure.use(async ({ ctx, next }) => {
  const ticket = knownTicket(await readTicketState(ctx.em, ctx.claims, ctx.clock.now()));
  return next({ ctx: { ticket } });
});

/**
 * The caller's own token whose signature holds, for a use case that reads the token itself in its own transaction
 * (`payments.pay` locks it with the reservation): the guard reads nothing for input `schema` accepts.
 * Input it refuses is answered as everywhere else: an unknown token is TOKEN_INVALID before VALIDATION.
 */
export function signedProcedureReadingInUseCase(schema: ZodType) {
  return ownSignedProcedure.use(async ({ ctx, next, getRawInput }) => {
    if (!schema.safeParse(await getRawInput()).success) knownTicket(await readTicketState(ctx.em, ctx.claims, ctx.clock.now()));
    return next();
  });
}

/**
 * How an admitted procedure reads its caller's token (by the verified claims): the token's state, and
 * whatever else the procedure needs in the same round trip, from the raw input (not validated yet).
 */
type CallerRead<Extra extends object> = (ctx: SignedContext, rawInput: unknown) => Promise<{ ticket: TicketState | null } & Extra>;

/**
 * Where invariant 4 holds at the edge: only an ACTIVE token (admitted and not lapsed) passes, before the
 * input is validated. `read`'s extra answers join the context; `reservations.hold` reads a taken seat with
 * the token, so a refusal in a sold-out storm costs one round trip.
 */
export function admittedProcedureReading<Extra extends object>(read: CallerRead<Extra>) {
  return ownSignedProcedure.use(async ({ ctx, next, getRawInput }) => {
    const { ticket, ...extra } = await read(ctx, await getRawInput());
    const admitted = knownTicket(ticket);
    assertAdmitted(admitted);
    return next({ ctx: { ...extra, ticket: admitted } });
  });
}

/** An ACTIVE token, read alone: for dates, seats and cancel. */
export const admittedProcedure = admittedProcedureReading(async (ctx) => ({
  ticket: await readTicketState(ctx.em, ctx.claims, ctx.clock.now()),
}));
