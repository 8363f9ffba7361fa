/**
 * The queue token's guards as plain functions: tRPC's middlewares (trpc.ts) and the `queue.watch` streams
 * (watch-stream.ts `serveWatch`, in the API and in the streams process) call these, so a token is refused for the same
 * reasons, with the same words, wherever it is sent. Loads no ORM (`@frontrow/core/edge` only): the
 * streams process imports this.
 */
import { z } from 'zod';
import {
  type AdmissionMemory,
  type Clock,
  DomainError,
  type PreparedSource,
  type QueueTicket,
  type TicketState,
  type TokenClaims,
  type TokenSigner,
  type WatchHandle,
  type WatchRegistry,
  isDatabaseUnavailable,
  readTicketState,
} from '@frontrow/core/edge';
import { ReasonedTRPCError, fail } from './errors.ts';

/** The queue token's claims, checked by signature before any query: a forged token never reaches the database. */
export async function verifiedQueueToken(ctx: {
  queueToken: string | undefined;
  tokens: TokenSigner;
}): Promise<{ token: string; claims: TokenClaims }> {
  const token = ctx.queueToken;
  if (!token) fail('TOKEN_MISSING', 'send your queue token as "X-Queue-Token: <token>"');
  const claims = await ctx.tokens.verify(token);
  if (!claims) fail('TOKEN_INVALID', 'the queue token is forged, altered or malformed');
  return { token, claims };
}

export function knownTicket(ticket: TicketState | null): TicketState {
  if (!ticket) fail('TOKEN_INVALID', 'unknown queue token');
  return ticket;
}

/** Where a token's state is read: the process's admission state and, when it cannot answer, the database. */
export type TicketSource = { em: PreparedSource; clock: Clock; admissions?: AdmissionMemory | undefined };

/**
 * A valid token's state, whatever its status: a WAITING token from the process's in-memory admission
 * state (no query; when that state is stale, after the one read of the concert every such call shares,
 * or BUSY); any other from its row.
 */
export async function currentTicket(ctx: TicketSource, claims: TokenClaims): Promise<TicketState> {
  const fromMemory = ctx.admissions ? await ctx.admissions.freshWaitingState(claims, ctx.clock) : null;
  return fromMemory ?? knownTicket(await readTicketState(ctx.em, claims, ctx.clock.now()));
}

/**
 * The stream's place among the process's open streams (one per token, at most WATCH_MAX_STREAMS). Thrown
 * inside a subscription, a DomainError would not pass the procedures' error mapping (which sees only the
 * resolver's result): mapped here.
 */
export function openStream(watches: WatchRegistry | undefined, tokenId: string, signal: AbortSignal | undefined): WatchHandle | undefined {
  try {
    return watches?.open(tokenId, signal);
  } catch (error) {
    if (error instanceof DomainError) throw new ReasonedTRPCError(error.reason, error.message, error);
    throw error;
  }
}

/**
 * The error a failed call answers with, when it has a reason: a use case's DomainError as its reason, a
 * database that cannot be reached as BUSY (a read outside inTransaction meets it as a driver error).
 * Undefined for anything else (tRPC's own errors, and bugs: a 500).
 */
export function reasonedError(cause: unknown): ReasonedTRPCError | undefined {
  if (cause instanceof DomainError) return new ReasonedTRPCError(cause.reason, cause.message, cause);
  if (isDatabaseUnavailable(cause)) return new ReasonedTRPCError('BUSY', 'the database is unavailable; retry shortly', cause);
  return undefined;
}

/**
 * `queue.watch`'s queue token: the `X-Queue-Token` header when it is sent (once, not empty), else the
 * `queueToken` of tRPC's `connectionParams` query parameter (`?connectionParams={"queueToken":"<token>"}`,
 * what `httpSubscriptionLink` sends with its `connectionParams` option), since a browser `EventSource`
 * cannot send headers. Undefined when neither names one (the guard then answers TOKEN_MISSING). The tRPC
 * procedure's middleware and `serveWatch` both read it here.
 */
export function watchQueueToken(header: string | undefined, url: string): string | undefined {
  if (header) return header;
  const raw = new URL(url, 'http://localhost').searchParams.get('connectionParams');
  if (!raw) return undefined;
  const parsed = z.object({ queueToken: z.string().min(1).max(4096) }).safeParse(safeJson(raw));
  return parsed.success ? parsed.data.queueToken : undefined;
}

/** A header sent once; sent twice, it is neither (the guard answers as for a missing one). */
export function singleHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined; // not JSON: no token here
  }
}

/** A stream event's id says what changed, so a reconnecting client's Last-Event-ID names the state it saw. */
export function watchEventId(ticket: QueueTicket): string {
  return `${ticket.status}:${ticket.position ?? ''}:${ticket.activeUntil ?? ''}:${ticket.estimatedWaitSeconds ?? ''}:${ticket.paused ? 'p' : ''}${ticket.soldOut ? 's' : ''}`;
}
