/** `queue.enter` alone: `concurrency` clients each entering a new user back to back, for `seconds`. */
import type { BenchEnv, PhaseReport } from '../env.ts';
import { loopFor } from '../pool.ts';
import { enterUser } from '../users.ts';

export async function runEnter(env: BenchEnv, concertId: string, seconds: number): Promise<PhaseReport> {
  const { report } = await env.phase(
    'enter',
    { status: (r) => ({ done: r.count('queue.enter'), total: 0, unit: 'users' }) },
    async () => await loopFor(seconds, env.concurrency, async () => void (await enterUser(env, concertId))),
  );
  return report;
}
