import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Concert, Reservation, Schedule, Seat } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { isDomainError } from '../errors.ts';
import type { JobScheduler } from '../jobs.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { leaveQueue } from './leave-queue.ts';
import { type QueueTicket, readTicketState } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 30 });
});
afterAll(async () => db?.drop());

const tokens = createTokenSigner('leave-queue-test-secret-0123456789abcdef');
const uuid = () => crypto.randomUUID();

function spyJobs(): JobScheduler & { nudges: string[] } {
  const nudges: string[] = [];
  return { nudges, expireHoldAt: async () => {}, nudgeAdmission: async (concertId) => void nudges.push(concertId) };
}

async function concert(options: { maxActive?: number; activeTtlSeconds?: number } = {}): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'Q', venue: 'V', dates: ['2030-06-01'], ...options })).concertId;
}

async function enter(concertId: string, clock = manualClock()): Promise<QueueTicket> {
  return await enterQueue({ ...testDeps(db.orm, { clock }), tokens }, { concertId, userId: uuid() });
}

async function stateOf(ticket: QueueTicket, now = new Date()) {
  const claims = await tokens.verify(ticket.token);
  const state = claims && (await readTicketState(db.orm.em.fork(), claims, now));
  if (!state) throw new Error('unknown token');
  return state;
}

/** A live hold of seats 1 and 2 of the concert's first date, as the booking use case leaves it. */
async function holdTwoSeats(concertId: string, userId: string): Promise<string> {
  const em = db.orm.em.fork();
  const schedule = await em.findOneOrFail(Schedule, { concert: concertId });
  const seats = await em.find(Seat, { schedule, number: { $in: [1, 2] } }, { orderBy: { number: 'asc' } });
  const until = new Date(Date.now() + 300_000);
  const reservation = em.create(Reservation, {
    userId,
    concert: em.getReference(Concert, concertId),
    schedule,
    seatNumbers: [1, 2],
    totalPrice: 100_000,
    status: 'HELD',
    expiresAt: until,
  });
  for (const seat of seats) seat.holdFor(reservation, until);
  await em.flush();
  return reservation.id;
}

