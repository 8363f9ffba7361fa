import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { admittedHolders, concertWithDates } from '../../test/booking-fixtures.ts';
import { manualClock } from '../clock.ts';
import { queueStats } from '../queue/queue-stats.ts';
import { testDeps } from '../testing.ts';
import { readConcertFigures } from './concert-figures.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('readConcertFigures (/metrics)', () => {
  it("counts as active only tokens not past activeUntil on the caller's clock, as queueStats does, whether or not the admitter ran", async () => {
    const clock = manualClock(new Date('2030-06-01T00:00:00.000Z'));
    const { concertId } = await concertWithDates(db.orm, ['2031-01-01']);
    await admittedHolders(db.orm, clock, concertId, 2, 60);
    await admittedHolders(db.orm, clock, concertId, 1, 120);
    const active = async () => {
      const figures = await readConcertFigures(db.orm.em.fork(), clock.now());
      const stats = await queueStats(testDeps(db.orm, { clock }), { concertId });
      const row = figures.queue.find((r) => r.concertId === concertId);
      return { figures: row?.active, stats: stats.active, admitted: row?.admitted };
    };
    expect(await active()).toEqual({ figures: 3, stats: 3, admitted: 3 });
    clock.advance(59_999);
    expect(await active()).toEqual({ figures: 3, stats: 3, admitted: 3 });
    clock.advance(1); // exactly at the first two's activeUntil: lapsed, though still ACTIVE in the rows
    expect(await active()).toEqual({ figures: 1, stats: 1, admitted: 3 });
    clock.advance(60_000);
    expect(await active()).toEqual({ figures: 0, stats: 0, admitted: 3 });
  });
});
