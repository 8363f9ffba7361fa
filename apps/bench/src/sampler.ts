/** Counts a concert's ACTIVE tokens every 100 ms during a run: invariant 4 (never above maxActive), watched live. */
import type { BenchDatabase } from './database.ts';

export type ActiveSampler = {
  readonly concertId: string;
  readonly maxActive: number;
  /** Highest count seen so far. */
  readonly max: number;
  readonly samples: number;
  /** Stops sampling; resolves once the last sample is in. */
  stop(): Promise<void>;
};

export function startActiveSampler(db: BenchDatabase, concertId: string, maxActive: number, everyMs = 100): ActiveSampler {
  let max = 0;
  let samples = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        max = Math.max(max, await db.activeCount(concertId));
        samples++;
      } catch {
        // a failed sample is a missing sample, not a failed run
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };
  const running = loop();
  return {
    concertId,
    maxActive,
    get max() {
      return max;
    },
    get samples() {
      return samples;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
