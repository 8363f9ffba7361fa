import type { Deps } from '@frontrow/core';
import type { PgBoss } from '@frontrow/jobs';

export type WorkerLog = {
  info: (obj: object, msg?: string) => void;
  error: (obj: object, msg?: string) => void;
};

/** What use cases run on (the runtime's `deps`), and pg-boss to take jobs from. */
export type WorkerDeps = Deps & {
  boss: PgBoss;
  log: WorkerLog;
  /** Admission round of every concert with live tokens, in ms (docs/ARCHITECTURE.md#background-jobs: once a second). */
  admitEveryMs?: number;
  /** Sweep for holds whose expiry job was lost, in ms (docs/ARCHITECTURE.md#background-jobs: every 30 s). */
  sweepEveryMs?: number;
  /** Finished queue tokens kept this long (QUEUE_TOKEN_RETENTION_SECONDS), then deleted by `queue.tokens.purge`. */
  tokenRetentionSeconds?: number;
  /** How often the purge of finished tokens is sent, in ms (every minute). */
  purgeEveryMs?: number;
};

export type Worker = {
  start(): Promise<void>;
  /** Stops taking jobs, lets the running ones finish, stops the timers. */
  stop(): Promise<void>;
};

/** A job's part of the worker: registers its pg-boss handler, and may own a timer that sends it. */
export type JobModule = (deps: WorkerDeps) => Promise<{ stop?: () => void }>;

/** pg-boss handlers and timers of the worker process. `main.ts` only builds deps, starts and stops. */
export function buildWorker(deps: WorkerDeps, modules: JobModule[]): Worker {
  const stops: (() => void)[] = [];
  return {
    async start() {
      for (const register of modules) {
        const registered = await register(deps);
        if (registered?.stop) stops.push(registered.stop);
      }
    },
    async stop() {
      for (const stop of stops) stop();
      await deps.boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}

/** Runs `tick` every `everyMs` without overlapping itself; errors are logged, never fatal. */
export function every(everyMs: number, tick: () => Promise<void>, log: WorkerLog, name: string): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    tick()
      .catch((error: unknown) => log.error({ err: error, timer: name }, 'timer tick failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
