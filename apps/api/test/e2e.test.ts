/**
 * A flash crowd against the real processes: two API and two worker processes on one fresh database, 300
 * users through the typed client (enter, wait for admission, list, hold with retries, charge, pay), one
 * worker SIGKILLed mid-run. Then the invariants (docs/ARCHITECTURE.md#invariants) are checked in the database.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FrontRowClient, createFrontRowClient, errorReason } from '@frontrow/api-client';
import { createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { freePort } from '@frontrow/db';
import { checkInvariants, type InvariantQuery } from '@frontrow/db/invariants';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import {
  type Spawned,
  TEST_AUTH_SECRET,
  TEST_TOKEN_SECRET,
  apiMain,
  spawnNode,
  stopSpawned,
  waitFor,
  waitForReady,
  workerMain,
} from './processes.ts';

const USERS = 300;
const CAPACITY = 20;
const DATES = ['2099-12-24', '2099-12-25'];
const PRICE = 50_000;
const HOLD_TTL_SECONDS = 4;
const ACTIVE_TTL_SECONDS = 10;
/** Every 20th user holds and walks away: the workers must expire those holds and lapse those tokens. */
const abandons = (i: number) => i % 20 === 7;

let db: TestDatabase;
let concertId: string;
const apis: Spawned[] = [];
const workers: Spawned[] = [];
const baseUrls: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  ({ concertId } = await createConcert(testDeps(db.orm), {
    title: 'Flash Crowd Live',
    venue: 'KSPO Dome',
    dates: DATES,
    price: PRICE,
    maxActive: CAPACITY,
    activeTtlSeconds: ACTIVE_TTL_SECONDS,
  }));
  const env = {
    DATABASE_URL: db.url,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    HOST: '127.0.0.1',
    QUEUE_ENTER_RATE_LIMIT: '0',
    QUEUE_MAX_ACTIVE: String(CAPACITY),
    QUEUE_ACTIVE_TTL_SECONDS: String(ACTIVE_TTL_SECONDS),
    HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
    LOG_LEVEL: 'warn',
  };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    baseUrls.push(`http://127.0.0.1:${port}`);
    apis.push(spawnNode(apiMain, { ...env, PORT: String(port), DB_POOL_SIZE: '6' }));
    workers.push(spawnNode(workerMain, { ...env, DB_POOL_SIZE: '3' }));
  }
  await Promise.all(apis.map((api, i) => waitForReady(baseUrls[i] ?? '', api)));
}, 60_000);

afterAll(async () => {
  // after a failure, the processes' output (a 500's error line and stack) is printed
  await stopSpawned();
  await db?.drop();
});

type Outcome = 'bought' | 'sold out' | 'abandoned' | 'gave up';
/** The payments the API confirmed to the users: each must be CONFIRMED in the database with that amount. */
const paid: { reservationId: string; amount: number }[] = [];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client retries BUSY (the API's "safe to retry") with a jittered pause; anything else is the caller's. */
async function retryBusy<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (errorReason(error) !== 'BUSY' || attempt >= 20) throw error;
      await pause(20 + Math.random() * 80);
    }
  }
}

/**
 * Polls queue.status until ACTIVE, less often the further back in line: 'admitted', 'ended' if the token
 * ended first, 'sold out' if the line says nobody will be admitted (the user leaves it, as a person would).
 */
async function waitForAdmission(client: FrontRowClient): Promise<'admitted' | 'ended' | 'sold out'> {
  for (;;) {
    const ticket = await retryBusy(() => client.queue.status.query());
    if (ticket.status === 'ACTIVE') return 'admitted';
    if (ticket.status !== 'WAITING') return 'ended';
    if (ticket.soldOut) {
      await retryBusy(() => client.queue.leave.mutate());
      return 'sold out';
    }
    await pause(Math.min(1_000, 100 + (ticket.position ?? 1) * 10) * (0.5 + Math.random()));
  }
}

function pick<T>(items: T[], count: number): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) picked.push(...pool.splice(Math.floor(Math.random() * pool.length), 1));
  return picked;
}

