import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type JobScheduler, holdSeats, isDomainError, manualClock } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { admittedHolders, concertWithDates, storedSeats } from '@frontrow/core/testing/booking';
import { Reservation } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { bossJobScheduler } from './scheduler.ts';
import { type PgBoss, startBoss } from './boss.ts';

const DATE = '2030-12-24';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('holdSeats with pg-boss', () => {
  let boss: PgBoss;
  beforeAll(async () => {
    boss = await startBoss({ databaseUrl: db.url, poolSize: 2 });
  });
  afterAll(async () => boss?.stop({ graceful: false }));

  const expiryJobs = async (reservationId?: string) =>
    await db.orm.em
      .getConnection()
      .execute<{ start_after: Date }[]>(
        `select start_after from pgboss.job where name = 'hold.expire' and (?::text is null or data->>'reservationId' = ?)`,
        [reservationId ?? null, reservationId ?? null],
      );

  it('enqueues the hold.expire job in the hold’s transaction, due at the hold’s expiry', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, jobs: bossJobScheduler(boss) });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');

    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [1] });

    const jobs = await expiryJobs(held.reservationId);
    expect(jobs.map((j) => new Date(j.start_after).toISOString())).toEqual([held.expiresAt]);
  });

  it('the enqueued expiry job rolls back with a failed hold', async () => {
    const clock = manualClock();
    const real = bossJobScheduler(boss);
    let enqueued = 0;
    const failingAfterEnqueue: JobScheduler = {
      ...real,
      expireHoldAt: async (em, reservationId, at) => {
        await real.expireHoldAt(em, reservationId, at);
        enqueued += 1;
        // the job row is written; now the hold's transaction fails
        throw new Error('the hold fails after its expiry job was sent');
      },
    };
    const deps = testDeps(db.orm, { clock, jobs: failingAfterEnqueue });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');
    const before = (await expiryJobs()).length;

    const outcome = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }).catch((e: unknown) => e);

    expect(outcome).toBeInstanceOf(Error);
    expect(isDomainError(outcome)).toBe(false);
    expect(enqueued).toBe(1);
    expect((await expiryJobs()).length).toBe(before);
    expect(await db.orm.em.fork().count(Reservation, { userId: user.userId })).toBe(0);
    expect((await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).every((s) => s.status === 'AVAILABLE')).toBe(true);
  });
});
