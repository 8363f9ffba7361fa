import { purgeFinishedTokens } from '@frontrow/core';
import { JOB } from '@frontrow/jobs';
import { every, type JobModule } from '../worker.ts';

/** Tokens deleted by one statement: a short transaction, a few row locks at a time. */
export const PURGE_BATCH = 1_000;
/** One run deletes at most this many batches; the next run (a minute later) takes the rest. */
const MAX_BATCHES = 500;
const PROGRESS_EVERY = 50;
export const DEFAULT_TOKEN_RETENTION_SECONDS = 86_400;

/**
 * `queue.tokens.purge`: finished queue tokens older than the retention time leave the table, in batches
 * of one statement each (purge-tokens.ts), so a concert with millions of entries keeps its hot indexes
 * small. Every worker's timer sends it every minute; the queue's `exclusive` policy keeps one queued or
 * running at a time, and two runs at once would still delete each row once (SKIP LOCKED).
 */
export const queueTokensPurgeJob: JobModule = async (deps) => {
  const retentionSeconds = deps.tokenRetentionSeconds ?? DEFAULT_TOKEN_RETENTION_SECONDS;
  await deps.boss.work(JOB.queueTokensPurge, { pollingIntervalSeconds: 1 }, async () => {
    let deleted = 0;
    let batches = 0;
    while (batches < MAX_BATCHES) {
      const batch = await purgeFinishedTokens(deps, { retentionSeconds, limit: PURGE_BATCH });
      batches++;
      deleted += batch.deleted;
      if (batch.deleted < PURGE_BATCH) break;
      if (batches % PROGRESS_EVERY === 0) deps.log.info({ deleted, batches }, 'queue tokens purge: deleting finished tokens');
    }
    if (deleted > 0) deps.log.info({ deleted, batches, retentionSeconds }, 'queue tokens purge deleted finished tokens');
    return { deleted, batches };
  });
  const stop = every(
    deps.purgeEveryMs ?? 60_000,
    async () => {
      await deps.boss.send(JOB.queueTokensPurge, {}, { singletonKey: JOB.queueTokensPurge });
    },
    deps.log,
    JOB.queueTokensPurge,
  );
  return { stop };
};