/** One admitted visit: list, hold (other seats on a conflict), charge, pay. 'lapsed' if the token ran out. */
async function shop(client: FrontRowClient, i: number): Promise<Outcome | 'lapsed'> {
  for (let attempt = 0; attempt < 15; attempt++) {
    try {
      const dates = await retryBusy(() => client.concerts.availableDates.query({ concertId }));
      const [date] = pick(dates, 1);
      if (!date) {
        await retryBusy(() => client.queue.leave.mutate());
        return 'sold out';
      }
      const map = await retryBusy(() => client.concerts.seats.query({ concertId, date: date.date }));
      const free = map.seats.filter((seat) => seat.status === 'AVAILABLE').map((seat) => seat.number);
      const seatNumbers = pick(free, Math.random() < 0.3 ? 2 : 1);
      if (seatNumbers.length === 0) continue;
      const hold = await retryBusy(() => client.reservations.hold.mutate({ concertId, date: date.date, seatNumbers }));
      if (abandons(i)) return 'abandoned';
      await retryBusy(() => client.wallet.charge.mutate({ amount: hold.totalPrice, idempotencyKey: `charge-${hold.reservationId}` }));
      await retryBusy(() => client.payments.pay.mutate({ reservationId: hold.reservationId, idempotencyKey: `pay-${hold.reservationId}` }));
      paid.push({ reservationId: hold.reservationId, amount: hold.totalPrice });
      return 'bought';
    } catch (error) {
      const reason = errorReason(error);
      // someone else won the seat, or our hold lapsed (and the worker may already have expired it): other seats
      if (reason === 'SEAT_UNAVAILABLE' || reason === 'HOLD_EXPIRED' || reason === 'RESERVATION_NOT_PAYABLE') continue;
      if (reason === 'TOKEN_EXPIRED') return 'lapsed';
      throw error;
    }
  }
  await retryBusy(() => client.queue.leave.mutate());
  return 'gave up';
}

async function user(i: number, onBought: () => void): Promise<Outcome> {
  // each user signs in once (a development identity token, as the operator's sign-in would give)
  const { authorization } = await signIn(`e2e-user-${i}-${crypto.randomUUID()}`);
  const client = createFrontRowClient({ url: baseUrls[i % baseUrls.length] ?? '', identityToken: authorization.slice('Bearer '.length) });
  for (let visit = 0; visit < 3; visit++) {
    // a user back at the door after the last seat sold is told so (SOLD_OUT), not given a place
    const ticket = await retryBusy(() => client.queue.enter.mutate({ concertId })).catch((error: unknown) => {
      if (errorReason(error) === 'SOLD_OUT') return null;
      throw error;
    });
    if (ticket === null) return 'sold out';
    client.setQueueToken(ticket.token);
    const admission = await waitForAdmission(client);
    if (admission === 'sold out') return 'sold out';
    if (admission === 'ended') continue;
    const outcome = await shop(client, i);
    if (outcome === 'lapsed') continue; // enter again, at the back of the line
    if (outcome === 'bought') onBought();
    return outcome;
  }
  return 'gave up';
}

