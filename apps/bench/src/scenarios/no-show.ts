/**
 * No-shows and the arrival window (issue 15): the same crowd plays two concerts that differ only in their
 * arrival window. "before": the window is as long as the active time (it never frees anyone before the
 * token lapses anyway); "after": a short window. A share of the users enter and never call again; the
 * others poll `queue.status` until ACTIVE (their first ACTIVE read claims the slot), shop for a fixed time
 * and `queue.leave`.
 *
 * Figures per run:
 * - slot-seconds held by no-shows: for each no-show token, from its `activated_at` to the first sample
 *   (every 100 ms, on the database's clock) that shows it no longer ACTIVE. The bench waits until every
 *   no-show admitted has been freed, so nothing is cut off by the end of the run; each figure is an upper
 *   bound by at most one sample interval;
 * - the real users' wait: `created_at` (their `queue.enter`) to `activated_at`, from the database;
 * - no-shows freed as NO_SHOW (`expired_reason`) and those that lapsed at the end of their active time;
 * - the total time: from the first `queue.enter` to the last real user's `queue.leave` answer.
 */
import type { BenchEnv, PhaseReport } from '../env.ts';
import { sleep, waitFor } from '../pool.ts';
import { type LatencySummary, Samples } from '../recorder.ts';
import { type BenchUser, mintUser, waitAdmitted } from '../users.ts';

export type NoShowOptions = {
  /** Share of the users who never come back after entering, 0 ≤ share < 1. */
  share: number;
  users: number;
  maxActive: number;
  activeSeconds: number;
  /** The "after" run's arrival window ("before" has one as long as `activeSeconds`). */
  arrivalSeconds: number;
  /** How long a real user stays ACTIVE before `queue.leave`. */
  shopMs: number;
};

export type NoShowRun = {
  name: 'before' | 'after';
  concertId: string;
  arrivalSeconds: number;
  /** Σ over no-show tokens of (first sample not ACTIVE − activated_at), seconds. */
  wastedSlotSeconds: number;
  /** The same per no-show token, seconds. */
  heldSeconds: LatencySummary | null;
  noShows: number;
  /** No-show tokens the admitter freed with reason NO_SHOW; the others lapsed at the end of their active time. */
  freedAsNoShow: number;
  lapsed: number;
  realUsers: number;
  /** Real users who saw their token ACTIVE. */
  realAdmitted: number;
  /** Real users' tokens freed as NO_SHOW (must be 0: they came back). */
  realFreedAsNoShow: number;
  /** Real users' enter → ACTIVE (`created_at` → `activated_at`), ms. */
  realWaitMs: LatencySummary | null;
  /** First `queue.enter` to the last real user's `queue.leave`, seconds. */
  totalSeconds: number;
};

type Member = { userId: string; identity: string; noShow: boolean };

const SAMPLE_MS = 100;
const ADMISSION_TIMEOUT_MS = 600_000;

/** The crowd: `users` signed-in users in line order; the no-shows spread evenly over it, the last one real. */
export async function noShowCrowd(env: BenchEnv, options: NoShowOptions): Promise<Member[]> {
  const pattern = noShowPattern(options.users, options.share);
  const crowd: Member[] = [];
  for (const noShow of pattern) crowd.push({ ...(await mintUser(env)), noShow });
  return crowd;
}

/**
 * Which places in a line of `users` are no-shows: round(users × share) of them, spread evenly over every
 * place but the last (a no-show at the back would hold a slot nobody waits for).
 */
export function noShowPattern(users: number, share: number): boolean[] {
  const count = Math.min(users - 1, Math.round(users * share));
  const spread = Math.max(1, users - 1);
  return Array.from({ length: users }, (_, i) =>
    i === users - 1 ? false : Math.floor(((i + 1) * count) / spread) > Math.floor((i * count) / spread),
  );
}

/**
 * One run on one concert: the crowd enters one by one in its order (so each user has the same place in
 * both runs), each real user starting to poll as soon as it entered.
 */
