/** `queue.enter` alone: `concurrency` clients each entering a new user back to back, for `seconds`. */
import { type BenchEnv, type PhaseReport, WARM_UP_SECONDS } from '../env.ts';
import { loopFor } from '../pool.ts';
import { enterUser } from '../users.ts';

export async function runEnter(env: BenchEnv, concertId: string, seconds: number): Promise<PhaseReport> {
  const enter = (length: number) => loopFor(length, env.concurrency, async () => void (await enterUser(env, concertId)));
  await env.phase('enter: warm-up', { setup: true }, () => enter(WARM_UP_SECONDS));
  const { report } = await env.phase('enter', { status: (r) => ({ done: r.count('queue.enter'), total: 0, unit: 'users' }) }, () =>
    enter(seconds),
  );
  return report;
}
