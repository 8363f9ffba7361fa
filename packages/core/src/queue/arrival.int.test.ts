import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { holdSeats } from '../booking/hold-seats.ts';
import { manualClock, systemClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { type TokenCrowdColumns, NO_SHOW_SQL, isNoShow } from './crowd-rules.ts';
import { enterQueue } from './enter-queue.ts';
import { queueStats } from './queue-stats.ts';
import { TICKET_STATE_SQL, type QueueTicket, type TicketRow, arrive, readTicketState, ticketStateOf, toQueueTicket } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 12 });
});
afterAll(async () => db?.drop());

const tokens = createTokenSigner('arrival-test-secret-0123456789abcdefghij');
const sql = <T>(query: string, params: unknown[] = []) => db.orm.em.fork().execute<T[]>(query, params);
const start = new Date('2030-01-01T00:00:00Z');

async function line(options: { maxActive: number; arrivalSeconds: number; clock?: ReturnType<typeof manualClock> | typeof systemClock }) {
  // the real-clock test never advances it
  const clock = (options.clock ?? manualClock(start)) as ReturnType<typeof manualClock>;
  const deps = testDeps(db.orm, { clock });
  const { concertId } = await createConcert(testDeps(db.orm), {
    title: 'Arrivals',
    venue: 'V',
    dates: ['2030-06-01'],
    maxActive: options.maxActive,
    arrivalSeconds: options.arrivalSeconds,
  });
  const enter = async (n: number, userId?: string) => {
    const entered: QueueTicket[] = [];
    for (let i = 0; i < n; i++) entered.push(await enterQueue({ ...deps, tokens }, { concertId, userId: userId ?? crypto.randomUUID() }));
    return entered;
  };
  /** `queue.status` as the API answers it: the guard's read (which claims an ACTIVE token), then the wire shape. */
  const status = async (ticket: QueueTicket) => {
    const claims = await tokens.verify(ticket.token);
    const state = claims && (await readTicketState(db.orm.em.fork(), claims, clock.now()));
    if (!state) throw new Error('unknown token');
    return toQueueTicket(ticket.token, state);
  };
  const row = async (ticket: QueueTicket) => {
    const claims = await tokens.verify(ticket.token);
    const [found] = await sql<{ status: string; expired_reason: string | null; claimed_at: Date | null; version: number }>(
      `select status, expired_reason, claimed_at, version from queue_token where id = ?`,
      [claims?.tokenId],
    );
    return found;
  };
  return { concertId, clock, deps, enter, status, row, round: () => admitQueue(deps, { concertId }) };
}

