/**
 * The crowd (issue 16): N waiting users, each polling `queue.status` about every S seconds, while the
 * line moves. The line is pre-filled with N WAITING tokens (the poll scenario's one-statement
 * generate_series), their tokens signed by the bench with the API's TOKEN_SECRET (entering N users
 * through the API would measure `queue.enter`), and C clients poll on the users' schedule: user i
 * polls at (i / N) * S into each period of S seconds. The target rate is N / S; where the bench cannot
 * keep up (33k polls/s for 100k users every 3 s is beyond a 2-core machine shared with the API), its
 * clients poll back to back, behind the schedule, and the report says what share of the target it
 * reached. The line moves by itself: the concert admits `maxActive` users whose tokens lapse after
 * `activeSeconds` (nobody shops), so the worker admits about maxActive / activeSeconds users a second.
 * A user stops polling once told anything but WAITING: admitted, a real one goes shopping (those calls
 * are the other scenarios'); so the crowd's database cost is what each admission costs its user's poll.
 *
 * Per level it reports the API's answers per second, the API's database round trips (its /metrics, as
 * every phase) and the database's transactions over the phase for every client together
 * (`pg_stat_database`: the API, its admission-state reader, the worker, pg-boss, this bench's two
 * counter reads), each per poll, with the latencies and errors of the polls.
 */
import { loadavg } from 'node:os';
import { createTokenSigner } from '@frontrow/core';
import { type BenchEnv, type PhaseReport, WARM_UP_SECONDS } from '../env.ts';
import type { BenchClient } from '../client.ts';
import { sleep } from '../pool.ts';
import { metricValue } from '../run.ts';

export type CrowdOptions = {
  /** Waiting users (pre-filled WAITING tokens). */
  users: number;
  /** Seconds between two polls of one user. */
  pollEverySeconds: number;
  /** Length of the measured phase. */
  seconds: number;
  /** TOKEN_SECRET of the API: the bench signs the pre-filled tokens as the API would. */
  tokenSecret: string;
};

/** The concert a crowd level plays: the line moves by lapses, about maxActive / activeSeconds a second. */
export const CROWD_CONCERT = { maxActive: 10, activeSeconds: 2 } as const;

export type CrowdRun = {
  users: number;
  pollEverySeconds: number;
  /** Polls a second the users' schedule asks for: users / pollEverySeconds. */
  targetRps: number;
  /** Polls answered a second (results and errors). */
  rps: number;
  /** rps / targetRps. */
  shareOfTarget: number;
  /** How far behind the schedule the clients were at the end, seconds (0: they kept up). */
  behindSeconds: number;
  /** The API's database round trips (its pool, /metrics) per poll answered; null without /metrics. */
  apiRoundTripsPerPoll: number | null;
  apiRoundTripsPerSecond: number | null;
  /** Reads of the API's in-memory admission state during the phase (its own connection). */
  admissionStateReads: number | null;
  /** Transactions of the whole database during the phase (pg_stat_database: every client). */
  databaseTransactions: number;
  databaseTransactionsPerSecond: number;
  databaseTransactionsPerPoll: number | null;
  /**
   * CPU the API processes used during the phase (prom-client's process counter in their /metrics, summed),
   * in cores and per poll answered: what the crowd costs, since the database's share does not grow with it.
   */
  apiCores: number | null;
  apiCpuMsPerPoll: number | null;
  /** Users admitted during the phase (the concert's admission mark moved by this much). */
  admitted: number;
  /** The machine's 1-minute load average at the start and the end of the phase. */
  load: [number, number];
};

type Line = { tokenIds: Float64Array; tickets: Float64Array; userIds: string[] };