export async function runNoShow(
  env: BenchEnv,
  name: NoShowRun['name'],
  concertId: string,
  arrivalSeconds: number,
  crowd: Member[],
  options: NoShowOptions,
): Promise<{ run: NoShowRun; phase: PhaseReport }> {
  const realUsers = crowd.filter((m) => !m.noShow).length;
  let admitted = 0;
  let left = 0;
  const watcher = watchNoShows(
    env,
    concertId,
    crowd.filter((m) => m.noShow).map((m) => m.userId),
  );
  const { value, report } = await env.phase(
    `no-show: ${name}`,
    {
      status: () => ({
        done: left,
        total: realUsers,
        unit: 'real users',
        note: `admitted ${admitted}, no-shows held ${watcher.heldSoFar().toFixed(0)} slot-s`,
      }),
    },
    async () => {
      try {
        return await play();
      } finally {
        await watcher.stop();
      }
    },
  );
  async function play(): Promise<number> {
    {
      const started = performance.now();
      const behaving: Promise<void>[] = [];
      for (const member of crowd) {
        const client = env.caller.client(member.identity);
        const entered = await env.caller.call('queue.enter', () => client.enter({ concertId }));
        if (!entered.ok) throw new Error(`queue.enter answered ${entered.reason}: the no-show run needs every user in line`);
        client.setQueueToken(entered.value.token);
        if (member.noShow) continue;
        const user: BenchUser = { userId: member.userId, client, status: entered.value.status };
        behaving.push(
          (async () => {
            const status = await waitAdmitted(env, user, ADMISSION_TIMEOUT_MS);
            if (status !== 'ACTIVE') return;
            admitted++;
            await sleep(options.shopMs);
            const gone = await env.caller.call('queue.leave', () => user.client.leave());
            if (gone.ok) left++;
          })(),
        );
      }
      await Promise.all(behaving);
      const totalSeconds = (performance.now() - started) / 1000;
      // every no-show the line reached is freed before the figure is read (at most an active time away)
      await watcher.settle(options.activeSeconds + 30);
      return totalSeconds;
    }
  }

  const tokens = await env.db.query<{
    user_id: string;
    status: string;
    expired_reason: string | null;
    created_at: Date;
    activated_at: Date | null;
  }>(
    `select user_id, status, expired_reason, created_at, activated_at from queue_token
      where concert_id = ? and user_id = any(?::uuid[])`,
    [concertId, `{${crowd.map((m) => m.userId).join(',')}}`],
  );
  const noShowIds = new Set(crowd.filter((m) => m.noShow).map((m) => m.userId));
  const real = tokens.filter((t) => !noShowIds.has(t.user_id));
  const absent = tokens.filter((t) => noShowIds.has(t.user_id));
  const waits = new Samples();
  for (const t of real) if (t.activated_at) waits.add(new Date(t.activated_at).getTime() - new Date(t.created_at).getTime());
  const held = watcher.held();
  const heldSamples = new Samples();
  for (const seconds of held) heldSamples.add(seconds);
  return {
    run: {
      name,
      concertId,
      arrivalSeconds,
      wastedSlotSeconds: held.reduce((sum, s) => sum + s, 0),
      heldSeconds: held.length === 0 ? null : heldSamples.summary(),
      noShows: absent.length,
      freedAsNoShow: absent.filter((t) => t.expired_reason === 'NO_SHOW').length,
      lapsed: absent.filter((t) => t.status === 'EXPIRED' && t.expired_reason === null && t.activated_at !== null).length,
      realUsers,
      realAdmitted: admitted,
      realFreedAsNoShow: real.filter((t) => t.expired_reason === 'NO_SHOW').length,
      realWaitMs: waits.length === 0 ? null : waits.summary(),
      totalSeconds: value,
    },
    phase: report,
  };
}

/**
 * Samples the no-shows' tokens every 100 ms, on the database's clock: when each was admitted
 * (`activated_at`) and the first sample that shows it no longer ACTIVE.
 */
function watchNoShows(env: BenchEnv, concertId: string, userIds: string[]) {
  const spans = new Map<string, { activatedAt: number; endedAt: number | null }>();
  let lastNow = 0;
  let stopped = false;
  const ids = `{${userIds.join(',')}}`;
  const sampleOnce = async () => {
    const rows = await env.db.query<{ id: string; status: string; activated_at: Date | null; now: Date }>(
      `select id, status, activated_at, clock_timestamp() as now from queue_token
        where concert_id = ? and user_id = any(?::uuid[]) and activated_at is not null`,
      [concertId, ids],
    );
    for (const row of rows) {
      const now = new Date(row.now).getTime();
      lastNow = Math.max(lastNow, now);
      const span = spans.get(String(row.id)) ?? { activatedAt: new Date(row.activated_at as Date).getTime(), endedAt: null };
      if (span.endedAt === null && row.status !== 'ACTIVE') span.endedAt = now;
      spans.set(String(row.id), span);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sampleOnce().catch(() => {});
      await sleep(SAMPLE_MS);
    }
  })();
  const heldOf = (span: { activatedAt: number; endedAt: number | null }) => ((span.endedAt ?? lastNow) - span.activatedAt) / 1000;
  return {
    heldSoFar: () => [...spans.values()].reduce((sum, s) => sum + Math.max(0, heldOf(s)), 0),
    held: () => [...spans.values()].map(heldOf),
    /** Waits (at most `seconds`) until no no-show token is WAITING or ACTIVE, then stops sampling. */
    async settle(seconds: number) {
      try {
        await waitFor(
          `the no-shows of concert ${concertId} to be freed`,
          async () => {
            const [row] = await env.db.query<{ n: string }>(
              `select count(*) as n from queue_token where concert_id = ? and user_id = any(?::uuid[]) and status in ('WAITING', 'ACTIVE')`,
              [concertId, ids],
            );
            return Number(row?.n ?? 0) === 0 ? true : undefined;
          },
          seconds * 1000,
          SAMPLE_MS,
        );
        // one sample after the last one was freed
        await sampleOnce();
      } finally {
        stopped = true;
        await loop;
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
