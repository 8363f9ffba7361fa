import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { isDomainError } from '../errors.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { shuffledPlaces } from './admission.ts';
import { configureQueue } from './configure-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { queueStats } from './queue-stats.ts';
import { type QueueTicket, assertAdmitted, readTicketState, toQueueTicket } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
/** Two more connection pools on the same database: two workers' admitters. */
let admitters: MikroORM[] = [];
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 12 });
  admitters = [await openOrm({ databaseUrl: db.url, poolSize: 2 }), await openOrm({ databaseUrl: db.url, poolSize: 2 })];
});
afterAll(async () => {
  for (const orm of admitters) await orm.close(true);
  await db?.drop();
});

const tokens = createTokenSigner('pre-queue-test-secret-0123456789abcdefghij');
const sql = <T>(query: string, params: unknown[] = []) => db.orm.em.fork().execute<T[]>(query, params);
const OPENS = new Date('2030-01-01T10:00:00Z');

async function preQueuedConcert(maxActive = 10) {
  const clock = manualClock(new Date(OPENS.getTime() - 3_600_000));
  const deps = testDeps(db.orm, { clock });
  const { concertId } = await createConcert(deps, {
    title: 'Opening',
    venue: 'V',
    dates: ['2030-06-01'],
    maxActive,
    arrivalSeconds: 86_400,
    salesOpenAt: OPENS.toISOString(),
  });
  /** `n` users entering, 10 at a time. */
  const enter = async (n: number): Promise<QueueTicket[]> => {
    const entered: QueueTicket[] = [];
    for (let i = 0; i < n; i += 10) {
      const batch = Array.from({ length: Math.min(10, n - i) }, () =>
        enterQueue({ ...deps, tokens }, { concertId, userId: crypto.randomUUID() }),
      );
      entered.push(...(await Promise.all(batch)));
    }
    return entered;
  };
  const status = async (ticket: QueueTicket) => {
    const claims = await tokens.verify(ticket.token);
    const state = claims && (await readTicketState(db.orm.em.fork(), claims, clock.now()));
    if (!state) throw new Error('unknown token');
    return { wire: toQueueTicket(ticket.token, state), state };
  };
  return { concertId, clock, deps, enter, status };
}

/** Kendall's tau of a sequence against its sorted order: 1 is the same order, −1 reversed, ~0 unrelated. */
function kendallTau(values: number[]): number {
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < values.length; i++)
    for (let j = i + 1; j < values.length; j++) {
      if ((values[j] as number) > (values[i] as number)) concordant++;
      else discordant++;
    }
  return (concordant - discordant) / (concordant + discordant);
}

async function ticketsByIssue(concertId: string) {
  return await sql<{ id: string; ticket: string; pre_ticket: string | null; status: string }>(
    `select id, ticket, pre_ticket, status from queue_token where concert_id = ? order by coalesce(pre_ticket, ticket)`,
    [concertId],
  );
}

