import { admitQueue, concertsToAdmit } from '@frontrow/core';
import { JOB, type QueueAdmitJob, queueAdmitPayload } from '@frontrow/jobs';
import { every, type JobModule } from '../worker.ts';

/**
 * `queue.admit`: one admission round of one concert (expire lapsed ACTIVE tokens, promote the oldest
 * WAITING). Sent by every worker's one-second timer for each concert with live tokens, and at once by the
 * API when a slot frees (leave, expiry, payment). The queue's `short` policy with the concert id as
 * `singletonKey` keeps at most one round per concert queued, however many workers and nudges send one; the
 * advisory lock inside `admitQueue` serialises the rounds that do run at once. A round is idempotent, so a
 * job retried after a crash or a worker restart changes nothing it should not.
 */
export const queueAdmitJob: JobModule = async (deps) => {
  await deps.boss.work<QueueAdmitJob>(
    JOB.queueAdmit,
    { batchSize: 16, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 1 },
    async (jobs) => {
      // one batch may carry several concerts; each round is its own transaction
      for (const job of jobs) {
        const round = await admitQueue(deps, queueAdmitPayload.parse(job.data));
        if (round?.opening) {
          // the audit of the fair opening: the seed (the order is recomputable from it) and every place drawn
          deps.log.info(
            { concertId: round.concertId, seed: round.opening.seed, openedAt: round.opening.openedAt, places: round.opening.places },
            'sales opened: pre-queue given a random order',
          );
        }
        if (round && (round.admittedTickets.length > 0 || round.expired > 0 || round.noShows > 0)) {
          deps.log.info(
            {
              concertId: round.concertId,
              admitted: round.admittedTickets.length,
              expired: round.expired,
              noShows: round.noShows,
              active: round.active,
            },
            'queue admission round',
          );
        }
      }
    },
  );
  const stop = every(
    deps.admitEveryMs ?? 1000,
    async () => {
      for (const concertId of await concertsToAdmit(deps)) {
        await deps.boss.send(JOB.queueAdmit, { concertId } satisfies QueueAdmitJob, { singletonKey: concertId });
      }
    },
    deps.log,
    JOB.queueAdmit,
  );
  return { stop };
};
