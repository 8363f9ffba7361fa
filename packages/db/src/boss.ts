/**
 * pg-boss, the job queue of FrontRow, over the same database. The apps start it; use cases see only
 * the `JobScheduler` port of core, which `bossJobScheduler` implements.
 */
import { PgBoss, type Queue, fromKysely } from 'pg-boss';
import type { EntityManager } from '@mikro-orm/postgresql';

export const JOB = {
  holdExpire: 'hold.expire',
  holdsSweep: 'holds.sweep',
  queueAdmit: 'queue.admit',
  queueTokensPurge: 'queue.tokens.purge',
} as const;

export type HoldExpireJob = { reservationId: string };
export type QueueAdmitJob = { concertId: string };

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
const QUEUES: Record<(typeof JOB)[keyof typeof JOB], Omit<Queue, 'name'>> = {
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

/** The JobScheduler port of core over pg-boss. */
export function bossJobScheduler(boss: PgBoss) {
  const nudge = coalesced(async (concertId: string) => {
    await boss.send(JOB.queueAdmit, { concertId } satisfies QueueAdmitJob, { singletonKey: concertId });
  }, NUDGE_INTERVAL_MS);
  return {
    async expireHoldAt(em: EntityManager, reservationId: string, at: Date): Promise<void> {
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

export { PgBoss };
