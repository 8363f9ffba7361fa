import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { configureQueue } from './configure-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { leaveQueue } from './leave-queue.ts';
import { type QueueTicket, readTicketState, toQueueTicket } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => {
  await db?.drop();
});

const tokens = createTokenSigner('estimated-wait-test-secret-0123456789abcdef');
const start = new Date('2030-01-01T00:00:00Z');

/** A concert and a manual clock; its users enter, leave and are polled through the use cases, as the API does. */
async function line(options: { maxActive: number; activeTtlSeconds?: number }) {
  const clock = manualClock(start);
  const deps = testDeps(db.orm, { clock });
  const { concertId } = await createConcert(deps, {
    title: 'Q',
    venue: 'V',
    dates: ['2030-06-01'],
    activeTtlSeconds: 600,
    // the admitted users here never call again: the arrival window (arrival.int.test.ts) stays out of the way
    arrivalSeconds: 86_400,
    ...options,
  });
  const enter = async (n: number) => {
    const entered: QueueTicket[] = [];
    for (let i = 0; i < n; i++) entered.push(await enterQueue({ ...deps, tokens }, { concertId, userId: crypto.randomUUID() }));
    return entered;
  };
  /** `queue.status`: the one prepared read, then the wire shape. */
  const status = async (ticket: QueueTicket) => {
    const claims = await tokens.verify(ticket.token);
    const state = claims && (await readTicketState(db.orm.em.fork(), claims, clock.now()));
    if (!state) throw new Error('unknown token');
    return toQueueTicket(ticket.token, state);
  };
  const leave = async (ticket: QueueTicket) => {
    const claims = await tokens.verify(ticket.token);
    const state = claims && (await readTicketState(db.orm.em.fork(), claims, clock.now()));
    if (!state) throw new Error('unknown token');
    await leaveQueue(deps, { token: ticket.token, ticket: state });
  };
  const round = async () => await admitQueue(deps, { concertId });
  return { concertId, clock, deps, enter, status, leave, round };
}

describe('estimatedWaitSeconds', () => {
  it('is the next round (1 s) for a place within the free ACTIVE places, before any round and after one', async () => {
    const q = await line({ maxActive: 3 });
    const [first] = await q.enter(1);
    expect(await q.status(first as QueueTicket)).toMatchObject({ status: 'WAITING', position: 1, estimatedWaitSeconds: 1 });

    await q.round(); // ticket 1 ACTIVE: two places free
    const [second, third, fourth] = await q.enter(3);
    expect(await q.status(second as QueueTicket)).toMatchObject({ position: 1, estimatedWaitSeconds: 1 });
    expect(await q.status(third as QueueTicket)).toMatchObject({ position: 2, estimatedWaitSeconds: 1 });
    // beyond the free places, and nothing measured yet: one activeTtl per maxActive places behind them
    expect(await q.status(fourth as QueueTicket)).toMatchObject({ position: 3, estimatedWaitSeconds: 200 });
  });

  it('falls back to (position − free) / maxActive × activeTtl until the line has moved twice', async () => {
    const q = await line({ maxActive: 2, activeTtlSeconds: 600 });
    const entered = await q.enter(5);
    const fill = await q.round(); // the opening fill is one round: not a rate
    expect(fill?.admitRatePerMinute).toBeNull();
    expect(await q.status(entered[2] as QueueTicket)).toMatchObject({ position: 1, estimatedWaitSeconds: 300 });
    expect(await q.status(entered[4] as QueueTicket)).toMatchObject({ position: 3, estimatedWaitSeconds: 900 });
    q.clock.advance(30_000); // the first admitted leave after a pause: the first move is not a rate either
    await q.leave(entered[0] as QueueTicket);
    expect((await q.round())?.admitRatePerMinute).toBeNull();
    q.clock.advance(2_000); // … the next admission is: 1 in 2 s since the line moved, not 2 in 32 s
    await q.leave(entered[1] as QueueTicket);
    expect((await q.round())?.admitRatePerMinute).toBe(30);
    expect(await q.status(entered[4] as QueueTicket)).toMatchObject({ position: 1, estimatedWaitSeconds: 2 });
  });

  it('is position / rate once the admitter has measured admissions over the last minute', async () => {
    const q = await line({ maxActive: 2, activeTtlSeconds: 600 });
    const entered = await q.enter(20);
    await q.round(); // t = 0: tickets 1, 2 fill the free places
    // every 2 s both admitted users leave and the next round admits two more: 1 admission a second
    for (let i = 0; i < 3; i++) {
      q.clock.advance(2_000);
      await q.leave(entered[2 * i] as QueueTicket);
      await q.leave(entered[2 * i + 1] as QueueTicket);
      await q.round();
    }
    // rounds at 0, 2, 4, 6 s: 4 admitted after the second round, in 4 s
    expect((await q.round())?.admitRatePerMinute).toBe(60);
    const last = await q.status(entered[19] as QueueTicket);
    expect(last).toMatchObject({ position: 12, estimatedWaitSeconds: 12 });
    expect(await q.status(entered[8] as QueueTicket)).toMatchObject({ position: 1, estimatedWaitSeconds: 1 });

    // half the pace: 4 s per two admissions; over the last minute the rate follows
    for (let i = 3; i < 6; i++) {
      q.clock.advance(4_000);
      await q.leave(entered[2 * i] as QueueTicket);
      await q.leave(entered[2 * i + 1] as QueueTicket);
      await q.round();
    }
    // rounds at 0 … 18 s: 10 admitted after the second, in 16 s = 37.5/min; 6 places ahead of the last
    expect(await q.status(entered[19] as QueueTicket)).toMatchObject({ position: 6, estimatedWaitSeconds: 10 });

    // a minute with nobody admitted: nothing measured, back to the fallback
    q.clock.advance(61_000);
    expect((await q.round())?.admitRatePerMinute).toBeNull();
    expect(await q.status(entered[19] as QueueTicket)).toMatchObject({ position: 6, estimatedWaitSeconds: 1800 });
  });

  it('is never negative nor below the next round: a huge rate, and a capacity lowered below the active count', async () => {
    const q = await line({ maxActive: 4, activeTtlSeconds: 600 });
    const entered = await q.enter(16);
    await q.round();
    for (const batch of [0, 1]) {
      q.clock.advance(1);
      for (const t of entered.slice(4 * batch, 4 * batch + 4)) await q.leave(t);
      await q.round(); // 4 admitted a millisecond after the round before: 240,000/min
    }
    expect((await q.round())?.admitRatePerMinute).toBe(240_000);
    for (const t of entered.slice(12)) expect((await q.status(t)).estimatedWaitSeconds).toBe(1);

    await configureQueue(q.deps, { concertId: q.concertId, maxActive: 1 });
    q.clock.advance(61_000); // rate gone; 4 ACTIVE over a capacity of 1
    await q.round();
    for (const t of entered.slice(12)) {
      const ticket = await q.status(t);
      expect(ticket.estimatedWaitSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(await q.status(entered[12] as QueueTicket)).toMatchObject({ position: 1, estimatedWaitSeconds: 600 });
  });
});
