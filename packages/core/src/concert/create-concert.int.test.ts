import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Concert, Seat, ticketSequenceName } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { createConcert } from './create-concert.ts';
import { listConcerts } from './list-concerts.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('createConcert', () => {
  it('makes a concert with one schedule per date and 50 AVAILABLE seats per date at the given price', async () => {
    const deps = testDeps(db.orm, { settings: { defaultMaxActive: 7, defaultActiveTtlSeconds: 120 } });
    const created = await createConcert(deps, { title: 'IU', venue: 'Olympic Hall', dates: ['2030-12-25', '2030-12-24'], price: 77_000 });
    expect(created.schedules.map((s) => s.date)).toEqual(['2030-12-24', '2030-12-25']);

    const em = db.orm.em.fork();
    const concert = await em.findOneOrFail(Concert, created.concertId);
    expect(concert).toMatchObject({ title: 'IU', venue: 'Olympic Hall', maxActive: 7, activeTtlSeconds: 120, admittedThrough: 0 });
    for (const { scheduleId } of created.schedules) {
      const seats = await em.find(Seat, { schedule: scheduleId }, { orderBy: { number: 'asc' } });
      expect(seats.map((s) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(seats.map((s) => `${s.status}/${s.price}`))).toEqual(new Set(['AVAILABLE/77000']));
    }
    // its queue draws tickets from a sequence of its own
    const [row] = await em.getConnection().execute<{ n: string }[]>(`select nextval('${ticketSequenceName(created.concertId)}') as n`);
    expect(Number(row?.n)).toBe(1);

    expect(await listConcerts({ em: db.orm.em })).toContainEqual({
      id: created.concertId,
      title: 'IU',
      venue: 'Olympic Hall',
      dates: ['2030-12-24', '2030-12-25'],
    });
  });

  it('takes per-concert queue settings over the defaults', async () => {
    const created = await createConcert(testDeps(db.orm), {
      title: 'T',
      venue: 'V',
      dates: ['2030-01-01'],
      maxActive: 3,
      activeTtlSeconds: 30,
    });
    const concert = await db.orm.em.fork().findOneOrFail(Concert, created.concertId);
    expect([concert.maxActive, concert.activeTtlSeconds]).toEqual([3, 30]);
  });

  it.each([
    [{ dates: ['2030-02-30'] }, /not a calendar date/],
    [{ dates: ['30-01-2030'] }, /YYYY-MM-DD/],
    [{ dates: [] }, /dates/],
    [{ dates: ['2030-01-01', '2030-01-01'] }, /distinct/],
    [{ price: -1 }, /price/],
    [{ title: '  ' }, /title/],
  ])('rejects bad input (%j) and writes nothing', async (bad, message) => {
    const before = await db.orm.em.fork().count(Concert);
    await expect(createConcert(testDeps(db.orm), { title: 'T', venue: 'V', dates: ['2030-01-01'], ...bad })).rejects.toThrow(message);
    expect(await db.orm.em.fork().count(Concert)).toBe(before);
  });

  it("refuses a date before today in the concerts' time zone (Seoul), naming it; today itself is accepted", async () => {
    // 2030-03-01 16:00 UTC is already 2030-03-02 in Seoul
    const deps = testDeps(db.orm, { clock: manualClock(new Date('2030-03-01T16:00:00Z')) });
    const before = await db.orm.em.fork().count(Concert);
    await expect(createConcert(deps, { title: 'T', venue: 'V', dates: ['2030-03-05', '2030-03-01'] })).rejects.toThrow(
      /2030-03-01 is in the past \(today is 2030-03-02 in Asia\/Seoul\)/,
    );
    expect(await db.orm.em.fork().count(Concert)).toBe(before);
    const today = await createConcert(deps, { title: 'T', venue: 'V', dates: ['2030-03-02'] });
    expect(today.schedules.map((s) => s.date)).toEqual(['2030-03-02']);
  });
});
