/**
 * The flash crowd: every user enters at once, then `concurrency` shoppers work through them in line order:
 * poll until ACTIVE → available dates → seats → hold (other free seats on SEAT_UNAVAILABLE) → charge → pay.
 * Users who find the concert sold out leave the line; a few hold and walk away, so their holds lapse.
 */
import { randomInt } from 'node:crypto';
import type { BenchEnv, PhaseReport } from '../env.ts';
import {
  type Admission,
  admissionLatencies,
  expiryLags,
  type LapsedHold,
  type SeenEstimate,
  type WaitEstimateFigures,
  waitEstimateAccuracy,
} from '../latency.ts';
import { forEachConcurrently, sleep } from '../pool.ts';
import { type LatencySummary, Samples } from '../recorder.ts';
import type { ActiveSampler } from '../sampler.ts';
import { type BenchUser, enterUsers, signInAhead, waitAdmitted } from '../users.ts';

export type FlowOptions = {
  concertId: string;
  users: number;
  /** Users who hold and never pay, so that hold-expiry lag can be measured. */
  lapse: number;
  /** How long to wait, after the shoppers are done, for lapsed holds to be freed. */
  expiryWaitSeconds: number;
  /** Counts the concert's ACTIVE tokens during the run (started and stopped by the caller). */
  sampler: ActiveSampler;
};

export type FlowResult = {
  phases: PhaseReport[];
  outcomes: Record<'bought' | 'soldOut' | 'abandoned' | 'gaveUp' | 'notAdmitted', number>;
  seats: { total: number; sold: number };
  /** From the first queue.enter to the first user told nothing is left (every seat held or sold); null if never. */
  sellOutSeconds: number | null;
  /** From the first queue.enter to the payment of the last seat, if every seat ended RESERVED (walk-aways' seats resold). */
  allSoldSeconds: number | null;
  admissionLatencyMs: LatencySummary | null;
  holdExpiryLagMs: (LatencySummary & { waitedFor: number; notFreed: number }) | null;
  /** Predicted (`estimatedWaitSeconds` at a user's first status) against the real wait, once the line moved. */
  waitEstimate: WaitEstimateFigures | null;
  paid: { reservationId: string; amount: number }[];
  notes: string[];
};

type Seat = { number: number; price: number; status: string };

const MAX_HOLD_ATTEMPTS = 12;
const ADMISSION_TIMEOUT_MS = 300_000;