describe('queue.leave', () => {
  it('cancels a WAITING token and does not ask for admission (no ACTIVE place was freed)', async () => {
    const jobs = spyJobs();
    const concertId = await concert();
    const ticket = await enter(concertId);
    const left = await leaveQueue(testDeps(db.orm, { jobs }), { token: ticket.token, ticket: await stateOf(ticket) });
    expect(left).toEqual({ ...ticket, status: 'CANCELLED', position: null, estimatedWaitSeconds: null, activeUntil: null });
    expect((await stateOf(ticket)).status).toBe('CANCELLED');
    expect(jobs.nudges).toEqual([]);
  });

  it('cancels an ACTIVE token, releases the holds of its user, and asks for admission after commit', async () => {
    const concertId = await concert({ maxActive: 1 });
    const ticket = await enter(concertId);
    const seenByNudge: string[] = [];
    const jobs: JobScheduler = {
      expireHoldAt: async () => {},
      // what another process sees when the nudge arrives: the leave must already be committed
      nudgeAdmission: async (id) => void seenByNudge.push(id, (await stateOf(ticket)).status),
    };
    await admitQueue(testDeps(db.orm), { concertId });
    const reservationId = await holdTwoSeats(concertId, ticket.userId);
    const otherUsersHold = await holdTwoSeats(await concert(), ticket.userId); // another concert: untouched

    await leaveQueue(testDeps(db.orm, { jobs }), { token: ticket.token, ticket: await stateOf(ticket) });
    const em = db.orm.em.fork();
    expect((await em.findOneOrFail(Reservation, reservationId)).status).toBe('CANCELLED');
    const seats = await em.find(Seat, { schedule: { concert: concertId }, number: { $in: [1, 2] } });
    expect(seats.map((s) => [s.status, s.reservation])).toEqual([
      ['AVAILABLE', null],
      ['AVAILABLE', null],
    ]);
    expect((await em.findOneOrFail(Reservation, otherUsersHold)).status).toBe('HELD');
    expect(seenByNudge).toEqual([concertId, 'CANCELLED']);
  });

  it('answers the same CANCELLED ticket when the user leaves again', async () => {
    const concertId = await concert();
    const ticket = await enter(concertId);
    const first = await leaveQueue(testDeps(db.orm), { token: ticket.token, ticket: await stateOf(ticket) });
    const again = await leaveQueue(testDeps(db.orm), { token: ticket.token, ticket: await stateOf(ticket) });
    expect(again).toEqual(first);
  });

  it('answers TOKEN_EXPIRED for a token that already ended: EXPIRED, COMPLETED, or ACTIVE past activeUntil', async () => {
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const concertId = await concert({ maxActive: 5, activeTtlSeconds: 60 });
    const lapsed = await enter(concertId, clock);
    const completed = await enter(concertId, clock);
    await admitQueue(testDeps(db.orm, { clock }), { concertId });
    await db.orm.em.fork().execute(`update queue_token set status = 'COMPLETED' where id = ?`, [(await stateOf(completed)).tokenId]);
    clock.advance(61_000);
    for (const ticket of [lapsed, completed]) {
      const outcome = await leaveQueue(testDeps(db.orm, { clock }), {
        token: ticket.token,
        ticket: await stateOf(ticket, clock.now()),
      }).catch((error: unknown) => error);
      expect(isDomainError(outcome, 'TOKEN_EXPIRED')).toBe(true);
    }
    expect((await stateOf(completed)).status).toBe('COMPLETED');
  });

  it('waits for an admitter promoting the token, and cancels the token as the admitter left it', async () => {
    const jobs = spyJobs();
    const concertId = await concert({ maxActive: 1 });
    const ticket = await enter(concertId);
    const state = await stateOf(ticket);
    let leaving: Promise<QueueTicket> | undefined;
    // the "admitter": promotes the token, and commits only once the leave has read it and waits on its row
    await db.orm.em.fork().transactional(async (tx) => {
      await tx.execute(
        `update queue_token set status = 'ACTIVE', activated_at = now(), active_until = now() + interval '10 minutes', version = version + 1 where id = ?`,
        [state.tokenId],
      );
      leaving = leaveQueue(testDeps(db.orm, { jobs }), { token: ticket.token, ticket: state });
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        const [waiting] = await db.orm.em
          .fork()
          .execute<{ n: string }[]>(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%"queue_token"%'`,
          );
        if (Number(waiting?.n) > 0) return;
      }
      throw new Error('the leave never waited on the token row');
    });
    expect((await leaving)?.status).toBe('CANCELLED');
    expect((await stateOf(ticket)).status).toBe('CANCELLED');
    // the leave read the token as the admitter left it, ACTIVE: its place is free, so admission is asked for
    expect(jobs.nudges).toEqual([concertId]);
  });

  it('locks the token before the holds (the house order): a locked token holds the leave before any reservation', async () => {
    const concertId = await concert({ maxActive: 1 });
    const ticket = await enter(concertId);
    await admitQueue(testDeps(db.orm), { concertId });
    const state = await stateOf(ticket);
    const reservationId = await holdTwoSeats(concertId, state.userId);
    let leaving: Promise<QueueTicket> | undefined;
    // another transaction holds the token's row (a payment of this user, say) while the leave starts
    await db.orm.em.fork().transactional(async (tx) => {
      await tx.execute(`select id from queue_token where id = ? for update`, [state.tokenId]);
      leaving = leaveQueue(testDeps(db.orm), { token: ticket.token, ticket: state });
      for (let waited = false, deadline = Date.now() + 10_000; !waited; ) {
        if (Date.now() > deadline) throw new Error('the leave never waited on the token row');
        const [row] = await db.orm.em
          .fork()
          .execute<{ n: string }[]>(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%"queue_token"%'`,
          );
        waited = Number(row?.n) > 0;
        if (!waited) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // the leave waits on the token and has locked nothing after it: the reservation is free to lock
      await db.orm.em.fork().transactional(async (probe) => {
        await probe.execute(`select id from reservation where id = ? for update nowait`, [reservationId]);
      });
    });
    expect((await leaving)?.status).toBe('CANCELLED');
    const [held] = await db.orm.em.fork().execute<{ status: string }[]>(`select status from reservation where id = ?`, [reservationId]);
    expect(held?.status).toBe('CANCELLED');
  });

  it('wins or replays against a concurrent admission of the same tokens: every leave ends CANCELLED, none fails', async () => {
    const concertId = await concert({ maxActive: 40 });
    const tickets = await Promise.all(Array.from({ length: 40 }, () => enter(concertId)));
    const admitting = (async () => {
      for (let i = 0; i < 5; i++) await admitQueue(testDeps(db.orm), { concertId });
    })();
    const left = await Promise.all(tickets.map(async (t) => leaveQueue(testDeps(db.orm), { token: t.token, ticket: await stateOf(t) })));
    await admitting;
    expect(new Set(left.map((l) => l.status))).toEqual(new Set(['CANCELLED']));
    const rows = await db.orm.em
      .fork()
      .execute<{ status: string }[]>(`select distinct status from queue_token where concert_id = ?`, [concertId]);
    expect(rows).toEqual([{ status: 'CANCELLED' }]);
  });
});
