/**
 * Waiting costs the database nothing (issue 16) and streams come from one reader (issue 13): the API's
 * in-memory admission state, against a real database changed by another pool (another process's view).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  AdmissionMemory,
  type AdmissionMemoryOptions,
  type QueueTicket,
  type TokenClaims,
  WatchRegistry,
  admitQueue,
  configureQueue,
  createConcert,
  leaveQueue,
  readTicketState,
  toQueueTicket,
} from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildServer } from '../server.ts';
import { type SseEvent, sse } from '../sse.testing.ts';
import { signIn, testInnerContext } from '../testing.ts';

let db: TestDatabase;
/** Another pool on the same database: admissions and leaves as another process makes them. */
let other: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 20 });
  other = await openOrm({ databaseUrl: db.url, poolSize: 6 });
});
afterAll(async () => {
  await other?.close(true);
  await db?.drop();
});

type Served = { app: FastifyInstance; memory: AdmissionMemory; watches: WatchRegistry; url: string };
const served: Served[] = [];
afterEach(async () => {
  for (const s of served.splice(0)) {
    await s.app.close();
    await s.memory.close();
  }
});

/** An API over the test database with an in-memory admission state of `options`. */
async function serve(options: Partial<AdmissionMemoryOptions> = {}, maxStreams = 100): Promise<Served> {
  const memory = new AdmissionMemory({ em: db.orm.em, ...options });
  const watches = new WatchRegistry(maxStreams);
  const app = await buildServer({ orm: db.orm, inner: testInnerContext(db.orm, { admissions: memory, watches }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const s = { app, memory, watches, url };
  served.push(s);
  return s;
}

const otherDeps = () => testDeps(other);

async function concert(options: { maxActive?: number; activeTtlSeconds?: number } = {}): Promise<string> {
  return (await createConcert(otherDeps(), { title: 'M', venue: 'V', dates: ['2099-06-01'], ...options })).concertId;
}

type Entered = QueueTicket & { claims: TokenClaims; authorization: string };

async function enter(s: Served, concertId: string): Promise<Entered> {
  const user = await signIn();
  const res = await s.app.inject({
    method: 'POST',
    url: '/trpc/queue.enter',
    headers: { authorization: user.authorization },
    payload: { concertId },
  });
  expect(res.statusCode).toBe(200);
  const ticket = res.json().result.data as QueueTicket;
  const claims = await testInnerContext(db.orm).tokens.verify(ticket.token);
  if (!claims) throw new Error('unverifiable token');
  return { ...ticket, claims, authorization: user.authorization };
}

async function status(s: Served, token: string): Promise<QueueTicket> {
  const res = await s.app.inject({ method: 'GET', url: '/trpc/queue.status', headers: { 'x-queue-token': token } });
  expect(res.statusCode).toBe(200);
  return res.json().result.data as QueueTicket;
}

/** What the database says of a token now, read by the other pool. */
async function databaseTicket(ticket: Entered): Promise<QueueTicket> {
  const state = await readTicketState(other.em.fork(), ticket.claims, new Date());
  if (!state) throw new Error('token not found');
  return toQueueTicket(ticket.token, state);
}

/** Checkouts of the API's pool while `work` runs: each is one round trip (or one transaction) to the database. */
async function checkouts(work: () => Promise<void>): Promise<number> {
  const pool = await db.orm.em.getConnection().getNativeClient();
  let count = 0;
  const counted = () => count++;
  pool.on('acquire', counted);
  try {
    await work();
  } finally {
    pool.off('acquire', counted);
  }
  return count;
}

/** Polls `check` until it returns a value, for at most `ms`. */
async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('queue.status of a WAITING token from memory', () => {
  it('costs no database round trip, answers what the database answers, and reads the row for an ACTIVE token', async () => {
    // no timer and no LISTEN during the count: only the polls could reach the database
    const s = await serve({ refreshMs: 600_000, maxStaleMs: 600_000 });
    const concertId = await concert({ maxActive: 1 });
    const first = await enter(s, concertId);
    const second = await enter(s, concertId);
    await admitQueue(otherDeps(), { concertId });
    await status(s, second.token); // a miss: read from the database, and the concert is asked for
    await s.memory.refresh();

    const polls = await checkouts(async () => {
      for (let i = 0; i < 100; i++) expect(await status(s, second.token)).toEqual(await databaseTicket(second));
    });
    expect(polls).toBe(0);
    expect(await status(s, second.token)).toMatchObject({ status: 'WAITING', position: 1 });
    // an ACTIVE token (at or behind the admission mark) is read from the database, each time (its first
    // read also claims the slot: one write, ever, done here before counting)
    expect((await status(s, first.token)).status).toBe('ACTIVE');
    const active = await checkouts(async () => {
      for (let i = 0; i < 5; i++) expect((await status(s, first.token)).status).toBe('ACTIVE');
    });
    expect(active).toBe(5);
  });

  it('answers a pre-queued token from memory, and after the opening reads the database for every ticket the shuffle dealt', async () => {
    const s = await serve({ refreshMs: 600_000, maxStaleMs: 600_000 });
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const { concertId } = await createConcert(otherDeps(), {
      title: 'P',
      venue: 'V',
      dates: ['2099-06-01'],
      maxActive: 1,
      salesOpenAt: opensAt,
    });
    const preQueued: Entered[] = [];
    for (let i = 0; i < 20; i++) preQueued.push(await enter(s, concertId));
    await status(s, preQueued[0]?.token ?? fail());
    await s.memory.refresh();
    const waiting = await checkouts(async () => {
      for (const e of preQueued) expect(await status(s, e.token)).toEqual(await databaseTicket(e));
    });
    expect(waiting).toBe(0);
    expect((await status(s, preQueued[0]?.token ?? fail())).status).toBe('PRE_QUEUE');

    // the opening: the pre-queue's 20 tickets dealt out again (20! orders: never the one they were issued in)
    await other.em.fork().execute(`update concert set sales_open_at = now() - interval '1 second' where id = ?`, [concertId]);
    await admitQueue(otherDeps(), { concertId });
    const late = await enter(s, concertId);
    await s.memory.refresh();
    // a shuffled token's place is its row's, never its issued ticket's: the database is read for each
    const shuffled = await checkouts(async () => {
      for (const e of preQueued) expect(await status(s, e.token)).toEqual(await databaseTicket(e));
    });
    expect(shuffled).toBeGreaterThanOrEqual(preQueued.length);
    // an arrival after the opening is answered from memory again
    const after = await checkouts(async () => {
      expect(await status(s, late.token)).toEqual(await databaseTicket(late));
    });
    expect(after).toBe(0);
  });

  // the second: a bound so short that nearly every poll finds the state stale and waits for the shared read
  it.each([
    { state: 'fresh', options: {} },
    { state: 'stale', options: { maxStaleMs: 20 } },
  ])(
    'never runs ahead of the database while another process admits ($state state): never ACTIVE early, never a better place',
    async ({ state, options }) => {
      const s = await serve({ databaseUrl: db.url, refreshMs: 100, ...options });
      await eventually(() => (s.memory.listening ? true : undefined));
      const concertId = await concert({ maxActive: 1, activeTtlSeconds: 600 });
      const tickets: Entered[] = [];
      for (let i = 0; i < 40; i++) tickets.push(await enter(s, concertId));
      await status(s, tickets[39]?.token ?? '');
      await s.memory.refresh();
      const fromMemoryBefore = s.memory.counts.memoryAnswers;

      let admitting = true;
      const admitter = (async () => {
        for (let maxActive = 2; maxActive <= 41; maxActive++) {
          await configureQueue(otherDeps(), { concertId, maxActive });
          await admitQueue(otherDeps(), { concertId });
        }
        admitting = false;
      })();
      const problems: string[] = [];
      let answers = 0;
      const poller = async (offset: number) => {
        for (let i = offset; admitting; i += 7) {
          const ticket = tickets[i % tickets.length] as Entered;
          const answer = await status(s, ticket.token);
          const truth = await databaseTicket(ticket); // read after the answer: at least as far along
          answers++;
          if (answer.status === 'WAITING' && truth.status === 'WAITING' && (answer.position ?? 0) < (truth.position ?? 0)) {
            problems.push(`ticket ${ticket.claims.ticket}: position ${answer.position} from the API, ${truth.position} in the database`);
          }
          if (answer.status !== 'WAITING' && truth.status === 'WAITING') {
            problems.push(`ticket ${ticket.claims.ticket}: ${answer.status} from the API while the database says WAITING`);
          }
        }
      };
      await Promise.all([admitter, ...[0, 1, 2, 3].map(poller)]);
      expect(problems).toEqual([]);
      expect(answers).toBeGreaterThan(40);
      // the polls were answered from memory, not only read through
      expect(s.memory.counts.memoryAnswers - fromMemoryBefore).toBeGreaterThan(0);
      if (state === 'stale') expect(s.memory.counts.waits).toBeGreaterThan(0);
      expect((await status(s, tickets[39]?.token ?? '')).status).toBe('ACTIVE');
    },
  );
});

describe('what the memory learns, and how stale it may be', () => {
  it('learns an admission and a leave of another process by NOTIFY (no timer to help)', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 600_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const concertId = await concert({ maxActive: 1 });
    const [, second, third] = [await enter(s, concertId), await enter(s, concertId), await enter(s, concertId)];
    if (!second || !third) throw new Error('not entered');
    await status(s, third.token);
    await s.memory.refresh();
    const now = () => new Date();
    expect(s.memory.waitingState(third.claims, now())).toMatchObject({ admittedThrough: 0 });

    await admitQueue(otherDeps(), { concertId });
    await eventually(() => (s.memory.waitingState(third.claims, now())?.admittedThrough === 1 ? true : undefined));
    expect(toQueueTicket(third.token, s.memory.waitingState(third.claims, now()) ?? fail())).toEqual(await databaseTicket(third));

    // a leave elsewhere: the left token is no longer WAITING in memory, and the HTTP answer reads the database
    expect(s.memory.waitingState(second.claims, now())).not.toBeNull();
    const guardRead = await readTicketState(other.em.fork(), second.claims, now());
    await leaveQueue(otherDeps(), { token: second.token, ticket: guardRead ?? fail() });
    await eventually(() => (s.memory.waitingState(second.claims, now()) === null ? true : undefined));
    expect((await status(s, second.token)).status).toBe('CANCELLED');
  });

  it('reopens a LISTEN connection that was cut, and reads everything again', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 600_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const concertId = await concert({ maxActive: 1 });
    await enter(s, concertId);
    const second = await enter(s, concertId);
    await status(s, second.token);
    await s.memory.refresh();
    const readsBefore = s.memory.counts.reads;

    // the server ends the listening session (a failover, a restart, a network cut)
    const cut = await other.em
      .getConnection()
      .execute<{ cut: boolean }[]>(
        `select pg_terminate_backend(pid) as cut from pg_stat_activity where datname = current_database() and application_name = 'frontrow listen frontrow_queue'`,
      );
    expect(cut.length).toBeGreaterThan(0);
    await eventually(() => (!s.memory.listening ? true : undefined));
    await eventually(() => (s.memory.listening && s.memory.counts.reads > readsBefore ? true : undefined));
    // and it listens again: an admission elsewhere reaches it with no timer to help
    await admitQueue(otherDeps(), { concertId });
    await eventually(() => (s.memory.waitingState(second.claims, new Date())?.admittedThrough === 1 ? true : undefined));
    expect(await status(s, second.token)).toMatchObject({ status: 'WAITING', position: 1 });
  });

  it('answers nothing from a state older than the staleness bound', async () => {
    const s = await serve({ refreshMs: 600_000, maxStaleMs: 300 });
    const concertId = await concert();
    const ticket = await enter(s, concertId);
    await status(s, ticket.token);
    await s.memory.refresh(); // the concert is held (the miss's read may have started before now)
    const readStarted = performance.now();
    await s.memory.refresh(); // a read that started after readStarted
    const fresh = s.memory.waitingState(ticket.claims, new Date());
    if (performance.now() - readStarted < 300) expect(fresh).not.toBeNull();
    await eventually(() => (s.memory.waitingState(ticket.claims, new Date()) === null ? true : undefined));
    expect(performance.now() - readStarted).toBeGreaterThanOrEqual(300);
  });

  it('catches up by its timer within the bound when a change sends no NOTIFY', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 100, maxStaleMs: 1_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const concertId = await concert({ maxActive: 1 });
    const first = await enter(s, concertId);
    await enter(s, concertId);
    const third = await enter(s, concertId);
    await status(s, third.token);
    await s.memory.refresh();
    expect(s.memory.waitingState(third.claims, new Date())).toMatchObject({ admittedThrough: 0 });

    // an admission with the triggers off: nobody is notified
    const client = await (await other.em.getConnection().getNativeClient()).connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(
        `update queue_token set status = 'ACTIVE', activated_at = now(), active_until = now() + interval '10 minutes' where id = $1`,
        [first.claims.tokenId],
      );
      await client.query('update concert set admitted_through = $2, active_count = 1 where id = $1', [concertId, first.claims.ticket]);
      await client.query('commit');
    } finally {
      client.release();
    }
    const committed = performance.now();
    const notifications = s.memory.counts.notifications;

    // every answer from memory later than the bound after the commit shows it; and the timer brings it
    const stale: string[] = [];
    const caughtUp = await eventually(() => {
      const state = s.memory.waitingState(third.claims, new Date());
      const at = performance.now() - committed;
      if (state && state.admittedThrough !== first.claims.ticket && at > s.memory.maxStaleMs) stale.push(`${Math.round(at)} ms`);
      return state?.admittedThrough === first.claims.ticket ? at : undefined;
    });
    expect(stale).toEqual([]);
    expect(s.memory.counts.notifications).toBe(notifications);
    expect(caughtUp).toBeLessThan(5_000);
  });
});

