import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { concertWithDates } from '../../test/booking-fixtures.ts';
import { QUEUE_TOKEN_STATUSES, type QueueTokenStatus } from '@frontrow/db';
import {
  ADMISSION_OPEN_SQL,
  ADMITTED_TOKEN_SQL,
  CONCERT_CROWD_COLUMNS,
  type ConcertCrowdColumns,
  ENTRY_OPEN_SQL,
  LAPSED_TOKEN_SQL,
  NO_SHOW_SQL,
  PRE_QUEUE_SQL,
  SOLD_OUT_SQL,
  TOKEN_CROWD_COLUMNS,
  admissionHalt,
  effectiveStatus,
  entryRefusal,
  isAdmittedToken,
  isLapsedToken,
  isNoShow,
  isPreQueue,
} from './crowd-rules.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

/** Every combination of the crowd columns. */
const at = new Date('2030-01-01T00:00:00Z');
const cases: ConcertCrowdColumns[] = [];
for (const paused of [false, true])
  for (const sales_closed_at of [null, at])
    for (const sold_out of [false, true])
      for (const [sales_open_at, opened_at] of [
        [null, null],
        [at, null],
        [at, at],
      ] as const)
        cases.push({
          paused,
          sales_closed_at,
          sold_out,
          sales_open_at,
          opened_at,
          opened_through: opened_at ? 10 : null,
          admit_per_minute: null,
          arrival_seconds: 60,
        });

