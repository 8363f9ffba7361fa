import { UniqueConstraintViolationException } from '@frontrow/db';
import { wellFormedText } from '../text.ts';

/**
 * A client's idempotency key. One namespace per user across `wallet.charge` and `payments.pay`: a key
 * names one request, so a key already spent on a charge is IDEMPOTENCY_KEY_REUSED when sent with a pay.
 */
export const idempotencyKey = wellFormedText.min(1).max(200);

/**
 * Runs a unit of work again once if it lost a race on a unique index (two first calls with one key,
 * two first charges creating one wallet): the second run sees the winner's row and answers as a replay.
 */
export async function replayOnUniqueViolation<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return await run();
  }
}

/** From the ORM (its exception) or from a use case written as SQL (the driver's error, SQLSTATE 23505). */
function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException || (error instanceof Error && 'code' in error && error.code === '23505');
}
