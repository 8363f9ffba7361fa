/**
 * The admission round's capacity must not depend on the query plan PostgreSQL picks. Found by the bench's
 * invariant check: after a bulk-filled line, a round admitted the whole line into one free place (a
 * `LIMIT … FOR UPDATE` subquery on the inner side of a nested loop runs once per outer row, and skips the
 * rows the statement itself already updated). The planner settings below force that plan.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
/** A pool whose sessions plan joins as nested loops over sequential scans only. */
let nestedLoops: MikroORM;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  const plan = ['enable_hashjoin', 'enable_mergejoin', 'enable_indexscan', 'enable_indexonlyscan', 'enable_bitmapscan', 'enable_material'];
  for (const setting of plan) await db.orm.em.getConnection().execute(`alter database ${db.name} set ${setting} = off`);
  nestedLoops = await openOrm({ databaseUrl: db.url, poolSize: 2 });
});
afterAll(async () => {
  await nestedLoops?.close(true);
  await db?.drop();
});

const tokens = createTokenSigner('admit-plan-test-secret-0123456789abcdefgh');

describe('admission round under any plan', () => {
  it('admits at most the free places even when the plan re-runs the pick of waiting tokens for every row', async () => {
    const { concertId } = await createConcert(testDeps(db.orm), { title: 'Q', venue: 'V', dates: ['2030-06-01'], maxActive: 2 });
    // statistics from before the crowd: a table of finished tokens, none WAITING (the bench's situation)
    await db.orm.em
      .getConnection()
      .execute(
        `insert into queue_token (concert_id, user_id, ticket, status) select ?, gen_random_uuid(), -n, 'CANCELLED' from generate_series(1, 500) n`,
        [concertId],
      );
    await db.orm.em.getConnection().execute('analyze queue_token');
    for (let i = 0; i < 30; i++) await enterQueue({ ...testDeps(db.orm), tokens }, { concertId, userId: crypto.randomUUID() });

    const round = await admitQueue(testDeps(nestedLoops), { concertId });

    expect(round?.admittedTickets).toEqual([1, 2]);
    const [active] = await db.orm.em
      .getConnection()
      .execute<{ n: string }[]>(`select count(*) as n from queue_token where concert_id = ? and status = 'ACTIVE'`, [concertId]);
    expect(Number(active?.n)).toBe(2);
  });
});
