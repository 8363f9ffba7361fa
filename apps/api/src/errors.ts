import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { type DatabaseState, DomainError, type ErrorReason, isDatabaseUnavailable } from '@frontrow/core/edge';

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
  NOT_OPERATOR: 'FORBIDDEN',
  DEV_SIGN_IN_DISABLED: 'NOT_FOUND',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_SUPPORTED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  BATCH_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  STREAM_LIMIT: 'SERVICE_UNAVAILABLE',
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

/** tRPC's own refusals of a request (before any procedure runs), as the contract's reasons. */
const TRANSPORT_REASONS: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorReason>> = {
  BAD_REQUEST: 'VALIDATION',
  PARSE_ERROR: 'VALIDATION',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
};

/** The stable reason of any error a procedure let through, or undefined for a bug (a 500). */
export function reasonOf(error: TRPCError): ErrorReason | undefined {
  if (error instanceof ReasonedTRPCError) return error.reason;
  const cause = error.cause;
  if (cause instanceof DomainError) return cause.reason;
  const transport = TRANSPORT_REASONS[error.code];
  if (transport) return transport;
  if (isDatabaseUnavailable(cause)) return 'BUSY';
  return undefined;
}

/** `Authorization: Bearer <token>`. */
export const BEARER = /^Bearer\s+(\S+)$/i;

/** The HTTP status of a reason, as tRPC gives it for the reason's code. */
export function httpStatusOf(reason: ErrorReason): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code: REASON_CODES[reason] }));
}

/**
 * The body of an error answered outside a procedure (a refused batch, a rate limit, Fastify's own
 * refusals), the same shape a procedure's error has (API.md, Transport). `INTERNAL`: a fault, no reason.
 */
export function errorBody(reason: ErrorReason | 'INTERNAL', message: string, path: string | null) {
  const code = reason === 'INTERNAL' ? 'INTERNAL_SERVER_ERROR' : REASON_CODES[reason];
  const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code }));
  const data = { code, httpStatus, path, ...(reason === 'INTERNAL' ? {} : { reason }) };
  return { error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data } };
}

/** The database error behind a BUSY answer, if the database being away is what it was. */
function databaseCause(error: Error): unknown {
  for (let cause: unknown = error.cause; cause !== undefined; cause = cause instanceof Error ? cause.cause : undefined) {
    if (isDatabaseUnavailable(cause)) return cause;
  }
  return undefined;
}

/**
 * What a server writes of a call's error (the API's tRPC `onError`, the streams process's streams): the
 * database away is one line when that starts and one when it ends (`state`), not one per call; a bug
 * (no reason, a 5xx) an error line with its cause; a client's mistake or a refusal nothing.
 */
export function reportCallError(
  error: TRPCError,
  state: Pick<DatabaseState, 'failed'>,
  log: { error: (obj: object, msg: string) => void },
  path: string,
): void {
  const reason = reasonOf(error);
  if (reason === 'BUSY') {
    const cause = databaseCause(error);
    if (cause) state.failed(cause, path);
  }
  if (reason === undefined && getHTTPStatusCodeFromError(error) >= 500) log.error({ err: error.cause ?? error, path }, 'procedure failed');
}
