import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createConcert, manualClock } from '@frontrow/core';
import { testDeps, testSettings } from '@frontrow/core/testing';
import { openOrm } from '@frontrow/db';
import { bossJobScheduler, startBoss } from '@frontrow/jobs';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildWorker } from '../worker.ts';
import { queueTokensPurgeJob } from './queue-tokens-purge.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

it('the worker purges finished tokens past the retention time on its timer, logging what it deleted', async () => {
  const concertId = (await createConcert(testDeps(db.orm), { title: 'P', venue: 'V', dates: ['2030-06-01'] })).concertId;
  const sql = (query: string, params: unknown[] = []) => db.orm.em.fork().getConnection().execute(query, params);
  await sql(
    `insert into queue_token (concert_id, user_id, ticket, status) select ?, gen_random_uuid(), n, 'COMPLETED' from generate_series(1, 1500) n`,
    [concertId],
  );
  await sql(`insert into queue_token (concert_id, user_id, ticket, status) values (?, gen_random_uuid(), 1501, 'WAITING')`, [concertId]);
  await sql('update concert set admitted_through = 1500 where id = ?', [concertId]);

  const orm = await openOrm({ databaseUrl: db.url, poolSize: 3 });
  const boss = await startBoss({ databaseUrl: db.url, poolSize: 3, listen: true });
  const logged: object[] = [];
  const log = { info: (obj: object) => void logged.push(obj), error: () => {} };
  // the worker's clock is a day and an hour ahead: every finished token is past the day of retention
  const clock = manualClock(new Date(Date.now() + 25 * 3_600_000));
  const worker = buildWorker(
    {
      em: orm.em,
      boss,
      clock,
      jobs: bossJobScheduler(boss),
      settings: testSettings,
      log,
      tokenRetentionSeconds: 86_400,
      purgeEveryMs: 100,
    },
    [queueTokensPurgeJob],
  );
  try {
    await worker.start();
    const deadline = Date.now() + 20_000;
    let left: number[] = [];
    for (;;) {
      const rows = await db.orm.em.fork().getConnection().execute<{ ticket: string }[]>('select ticket from queue_token order by ticket');
      left = rows.map((row) => Number(row.ticket));
      if (left.length === 1 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(left).toEqual([1501]);
    expect(logged).toContainEqual({ deleted: 1500, batches: 2, retentionSeconds: 86_400 });
  } finally {
    await worker.stop();
    await orm.close(true);
  }
});
