import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { configureQueue } from './configure-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { type QueueTicket, readTicketState, toQueueTicket } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const tokens = createTokenSigner('admission-rate-test-secret-0123456789abcdef');
const start = new Date('2030-01-01T00:00:00Z');

async function cappedLine(admitPerMinute: number, waiting: number) {
  const clock = manualClock(start);
  const deps = testDeps(db.orm, { clock });
  const { concertId } = await createConcert(deps, { title: 'Paced', venue: 'V', dates: ['2030-06-01'], maxActive: 10_000 });
  await configureQueue(deps, { concertId, admitPerMinute });
  const entered: QueueTicket[] = [];
  for (let i = 0; i < waiting; i++) entered.push(await enterQueue({ ...deps, tokens }, { concertId, userId: crypto.randomUUID() }));
  return { concertId, clock, deps, entered };
}

/** Every admission's time (ms), one entry per admitted token. */
async function admissionTimes(concertId: string): Promise<number[]> {
  const rows = await db.orm.em
    .fork()
    .execute<{ at: Date }[]>(
      `select activated_at as at from queue_token where concert_id = ? and activated_at is not null order by activated_at`,
      [concertId],
    );
  return rows.map((r) => new Date(r.at).getTime());
}

/** The most admissions in any minute `(t − 60 s, t]`: the busiest minute ends at an admission. */
function busiestMinute(times: number[]): number {
  return Math.max(0, ...times.map((t) => times.filter((u) => u > t - 60_000 && u <= t).length));
}

describe('admitPerMinute', () => {
  it('30 a minute, rounds every second for 3 minutes: never more than 30 in any minute, one every 2 s, not a burst', async () => {
    const q = await cappedLine(30, 200);
    const perRound: number[] = [];
    for (let second = 0; second < 180; second++) {
      const round = await admitQueue(q.deps, { concertId: q.concertId });
      perRound.push(round?.admittedTickets.length ?? 0);
      q.clock.advance(1_000);
    }
    const times = await admissionTimes(q.concertId);
    expect(busiestMinute(times)).toBeLessThanOrEqual(30);
    expect(times.length).toBeGreaterThanOrEqual(89); // the cap is the pace, not a ceiling it sits far below
    expect(Math.max(...perRound)).toBe(1);
    // evenly: consecutive admissions 2 s apart
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(Math.min(...gaps)).toBe(2_000);
  });

  it('rounds at any rhythm (a storm of nudged rounds, then a long silence) never make a minute hold more than the cap', async () => {
    const q = await cappedLine(120, 400);
    // 20 rounds 50 ms apart (nudges), a 40 s gap, then rounds at odd intervals
    const steps = [
      ...Array.from({ length: 20 }, () => 50),
      40_000,
      ...Array.from({ length: 150 }, (_, i) => [130, 700, 1_900, 333][i % 4] as number),
    ];
    for (const step of steps) {
      await admitQueue(q.deps, { concertId: q.concertId });
      q.clock.advance(step);
    }
    const times = await admissionTimes(q.concertId);
    expect(busiestMinute(times)).toBeLessThanOrEqual(120);
    // and no burst: the admissions of any second sit on the virtual schedule within that second and the
    // one-second catch-up before it: at most 2 s / 0.5 s + 1 = 5 (an unpaced round would admit hundreds)
    expect(Math.max(...times.map((t) => times.filter((u) => u > t - 1_000 && u <= t).length))).toBeLessThanOrEqual(5);
    expect(times.length).toBeGreaterThan(0);
  });

  it('a lowered cap holds at once: the minute already admitted counts against it', async () => {
    const q = await cappedLine(60, 200);
    for (let second = 0; second < 30; second++) {
      await admitQueue(q.deps, { concertId: q.concertId });
      q.clock.advance(1_000);
    }
    expect(await admissionTimes(q.concertId)).toHaveLength(30);
    await configureQueue(q.deps, { concertId: q.concertId, admitPerMinute: 30 });
    for (let second = 0; second < 90; second++) {
      await admitQueue(q.deps, { concertId: q.concertId });
      q.clock.advance(1_000);
    }
    expect(busiestMinute(await admissionTimes(q.concertId))).toBeLessThanOrEqual(60);
    const after = (await admissionTimes(q.concertId)).filter((t) => t >= start.getTime() + 30_000);
    // every minute that ends after the change holds at most 30
    const all = await admissionTimes(q.concertId);
    for (const t of after) expect(all.filter((u) => u > t - 60_000 && u <= t).length).toBeLessThanOrEqual(30);
    expect(after.length).toBeGreaterThan(0);
  });

  it('the estimate uses the cap: the 60th in line of a 30-a-minute line waits about two minutes, not one round', async () => {
    const q = await cappedLine(30, 60);
    const claims = await tokens.verify((q.entered[59] as QueueTicket).token);
    const state = claims && (await readTicketState(db.orm.em.fork(), claims, q.clock.now()));
    if (!state) throw new Error('unknown token');
    expect(toQueueTicket('t', state)).toMatchObject({ position: 60, estimatedWaitSeconds: 120 });
  });

  it('without a cap, the free places are filled at once, as before', async () => {
    const q = await cappedLine(30, 50);
    await configureQueue(q.deps, { concertId: q.concertId, admitPerMinute: 0 });
    expect((await admitQueue(q.deps, { concertId: q.concertId }))?.admittedTickets).toHaveLength(50);
  });
});
