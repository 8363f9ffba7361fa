import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { executeScript, inPreparedTransaction, queryPrepared } from './prepared.ts';
import { countRoundTrips } from './round-trips.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 3 });
});
afterAll(async () => db?.drop());

it('counts each query sent on the pool, whichever way it was sent, once per round trip', async () => {
  const counter = await countRoundTrips(db.orm);
  expect(await countRoundTrips(db.orm)).toBe(counter);
  const delta = async (work: () => Promise<unknown>) => {
    const before = counter.read();
    await work();
    return counter.read() - before;
  };
  const em = db.orm.em.fork();
  expect(await delta(() => em.getConnection().execute('select 1'))).toBe(1);
  // all at once on several connections: each counted
  expect(await delta(() => Promise.all([1, 2, 3, 4, 5].map(() => em.getConnection().execute('select pg_sleep(0.01)'))))).toBe(5);
  expect(await delta(() => queryPrepared(em, 'frontrow_round_trips_test', 'select $1::int as n', [1]))).toBe(1);
  // begin, one statement, commit
  expect(await delta(() => inPreparedTransaction(em, (tx) => tx.query('frontrow_round_trips_tx', 'select 1', [])))).toBe(3);
  const script = [{ statement: { name: 'frontrow_round_trips_script', params: ['int'], text: 'select $1::int + 1 as n' }, values: ['1'] }];
  // the first time on a connection: prepare, then the script (2); then the script alone, one round trip for its
  // statements (pg's pool hands out the connection released last: the same one)
  expect(await delta(() => executeScript(em, script))).toBe(2);
  expect(await delta(() => executeScript(em, [...script, ...script]))).toBe(1);
});
