import { expireHold } from '@frontrow/core';
import { type HoldExpireJob, JOB, holdExpirePayload } from '@frontrow/jobs';
import type { JobModule } from '../worker.ts';

/** Expiries run this many at a time: quick units of work that should not take every pooled connection. */
const LANES = 4;

/**
 * `hold.expire`: sent by the hold's own transaction with `startAfter = expiresAt`. Polled (not NOTIFY)
 * every half second in batches, each job settled on its own: a failing one is retried by pg-boss without
 * replaying the rest. A job that arrives early by this process's clock is sent again for the time left.
 */
export const holdExpireJob: JobModule = async (deps) => {
  const settle = async (job: { id: string; data: HoldExpireJob }) => {
    try {
      const { reservationId } = holdExpirePayload.parse(job.data);
      const result = await expireHold(deps, reservationId);
      if (result.outcome === 'not-due') {
        // relative to the database's clock, so a worker whose clock runs behind cannot spin on it
        const seconds = Math.max(1, Math.ceil((result.expiresAt.getTime() - deps.clock.now().getTime()) / 1000));
        await deps.boss.send(JOB.holdExpire, job.data, { startAfter: seconds });
      }
      return { id: job.id, status: 'completed' as const };
    } catch (error) {
      deps.log.error({ err: error, reservationId: job.data.reservationId }, 'hold expiry failed');
      return { id: job.id, status: 'failed' as const, output: { message: error instanceof Error ? error.message : String(error) } };
    }
  };
  await deps.boss.work<HoldExpireJob>(JOB.holdExpire, { batchSize: 50, pollingIntervalSeconds: 0.5, perJobResults: true }, async (jobs) => {
    const results = [];
    for (let i = 0; i < jobs.length; i += LANES) results.push(...(await Promise.all(jobs.slice(i, i + LANES).map(settle))));
    return results;
  });
  return {};
};
