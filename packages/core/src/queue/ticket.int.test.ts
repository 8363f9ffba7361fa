import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ticketSequenceName } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { TICKET_STATE_SQL } from './ticket.ts';
import { type PlanNode, planNodes } from '../../test/plans.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const sql = <T>(query: string, params: unknown[] = []) => db.orm.em.fork().execute<T[]>(query, params);

/** A line of `waiting` WAITING tokens in a concert of its own, inserted in one statement; returns a token id from the middle. */
async function lineOf(waiting: number): Promise<string> {
  const { concertId } = await createConcert(testDeps(db.orm), { title: `line of ${waiting}`, venue: 'V', dates: ['2030-06-01'] });
  await sql(
    `insert into queue_token (concert_id, user_id, ticket, status)
     select ?, gen_random_uuid(), g, 'WAITING' from generate_series(1, ?) g`,
    [concertId, waiting],
  );
  await sql(`select setval(?::regclass, ?)`, [ticketSequenceName(concertId), waiting]);
  const [middle] = await sql<{ id: string }>(`select id from queue_token where concert_id = ? and ticket = ?`, [
    concertId,
    Math.ceil(waiting / 2),
  ]);
  if (!middle) throw new Error('no token');
  return String(middle.id);
}

async function explain(query: string, params: unknown[]): Promise<PlanNode> {
  const [row] = await sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (analyze, buffers, format json) ${query}`, params);
  const plan = row?.['QUERY PLAN'][0].Plan;
  if (!plan) throw new Error('no plan');
  return plan;
}

/** The plan's shape: which node reads which index, and how many rows each node touched. */
function shape(plan: PlanNode) {
  return planNodes(plan).map((n) => ({
    node: n['Node Type'],
    index: n['Index Name'] ?? null,
    rows: n['Actual Rows'] * n['Actual Loops'] + (n['Rows Removed by Filter'] ?? 0),
  }));
}

const blocks = (plan: PlanNode) => planNodes(plan).reduce((sum, n) => sum + n['Shared Hit Blocks'] + n['Shared Read Blocks'], 0);

describe('the status read', () => {
  it('costs the same at 1k and at 100k waiting: the same primary-key plan, one row per table', async () => {
    // a catalogue of concerts, so the planner reads `concert` as it would in production, not as a two-row table
    await sql(
      `insert into concert (title, venue, max_active, active_ttl_seconds) select 'filler ' || g, 'V', 100, 600 from generate_series(1, 500) g`,
    );
    const small = await lineOf(1_000);
    const large = await lineOf(100_000);
    await sql('analyze queue_token');
    await sql('analyze concert');

    const atSmall = await explain(TICKET_STATE_SQL, [small]);
    const atLarge = await explain(TICKET_STATE_SQL, [large]);
    console.log('[explain] 1k waiting  ', JSON.stringify(shape(atSmall)), `${blocks(atSmall)} buffers`);
    console.log('[explain] 100k waiting', JSON.stringify(shape(atLarge)), `${blocks(atLarge)} buffers`);

    expect(shape(atLarge)).toEqual(shape(atSmall));
    expect(
      planNodes(atLarge)
        .filter((n) => n['Node Type'].includes('Index'))
        .map((n) => n['Index Name']),
    ).toEqual(['queue_token_pkey', 'concert_pkey']);
    expect(planNodes(atLarge).filter((n) => n['Node Type'].includes('Seq Scan'))).toEqual([]);
    for (const node of shape(atLarge)) expect(node.rows).toBe(1);

    // what it replaces: counting everyone ahead touches a number of rows that grows with the line
    const countAhead = `select count(*) from queue_token where concert_id = (select concert_id from queue_token where id = ?)
                          and status = 'WAITING' and ticket < (select ticket from queue_token where id = ?)`;
    const countAtSmall = await explain(countAhead, [small, small]);
    const countAtLarge = await explain(countAhead, [large, large]);
    const touched = (plan: PlanNode) => Math.max(...shape(plan).map((n) => n.rows));
    console.log('[explain] count(*) ahead: rows touched at 1k', touched(countAtSmall), 'at 100k', touched(countAtLarge));
    expect(touched(countAtLarge)).toBeGreaterThan(40 * touched(countAtSmall));
  });
});
