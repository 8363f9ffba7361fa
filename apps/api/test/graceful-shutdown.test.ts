/**
 * SIGTERM on an API process: it stops taking connections, finishes the request in flight, and exits 0. Log
 * lines are buffered (OPERATIONS.md, Logs): the ones still in memory reach stdout on a graceful stop and
 * after an uncaught error.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { get, startApiProcess, stopSpawned, waitFor } from './processes.ts';

let db: TestDatabase;
/** Lets go of the table lock the test holds, if it still holds one. */
let release: (() => void) | undefined;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
  await createConcert(testDeps(db.orm), { title: 'Last Call', venue: 'Hall', dates: ['2031-06-01'] });
});

afterAll(async () => {
  release?.();
  await stopSpawned();
  await db?.drop();
});

/** An API process of its own on a free port, ready (and stopped by afterAll if a test fails). */
function startApi(env: Record<string, string> = {}) {
  return startApiProcess(db.url, env);
}

describe('graceful shutdown of an API process', () => {
  it('SIGTERM lets the request in flight complete, refuses new connections, and exits 0', async () => {
    const { base, server } = await startApi();

    // Hold the request in flight: concerts.list waits on a lock of the concert table until we let go.
    const locked = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    release = released.resolve;
    const holder = db.orm.em.fork().transactional(async (tx) => {
      await tx.getConnection().execute('lock table concert in access exclusive mode', [], 'run', tx.getTransactionContext());
      locked.resolve();
      await released.promise;
    });
    await locked.promise;
    const inFlight = fetch(`${base}/trpc/concerts.list`, { signal: AbortSignal.timeout(30_000) });
    await waitFor('concerts.list to wait on the lock', async () => {
      const rows = await db.orm.em
        .getConnection()
        .execute<{ n: string }[]>(
          `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
      return Number(rows[0]?.n ?? 0) > 0;
    });

    process.kill(server.pid, 'SIGTERM');
    await waitFor('the listener to close', async () => {
      try {
        await get(`${base}/healthz`, 1_000);
        return false;
      } catch {
        return true;
      }
    });
    expect(server.child.exitCode).toBeNull();

    released.resolve();
    await holder;
    const response = await inFlight;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { data: { title: string }[] } };
    expect(body.result.data.map((c) => c.title)).toEqual(['Last Call']);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // 'stopped' is the last line, logged just before the exit: the buffer was written out
    await waitFor('the last log lines', () => server.output().includes('"msg":"stopped"'));
    expect(requestLines(server.output(), '/trpc/concerts.list')).toHaveLength(1);
  });

  it('an uncaught error stops the process with exit code 1, and the lines buffered before it reach stdout', async () => {
    const { base, server } = await startApi({ NODE_OPTIONS: `--import=${fileURLToPath(new URL('./uncaught-error.ts', import.meta.url))}` });
    expect((await get(`${base}/trpc/concerts.list`)).status).toBe(200);

    process.kill(server.pid, 'SIGWINCH');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await waitFor('the last log lines', () => server.output().includes('"msg":"stopped"'));
    expect(server.output()).toContain('stopping after an uncaught error');
    expect(requestLines(server.output(), '/trpc/concerts.list')).toHaveLength(1);
  });
});

/** The 'request completed' lines of `url` in a process's output. */
function requestLines(output: string, url: string): unknown[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; url?: string })
    .filter((line) => line.msg === 'request completed' && line.url === url);
}
