/**
 * Slot squatting (issue 13): a hold keeps its holder ACTIVE until the hold lapses, but never past admission
 * + active time + one hold time, and a cancelled hold extends nothing. With the injected clock, a squatter
 * who holds and cancels, or holds again and again, is ACTIVE no longer than that cap.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QueueToken } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { isAdmittedToken } from '../queue/crowd-rules.ts';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admittedHolders, outcomeOf } from '../../test/booking-fixtures.ts';
import { cancelReservation } from './cancel-reservation.ts';
import { holdSeats } from './hold-seats.ts';

const DATE = '2030-12-24';
const ACTIVE_TTL = 4;
const HOLD_TTL = 10;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

/** A concert whose admitted users are ACTIVE for ACTIVE_TTL seconds, and one user admitted now. */
async function squatter() {
  const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
  const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: HOLD_TTL } });
  const created = await createConcert(testDeps(db.orm, { clock: manualClock(new Date('2019-01-01T00:00:00Z')) }), {
    title: 'Squat',
    venue: 'Hall',
    dates: [DATE],
    activeTtlSeconds: ACTIVE_TTL,
  });
  const [holder] = await admittedHolders(db.orm, clock, created.concertId, 1, ACTIVE_TTL);
  if (!holder) throw new Error('no user');
  const admittedAt = clock.now().getTime();
  const token = async () => await db.orm.em.fork().findOneOrFail(QueueToken, holder.tokenId);
  return { clock, deps, holder, concertId: created.concertId, admittedAt, token };
}

describe('the active time cap', () => {
  it('hold, cancel, hold again every 3 s: a cancelled hold extends nothing, so the token lapses at its active time', async () => {
    const { clock, deps, holder, concertId, admittedAt, token } = await squatter();
    const outcomes: string[] = [];
    let lastActive = admittedAt;
    for (let seat = 1; seat <= 6; seat++) {
      const outcome = await outcomeOf(holdSeats(deps, holder, { concertId, date: DATE, seatNumbers: [seat] }));
      outcomes.push(outcome);
      if (outcome === 'OK') {
        const [held] = await db.orm.em
          .getConnection()
          .execute<{ id: string }[]>(`select id from reservation where user_id = ? and status = 'HELD' order by id desc limit 1`, [
            holder.userId,
          ]);
        await cancelReservation(deps, holder, { reservationId: String(held?.id) });
        expect((await token()).activeUntil?.getTime()).toBe(admittedAt + ACTIVE_TTL * 1000);
      }
      if (isAdmittedToken(await token(), clock.now())) lastActive = clock.now().getTime();
      clock.advance(3_000);
    }
    expect(outcomes).toEqual(['OK', 'OK', 'TOKEN_EXPIRED', 'TOKEN_EXPIRED', 'TOKEN_EXPIRED', 'TOKEN_EXPIRED']);
    expect(lastActive - admittedAt).toBeLessThan(ACTIVE_TTL * 1000);
  });

  it('hold after hold without cancelling: ACTIVE to each hold’s expiry, never past admission + active time + one hold time', async () => {
    const { clock, deps, holder, concertId, admittedAt, token } = await squatter();
    const cap = admittedAt + (ACTIVE_TTL + HOLD_TTL) * 1000;
    const outcomes: string[] = [];
    let lastActive = admittedAt;
    // every 3 s one more seat, while each hold lasts 10 s: at most four seats live at once (the limit)
    for (let seat = 1; seat <= 8; seat++) {
      outcomes.push(await outcomeOf(holdSeats(deps, holder, { concertId, date: DATE, seatNumbers: [seat] })));
      const stored = await token();
      expect(stored.activeUntil?.getTime()).toBeLessThanOrEqual(cap);
      if (isAdmittedToken(stored, clock.now())) lastActive = clock.now().getTime();
      clock.advance(3_000);
    }
    // holds at 0, 3, 6, 9, 12 s; by 15 s the token lapsed at the cap (14 s), though its hold of 12 s runs to 22 s
    expect(outcomes).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'TOKEN_EXPIRED', 'TOKEN_EXPIRED', 'TOKEN_EXPIRED']);
    expect((await token()).activeUntil?.getTime()).toBe(cap);
    expect(lastActive).toBeLessThan(cap);
  });

  it('the first hold extends the token to the hold’s expiry (a holder can pay), within the cap', async () => {
    const { clock, deps, holder, concertId, admittedAt, token } = await squatter();
    clock.advance(2_000);
    const held = await holdSeats(deps, holder, { concertId, date: DATE, seatNumbers: [1] });
    expect((await token()).activeUntil?.toISOString()).toBe(held.expiresAt);
    expect(new Date(held.expiresAt).getTime()).toBe(admittedAt + 12_000);
  });
});
