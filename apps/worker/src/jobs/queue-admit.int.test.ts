import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type QueueTicket, createConcert, createTokenSigner, enterQueue, leaveQueue, readTicketState, systemClock } from '@frontrow/core';
import { testDeps, testSettings } from '@frontrow/core/testing';
import { type MikroORM, openOrm } from '@frontrow/db';
import { JOB, type PgBoss, bossJobScheduler, startBoss } from '@frontrow/jobs';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildWorker, type Worker } from '../worker.ts';
import { queueAdmitJob } from './queue-admit.ts';

const quiet = { info: () => {}, error: () => {} };
const tokens = createTokenSigner('queue-admit-worker-test-secret-0123456789');
const uuid = () => crypto.randomUUID();

let db: TestDatabase;
/** The API side: sends nudges, runs no jobs. */
let apiBoss: PgBoss;
const opened: { orm: MikroORM; worker: Worker }[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  apiBoss = await startBoss({ databaseUrl: db.url, poolSize: 2 });
});
afterAll(async () => {
  for (const { worker, orm } of opened) {
    await worker.stop();
    await orm.close(true);
  }
  await apiBoss?.stop({ graceful: false });
  await db?.drop();
});

/** A worker process of its own: its own connection pool and pg-boss, listening for nudges. */
async function startWorker(options: { admitEveryMs: number }): Promise<Worker> {
  const orm = await openOrm({ databaseUrl: db.url, poolSize: 3 });
  const boss = await startBoss({ databaseUrl: db.url, poolSize: 3, listen: true });
  const worker = buildWorker(
    {
      em: orm.em,
      boss,
      clock: systemClock,
      jobs: bossJobScheduler(boss),
      settings: testSettings,
      log: quiet,
      admitEveryMs: options.admitEveryMs,
    },
    [queueAdmitJob],
  );
  await worker.start();
  opened.push({ orm, worker });
  return worker;
}

async function stopWorker(worker: Worker): Promise<void> {
  const index = opened.findIndex((o) => o.worker === worker);
  const [entry] = opened.splice(index, 1);
  await worker.stop();
  await entry?.orm.close(true);
}

const apiDeps = () => ({ ...testDeps(db.orm, { jobs: bossJobScheduler(apiBoss) }), tokens });

async function concert(options: { maxActive: number; activeTtlSeconds?: number }): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'Q', venue: 'V', dates: ['2030-06-01'], ...options })).concertId;
}

async function stateOf(ticket: QueueTicket) {
  const claims = await tokens.verify(ticket.token);
  const state = claims && (await readTicketState(db.orm.em.fork(), claims, new Date()));
  if (!state) throw new Error('unknown token');
  return state;
}