/** A concert with one admitted user and `count` waiting ones, its state held by the memory. */
async function line(s: Served, count: number): Promise<Entered[]> {
  const concertId = await concert({ maxActive: 1 });
  await enter(s, concertId);
  const waiting: Entered[] = [];
  for (let i = 0; i < count; i++) waiting.push(await enter(s, concertId));
  await admitQueue(otherDeps(), { concertId });
  await status(s, waiting[0]?.token ?? fail());
  await s.memory.refresh();
  return waiting;
}

/**
 * Another session holds an ACCESS EXCLUSIVE lock on the concert table: the reader's next read (on its
 * LISTEN connection) waits for it, as a reader starved or stuck would. Resolves once `work` is done and
 * the lock is given back.
 */
async function withConcertsLocked(work: (unlock: () => Promise<void>) => Promise<void>): Promise<void> {
  const locker = await (await other.em.getConnection().getNativeClient()).connect();
  let locked = true;
  const unlock = async () => {
    if (!locked) return;
    locked = false;
    await locker.query('commit');
  };
  try {
    await locker.query('begin');
    await locker.query('lock table concert in access exclusive mode');
    await work(unlock);
  } finally {
    await unlock().catch(() => undefined);
    locker.release();
  }
}

/** The state of `ticket` is older than the bound: with no timer and no notification, nothing renews it. */
const stale = (s: Served, ticket: Entered) =>
  eventually(() => (s.memory.waitingState(ticket.claims, new Date()) === null ? true : undefined));