export async function runCrowd(env: BenchEnv, concertId: string, options: CrowdOptions): Promise<{ phases: PhaseReport[]; run: CrowdRun }> {
  const { users, pollEverySeconds } = options;
  const name = `crowd ${users} waiting`;
  const setup = await env.phase(`${name}: setup`, { setup: true, status: () => ({ done: 0, total: users, unit: 'tokens' }) }, async () => {
    await env.db.prefillWaiting(concertId, users);
    return await readLine(env, concertId, users);
  });
  const line = setup.value;
  const signer = createTokenSigner(options.tokenSecret);
  // signed on first use: a user's token is the same at every poll, and a phase reaches a fraction of 1M users
  const tokens: (string | undefined)[] = new Array(line.userIds.length);
  const tokenOf = async (i: number): Promise<string> => {
    const cached = tokens[i];
    if (cached !== undefined) return cached;
    const token = await signer.sign({
      tokenId: String(line.tokenIds[i]),
      userId: line.userIds[i] ?? '',
      concertId,
      ticket: line.tickets[i] ?? 0,
    });
    tokens[i] = token;
    return token;
  };
  // one client per loop: a poll sends only the queue token, which the loop sets before each call
  const clients: BenchClient[] = Array.from({ length: env.concurrency }, () => env.caller.client(''));
  const periodMs = pollEverySeconds * 1000;
  const done = new Uint8Array(users);
  let finished = 0;
  /** Polls handed out so far: the k-th goes to user k mod N (the warm-up's users are not polled again first). */
  let next = 0;
  let behindMs = 0;
  /** The C loops on the users' schedule for `seconds`: the j-th poll of the run is due j * S / N after its start. */
  const polls = async (seconds: number) => {
    const startedAt = performance.now();
    const deadline = startedAt + seconds * 1000;
    const first = next;
    behindMs = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < deadline) {
          const k = next++;
          const user = k % users;
          // a user told anything but WAITING stops polling (admitted, it goes shopping; ended, it goes home)
          if (done[user] === 1) {
            if (finished === users) return;
            continue;
          }
          const due = startedAt + ((k - first) * periodMs) / users;
          const early = due - performance.now();
          if (early > 0) {
            if (due >= deadline) return;
            await sleep(early);
          } else {
            behindMs = Math.max(behindMs, -early);
          }
          client.setQueueToken(await tokenOf(user));
          const answer = await env.caller.call('queue.status', () => client.status());
          if (answer.ok && answer.value.status !== 'WAITING' && answer.value.status !== 'PRE_QUEUE' && done[user] === 0) {
            done[user] = 1;
            finished++;
          }
        }
      }),
    );
  };
  await env.phase(`${name}: warm-up`, { setup: true }, () => polls(WARM_UP_SECONDS));

  const before = await counters(env, concertId);
  const cpuBefore = await apiCpuSeconds(env);
  const loadBefore = loadAverage();
  const measured = await env.phase(name, { status: (r) => ({ done: r.count('queue.status'), total: 0, unit: 'polls' }) }, () =>
    polls(options.seconds),
  );
  const cpuAfter = await apiCpuSeconds(env);
  const after = await counters(env, concertId);
  const report = measured.report;
  const cpu = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
  const seconds = report.seconds;
  const answered = report.recorder.count('queue.status');
  const transactions = Math.max(0, after.transactions - before.transactions);
  const targetRps = users / pollEverySeconds;
  const rps = answered / seconds;
  return {
    phases: [setup.report, report],
    run: {
      users,
      pollEverySeconds,
      targetRps,
      rps,
      shareOfTarget: rps / targetRps,
      behindSeconds: behindMs / 1000,
      apiRoundTripsPerPoll: report.database && answered > 0 ? report.database.roundTrips / answered : null,
      apiRoundTripsPerSecond: report.database ? report.database.roundTrips / seconds : null,
      admissionStateReads: report.database?.admissionReads ?? null,
      databaseTransactions: transactions,
      databaseTransactionsPerSecond: transactions / seconds,
      databaseTransactionsPerPoll: answered > 0 ? transactions / answered : null,
      apiCores: cpu === null ? null : cpu / seconds,
      apiCpuMsPerPoll: cpu === null || answered === 0 ? null : (cpu * 1000) / answered,
      admitted: after.admittedThrough - before.admittedThrough,
      load: [loadBefore, loadAverage()],
    },
  };
}

/** The pre-filled tokens in ticket order (id, user, ticket; the front may be admitted already), read in pages so 1M rows never sit in one result. */
async function readLine(env: BenchEnv, concertId: string, users: number): Promise<Line> {
  const tokenIds = new Float64Array(users);
  const tickets = new Float64Array(users);
  const userIds: string[] = [];
  let after = 0;
  while (userIds.length < users) {
    const page = await env.db.query<{ id: string; user_id: string; ticket: string }>(
      `select id, user_id, ticket from queue_token where concert_id = ? and ticket > ? order by ticket limit ?`,
      [concertId, after, Math.min(100_000, users - userIds.length)],
    );
    if (page.length === 0) break;
    for (const row of page) {
      tokenIds[userIds.length] = Number(row.id);
      tickets[userIds.length] = Number(row.ticket);
      userIds.push(row.user_id);
      after = Number(row.ticket);
    }
  }
  if (userIds.length < users) throw new Error(`the pre-filled line of concert ${concertId} has ${userIds.length} of ${users} tokens`);
  return { tokenIds, tickets, userIds };
}

/**
 * The database's committed and rolled-back transactions (every client's; this session's own flushed
 * first: other sessions flush theirs at least once a second, so a phase of several seconds is what
 * makes the difference meaningful) and the concert's admission mark.
 */
async function counters(env: BenchEnv, concertId: string): Promise<{ transactions: number; admittedThrough: number }> {
  const [row] = await env.db.query<{ n: string; admitted: string }>(
    `select pg_stat_force_next_flush(),
            (select xact_commit + xact_rollback from pg_stat_database where datname = current_database()) as n,
            (select admitted_through from concert where id = ?) as admitted`,
    [concertId],
  );
  return { transactions: Number(row?.n ?? 0), admittedThrough: Number(row?.admitted ?? 0) };
}

/** CPU seconds the API processes have used (their /metrics, summed), or null when one does not say. */
async function apiCpuSeconds(env: BenchEnv): Promise<number | null> {
  let total = 0;
  for (const transport of env.transports) {
    const res = await transport.fetch(`${transport.origin}/metrics`).catch(() => null);
    const value = res?.ok ? metricValue(res.text, 'frontrow_process_cpu_seconds_total') : null;
    if (value === null || value === undefined) return null;
    total += value;
  }
  return total;
}

function loadAverage(): number {
  return loadavg()[0] ?? 0;
}
