/** The stable error reasons of API.md; clients branch on these, so they never change meaning. */
export const ERROR_REASONS = [
  'VALIDATION',
  'AUTH_MISSING',
  'AUTH_INVALID',
  'TOKEN_NOT_YOURS',
  'TOKEN_MISSING',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'QUEUE_NOT_ADMITTED',
  'WRONG_CONCERT',
  'CONCERT_NOT_FOUND',
  'SCHEDULE_NOT_FOUND',
  'RESERVATION_NOT_FOUND',
  'SEAT_UNAVAILABLE',
  'HOLD_LIMIT_EXCEEDED',
  'HOLD_EXPIRED',
  'RESERVATION_NOT_PAYABLE',
  'INSUFFICIENT_BALANCE',
  'IDEMPOTENCY_KEY_REUSED',
  'BALANCE_LIMIT_EXCEEDED',
  'BUSY',
  'RATE_LIMITED',
  'NOT_OPERATOR',
  'DEV_SIGN_IN_DISABLED',
  // the transport's own answers (API.md, Transport): the request never reached a procedure
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'STREAM_LIMIT',
  'SALES_CLOSED',
  'SOLD_OUT',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

/** A rule of the domain said no. The edge maps `reason` to a transport status once. */
export class DomainError extends Error {
  override name = 'DomainError';
  readonly reason: ErrorReason;

  constructor(reason: ErrorReason, message: string, options?: ErrorOptions) {
    // an answer, not a fault: no stack trace to capture and format (a sold-out storm answers thousands a
    // second); a database error behind BUSY keeps its own, as `cause`
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.reason = reason;
  }
}

export function isDomainError(error: unknown, reason?: ErrorReason): error is DomainError {
  return error instanceof DomainError && (reason === undefined || error.reason === reason);
}
