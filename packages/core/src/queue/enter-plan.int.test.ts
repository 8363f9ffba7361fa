/**
 * An entry must cost the same however long the line is, whatever plan PostgreSQL picks for the group's
 * token statement. Found by profiling the bench's `enter` scenario: with statistics from before the crowd
 * (a flash crowd grows the table faster than autovacuum analyzes it), the planner joined the group to
 * every live token of every concert through a hash, so each group read the whole line and `queue.enter`
 * slowed as the line grew.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ticketSequenceName } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { LIVE_OR_NEW_TOKENS } from './enter-queue.ts';
import { type PlanNode, planNodes } from '../../test/plans.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const GROUP = 20;

/** A concert whose line already holds `waiting` WAITING tokens, inserted in one statement, with no analyze after. */
async function lineOf(waiting: number): Promise<string> {
  const { concertId } = await createConcert(testDeps(db.orm), { title: `line of ${waiting}`, venue: 'V', dates: ['2030-06-01'] });
  const sql = db.orm.em.fork().getConnection();
  await sql.execute(
    `insert into queue_token (concert_id, user_id, ticket, status) select ?, gen_random_uuid(), g, 'WAITING' from generate_series(1, ?) g`,
    [concertId, waiting],
  );
  await sql.execute(`select setval(?::regclass, ?)`, [ticketSequenceName(concertId), waiting]);
  return concertId;
}

/**
 * The plan of one group of new users entering `concertId`, as the API runs it (a prepared statement run by
 * `execute`), the custom or the generic plan forced.
 */
async function planOfGroup(concertId: string, planCache: 'force_custom_plan' | 'force_generic_plan'): Promise<PlanNode> {
  return db.orm.em.fork().transactional(async (em) => {
    const sql = em.getConnection();
    await sql.execute(`set local plan_cache_mode = ${planCache}`);
    await sql.execute(`prepare plan_test_group (${LIVE_OR_NEW_TOKENS.params.join(', ')}) as ${LIVE_OR_NEW_TOKENS.text}`);
    const array = (values: string[]) => `{${values.map((v) => `"${v}"`).join(',')}}`;
    const users = Array.from({ length: GROUP }, () => crypto.randomUUID());
    const [row] = await sql.execute<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      `explain (analyze, buffers, format json) execute plan_test_group(?, ?, ?)`,
      [array(users.map(() => concertId)), array(users), array(users.map(() => ticketSequenceName(concertId)))],
    );
    await sql.execute('deallocate plan_test_group');
    const plan = row?.['QUERY PLAN'][0].Plan;
    if (!plan) throw new Error('no plan');
    return plan;
  });
}

describe("the entry group's token statement", () => {
  it('reads one index entry per user, not the line, at 200 and at 20,000 waiting, custom plan or generic', async () => {
    // statistics from before the crowd: a table of finished tokens (an earlier sale), none live, analyzed;
    // then the lines fill with no analyze
    const { concertId: before } = await createConcert(testDeps(db.orm), { title: 'an earlier sale', venue: 'V', dates: ['2030-05-01'] });
    await db.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into queue_token (concert_id, user_id, ticket, status) select ?, gen_random_uuid(), g, 'CANCELLED' from generate_series(1, 5000) g`,
        [before],
      );
    await db.orm.em.fork().getConnection().execute('analyze queue_token');
    const plans = ['force_custom_plan', 'force_generic_plan'] as const;
    // the short line measured while it is the only one, then the long one beside it: a plan that reads
    // every live token costs more at the second measure
    const short = await lineOf(200);
    const atShort = new Map<string, PlanNode>();
    for (const planCache of plans) atShort.set(planCache, await planOfGroup(short, planCache));
    const long = await lineOf(20_000);

    const tokenReads = (plan: PlanNode) =>
      planNodes(plan)
        .filter((n) => n['Relation Name'] === 'queue_token' && n['Node Type'] !== 'ModifyTable')
        .map((n) => ({
          node: n['Node Type'],
          index: n['Index Name'] ?? null,
          rows: n['Actual Rows'] * n['Actual Loops'] + (n['Rows Removed by Filter'] ?? 0),
        }));
    // a node's buffers include its children's: the top node's are the statement's
    const blocks = (plan: PlanNode) => plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    for (const planCache of plans) {
      const before = atShort.get(planCache) as PlanNode;
      const atLong = await planOfGroup(long, planCache);
      console.log(`[explain] ${planCache}: line of 200`, JSON.stringify(tokenReads(before)), `${blocks(before)} buffers`);
      console.log(`[explain] ${planCache}: line of 20,000`, JSON.stringify(tokenReads(atLong)), `${blocks(atLong)} buffers`);

      // every read of queue_token is a lookup of the group's own users: the new users have no live token
      for (const read of tokenReads(atLong))
        expect(read, planCache).toEqual({ node: 'Index Scan', index: 'queue_token_live_per_user', rows: 0 });
      // and the statement as a whole touches about as many pages at 20,000 waiting as at 200 (the new rows'
      // index entries go into larger indexes: ~300 against ~380 here; the old plan read ~20,500)
      expect(blocks(atLong), planCache).toBeLessThan(blocks(before) * 1.5);
    }
  });
});