describe('arrival window', () => {
  it('an admitted user who never calls is a NO_SHOW once the window runs out, before and after the admitter frees the slot', async () => {
    const q = await line({ maxActive: 1, arrivalSeconds: 30 });
    const [absent, next] = (await q.enter(2)) as [QueueTicket, QueueTicket];
    await q.round();
    q.clock.advance(30_000);
    // the rule reads off the rows: no admitter needed, and a late call does not claim the slot back
    expect(await q.status(absent)).toMatchObject({ status: 'EXPIRED', expiredReason: 'NO_SHOW', activeUntil: null });
    expect((await q.row(absent))?.claimed_at).toBeNull();

    const round = await q.round();
    expect(round).toMatchObject({ noShows: 1, admittedTickets: [2] });
    expect(await q.row(absent)).toMatchObject({ status: 'EXPIRED', expired_reason: 'NO_SHOW' });
    expect(await q.status(next)).toMatchObject({ status: 'ACTIVE' });
    // operators see the slots freed: no-shows whose window ended in the last minute
    expect(await queueStats(q.deps, { concertId: q.concertId })).toMatchObject({ noShowsLastMinute: 1, arrivalSeconds: 30 });
    q.clock.advance(60_000);
    expect((await queueStats(q.deps, { concertId: q.concertId })).noShowsLastMinute).toBe(0);
  });

  it('the first call with the ACTIVE token claims the slot, once: later calls write nothing, and the window no longer applies', async () => {
    const q = await line({ maxActive: 1, arrivalSeconds: 30 });
    const [present] = (await q.enter(1)) as [QueueTicket];
    expect((await q.status(present)).status).toBe('WAITING');
    expect((await q.row(present))?.claimed_at).toBeNull(); // a WAITING read claims nothing
    await q.round();
    q.clock.advance(29_000);
    expect(await q.status(present)).toMatchObject({ status: 'ACTIVE' });
    const claimed = await q.row(present);
    expect(claimed?.claimed_at).not.toBeNull();
    for (let i = 0; i < 5; i++) await q.status(present);
    expect(await q.row(present)).toEqual(claimed); // same version: no second write
    q.clock.advance(60_000);
    expect(await q.round()).toMatchObject({ noShows: 0 });
    expect(await q.status(present)).toMatchObject({ status: 'ACTIVE', expiredReason: null });
  });

  it('a claim that reaches the database after the window ran out claims nothing (a read on time, its write late)', async () => {
    const q = await line({ maxActive: 1, arrivalSeconds: 30 });
    const [late] = (await q.enter(1)) as [QueueTicket];
    await q.round();
    const claims = await tokens.verify(late.token);
    const [row] = await sql<TicketRow>(TICKET_STATE_SQL, [claims?.tokenId]);
    if (!row || !claims) throw new Error('no row');
    const onTime = ticketStateOf(claims.tokenId, row, new Date(start.getTime() + 29_000));
    expect(onTime).toMatchObject({ status: 'ACTIVE', claimedAt: null });
    const after = await arrive(db.orm.em.fork(), onTime, new Date(start.getTime() + 30_000));
    expect(after?.claimedAt).toBeNull();
    expect((await q.row(late))?.claimed_at).toBeNull();
    expect((await arrive(db.orm.em.fork(), onTime, new Date(start.getTime() + 29_500)))?.claimedAt).not.toBeNull();
  });

  it('a hold is an arrival too', async () => {
    const q = await line({ maxActive: 1, arrivalSeconds: 30 });
    const [holder] = (await q.enter(1)) as [QueueTicket];
    await q.round();
    const claims = await tokens.verify(holder.token);
    if (!claims) throw new Error('unverifiable');
    await holdSeats(q.deps, claims, { concertId: q.concertId, date: '2030-06-01', seatNumbers: [3] });
    expect((await q.row(holder))?.claimed_at).not.toBeNull();
    q.clock.advance(31_000);
    expect(await q.round()).toMatchObject({ noShows: 0 });
  });

  it('a no-show who comes back enters again at the back of the line', async () => {
    const q = await line({ maxActive: 1, arrivalSeconds: 30 });
    const userId = crypto.randomUUID();
    const [first] = (await q.enter(1, userId)) as [QueueTicket];
    await q.enter(1);
    await q.round();
    q.clock.advance(30_000);
    const again = (await q.enter(1, userId))[0] as QueueTicket;
    expect(again).toMatchObject({ status: 'WAITING', position: 2 });
    expect(await q.row(first)).toMatchObject({ status: 'EXPIRED', expired_reason: 'NO_SHOW' });
  });

  it('isNoShow and NO_SHOW_SQL agree', async () => {
    const now = new Date('2030-01-01T00:01:00Z');
    const tokens: TokenCrowdColumns[] = [];
    for (const status of ['WAITING', 'ACTIVE', 'EXPIRED'] as const)
      for (const claimed_at of [null, new Date('2030-01-01T00:00:10Z')])
        for (const activated_at of [
          null,
          new Date('2030-01-01T00:00:00Z'),
          new Date('2030-01-01T00:00:30Z'),
          new Date('2030-01-01T00:00:31Z'),
        ])
          tokens.push({ status, claimed_at, activated_at, active_until: null, expired_reason: null, pre_ticket: null });
    for (const token of tokens) {
      const [row] = await sql<{ no_show: boolean }>(
        `select ${NO_SHOW_SQL('t', 'c', '?::timestamptz')} as no_show
           from (select ?::text as status, ?::timestamptz as claimed_at, ?::timestamptz as activated_at) t, (select 30 as arrival_seconds) c`,
        [now, token.status, token.claimed_at, token.activated_at],
      );
      expect({ token, noShow: row?.no_show === true }).toEqual({ token, noShow: isNoShow(token, { arrival_seconds: 30 }, now) });
    }
  });

  it('100 admitted no-shows and 100 real users behind them: every real user is ACTIVE within the window + 2 s of the no-shows’ admission', async () => {
    const ARRIVAL = 2;
    const q = await line({ maxActive: 100, arrivalSeconds: ARRIVAL, clock: systemClock });
    const noShows = await q.enter(100);
    const real = await q.enter(100);
    // the worker's cadence: a round a second, on the real clock
    let running = true;
    const admitter = (async () => {
      while (running) {
        await q.round();
        await sleep(1_000);
      }
    })();
    try {
      // the real users poll (and so claim their slot when admitted); the no-shows never call again
      const seenActive = new Set<string>();
      const deadline = Date.now() + 30_000;
      while (seenActive.size < real.length && Date.now() < deadline) {
        for (const ticket of real) {
          if (seenActive.has(ticket.token)) continue;
          if ((await q.status(ticket)).status === 'ACTIVE') seenActive.add(ticket.token);
        }
        await sleep(100);
      }
      expect(seenActive.size).toBe(real.length);
    } finally {
      running = false;
      await admitter;
    }
    const times = await sql<{ ticket: string; activated_at: Date; status: string; expired_reason: string | null; claimed_at: Date | null }>(
      `select ticket, activated_at, status, expired_reason, claimed_at from queue_token where concert_id = ? order by ticket`,
      [q.concertId],
    );
    const absent = times.slice(0, 100);
    const present = times.slice(100);
    expect(absent.every((t) => t.status === 'EXPIRED' && t.expired_reason === 'NO_SHOW')).toBe(true);
    expect(present.every((t) => t.status === 'ACTIVE' && t.claimed_at !== null)).toBe(true);
    const noShowsAdmitted = Math.min(...absent.map((t) => new Date(t.activated_at).getTime()));
    const lastRealAdmitted = Math.max(...present.map((t) => new Date(t.activated_at).getTime()));
    expect(lastRealAdmitted - noShowsAdmitted).toBeLessThanOrEqual((ARRIVAL + 2) * 1_000);
    expect(noShows).toHaveLength(100);
  });
});
