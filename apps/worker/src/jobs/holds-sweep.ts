import { sweepHolds } from '@frontrow/core';
import { JOB } from '@frontrow/jobs';
import { every, type JobModule } from '../worker.ts';

const BATCH = 100;
/** One sweep expires at most this many batches; the next sweep takes the rest. */
const MAX_BATCHES = 50;

/**
 * `holds.sweep`: the safety net for expiry jobs that were lost. Every worker's timer sends it; the
 * queue's `short` policy keeps one queued at a time, so several workers do not sweep the same holds twice.
 */
export const holdsSweepJob: JobModule = async (deps) => {
  await deps.boss.work(JOB.holdsSweep, { pollingIntervalSeconds: 1 }, async () => {
    let expired = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const result = await sweepHolds(deps, { limit: BATCH });
      expired += result.expired;
      if (result.found < BATCH) break;
    }
    if (expired > 0) deps.log.info({ expired }, 'holds sweep expired lapsed holds');
    return { expired };
  });
  const stop = every(
    deps.sweepEveryMs ?? 30_000,
    async () => {
      await deps.boss.send(JOB.holdsSweep, {}, { singletonKey: JOB.holdsSweep });
    },
    deps.log,
    JOB.holdsSweep,
  );
  return { stop };
};