/** Polls `read` until `done` or the deadline (epoch ms); the last value read either way. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, deadline: number): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function activeTickets(concertId: string): Promise<number[]> {
  const rows = await db.orm.em
    .fork()
    .execute<{ ticket: string }[]>(`select ticket from queue_token where concert_id = ? and status = 'ACTIVE' order by ticket`, [
      concertId,
    ]);
  return rows.map((r) => Number(r.ticket));
}

describe('queue.admit worker', () => {
  it('admits the next user within 2 s of a leave, on the nudge alone (the timer is off)', async () => {
    const concertId = await concert({ maxActive: 1 });
    const [first, second] = [
      await enterQueue(apiDeps(), { concertId, userId: uuid() }),
      await enterQueue(apiDeps(), { concertId, userId: uuid() }),
    ];
    const worker = await startWorker({ admitEveryMs: 3_600_000 });
    try {
      await apiBoss.send(JOB.queueAdmit, { concertId }, { singletonKey: concertId });
      expect(
        await pollUntil(
          () => activeTickets(concertId),
          (t) => t.length === 1,
          Date.now() + 5_000,
        ),
      ).toEqual([1]);

      await leaveQueue(apiDeps(), { token: first.token, ticket: await stateOf(first) });
      const deadline = Date.now() + 2_000;
      const state = await pollUntil(
        () => stateOf(second),
        (s) => s.status === 'ACTIVE',
        deadline,
      );
      expect(state.status).toBe('ACTIVE');
    } finally {
      await stopWorker(worker);
    }
  });

  it('admits the next user within 2 s of an ACTIVE token lapsing, from the one-second round', async () => {
    const concertId = await concert({ maxActive: 1, activeTtlSeconds: 1 });
    const [first, second] = [
      await enterQueue(apiDeps(), { concertId, userId: uuid() }),
      await enterQueue(apiDeps(), { concertId, userId: uuid() }),
    ];
    const worker = await startWorker({ admitEveryMs: 1_000 });
    try {
      const admitted = await pollUntil(
        () => stateOf(first),
        (s) => s.status === 'ACTIVE',
        Date.now() + 5_000,
      );
      expect(admitted.status).toBe('ACTIVE');
      const lapse = admitted.activeUntil?.getTime() ?? 0;
      const state = await pollUntil(
        () => stateOf(second),
        (s) => s.status === 'ACTIVE',
        lapse + 2_000,
      );
      expect(state.status).toBe('ACTIVE');
      expect((await stateOf(first)).status).toBe('EXPIRED');
    } finally {
      await stopWorker(worker);
    }
  });

  it('keeps an admission job sent while no worker runs, and does it when a worker starts (jobs survive a restart)', async () => {
    const concertId = await concert({ maxActive: 2 });
    for (let i = 0; i < 3; i++) await enterQueue(apiDeps(), { concertId, userId: uuid() });
    await apiBoss.send(JOB.queueAdmit, { concertId }, { singletonKey: concertId });
    const [queued] = await db.orm.em
      .fork()
      .execute<{ n: string }[]>(`select count(*) as n from pgboss.job where name = ? and state = 'created' and singleton_key = ?`, [
        JOB.queueAdmit,
        concertId,
      ]);
    expect(Number(queued?.n)).toBe(1);
    expect(await activeTickets(concertId)).toEqual([]);

    const worker = await startWorker({ admitEveryMs: 3_600_000 });
    try {
      expect(
        await pollUntil(
          () => activeTickets(concertId),
          (t) => t.length === 2,
          Date.now() + 5_000,
        ),
      ).toEqual([1, 2]);
    } finally {
      await stopWorker(worker);
    }
  });

  it('never has more than maxActive ACTIVE with two workers admitting while users enter, and admits in ticket order', async () => {
    const maxActive = 10;
    const concertId = await concert({ maxActive, activeTtlSeconds: 1 });
    const workers = [await startWorker({ admitEveryMs: 100 }), await startWorker({ admitEveryMs: 100 })];
    try {
      let entering = true;
      const samples: number[] = [];
      const sampling = (async () => {
        while (entering) samples.push((await activeTickets(concertId)).length);
      })();
      const entered = await Promise.all(Array.from({ length: 60 }, () => enterQueue(apiDeps(), { concertId, userId: uuid() }))).finally(
        // a failed entry stops sampling too, and waits for the last sample: afterAll drops the database
        async () => {
          entering = false;
          await sampling;
        },
      );
      expect(entered).toHaveLength(60);
      expect(samples.length).toBeGreaterThan(0);
      expect(Math.max(...samples)).toBeLessThanOrEqual(maxActive);
      // a second later the first ten lapse and the next ten come in: still never more than ten at once
      const later = await pollUntil(
        () => activeTickets(concertId),
        (t) => t.length > 0 && (t[0] ?? 0) > maxActive,
        Date.now() + 5_000,
      );
      expect(later.length).toBeLessThanOrEqual(maxActive);
      expect(later[0]).toBe(maxActive + 1);
      // in admission order, the tickets ascend: nobody was let in ahead of someone who entered earlier
      const order = await db.orm.em
        .fork()
        .execute<{ ticket: string }[]>(
          `select ticket from queue_token where concert_id = ? and activated_at is not null order by activated_at, ticket`,
          [concertId],
        );
      const tickets = order.map((r) => Number(r.ticket));
      expect(tickets).toEqual(tickets.toSorted((a, b) => a - b));
      expect(tickets.slice(0, 2 * maxActive)).toEqual(Array.from({ length: 2 * maxActive }, (_, i) => i + 1));
    } finally {
      for (const worker of workers) await stopWorker(worker);
    }
  });
});