describe('flash crowd end to end', () => {
  it('300 users through two APIs and two workers (one SIGKILLed mid-run) keep every invariant', async ({ onTestFailed }) => {
    const startedAt = Date.now();
    // a failure (a timeout too) says how far the run got; the processes' output follows from afterAll
    let phase = 'users shopping';
    let done = 0;
    onTestFailed(() => {
      console.error(
        `[e2e] failed after ${((Date.now() - startedAt) / 1000).toFixed(1)} s, while ${phase}: ${done}/${USERS} users done, ` +
          `${bought} bought, ACTIVE max ${maxActive}/${CAPACITY} over ${samples} samples`,
      );
    });
    // ACTIVE never above capacity: sampled from a connection of its own all through the run
    let sampling = true;
    let maxActive = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const rows = await db.orm.em
          .getConnection()
          .execute<{ n: string }[]>(`select count(*) as n from queue_token where concert_id = ? and status = 'ACTIVE'`, [concertId]);
        maxActive = Math.max(maxActive, Number(rows[0]?.n ?? 0));
        samples++;
        await pause(20);
      }
    })();

    let bought = 0;
    let boughtAtKill = -1;
    const killed = workers[0];
    const outcomes = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const outcome = await user(i, () => {
          bought++;
          if (bought === 15 && killed) {
            boughtAtKill = bought;
            killed.child.kill('SIGKILL');
          }
        });
        done++;
        return outcome;
      }),
    ).finally(async () => {
      // a failed run stops sampling too, and waits for the last sample: afterAll drops the database
      sampling = false;
      await sampler;
    });
    const runSeconds = (Date.now() - startedAt) / 1000;

    expect(await killed?.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
    expect(count('bought') + count('sold out') + count('abandoned') + count('gave up')).toBe(USERS);
    expect(count('bought')).toBeGreaterThan(boughtAtKill); // sales went on after the kill
    expect(count('bought')).toBeGreaterThanOrEqual(40);
    expect(count('sold out')).toBeGreaterThan(0);

    // The surviving worker finishes the jobs: every abandoned hold ends EXPIRED (the 30 s sweep catches a
    // job the killed worker had taken), and abandoned tokens lapse.
    const sql = db.orm.em.getConnection();
    phase = 'waiting for the workers to expire the abandoned holds';
    await waitFor(
      'every hold to be paid or expired',
      async () => (await sql.execute<{ n: string }[]>(`select count(*) as n from reservation where status = 'HELD'`))[0]?.n === '0',
      45_000,
    );
    phase = 'checking the invariants';
    // each abandoned hold is one reservation left HELD, so at least that many ended EXPIRED (holds lapsed
    // before payment add to them); a run where no abandoner got a seat before the sell-out has none
    const expired = await sql.execute<{ n: string }[]>(`select count(*) as n from reservation where status = 'EXPIRED'`);
    expect(Number(expired[0]?.n)).toBeGreaterThanOrEqual(count('abandoned'));

    // the invariants every run checks (the bench's too): no seat sold or held twice, seats and reservations
    // agree, each CONFIRMED reservation paid once with its total, money conserved per wallet, every payment
    // the API confirmed is in the database, ACTIVE never above capacity, admission in ticket order
    const query: InvariantQuery = async (text, params = []) => await sql.execute(text, params);
    const invariants = await checkInvariants(query, [concertId], {
      paid,
      activeSamples: [{ concertId, max: maxActive, maxActive: CAPACITY, samples }],
    });
    expect(invariants.checks.filter((check) => !check.passed)).toEqual([]);
    expect(samples).toBeGreaterThan(10);
    expect(maxActive).toBeGreaterThan(0);
    // and this run's own counts: every sale the users saw, and nothing else
    const sold = await sql.execute<{ seats: string; reservations: string; payments: string }[]>(
      `select (select count(*) from seat where status = 'RESERVED') as seats,
              (select count(*) from reservation where status = 'CONFIRMED') as reservations,
              (select count(*) from payment) as payments`,
    );
    expect(Number(sold[0]?.reservations)).toBe(count('bought'));
    expect(Number(sold[0]?.payments)).toBe(count('bought'));
    expect(paid).toHaveLength(count('bought'));

    console.log(
      `[e2e] ${USERS} users in ${runSeconds.toFixed(1)} s: ${count('bought')} bought (${sold[0]?.seats} seats), ` +
        `${count('sold out')} sold out, ${count('abandoned')} abandoned, ${count('gave up')} gave up; ` +
        `worker killed after ${boughtAtKill} sales; ACTIVE max ${maxActive}/${CAPACITY} over ${samples} samples`,
    );

    // the survivors drain and exit 0 on SIGTERM
    phase = 'stopping the processes';
    for (const child of [...apis, workers[1]]) expect(await child?.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // 7 s of shopping on a quiet machine, 90 s on one loaded past a load average of 15 (other test runs on its
    // two cores), then up to 45 s for the expiry: the bound leaves room for both
  }, 240_000);
});
