/** `queue.enter` alone: `concurrency` clients each entering a new user back to back, for `seconds`. */
import { type BenchEnv, type PhaseReport, WARM_UP_SECONDS } from '../env.ts';
import { loopFor } from '../pool.ts';
import { enterUser, signInAhead } from '../users.ts';

export async function runEnter(env: BenchEnv, concertId: string, seconds: number): Promise<PhaseReport> {
  const enter = (length: number) => loopFor(length, env.concurrency, async () => void (await enterUser(env, concertId)));
  await env.phase('enter: warm-up', { setup: true }, () => enter(WARM_UP_SECONDS));
  // every entry is a new user: their identity tokens are minted before the clock starts (a few more than
  // this machine enters in the time; past them, entries mint their own)
  await env.phase('enter: sign in', { setup: true }, () => signInAhead(env, seconds * 2_000));
  const { report } = await env.phase('enter', { status: (r) => ({ done: r.count('queue.enter'), total: 0, unit: 'users' }) }, () =>
    enter(seconds),
  );
  return report;
}
