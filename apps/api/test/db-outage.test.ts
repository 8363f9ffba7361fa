/**
 * An API process whose database goes away: it answers BUSY/503 at once (no hang, no crash), reports
 * itself unready, and serves again when the database is back, with no restart. Each process logs the
 * outage as one line when it starts and one when it ends, never a stack per failed call or retry. The shared test server
 * cannot be stopped, so the API points at a private embedded PostgreSQL that this file stops and restarts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { freePort } from '@frontrow/db';
import { type RunningPostgres, startEmbeddedPostgres } from '@frontrow/db/embedded';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import {
  type Spawned,
  TEST_AUTH_SECRET,
  TEST_TOKEN_SECRET,
  apiMain,
  get,
  spawnNode,
  stopSpawned,
  tempDir,
  waitFor,
  waitForReady,
  workerMain,
} from './processes.ts';

let dir: string;
let pg: RunningPostgres;
let db: TestDatabase;
let api: Spawned;
let worker: Spawned;
let base: string;
let concertId: string;

beforeAll(async () => {
  dir = await tempDir('frontrow-outage-');
  // not ephemeral: the data has to survive the stop and restart
  pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), ephemeral: false });
  db = await createTestDatabase(pg.url, { poolSize: 2 });
  ({ concertId } = await createConcert(testDeps(db.orm), { title: 'Outage Live', venue: 'Hall', dates: ['2031-05-01'] }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: db.url,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    DB_POOL_SIZE: '4',
    LOG_LEVEL: 'info',
  };
  api = spawnNode(apiMain, { ...env, PORT: String(port), HOST: '127.0.0.1', QUEUE_ENTER_RATE_LIMIT: '0' });
  worker = spawnNode(workerMain, env);
  await waitForReady(base, api);
  // the worker too: an outage while it is still starting (opening pg-boss) is a failed start, not an outage
  await waitFor('the worker to start', () => worker.output().includes('"msg":"worker started"'));
});

afterAll(async () => {
  await stopSpawned();
  // if the test failed while the server was down, there is no database left to drop
  await db?.drop().catch(() => {});
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(path: string, init?: RequestInit): Promise<{ status: number; reason: unknown }> {
  const response = await fetch(`${base}/trpc/${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { error?: { data?: { reason?: unknown } } };
  return { status: response.status, reason: body.error?.data?.reason };
}

type LogLine = { level: number; msg: string; statusCode?: number };

/** The JSON log lines a process wrote (other output, such as pnpm's, skipped). */
function logLines(process: Spawned): LogLine[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** A charge by a new signed-in user (a development identity token: no database needed to verify it). */
const charge = async () =>
  call('wallet.charge', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: (await signIn()).authorization },
    body: JSON.stringify({ amount: 1000 }),
  });

describe('database outage', () => {
  it('answers BUSY/503 while the database is down, reports unready, and serves (and admits) again when it returns, no restart', async () => {
    expect((await call('concerts.list')).status).toBe(200);

    await pg.stop();

    // every answer comes back (the fetch timeout would fail the test), none is a 500
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/readyz`)).status).toBe(503);
    expect(await call('concerts.list')).toEqual({ status: 503, reason: 'BUSY' });
    expect(await call('wallet.balance', { headers: { authorization: (await signIn()).authorization } })).toEqual({
      status: 503,
      reason: 'BUSY',
    });
    expect(await charge()).toEqual({ status: 503, reason: 'BUSY' });
    expect((await get(`${base}/metrics`)).status).toBe(200);
    expect(api.child.exitCode).toBeNull();

    pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pg.port, ephemeral: false });

    await waitFor('readyz 200 after the database returned', async () => (await get(`${base}/readyz`)).status === 200);
    const list = await fetch(`${base}/trpc/concerts.list`);
    expect(list.status).toBe(200);
    expect(JSON.stringify(await list.json())).toContain(`"id":"${concertId}"`);
    await waitFor('a charge to go through again', async () => (await charge()).status === 200);
    expect(api.child.exitCode).toBeNull();

    // the worker lived through it too, and admits again
    expect(worker.child.exitCode).toBeNull();
    const entered = await fetch(`${base}/trpc/queue.enter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: (await signIn()).authorization },
      body: JSON.stringify({ concertId }),
    });
    const { token } = ((await entered.json()) as { result: { data: { token: string } } }).result.data;
    await waitFor('the worker to admit the new entry', async () => {
      const status = await fetch(`${base}/trpc/queue.status`, { headers: { 'x-queue-token': token } });
      return ((await status.json()) as { result?: { data: { status: string } } }).result?.data.status === 'ACTIVE';
    });

    // the logs: per process, one line as the outage began and one as it ended; no error line, no stack
    for (const process of [api, worker]) {
      await waitFor(`${process.name} to log the database back`, () => logLines(process).some((l) => l.msg === 'database available again'));
      const lines = logLines(process);
      expect(
        lines.filter((l) => l.msg === 'database unavailable'),
        process.output(),
      ).toHaveLength(1);
      expect(lines.filter((l) => l.msg === 'database available again')).toHaveLength(1);
      expect(
        lines.filter((l) => l.level >= 50).map((l) => l.msg),
        process.output(),
      ).toEqual([]);
      expect(process.output()).not.toMatch(/"stack"|\n\s+at /);
    }
    // the answers themselves are still one line each, as warnings
    const busy = logLines(api).filter((l) => l.msg === 'request completed' && l.statusCode === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(new Set(busy.map((l) => l.level))).toEqual(new Set([40]));
  });
});
