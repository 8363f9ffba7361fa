/**
 * `queue.status` of waiting users: the line is pre-filled with `waiting` tokens in one statement, then
 * `concurrency` users enter behind them and poll back to back for `seconds`. Run at several depths, the
 * figures show whether a poll costs the same with 1k or 100k people ahead (it must: O(1) position).
 */
import { type BenchEnv, type PhaseReport, WARM_UP_SECONDS } from '../env.ts';
import { loopFor } from '../pool.ts';
import { enterUsers } from '../users.ts';

export async function runPoll(env: BenchEnv, concertId: string, waiting: number, seconds: number): Promise<PhaseReport[]> {
  const prefill = await env.phase(
    `poll ${waiting} waiting: setup`,
    { setup: true, status: () => ({ done: 0, total: 0, unit: 'rows' }) },
    async () => {
      await env.db.prefillWaiting(concertId, waiting);
      return await enterUsers(env, concertId, env.concurrency);
    },
  );
  const users = prefill.value;
  const waitingUsers = users.filter((u) => u.status === 'WAITING');
  if (waitingUsers.length < users.length)
    env.progress.note(`${users.length - waitingUsers.length} pollers were admitted at once: the line is shorter than it should be`);
  const polls = (length: number) =>
    loopFor(length, users.length, async (loop) => {
      const user = users[loop];
      if (user) await env.caller.call('queue.status', () => user.client.status());
    });
  await env.phase(`poll ${waiting} waiting: warm-up`, { setup: true }, () => polls(WARM_UP_SECONDS));
  const poll = await env.phase(
    `poll ${waiting} waiting`,
    { status: (r) => ({ done: r.count('queue.status'), total: 0, unit: 'polls' }) },
    () => polls(seconds),
  );
  return [prefill.report, poll.report];
}
