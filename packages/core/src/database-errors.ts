/**
 * How a database error is told apart, with no ORM loaded: the API's guards and the streams process
 * (apps/api/src/streams/) read these, and unit-of-work.ts builds its retry rule on `sqlState`. MikroORM's
 * exceptions are recognised by their shape (a `DriverException` copies the driver error's `code` and adds
 * `sqlState`; a `ConnectionException` is named so by its constructor), not by importing their classes.
 */

/** Connection refused, dropped or the server shutting down: BUSY for the client, never a 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Error && error.name === 'ConnectionException') return true;
  const code = sqlState(error);
  if (code && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300')) return true;
  // pg-boss hands some errors on as plain objects with a message
  const message =
    typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string' ? error.message : '';
  return /ECONNREFUSED|ECONNRESET|Connection terminated|connect ETIMEDOUT|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** The SQLSTATE of a driver error or of MikroORM's wrapper of one (its `sqlState`, else the copied `code`). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('sqlState' in error && typeof error.sqlState === 'string') return error.sqlState;
  if ('code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
