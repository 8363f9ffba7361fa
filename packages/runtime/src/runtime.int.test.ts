import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { noJobs, parseConfig } from '@frontrow/core';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { openRuntime } from './runtime.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const config = () =>
  parseConfig({
    DATABASE_URL: db.url,
    TOKEN_SECRET: 'runtime-test-token-secret-0123456789abcdef',
    AUTH_DEV_SECRET: 'runtime-test-auth-secret-0123456789abcdef',
  });

describe('openRuntime', () => {
  it('holds the background errors reported before a sink is named (pg-boss may report before the logger exists), then hands them over in order', async () => {
    const runtime = await openRuntime(config(), { role: 'worker', schema: 'assert', poolSize: 2 });
    try {
      if (!runtime.boss) throw new Error('a worker runtime starts pg-boss');
      runtime.boss.emit('error', new Error('first, before the log'));
      runtime.boss.emit('error', new Error('second, before the log'));
      const seen: string[] = [];
      runtime.reportErrorsTo((error, source) => seen.push(`${source}: ${error instanceof Error ? error.message : String(error)}`));
      expect(seen).toEqual(['pg-boss: first, before the log', 'pg-boss: second, before the log']);
      runtime.boss.emit('error', new Error('after'));
      expect(seen).toEqual(['pg-boss: first, before the log', 'pg-boss: second, before the log', 'pg-boss: after']);
    } finally {
      await runtime.close();
    }
  });

  it('closes in one order: the steps the process registered, newest first, while the pools are open; then pg-boss and the ORM; once', async () => {
    const runtime = await openRuntime(config(), { role: 'api', schema: 'assert', poolSize: 2 });
    const order: string[] = [];
    runtime.boss?.on('stopped', () => order.push('pg-boss stopped'));
    runtime.onClose(async () => {
      order.push(`worker (orm open: ${await runtime.orm.isConnected()})`);
    });
    runtime.onClose(async () => {
      order.push(`server (orm open: ${await runtime.orm.isConnected()})`);
    });

    await Promise.all([runtime.close(), runtime.close()]);
    await runtime.close();

    expect(order).toEqual(['server (orm open: true)', 'worker (orm open: true)', 'pg-boss stopped']);
    expect(await runtime.orm.isConnected()).toBe(false);
  });

  it('gives an API process its edge (tokens, identities, admission state) and a one-off command no jobs and no pg-boss', async () => {
    const api = await openRuntime(config(), { role: 'api', poolSize: 2 });
    const tool = await openRuntime(config(), { role: 'tool', poolSize: 2 });
    try {
      expect(api.edge?.admissions).toBeDefined();
      expect(api.boss).toBeDefined();
      expect(tool.boss).toBeUndefined();
      expect(tool.edge).toBeUndefined();
      expect(tool.deps.jobs).toBe(noJobs);
    } finally {
      await Promise.all([api.close(), tool.close()]);
    }
  });
});
