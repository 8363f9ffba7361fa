/**
 * pg-boss, the job queue of FrontRow, over the same database. The runtime starts it; use cases see only
 * the `JobScheduler` port of core, which `bossJobScheduler` (scheduler.ts) implements.
 */
import { PgBoss, type Queue } from 'pg-boss';
import { JOB, type JobName } from './names.ts';

export type BossOptions = {
  databaseUrl: string;
  /** Connections of pg-boss's own pool. */
  poolSize?: number;
  /** A worker process listens for new immediate jobs (admission nudges); an API process only sends. */
  listen?: boolean;
  onError?: (error: Error) => void;
};

export async function startBoss(options: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    max: options.poolSize ?? 4,
    useListenNotify: options.listen ?? false,
    // maintenance and cron belong to workers; API processes stay lean
    supervise: options.listen ?? false,
    schedule: false,
  });
  boss.on('error', options.onError ?? ((error) => console.error('pg-boss error', error)));
  await boss.start();
  await ensureQueues(boss);
  return boss;
}

/**
 * Queue settings. A job whose worker dies (SIGKILL) stops sending heartbeats and is retried by a live
 * worker within about `heartbeatSeconds`, instead of after pg-boss's default 15-minute expiry.
 */
const QUEUES: Record<JobName, Omit<Queue, 'name'>> = {
  // expiry jobs are delayed: polling, not NOTIFY, is what finds them on time
  [JOB.holdExpire]: { retryLimit: 10, retryDelay: 1, retryBackoff: true, heartbeatSeconds: 10, expireInSeconds: 60 },
  [JOB.holdsSweep]: { policy: 'short', retryLimit: 3, heartbeatSeconds: 10, expireInSeconds: 120 },
  // one queued admission round per concert at a time; a nudge while one waits adds nothing
  [JOB.queueAdmit]: { policy: 'short', retryLimit: 5, retryDelay: 1, notify: true, heartbeatSeconds: 10, expireInSeconds: 60 },
  // one purge queued or running at a time, whatever the number of workers whose timers send it
  [JOB.queueTokensPurge]: { policy: 'exclusive', retryLimit: 2, heartbeatSeconds: 10, expireInSeconds: 600 },
};

async function ensureQueues(boss: PgBoss): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  for (const [name, options] of Object.entries(QUEUES)) {
    if (!existing.has(name)) await boss.createQueue(name, options);
  }
}

export { PgBoss };
