import { fromKysely, type PgBoss } from 'pg-boss';
import type { JobScheduler } from '@frontrow/core';
import { type HoldExpireJob, JOB, type QueueAdmitJob } from './names.ts';

/** The JobScheduler port of core over pg-boss. */
export function bossJobScheduler(boss: PgBoss): JobScheduler {
  const nudge = coalesced(async (concertId: string) => {
    await boss.send(JOB.queueAdmit, { concertId } satisfies QueueAdmitJob, { singletonKey: concertId });
  }, NUDGE_INTERVAL_MS);
  return {
    async expireHoldAt(em, reservationId, at) {
      // same transaction as the hold: the job exists exactly when the hold commits
      await boss.send(JOB.holdExpire, { reservationId } satisfies HoldExpireJob, { startAfter: at, db: fromKysely(em.getKysely()) });
    },
    nudgeAdmission: nudge,
  };
}

/**
 * At most one admission nudge per concert per 50 ms from one process. A round admits every free place at
 * once, so a burst of payments needs one round, not one each: a nudge per payment cost PostgreSQL more than
 * the payment did (pg-boss's insert, and a round in the worker), docs/BENCHMARKS.md.
 */
const NUDGE_INTERVAL_MS = 50;

/**
 * `send` for a key at once, then not again for `intervalMs`; calls within that window are folded into one
 * call at its end, so the last call of a burst is never dropped, only delayed. Best effort: a failed send
 * is thrown to the caller who triggered it at once, and lost for folded callers (the worker's one-second
 * round is the safety net).
 */
export function coalesced(send: (key: string) => Promise<void>, intervalMs: number): (key: string) => Promise<void> {
  const windows = new Map<string, { again: boolean }>();
  const fire = async (key: string): Promise<void> => {
    const window = { again: false };
    windows.set(key, window);
    setTimeout(() => {
      windows.delete(key);
      if (window.again) fire(key).catch(() => {});
    }, intervalMs).unref();
    await send(key);
  };
  return async (key) => {
    const open = windows.get(key);
    if (open) {
      open.again = true;
      return;
    }
    await fire(key);
  };
}