describe('a stale state: one shared read for every poll of the concert, or BUSY', () => {
  it('makes every concurrent poll wait for one read of the concert, even a blocked one: no read per poll, answers as the database', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 300, maxWaitMs: 60_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const waiting = await line(s, 40);
    const readsBefore = s.memory.counts.reads;
    let answers: QueueTicket[] = [];
    const roundTrips = await checkouts(() =>
      withConcertsLocked(async (unlock) => {
        await stale(s, waiting[0] ?? fail());
        const polls = Promise.all(waiting.map((t) => status(s, t.token)));
        await eventually(() => (s.memory.waiting === waiting.length ? true : undefined));
        // forty polls, one read: the one under way, blocked by the lock
        expect(s.memory.counts.reads - readsBefore).toBe(1);
        await unlock();
        answers = await polls;
      }),
    );
    expect(roundTrips).toBe(0);
    for (const [i, ticket] of waiting.entries()) expect(answers[i]).toEqual(await databaseTicket(ticket));
    // the blocked read, and at most one more for the polls that came after its start had grown too old
    expect(s.memory.counts.reads - readsBefore).toBeLessThanOrEqual(2);
    expect(s.memory.counts.busy).toBe(0);
  });

  it('answers BUSY (503, safe to retry), with no read of its own, when the shared read does not come within the wait bound', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 300, maxWaitMs: 1_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const waiting = await line(s, 20);
    const readsBefore = s.memory.counts.reads;
    const roundTrips = await checkouts(() =>
      withConcertsLocked(async () => {
        await stale(s, waiting[0] ?? fail());
        const answers = await Promise.all(
          waiting.map((t) => s.app.inject({ method: 'GET', url: '/trpc/queue.status', headers: { 'x-queue-token': t.token } })),
        );
        for (const res of answers) {
          expect(res.statusCode).toBe(503);
          expect(res.json().error.data).toMatchObject({ reason: 'BUSY' });
        }
        expect(s.memory.counts.reads - readsBefore).toBe(1);
      }),
    );
    expect(roundTrips).toBe(0);
    expect(s.memory.counts.busy).toBe(waiting.length);
    // the lock gone, the read comes and the next poll is answered (from memory)
    expect(await status(s, waiting[3]?.token ?? fail())).toEqual(await databaseTicket(waiting[3] ?? fail()));
  });

  it('answers BUSY at once, not after the bound, when the shared read fails', async () => {
    // a bound longer than the test's own timeout: only the read's failure can end these polls
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 300, maxWaitMs: 600_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const waiting = await line(s, 10);
    await withConcertsLocked(async () => {
      await stale(s, waiting[0] ?? fail());
      const answers = Promise.all(
        waiting.map((t) => s.app.inject({ method: 'GET', url: '/trpc/queue.status', headers: { 'x-queue-token': t.token } })),
      );
      await eventually(() => (s.memory.waiting === waiting.length ? true : undefined));
      // the reader's connection dies under its blocked read (a failover, a network cut)
      await other.em
        .getConnection()
        .execute(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'frontrow listen frontrow_queue'`,
        );
      for (const res of await answers) {
        expect(res.statusCode).toBe(503);
        expect(res.json().error.data).toMatchObject({ reason: 'BUSY' });
      }
    });
    expect(s.memory.counts.busy).toBe(waiting.length);
  });
});

/** The events of a watch as they come, until `until` says stop or the stream ends. */
async function watch(url: string, token: string, until: (events: (QueueTicket | SseEvent)[]) => boolean, signal?: AbortSignal) {
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), 15_000);
  signal?.addEventListener('abort', () => stop.abort());
  const events: (QueueTicket | SseEvent)[] = [];
  try {
    for await (const event of sse(`${url}/trpc/queue.watch`, { 'x-queue-token': token }, stop.signal)) {
      if (event.event === 'connected') continue;
      events.push(event.event === 'message' ? (JSON.parse(event.data) as QueueTicket) : event);
      if (until(events)) break;
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    clearTimeout(deadline);
    stop.abort();
  }
  return events;
}

const positions = (events: (QueueTicket | SseEvent)[]) => events.map((e) => ('position' in e ? e.position : e.event));

describe('queue.watch from one reader', () => {
  it('fans one admission out to every stream of the concert with no read per stream', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 600_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const concertId = await concert({ maxActive: 1 });
    await enter(s, concertId);
    const waiting: Entered[] = [];
    for (let i = 0; i < 20; i++) waiting.push(await enter(s, concertId));
    await status(s, waiting[0]?.token ?? '');
    await s.memory.refresh();

    const readsBefore = s.memory.counts.reads;
    let streams: Promise<(QueueTicket | SseEvent)[]>[] = [];
    const roundTrips = await checkouts(async () => {
      streams = waiting.map((t) => watch(s.url, t.token, (events) => events.length === 2));
      await eventually(() => (s.watches.size === 20 ? true : undefined));
      await admitQueue(otherDeps(), { concertId });
      await Promise.all(streams);
    });
    const seen = await Promise.all(streams);
    for (const [i, events] of seen.entries()) expect(positions(events)).toEqual([i + 2, i + 1]);
    // the API's pool was not used (the state is read on the LISTEN connection): nothing per stream
    expect(roundTrips).toBe(0);
    expect(s.memory.counts.reads - readsBefore).toBeLessThan(5);
    // and the streams gave back what they held
    await eventually(() => (s.watches.size === 0 && s.memory.size().subscribers === 0 ? true : undefined));
  });

  it("reads an admitted token's row only when a notification names it, not on every admission round", async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 600_000 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const concertId = await concert({ maxActive: 1 });
    const admitted = await enter(s, concertId);
    for (let i = 0; i < 5; i++) await enter(s, concertId);
    await admitQueue(otherDeps(), { concertId });
    await status(s, admitted.token);
    await s.memory.refresh();

    const stream = watch(s.url, admitted.token, (events) => events.length === 2 || 'event' in (events.at(-1) ?? {}));
    await eventually(() => (s.watches.size === 1 ? true : undefined));
    const readsBefore = s.memory.counts.reads;
    const roundTrips = await checkouts(async () => {
      for (let maxActive = 2; maxActive <= 4; maxActive++) {
        await configureQueue(otherDeps(), { concertId, maxActive });
        await admitQueue(otherDeps(), { concertId });
        const through = maxActive;
        await eventually(() =>
          s.memory.waitingState({ ...admitted.claims, ticket: 6 }, new Date())?.admittedThrough === through ? true : undefined,
        );
      }
    });
    expect(roundTrips).toBe(0);
    expect(s.memory.counts.reads).toBeGreaterThan(readsBefore);
    // its leave (elsewhere) names it: the stream reads its row and ends
    const guardRead = await readTicketState(other.em.fork(), admitted.claims, new Date());
    await leaveQueue(otherDeps(), { token: admitted.token, ticket: guardRead ?? fail() });
    expect((await stream).map((e) => ('status' in e ? e.status : e.event))).toEqual(['ACTIVE', 'CANCELLED']);
  });

  it('with a stale state, a stream waits for the shared read or looks again later (BUSY): never a read of its row per stream', async () => {
    const s = await serve({ databaseUrl: db.url, refreshMs: 600_000, maxStaleMs: 300, maxWaitMs: 300 });
    await eventually(() => (s.memory.listening ? true : undefined));
    const waiting = await line(s, 10);
    const concertId = waiting[0]?.claims.concertId ?? fail();
    // each stream until it shows its place after the line moved by one (first in line: admitted)
    const moved = (i: number) => (i === 0 ? { status: 'ACTIVE' } : { status: 'WAITING', position: i });
    const streams = waiting.map((t, i) =>
      watch(s.url, t.token, (events) => {
        const last = events.at(-1);
        return last !== undefined && 'status' in last && last.status === moved(i).status && (i === 0 || last.position === i);
      }),
    );
    await eventually(() => (s.watches.size === waiting.length ? true : undefined));
    const roundTrips = await checkouts(() =>
      withConcertsLocked(async () => {
        await stale(s, waiting[0] ?? fail());
        const busy = s.memory.counts.busy;
        // the LISTEN connection is cut; back, it reads everything again (blocked by the lock) and every
        // token's stream looks again: the state is stale and its read will not come while the lock is held
        await other.em
          .getConnection()
          .execute(
            `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'frontrow listen frontrow_queue'`,
          );
        await eventually(() => (s.memory.counts.busy >= busy + waiting.length ? true : undefined), 15_000);
      }),
    );
    expect(roundTrips).toBe(0);
    // the lock gone, the line moves by one: every stream sends its new place
    await configureQueue(otherDeps(), { concertId, maxActive: 2 });
    await admitQueue(otherDeps(), { concertId });
    for (const [i, events] of (await Promise.all(streams)).entries()) {
      expect(events[0]).toMatchObject({ status: 'WAITING', position: i + 1 });
      expect(events.at(-1)).toMatchObject(moved(i));
    }
  });

  it('keeps one live stream per queue token: a new one ends the old', async () => {
    const s = await serve({ databaseUrl: db.url });
    const concertId = await concert({ maxActive: 1 });
    await enter(s, concertId);
    const ticket = await enter(s, concertId);
    const firstStream = watch(s.url, ticket.token, () => false);
    await eventually(() => (s.watches.size === 1 ? true : undefined));
    const secondStream = watch(s.url, ticket.token, (events) => events.length === 1);
    const first = await firstStream;
    expect(first).toEqual([expect.objectContaining({ status: 'WAITING', position: 2 }), expect.objectContaining({ event: 'return' })]);
    expect(positions(await secondStream)).toEqual([2]);
    await eventually(() => (s.watches.size === 0 && s.memory.size().subscribers === 0 ? true : undefined));
  });

  it('refuses a stream past WATCH_MAX_STREAMS with STREAM_LIMIT, and takes one again once a stream closed', async () => {
    const s = await serve({ databaseUrl: db.url }, 2);
    const concertId = await concert({ maxActive: 1 });
    const [a, b, c] = [await enter(s, concertId), await enter(s, concertId), await enter(s, concertId)];
    if (!a || !b || !c) throw new Error('not entered');
    const close = new AbortController();
    const open = [watch(s.url, a.token, () => false, close.signal), watch(s.url, b.token, () => false)];
    await eventually(() => (s.watches.size === 2 ? true : undefined));
    const [refused] = await watch(s.url, c.token, () => true);
    expect(refused).toMatchObject({ event: 'serialized-error' });
    expect(JSON.parse((refused as SseEvent).data).data).toMatchObject({ httpStatus: 503, reason: 'STREAM_LIMIT' });
    // a token that already streams may reconnect at the cap (its old stream ends)
    const again = await watch(s.url, b.token, (events) => events.length === 1);
    expect(positions(again)).toEqual([2]);
    close.abort();
    await Promise.all(open);
    await eventually(() => (s.watches.size === 0 ? true : undefined));
    expect(positions(await watch(s.url, c.token, (events) => events.length === 1))).toEqual([3]);
  });
});

function fail(): never {
  throw new Error('unexpected null');
}
