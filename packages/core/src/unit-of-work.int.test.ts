import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MikroORM, Wallet, ormConfig } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { isDomainError } from './errors.ts';
import { backoffMs, inTransaction } from './unit-of-work.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('unit of work', () => {
  it('replays a unit of work that lost a version race, and the replay sees the winner', async () => {
    const userId = crypto.randomUUID();
    await db.orm.em.getConnection().execute(`insert into wallet (user_id, balance) values (?, 0)`, [userId]);
    let attempts = 0;
    await inTransaction(db.orm.em, async (em) => {
      attempts += 1;
      const wallet = await em.findOneOrFail(Wallet, { userId });
      if (attempts === 1) {
        // someone else commits a change of the same row between our read and our flush
        await db.orm.em
          .getConnection()
          .execute(`update wallet set balance = balance + 5, version = version + 1 where user_id = ?`, [userId]);
      }
      wallet.credit(10);
    });
    expect(attempts).toBe(2);
    const [row] = await db.orm.em.getConnection().execute<{ balance: string }[]>(`select balance from wallet where user_id = ?`, [userId]);
    expect(Number(row?.balance)).toBe(15);
  });

  it('answers BUSY once the bounded retries are spent, and writes nothing', async () => {
    const userId = crypto.randomUUID();
    await db.orm.em.getConnection().execute(`insert into wallet (user_id, balance) values (?, 0)`, [userId]);
    let attempts = 0;
    const outcome = await inTransaction(
      db.orm.em,
      async (em) => {
        attempts += 1;
        const wallet = await em.findOneOrFail(Wallet, { userId });
        await db.orm.em.getConnection().execute(`update wallet set version = version + 1 where user_id = ?`, [userId]);
        wallet.credit(10);
      },
      { attempts: 3 },
    ).catch((error: unknown) => error);
    expect(isDomainError(outcome, 'BUSY')).toBe(true);
    expect(attempts).toBe(3);
    const [row] = await db.orm.em.getConnection().execute<{ balance: string }[]>(`select balance from wallet where user_id = ?`, [userId]);
    expect(Number(row?.balance)).toBe(0);
  });

  it('answers BUSY, not an internal error, when the database cannot be reached', async () => {
    // MikroORM.init connects lazily: the first unit of work is what meets the dead server
    const orm = await MikroORM.init(ormConfig({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere' }));
    try {
      const outcome = await inTransaction(orm.em, async (em) => em.findOne(Wallet, { userId: crypto.randomUUID() })).catch(
        (error: unknown) => error,
      );
      expect(isDomainError(outcome, 'BUSY')).toBe(true);
    } finally {
      await orm.close(true);
    }
  });

  it('bounds every row-lock wait, so a stuck lock becomes BUSY instead of a hung request', async () => {
    const setting = await inTransaction(db.orm.em, async (em) => em.execute<{ lock_timeout: string }[]>('show lock_timeout'));
    expect(setting[0]?.lock_timeout).toBe('3s');
  });

  it('backs off with jitter under a growing ceiling', () => {
    expect(backoffMs(1, () => 0.999)).toBeLessThan(5);
    expect(backoffMs(3, () => 0.999)).toBeLessThan(20);
    expect(backoffMs(20, () => 0.999)).toBeLessThan(200);
    expect(backoffMs(5, () => 0)).toBe(0);
  });
});
