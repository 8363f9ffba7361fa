import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { isDomainError } from '../errors.ts';
import type { JobScheduler } from '../jobs.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { readTicketState } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const tokens = createTokenSigner('enter-queue-test-secret-0123456789abcdef');
const deps = (overrides: Parameters<typeof testDeps>[1] = {}) => ({ ...testDeps(db.orm, overrides), tokens });
const uuid = () => crypto.randomUUID();

async function concert(options: { maxActive?: number; activeTtlSeconds?: number } = {}): Promise<string> {
  const created = await createConcert(testDeps(db.orm), { title: 'Q', venue: 'V', dates: ['2030-06-01'], ...options });
  return created.concertId;
}

async function liveTokens(concertId: string, userId: string): Promise<number> {
  const [row] = await db.orm.em
    .fork()
    .execute<{ n: string }[]>(
      `select count(*) as n from queue_token where concert_id = ? and user_id = ? and status in ('WAITING', 'ACTIVE')`,
      [concertId, userId],
    );
  return Number(row?.n);
}

describe('queue.enter', () => {
  it('answers CONCERT_NOT_FOUND for an unknown concert and writes nothing', async () => {
    const outcome = await enterQueue(deps(), { concertId: '999999', userId: uuid() }).catch((error: unknown) => error);
    expect(isDomainError(outcome, 'CONCERT_NOT_FOUND')).toBe(true);
    const [row] = await db.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from queue_token where concert_id = 999999`);
    expect(Number(row?.n)).toBe(0);
  });

  it('gives each new user the next ticket of that concert, and a place in line from it', async () => {
    const a = await concert();
    const b = await concert();
    const first = await enterQueue(deps(), { concertId: a, userId: uuid() });
    const second = await enterQueue(deps(), { concertId: a, userId: uuid() });
    const elsewhere = await enterQueue(deps(), { concertId: b, userId: uuid() });
    expect([first.status, first.position, second.position, elsewhere.position]).toEqual(['WAITING', 1, 2, 1]);
    expect(first).toMatchObject({ concertId: a, activeUntil: null });
    expect(first.estimatedWaitSeconds).toBeGreaterThan(0);
    expect(await tokens.verify(second.token)).toMatchObject({ concertId: a, userId: second.userId, ticket: 2 });
  });

  it('returns the same token, ticket and place to a user who enters again while their token is live', async () => {
    const concertId = await concert();
    const userId = uuid();
    await enterQueue(deps(), { concertId, userId: uuid() });
    const first = await enterQueue(deps(), { concertId, userId });
    await enterQueue(deps(), { concertId, userId: uuid() });
    const again = await enterQueue(deps(), { concertId, userId: userId.toUpperCase() });
    expect(again).toEqual(first);
    expect(first.position).toBe(2);
    expect(await liveTokens(concertId, userId)).toBe(1);
  });

  it('gives one token to 20 parallel entries of one user, and burns no ticket doing so', async () => {
    const concertId = await concert();
    const userId = uuid();
    const answers = await Promise.all(Array.from({ length: 20 }, () => enterQueue(deps(), { concertId, userId })));
    expect(new Set(answers.map((a) => a.token)).size).toBe(1);
    expect(new Set(answers.map((a) => a.position))).toEqual(new Set([1]));
    expect(await liveTokens(concertId, userId)).toBe(1);
    // the next user is right behind: no ticket number was drawn and thrown away
    expect((await enterQueue(deps(), { concertId, userId: uuid() })).position).toBe(2);
  });

  it('gives one token each to 50 users entering at once, with tickets 1…50 and no gaps', async () => {
    const concertId = await concert();
    const answers = await Promise.all(Array.from({ length: 50 }, () => enterQueue(deps(), { concertId, userId: uuid() })));
    const tickets = await Promise.all(answers.map(async (a) => (await tokens.verify(a.token))?.ticket));
    expect(tickets.toSorted((x = 0, y = 0) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('puts a user whose token ended at the back of the line with a new ticket', async () => {
    const concertId = await concert();
    const userId = uuid();
    const first = await enterQueue(deps(), { concertId, userId });
    await db.orm.em.fork().execute(`update queue_token set status = 'CANCELLED' where concert_id = ? and user_id = ?`, [concertId, userId]);
    await enterQueue(deps(), { concertId, userId: uuid() });
    const again = await enterQueue(deps(), { concertId, userId });
    expect(again.token).not.toBe(first.token);
    expect(again.position).toBe(3);
  });

  it('expires an ACTIVE token past activeUntil when its user enters again, gives a new ticket, and asks for admission', async () => {
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const nudges: string[] = [];
    const jobs: JobScheduler = { expireHoldAt: async () => {}, nudgeAdmission: async (id) => void nudges.push(id) };
    const concertId = await concert({ maxActive: 1, activeTtlSeconds: 60 });
    const userId = uuid();
    const first = await enterQueue(deps({ clock, jobs }), { concertId, userId });
    await admitQueue(testDeps(db.orm, { clock }), { concertId });
    const admitted = await enterQueue(deps({ clock, jobs }), { concertId, userId });
    expect(admitted).toMatchObject({ token: first.token, status: 'ACTIVE', activeUntil: '2030-01-01T00:01:00.000Z' });
    expect(nudges).toEqual([]);

    clock.advance(60_000);
    const again = await enterQueue(deps({ clock, jobs }), { concertId, userId });
    expect(again).toMatchObject({ status: 'WAITING', position: 1 });
    expect(again.token).not.toBe(first.token);
    const claims = await tokens.verify(first.token);
    if (!claims) throw new Error('unverifiable token');
    expect((await readTicketState(db.orm.em.fork(), claims, clock.now()))?.status).toBe('EXPIRED');
    expect(nudges).toEqual([concertId]);
  });

  it('gives one new token to 10 parallel entries of a user whose ACTIVE token lapsed, and burns no ticket', async () => {
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const concertId = await concert({ maxActive: 1, activeTtlSeconds: 60 });
    const userId = uuid();
    const first = await enterQueue(deps({ clock }), { concertId, userId });
    await admitQueue(testDeps(db.orm, { clock }), { concertId });

    clock.advance(60_000);
    const entries = await Promise.all(Array.from({ length: 10 }, () => enterQueue(deps({ clock }), { concertId, userId })));
    expect(new Set(entries.map((e) => e.token)).size).toBe(1);
    expect(entries[0]?.token).not.toBe(first.token);
    expect(await liveTokens(concertId, userId)).toBe(1);
    const tickets = await db.orm.em
      .fork()
      .execute<{ ticket: string; status: string }[]>(`select ticket, status from queue_token where concert_id = ? order by ticket`, [
        concertId,
      ]);
    expect(tickets.map((t) => `${t.ticket} ${t.status}`)).toEqual(['1 EXPIRED', '2 WAITING']);
  });

  it('waits out an admission round that holds the line past lock_timeout: the entry is replayed and gets its ticket, not a database error', async () => {
    const concertId = await concert();
    // an admission round that outlasts lock_timeout (3 s, packages/db orm.ts): the concert's lock held
    // exclusively, as admitQueue takes it, until the entry has waited twice
    const locked = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const round = db.orm.em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?::bigint)', [concertId]);
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    let settled = false;
    const entering = enterQueue(deps(), { concertId, userId: uuid() }).then(
      (ticket) => ({ ticket }),
      (error: unknown) => ({ error }),
    );
    void entering.finally(() => {
      settled = true;
    });
    // each wait of the entry, told apart by its transaction's start: a second one is the replay
    const waits = new Set<string>();
    const deadline = Date.now() + 20_000;
    try {
      while (waits.size < 2 && !settled && Date.now() < deadline) {
        const rows = await db.orm.em.fork().execute<{ pid: number; xact_start: Date }[]>(
          `select pid, xact_start from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`,
        );
        for (const row of rows) waits.add(`${row.pid} ${new Date(row.xact_start).toISOString()}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      release.resolve();
      await round;
    }
    expect(await entering).toMatchObject({ ticket: { concertId, status: 'WAITING', position: 1 } });
    expect(waits.size).toBe(2);
  });

  it('rejects a userId that is not a UUID', async () => {
    const concertId = await concert();
    await expect(enterQueue(deps(), { concertId, userId: 'alice' })).rejects.toThrow(/UUID/i);
  });
});
