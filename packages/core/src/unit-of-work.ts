import { DeadlockException, LockWaitTimeoutException, OptimisticLockError } from '@mikro-orm/core';
import { type EntityManager, type PreparedTransaction, inPreparedTransaction } from '@frontrow/db';
import { isDatabaseUnavailable, sqlState } from './database-errors.ts';
import { DomainError } from './errors.ts';

export type UnitOfWorkOptions = {
  /** Attempts in all, the first included. */
  attempts?: number;
};

/**
 * Runs `work` as one transaction on a fresh fork of `em` (docs/ARCHITECTURE.md#concurrency-and-lock-order). A benign conflict
 * (a version check on a wallet or token, a deadlock, a lock timeout, a serialization failure) replays the
 * whole unit of work after a jittered pause, a bounded number of times, then answers BUSY. Use cases
 * translate conflicts that mean "someone else won" (a seat) into their own reason before they get here.
 */
export async function inTransaction<T>(
  em: EntityManager,
  work: (em: EntityManager) => Promise<T>,
  options: UnitOfWorkOptions = {},
): Promise<T> {
  // row-lock waits are bounded per connection (lock_timeout, see packages/db orm.ts): a stuck lock is BUSY
  return await replaying(() => em.fork().transactional(work), options);
}

/**
 * `inTransaction` for a use case written as SQL: one transaction of named prepared statements on a
 * connection of the ORM's pool, the same replays and the same BUSY.
 */
export async function inSqlTransaction<T>(
  em: EntityManager,
  work: (tx: PreparedTransaction) => Promise<T>,
  options: UnitOfWorkOptions = {},
): Promise<T> {
  return await replaying(() => inPreparedTransaction(em, work), options);
}

/**
 * `inTransaction`'s replays and BUSY for work that is a transaction by itself: a script PostgreSQL runs
 * as one (`executeScript`, `queue.enter`), or one statement. Its lock waits are bounded by lock_timeout
 * like any other, and a timed-out wait is a conflict to replay, never a server error.
 */
export async function replaying<T>(run: () => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (isDatabaseUnavailable(error)) throw new DomainError('BUSY', 'the database is unavailable; retry shortly', { cause: error });
      if (!isRetryable(error)) throw error;
      if (attempt >= attempts) throw new DomainError('BUSY', 'too much contention; retry shortly', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
    }
  }
}

/** Full jitter over an exponential ceiling: 5, 10, 20 … ms, capped at 200 ms. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(200, 5 * 2 ** (attempt - 1)));
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof OptimisticLockError) return true;
  if (error instanceof DeadlockException || error instanceof LockWaitTimeoutException) return true;
  const code = sqlState(error);
  return code === '40001' || code === '40P01' || code === '55P03';
}
