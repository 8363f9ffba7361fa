import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Clock, createConcert, holdSeats, type Holder, manualClock, noJobs, systemClock } from '@frontrow/core';
import { testDeps, testSettings } from '@frontrow/core/testing';
import { ticketSequenceName } from '@frontrow/db';
import { JOB, bossJobScheduler, startBoss } from '@frontrow/jobs';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildWorker, type JobModule, type Worker } from '../worker.ts';
import { holdExpireJob } from './hold-expire.ts';
import { holdsSweepJob } from './holds-sweep.ts';

const DATE = '2030-12-24';
const quiet = { info: () => {}, error: () => {} };

let db: TestDatabase;
let concertId: string;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  concertId = (await createConcert(testDeps(db.orm), { title: 'Expiry', venue: 'Hall', dates: [DATE] })).concertId;
});
afterAll(async () => db?.drop());

async function admitted(clock: Clock): Promise<Holder> {
  const now = clock.now();
  const [row] = await db.orm.em.getConnection().execute<{ id: string; user_id: string }[]>(
    `insert into queue_token (concert_id, user_id, ticket, status, activated_at, active_until)
     values (?, gen_random_uuid(), nextval('${ticketSequenceName(concertId)}'), 'ACTIVE', ?, ?) returning id, user_id`,
    [concertId, now, new Date(now.getTime() + 3_600_000)],
  );
  if (!row) throw new Error('no token');
  return { tokenId: String(row.id), userId: row.user_id, concertId };
}

type Stored = { status: string; seats: string[] };
async function stored(reservationId: string): Promise<Stored> {
  const connection = db.orm.em.getConnection();
  const [reservation] = await connection.execute<{ status: string }[]>(`select status from reservation where id = ?`, [reservationId]);
  const seats = await connection.execute<{ status: string }[]>(
    `select s.status from seat s join reservation r on r.schedule_id = s.schedule_id and s.number = any (r.seat_numbers)
      where r.id = ? order by s.number`,
    [reservationId],
  );
  return { status: reservation?.status ?? 'MISSING', seats: seats.map((s) => s.status) };
}

async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, deadline: number): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startWorker(modules: JobModule[], clock: Clock, sweepEveryMs?: number): Promise<Worker> {
  const boss = await startBoss({ databaseUrl: db.url, poolSize: 3 });
  const worker = buildWorker(
    {
      em: db.orm.em,
      boss,
      clock,
      jobs: bossJobScheduler(boss),
      settings: testSettings,
      log: quiet,
      ...(sweepEveryMs ? { sweepEveryMs } : {}),
    },
    modules,
  );
  await worker.start();
  return worker;
}

describe('hold.expire', () => {
  let worker: Worker;
  beforeAll(async () => {
    worker = await startWorker([holdExpireJob], systemClock);
  });
  afterAll(async () => worker?.stop());

  it('with the worker running, a lapsed hold’s seats are AVAILABLE in the database within 2 s of its expiry', async () => {
    const boss = await startBoss({ databaseUrl: db.url, poolSize: 1 });
    try {
      const deps = testDeps(db.orm, { jobs: bossJobScheduler(boss), settings: { holdTtlSeconds: 1 } });
      const held = await holdSeats(deps, await admitted(systemClock), { concertId, date: DATE, seatNumbers: [1, 2] });
      expect((await stored(held.reservationId)).seats).toEqual(['HELD', 'HELD']);

      const deadline = new Date(held.expiresAt).getTime() + 2_000;
      const after = await pollUntil(
        () => stored(held.reservationId),
        (s) => s.status === 'EXPIRED',
        deadline,
      );
      expect(after).toEqual({ status: 'EXPIRED', seats: ['AVAILABLE', 'AVAILABLE'] });
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  it('a job that arrives before the hold lapses on the worker’s clock changes nothing and is sent again for the expiry', async () => {
    const boss = await startBoss({ databaseUrl: db.url, poolSize: 1 });
    try {
      const deps = testDeps(db.orm, { settings: { holdTtlSeconds: 300 } });
      const held = await holdSeats(deps, await admitted(systemClock), { concertId, date: DATE, seatNumbers: [3] });
      // an early job, as a skewed clock or a lost-and-replayed send would deliver it
      await boss.send(JOB.holdExpire, { reservationId: held.reservationId });

      const rescheduled = await pollUntil(
        () =>
          db.orm.em
            .getConnection()
            .execute<{ start_after: string }[]>(
              `select start_after from pgboss.job where name = ? and data->>'reservationId' = ? and state = 'created' and start_after > now() + interval '60 seconds'`,
              [JOB.holdExpire, held.reservationId],
            ),
        (rows) => rows.length > 0,
        Date.now() + 10_000,
      );
      expect(rescheduled).toHaveLength(1);
      expect(Math.abs(new Date(rescheduled[0]?.start_after ?? 0).getTime() - new Date(held.expiresAt).getTime())).toBeLessThan(2_000);
      expect(await stored(held.reservationId)).toEqual({ status: 'HELD', seats: ['HELD'] });
    } finally {
      await boss.stop({ graceful: false });
    }
  });
});

describe('holds.sweep', () => {
  it('the sweep expires a lapsed hold whose expiry job was lost', async () => {
    const clock = manualClock();
    // no expiry job is ever sent for this hold
    const deps = testDeps(db.orm, { clock, jobs: noJobs, settings: { holdTtlSeconds: 60 } });
    const held = await holdSeats(deps, await admitted(clock), { concertId, date: DATE, seatNumbers: [10, 11] });
    clock.advance(60_000);

    const worker = await startWorker([holdsSweepJob], clock, 200);
    try {
      const after = await pollUntil(
        () => stored(held.reservationId),
        (s) => s.status === 'EXPIRED',
        Date.now() + 15_000,
      );
      expect(after).toEqual({ status: 'EXPIRED', seats: ['AVAILABLE', 'AVAILABLE'] });
    } finally {
      await worker.stop();
    }
  });
});