describe('pre-queue and the fair opening', () => {
  it('before the opening: PRE_QUEUE, no place, the opening time on the ticket; nobody admitted; not admitted to buy', async () => {
    const q = await preQueuedConcert();
    const [early] = (await q.enter(3)) as [QueueTicket];
    expect(early).toMatchObject({ status: 'PRE_QUEUE', position: null, estimatedWaitSeconds: null, salesOpenAt: OPENS.toISOString() });
    const { wire, state } = await q.status(early);
    expect(wire).toMatchObject({ status: 'PRE_QUEUE', position: null, salesOpenAt: OPENS.toISOString() });
    expect(() => assertAdmitted(state)).toThrow(expect.objectContaining({ reason: 'QUEUE_NOT_ADMITTED' }));
    expect(await admitQueue(q.deps, { concertId: q.concertId })).toMatchObject({ halted: 'PRE_QUEUE', admittedTickets: [], opening: null });
    expect(await queueStats(q.deps, { concertId: q.concertId })).toMatchObject({
      preQueue: 3,
      salesOpenAt: OPENS.toISOString(),
      openedAt: null,
    });
  });

  it('1,000 pre-queued users get a random permutation of the first 1,000 places, later arrivals all behind them, auditable from the seed', async () => {
    const q = await preQueuedConcert(10);
    const early = await q.enter(1_000);
    q.clock.set(OPENS);
    const round = await admitQueue(q.deps, { concertId: q.concertId });
    expect(round?.opening?.places).toHaveLength(1_000);
    expect(round?.admittedTickets).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const late = await q.enter(20);
    expect(late.every((t) => t.status === 'WAITING')).toBe(true);

    const rows = await ticketsByIssue(q.concertId);
    const pre = rows.slice(0, 1_000);
    const after = rows.slice(1_000);
    // every pre-queued token: a new place, and its issued ticket kept; the places are 1…1000, each once
    expect(pre.map((r) => Number(r.pre_ticket))).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(pre.map((r) => Number(r.ticket)).sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    // later arrivals: behind everyone, in arrival order
    expect(after.map((r) => [Number(r.ticket), r.pre_ticket])).toEqual(Array.from({ length: 20 }, (_, i) => [1_001 + i, null]));
    // not arrival order: a uniformly random order of 1,000 has Kendall's tau ~ N(0, 0.021²); |tau| ≥ 0.3 is
    // 14 standard deviations out (probability far below 1e-40), while arrival order has tau = 1
    const places = pre.map((r) => Number(r.ticket));
    expect(places).not.toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(Math.abs(kendallTau(places))).toBeLessThan(0.3);

    // the audit: the round reports each ticket's place and the seed, and the seed recomputes the order
    const seed = round?.opening?.seed ?? '';
    expect((await sql<{ open_seed: string }>(`select open_seed from concert where id = ?`, [q.concertId]))[0]?.open_seed).toBe(seed);
    const recomputed = shuffledPlaces(1_000, Buffer.from(seed, 'hex')).map((place) => place + 1);
    expect(recomputed).toEqual(places);
    expect(round?.opening?.places.map((p) => p.ticket)).toEqual(places);

    // the tokens issued before the opening still answer (their claims name the issued ticket), with the new place
    const sample = early[500] as QueueTicket;
    const claims = await tokens.verify(sample.token);
    const row = pre.find((r) => String(r.id) === claims?.tokenId);
    const { wire } = await q.status(sample);
    expect(wire).toMatchObject({ status: expect.stringMatching(/^(WAITING|ACTIVE)$/), salesOpenAt: null });
    if (wire.status === 'WAITING') expect(wire.position).toBe(Number(row?.ticket) - 10);
    // and entering again hands back the very same token
    expect((await enterQueue({ ...q.deps, tokens }, { concertId: q.concertId, userId: sample.userId })).token).toBe(sample.token);
  });

  it('the opening runs once, even with two admitters on separate connections racing for it', async () => {
    for (let race = 0; race < 3; race++) {
      const q = await preQueuedConcert(5);
      await q.enter(60);
      q.clock.set(OPENS);
      const rounds = await Promise.all(
        [...admitters, ...admitters].map((orm) => admitQueue(testDeps(orm, { clock: q.clock }), { concertId: q.concertId })),
      );
      expect(rounds.filter((r) => r?.opening).length).toBe(1);
      const rows = await ticketsByIssue(q.concertId);
      // a second shuffle would have overwritten pre_ticket with a shuffled ticket: still the issue order
      expect(rows.map((r) => Number(r.pre_ticket))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => Number(r.ticket))).size).toBe(60);
      expect(rows.filter((r) => r.status === 'ACTIVE')).toHaveLength(5);
    }
  });

  it('the opening time cannot move once the sale has opened', async () => {
    const q = await preQueuedConcert();
    await q.enter(1);
    q.clock.set(OPENS);
    await admitQueue(q.deps, { concertId: q.concertId });
    const moved = await configureQueue(q.deps, { concertId: q.concertId, salesOpenAt: '2030-01-02T00:00:00Z' }).catch((e: unknown) => e);
    expect(isDomainError(moved, 'VALIDATION')).toBe(true);
  });
});
