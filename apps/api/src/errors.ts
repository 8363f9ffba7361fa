import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { DomainError, type ErrorReason, isDatabaseUnavailable } from '@frontrow/core';

/** API.md's table of reasons, checked by the compiler: a new reason without a code does not build. */
export const REASON_CODES = {
  VALIDATION: 'BAD_REQUEST',
  AUTH_MISSING: 'UNAUTHORIZED',
  AUTH_INVALID: 'UNAUTHORIZED',
  TOKEN_NOT_YOURS: 'FORBIDDEN',
  TOKEN_MISSING: 'UNAUTHORIZED',
  TOKEN_INVALID: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'UNAUTHORIZED',
  QUEUE_NOT_ADMITTED: 'FORBIDDEN',
  WRONG_CONCERT: 'FORBIDDEN',
  CONCERT_NOT_FOUND: 'NOT_FOUND',
  SCHEDULE_NOT_FOUND: 'NOT_FOUND',
  RESERVATION_NOT_FOUND: 'NOT_FOUND',
  SEAT_UNAVAILABLE: 'CONFLICT',
  HOLD_LIMIT_EXCEEDED: 'CONFLICT',
  HOLD_EXPIRED: 'CONFLICT',
  RESERVATION_NOT_PAYABLE: 'CONFLICT',
  INSUFFICIENT_BALANCE: 'PAYMENT_REQUIRED',
  IDEMPOTENCY_KEY_REUSED: 'CONFLICT',
  BALANCE_LIMIT_EXCEEDED: 'CONFLICT',
  BUSY: 'SERVICE_UNAVAILABLE',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  SALES_CLOSED: 'CONFLICT',
  SOLD_OUT: 'CONFLICT',
} as const satisfies Record<ErrorReason, TRPC_ERROR_CODE_KEY>;

/** Carries the reason through tRPC to the error formatter. */
export class ReasonedTRPCError extends TRPCError {
  readonly reason: ErrorReason;
  constructor(reason: ErrorReason, message: string, cause?: unknown) {
    // an answer to the client, not a fault: no stack trace (see DomainError)
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super({ code: REASON_CODES[reason], message, cause });
    Error.stackTraceLimit = limit;
    this.reason = reason;
  }
}

export function fail(reason: ErrorReason, message: string): never {
  throw new ReasonedTRPCError(reason, message);
}

/** The stable reason of any error a procedure let through, or undefined for a bug (a 500). */
export function reasonOf(error: TRPCError): ErrorReason | undefined {
  if (error instanceof ReasonedTRPCError) return error.reason;
  const cause = error.cause;
  if (cause instanceof DomainError) return cause.reason;
  if (error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR') return 'VALIDATION';
  if (error.code === 'TOO_MANY_REQUESTS') return 'RATE_LIMITED';
  if (isDatabaseUnavailable(cause)) return 'BUSY';
  return undefined;
}
