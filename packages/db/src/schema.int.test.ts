import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing.ts';
import { migrate } from './migrate.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('migrations', () => {
  it('create the whole schema from an empty database, and a second run applies nothing', async () => {
    const rows = await db.orm.em
      .getConnection()
      .execute<{ table_name: string }[]>(
        `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
      );
    expect(rows.map((r) => r.table_name)).toEqual([
      'concert',
      'mikro_orm_migrations',
      'payment',
      'queue_token',
      'reservation',
      'schedule',
      'seat',
      'wallet',
      'wallet_transaction',
    ]);
    expect(await migrate(db.orm)).toEqual({ applied: [] });
  });
});