export async function runFlow(env: BenchEnv, options: FlowOptions): Promise<FlowResult> {
  const { concertId, sampler } = options;
  const notes: string[] = [];
  const settings = await env.db.queueSettings(concertId);
  const initialFree = settings.maxActive - (await env.db.activeCount(concertId));
  const seatsTotal = await env.db.availableSeats(concertId);
  const outcomes: FlowResult['outcomes'] = { bought: 0, soldOut: 0, abandoned: 0, gaveUp: 0, notAdmitted: 0 };
  const paid: FlowResult['paid'] = [];
  const lapsing = watchLapsingHolds(env);
  const leftAt: number[] = [];
  const seen: SeenEstimate[] = [];
  const startedAt = Date.now();
  let soldOutAt: number | null = null;
  // spread the walk-aways over the early users, who still find seats
  const lapseEvery = options.lapse > 0 ? Math.max(2, Math.floor(Math.min(options.users, seatsTotal) / (options.lapse * 3))) : 0;

  // users sign in before the opening minute: their identity tokens are minted before the clock starts
  await env.phase('flow: sign in', { setup: true }, () => signInAhead(env, options.users));
  const enter = await env.phase(
    'flow: enter',
    { status: (r) => ({ done: r.count('queue.enter'), total: options.users, unit: 'users' }) },
    async () => await enterUsers(env, concertId, options.users),
  );
  // shoppers take users in line order, as the admitter does: an admitted user nobody works on would hold a
  // slot until it lapses, while the shoppers poll users further back who cannot be admitted meanwhile
  const tickets = await env.db.tickets(
    concertId,
    enter.value.map((u) => u.userId),
  );
  const users = [...enter.value].sort((a, b) => (tickets.get(a.userId) ?? 0) - (tickets.get(b.userId) ?? 0));
  let done = 0;

  const leave = async (user: BenchUser) => {
    // the slot is free at the leave's commit, somewhere between sending it and its answer: taking the
    // sending time makes admission latency an upper bound, never an undercount
    const sentAt = Date.now();
    const left = await env.caller.call('queue.leave', () => user.client.leave());
    if (left.ok) leftAt.push(sentAt);
  };

  const shop = async (user: BenchUser, index: number) => {
    await firstStatus(user);
    const status = await waitAdmitted(env, user, ADMISSION_TIMEOUT_MS);
    if (status === 'SOLD_OUT') {
      outcomes.soldOut++;
      soldOutAt ??= Date.now();
      await leave(user);
      return;
    }
    if (status !== 'ACTIVE') {
      outcomes.notAdmitted++;
      return;
    }
    const held = await holdSomeSeats(env, user, concertId);
    if (held === 'sold-out' || held === 'gave-up') {
      if (held === 'sold-out') {
        outcomes.soldOut++;
        soldOutAt ??= Date.now();
      }
      if (held === 'gave-up') outcomes.gaveUp++;
      await leave(user);
      return;
    }
    if (lapseEvery > 0 && lapsing.count < options.lapse && index % lapseEvery === lapseEvery - 1) {
      // walks away: no payment, no leave; the hold lapses and the worker frees its seats
      lapsing.add({ reservationId: held.reservationId, expiresAt: Date.parse(held.expiresAt) });
      outcomes.abandoned++;
      return;
    }
    const charged = await env.caller.call('wallet.charge', () =>
      user.client.charge({
        amount: held.totalPrice,
        idempotencyKey: `bench-charge-${held.reservationId}`,
      }),
    );
    if (!charged.ok) {
      outcomes.gaveUp++;
      await leave(user);
      return;
    }
    const payment = await env.caller.call('payments.pay', () =>
      user.client.pay({ reservationId: held.reservationId, idempotencyKey: `bench-pay-${held.reservationId}` }),
    );
    if (!payment.ok) {
      outcomes.gaveUp++;
      await leave(user);
      return;
    }
    paid.push({ reservationId: payment.value.reservationId, amount: payment.value.amount });
    outcomes.bought++;
  };

  // the estimate a user sees at its first status, to compare with the real wait (its activated_at)
  const firstStatus = async (user: BenchUser) => {
    if (user.status !== 'WAITING') return;
    const seenAt = Date.now();
    const polled = await env.caller.call('queue.status', () => user.client.status());
    if (!polled.ok) return;
    user.status = polled.value.status;
    const ticket = tickets.get(user.userId);
    if (polled.value.status === 'WAITING' && polled.value.estimatedWaitSeconds !== null && ticket !== undefined) {
      seen.push({ ticket, estimateSeconds: polled.value.estimatedWaitSeconds, seenAt });
      await sleep(env.pollMs);
    }
  };

  const shopping = await env.phase(
    'flow: shop',
    {
      status: () => ({
        done,
        total: users.length,
        unit: 'users',
        note: `bought ${outcomes.bought}, sold out for ${outcomes.soldOut}, active ≤ ${sampler.max}/${settings.maxActive}`,
      }),
    },
    async () =>
      await forEachConcurrently(users.length, env.concurrency, async (i) => {
        const user = users[i];
        if (user) await shop(user, i);
        done++;
      }),
  );

  const lapsed = await lapsing.finish(options.expiryWaitSeconds, notes);

  const [counted] = await env.db.query<{ n: string; sold: string }>(
    `select count(*) as n, count(*) filter (where s.status = 'RESERVED') as sold
       from seat s join schedule d on d.id = s.schedule_id where d.concert_id = ?`,
    [concertId],
  );
  const seats = { total: Number(counted?.n ?? 0), sold: Number(counted?.sold ?? 0) };
  const payments = await env.db.paymentTimes(concertId);
  const allSoldSeconds = seats.sold === seats.total && payments.length > 0 ? (Math.max(...payments) - startedAt) / 1000 : null;
  if (soldOutAt === null) notes.push(`never sold out: ${seats.total - seats.sold} seats left (more --users, or fewer --dates)`);

  return {
    phases: [enter.report, shopping.report],
    outcomes,
    seats,
    sellOutSeconds: soldOutAt === null ? null : (soldOutAt - startedAt) / 1000,
    allSoldSeconds,
    ...(await admissionFigures(env, concertId, initialFree, leftAt, seen)),
    holdExpiryLagMs: lapsed,
    paid,
    notes,
  };
}

type Held = { reservationId: string; totalPrice: number; expiresAt: string };

/** Picks a date and 1–4 free seats, holds them, and on SEAT_UNAVAILABLE tries other free seats (fresh maps now and then). */
async function holdSomeSeats(env: BenchEnv, user: BenchUser, concertId: string): Promise<Held | 'sold-out' | 'gave-up'> {
  const wanted = randomInt(1, 5);
  let attempts = 0;
  while (attempts < MAX_HOLD_ATTEMPTS) {
    const dates = await env.caller.call('concerts.availableDates', () => user.client.availableDates({ concertId }));
    if (!dates.ok) return 'gave-up';
    if (dates.value.length === 0) return 'sold-out';
    // the crowd goes for the first dates
    const date = dates.value[randomInt(0, Math.min(3, dates.value.length))]?.date;
    if (!date) return 'sold-out';
    const map = await env.caller.call('concerts.seats', () => user.client.seats({ concertId, date }));
    if (!map.ok) return 'gave-up';
    const free: Seat[] = map.value.seats.filter((s) => s.status === 'AVAILABLE');
    // a few tries on this map before a fresh one
    for (let tries = 0; tries < 3 && free.length > 0 && attempts < MAX_HOLD_ATTEMPTS; tries++, attempts++) {
      const pick = takeRandom(free, Math.min(wanted, free.length));
      const seatNumbers = pick.map((s) => s.number).sort((a, b) => a - b);
      const held = await env.caller.call('reservations.hold', () => user.client.hold({ concertId, date, seatNumbers }));
      if (held.ok) return held.value;
      if (held.reason !== 'SEAT_UNAVAILABLE') return 'gave-up';
    }
    attempts++;
  }
  return 'gave-up';
}