describe('crowd rules: each function and its SQL fragment agree', () => {
  it('on every combination of paused, closed, sold out and pre-queue', async () => {
    for (const concert of cases) {
      const [row] = await db.orm.em.fork().execute<{ entry_open: boolean; admission_open: boolean }[]>(
        `select ${ENTRY_OPEN_SQL('c')} as entry_open, ${ADMISSION_OPEN_SQL('c')} as admission_open
           from (select ?::boolean as paused, ?::timestamptz as sales_closed_at, ?::boolean as sold_out,
                        ?::timestamptz as sales_open_at, ?::timestamptz as opened_at) c`,
        [concert.paused, concert.sales_closed_at, concert.sold_out, concert.sales_open_at, concert.opened_at],
      );
      const [pre] = await db.orm.em
        .fork()
        .execute<{ pre_queue: boolean }[]>(
          `select ${PRE_QUEUE_SQL('c')} as pre_queue from (select ?::timestamptz as sales_open_at, ?::timestamptz as opened_at) c`,
          [concert.sales_open_at, concert.opened_at],
        );
      expect({ concert, entry: row?.entry_open, admission: row?.admission_open, preQueue: pre?.pre_queue }).toEqual({
        concert,
        entry: entryRefusal(concert) === null,
        admission: admissionHalt(concert) === null,
        preQueue: isPreQueue(concert),
      });
    }
  });

  it('an admitted token and a lapsed one (isAdmittedToken, ADMITTED_TOKEN_SQL; the lapsed forms): each status, around activeUntil', async () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    // exactly at the deadline, one millisecond and one second either side
    const edges = [-1000, -1, 0, 1, 1000].map((ms) => new Date(now.getTime() + ms));
    const tokens: { status: QueueTokenStatus; activeUntil: Date | null }[] = [];
    for (const status of QUEUE_TOKEN_STATUSES) {
      // an ACTIVE token always has a deadline (queue_token_active_has_deadline); the others may keep an old one
      if (status !== 'ACTIVE') tokens.push({ status, activeUntil: null });
      for (const activeUntil of edges) tokens.push({ status, activeUntil });
    }
    for (const token of tokens) {
      const [row] = await db.orm.em.fork().execute<{ admitted: boolean; lapsed: boolean }[]>(
        `select ${ADMITTED_TOKEN_SQL('t', '?::timestamptz')} as admitted, ${LAPSED_TOKEN_SQL('t', '?::timestamptz')} as lapsed
           from (select ?::text as status, ?::timestamptz as active_until) t`,
        [now, now, token.status, token.activeUntil],
      );
      const admitted = isAdmittedToken(token, now);
      const lapsed = isLapsedToken(token, now);
      expect({ token, admitted: row?.admitted, lapsed: row?.lapsed }).toEqual({ token, admitted, lapsed });
      expect(admitted && lapsed).toBe(false);
      // what the guard reads: a lapsed token is EXPIRED, an admitted one ACTIVE
      const effective = effectiveStatus(
        {
          status: token.status,
          active_until: token.activeUntil,
          expired_reason: null,
          activated_at: null,
          claimed_at: null,
          pre_ticket: null,
        },
        { sales_closed_at: null, arrival_seconds: 60, sales_open_at: null, opened_at: null },
        now,
      );
      if (admitted) expect(effective.status).toBe('ACTIVE');
      if (lapsed) expect(effective).toEqual({ status: 'EXPIRED', expiredReason: null });
    }
  });

  it('a no-show (isNoShow, NO_SHOW_SQL): each status, claimed or not, around the end of the arrival window', async () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const arrival = 60;
    // admitted so that the window ends exactly now, one millisecond and one second either side; or never admitted
    const admissions = [-1000, -1, 0, 1, 1000].map((ms) => new Date(now.getTime() - arrival * 1000 + ms));
    for (const status of QUEUE_TOKEN_STATUSES) {
      for (const activated_at of [null, ...admissions]) {
        for (const claimed_at of [null, now]) {
          const token = { status, active_until: null, expired_reason: null, activated_at, claimed_at, pre_ticket: null };
          const [row] = await db.orm.em.fork().execute<{ no_show: boolean }[]>(
            `select ${NO_SHOW_SQL('t', 'c', '?::timestamptz')} as no_show
               from (select ?::text as status, ?::timestamptz as activated_at, ?::timestamptz as claimed_at) t,
                    (select ?::int as arrival_seconds) c`,
            [now, status, activated_at, claimed_at, arrival],
          );
          expect({ token, noShow: row?.no_show }).toEqual({ token, noShow: isNoShow(token, { arrival_seconds: arrival }, now) });
        }
      }
    }
  });

  it('the crowd column lists select exactly the crowd columns of a token and its concert', async () => {
    const { concertId } = await concertWithDates(db.orm, ['2031-01-01']);
    const [row] = await db.orm.em
      .fork()
      .execute<Record<string, unknown>[]>(
        `select ${TOKEN_CROWD_COLUMNS('t')}, ${CONCERT_CROWD_COLUMNS('c')} from concert c left join queue_token t on t.concert_id = c.id where c.id = ?`,
        [concertId],
      );
    expect(Object.keys(row ?? {}).sort()).toEqual(
      [
        ...['expired_reason', 'activated_at', 'claimed_at', 'pre_ticket'],
        ...['paused', 'sales_closed_at', 'sold_out', 'admit_per_minute', 'arrival_seconds', 'sales_open_at', 'opened_at', 'opened_through'],
      ].sort(),
    );
  });

  it('sold out (SOLD_OUT_SQL): no seat of an upcoming performance AVAILABLE or HELD; a performance stops counting exactly at its start', async () => {
    const { concertId, scheduleIds } = await concertWithDates(db.orm, ['2031-01-01', '2031-01-02']);
    const [first, second] = [scheduleIds['2031-01-01'], scheduleIds['2031-01-02']];
    const firstStarts = new Date('2031-01-01T10:00:00.000Z');
    const before = new Date(firstStarts.getTime() - 1);
    const em = db.orm.em.fork();
    const soldOut = async (now: Date) =>
      (await em.execute<{ sold_out: boolean }[]>(`select ${SOLD_OUT_SQL('?', '?::timestamptz')} as sold_out`, [concertId, now]))[0]
        ?.sold_out;
    const [owner] = await em.execute<{ id: string }[]>(
      `insert into reservation (user_id, concert_id, schedule_id, seat_numbers, total_price, status, expires_at)
       values (gen_random_uuid(), ?, ?, '{1}', 0, 'CONFIRMED', ?) returning id`,
      [concertId, first, before],
    );
    const set = (status: string, where: string, params: unknown[]) =>
      em.execute(`update seat set status = ?, reservation_id = ?, held_until = ? where ${where}`, [
        status,
        owner?.id,
        status === 'HELD' ? before : null,
        ...params,
      ]);

    expect(await soldOut(before)).toBe(false); // every seat AVAILABLE
    await set('RESERVED', 'schedule_id = ? and number > 1', [first]);
    await set('HELD', 'schedule_id = ?', [second]); // a HELD seat may come back, even a lapsed hold's
    expect(await soldOut(before)).toBe(false);
    await set('RESERVED', 'schedule_id = ?', [second]);
    // only seat 1 of the first performance is AVAILABLE: it counts until that performance starts
    expect(await soldOut(before)).toBe(false);
    expect(await soldOut(firstStarts)).toBe(true);
    await set('HELD', 'schedule_id = ? and number = 1', [first]);
    expect(await soldOut(before)).toBe(false);
    await set('RESERVED', 'schedule_id = ? and number = 1', [first]);
    expect(await soldOut(new Date('2030-01-01T00:00:00.000Z'))).toBe(true);
  });
});