/** Removes and returns `count` random items of `from`. */
function takeRandom<T>(from: T[], count: number): T[] {
  const taken: T[] = [];
  for (let i = 0; i < count && from.length > 0; i++) {
    const [item] = from.splice(randomInt(0, from.length), 1);
    if (item !== undefined) taken.push(item);
  }
  return taken;
}

type LapsingHold = { reservationId: string; expiresAt: number };

/**
 * Samples the database every 50 ms, from the first walk-away on, for holds that are EXPIRED with no seat
 * still HELD for them: the moment the database caught up with a lapsed hold.
 */
function watchLapsingHolds(env: BenchEnv) {
  const pending = new Map<string, LapsingHold>();
  const freed: LapsedHold[] = [];
  let added = 0;
  let stopped = false;
  let loop: Promise<void> | null = null;

  const sampleUntilStopped = async () => {
    while (!stopped) {
      const due = [...pending.values()].filter((h) => h.expiresAt <= Date.now() + 100);
      if (due.length > 0) {
        const sampledAt = await env.db.now();
        for (const r of await env.db.reservations(due.map((h) => h.reservationId))) {
          if (r.status !== 'HELD' && r.seatsStillHeld === 0) {
            freed.push({ reservationId: r.id, expiresAt: r.expiresAt, freedAt: sampledAt });
            pending.delete(r.id);
          }
        }
      }
      await sleep(50);
    }
  };

  return {
    get count() {
      return added;
    },
    add(hold: LapsingHold) {
      added++;
      pending.set(hold.reservationId, hold);
      loop ??= sampleUntilStopped();
    },
    /** Waits (at most `waitSeconds`, and 30 s past the last expiry) for every hold to be freed; the lag figures. */
    async finish(waitSeconds: number, notes: string[]): Promise<FlowResult['holdExpiryLagMs']> {
      if (added === 0) return null;
      const latest = Math.max(0, ...[...pending.values()].map((h) => h.expiresAt));
      const deadline = Math.min(latest + 30_000, Date.now() + waitSeconds * 1000);
      if (pending.size > 0 && latest > deadline) {
        notes.push(
          `hold-expiry lag not measured: holds lapse in ${Math.round((latest - Date.now()) / 1000)} s, beyond --expiry-wait ${waitSeconds} s (run the API with HOLD_TTL_SECONDS=10)`,
        );
        stopped = true;
        await loop;
        return null;
      }
      if (pending.size > 0)
        env.progress.note(`waiting for ${pending.size} walked-away holds to lapse (up to ${Math.round((deadline - Date.now()) / 1000)} s)`);
      while (pending.size > 0 && Date.now() < deadline) await sleep(50);
      stopped = true;
      await loop;
      if (pending.size > 0)
        notes.push(`${pending.size} lapsed holds were still not freed ${Math.round((Date.now() - latest) / 1000)} s after expiry`);
      const samples = new Samples();
      for (const lag of expiryLags(freed)) samples.add(lag);
      return { ...samples.summary(), waitedFor: added, notFreed: pending.size };
    },
  };
}

/** Admission latency, and the wait estimates users saw against their real waits. */
async function admissionFigures(
  env: BenchEnv,
  concertId: string,
  initialFree: number,
  leftAt: number[],
  seen: SeenEstimate[],
): Promise<{ admissionLatencyMs: LatencySummary | null; waitEstimate: WaitEstimateFigures | null }> {
  const tokens = await env.db.tokenTimes(concertId);
  const admissions: Admission[] = tokens.flatMap((t) =>
    t.activatedAt === null ? [] : [{ ticket: t.ticket, enteredAt: t.createdAt, activatedAt: t.activatedAt }],
  );
  // slots freed: payments (paid_at, read before the commit), leaves (when sent), lapses (active_until of EXPIRED tokens)
  const lapses = tokens.flatMap((t) => (t.status === 'EXPIRED' && t.activeUntil !== null && t.activatedAt !== null ? [t.activeUntil] : []));
  const frees = [...(await env.db.paymentTimes(concertId)), ...leftAt, ...lapses];
  const latencies = admissionLatencies(admissions, frees, initialFree);
  const samples = new Samples();
  for (const ms of latencies) samples.add(ms);
  return {
    admissionLatencyMs: latencies.length === 0 ? null : samples.summary(),
    waitEstimate: waitEstimateAccuracy(seen, admissions, initialFree),
  };
}
