/**
 * The edge of real processes (`start:api`, `start:worker`): a client that sends its request slowly is cut
 * off within 30 s, while a `queue.watch` stream (a long response, not a slow request) stays open; a
 * missing database or a schema behind the code stops a process with one line saying what to run, and
 * nothing is created.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import { buildServer } from '../src/server.ts';
import { testInnerContext } from '../src/testing.ts';
import {
  type Spawned,
  TEST_AUTH_SECRET,
  TEST_TOKEN_SECRET,
  apiMain,
  exitWithin,
  spawnNode,
  startApiProcess,
  stopSpawned,
  streamsMain,
  workerMain,
} from './processes.ts';

let db: TestDatabase;
let concertId: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
  concertId = (await createConcert(testDeps(db.orm), { title: 'Edge', venue: 'Hall', dates: ['2031-06-01'] })).concertId;
});
afterAll(async () => {
  await stopSpawned();
  await db?.drop();
});

function startApi(env: Record<string, string> = {}) {
  return startApiProcess(db.url, env);
}

/**
 * Opens a socket, writes `head`, then one byte of `dribble` a second, and resolves with the seconds until the
 * server closed the socket (and what it answered), or `null` if it was still open after `boundMs`.
 */
function dribble(port: number, head: string, drip: string, boundMs: number): Promise<{ seconds: number; answer: string } | null> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    const timer = setInterval(() => socket.write(drip[sent++ % drip.length] ?? 'x'), 1_000);
    const bound = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      resolve(null);
    }, boundMs);
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(bound);
      resolve({ seconds: (Date.now() - started) / 1000, answer });
    });
    socket.write(head);
  });
}

describe('slow clients against an API process', () => {
  it('cuts a slow body and slow headers within 30 s, and leaves a queue.watch stream open', async () => {
    const { base, port } = await startApi();
    const user = await signIn();
    const entered = await fetch(`${base}/trpc/queue.enter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: user.authorization },
      body: JSON.stringify({ concertId }),
    });
    const { token } = ((await entered.json()) as { result: { data: { token: string } } }).result.data;
    const watch = await fetch(`${base}/trpc/queue.watch`, { headers: { 'x-queue-token': token } });
    const reader = watch.body?.getReader();
    expect(new TextDecoder().decode((await reader?.read())?.value)).toContain('WAITING');

    const body = 'POST /trpc/wallet.charge HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{';
    const [slowBody, slowHeaders] = await Promise.all([
      dribble(port, body, '"amount": 1', 40_000),
      dribble(port, 'GET /healthz HTTP/1.1\r\n', 'x-slow: abcdefgh', 40_000),
    ]);
    expect(slowBody, 'a body dribbled a byte a second was still being read after 40 s').not.toBeNull();
    expect(slowBody?.seconds).toBeLessThan(30);
    expect(slowBody?.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(slowHeaders).not.toBeNull();
    expect(slowHeaders?.seconds).toBeLessThan(30);

    // the stream, open all along, still delivers after the slow requests were cut (its 15 s keep-alive
    // comment at least): a long response is not a slow request
    const cut = Date.now();
    let delivered = false;
    while (!delivered) {
      const next = await reader?.read();
      expect(next?.done, 'the queue.watch stream ended').toBe(false);
      delivered = Date.now() > cut;
    }
    await reader?.cancel();
  });
});

const LAST_MIGRATION = '0005-wallet-adjustment';

describe('the database at start', () => {
  const env = (databaseUrl: string) => ({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    DB_POOL_SIZE: '2',
  });

  it('a DATABASE_URL naming no database stops start:api, start:worker and start:streams with one line, and creates nothing', async () => {
    const missing = `frontrow_missing_${process.pid}`;
    const url = new URL(db.url);
    url.pathname = `/${missing}`;
    for (const main of [apiMain, workerMain, streamsMain]) {
      const child = spawnNode(main, env(url.toString()));
      expect(await exitWithin(child, 30_000)).toEqual({ code: 1, signal: null });
      const lines = child.output().trim().split('\n');
      expect(lines, child.output()).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`database "${missing}" does not exist.*frontrow db migrate`));
    }
    const found = await db.orm.em.getConnection().execute(`select 1 from pg_database where datname = ?`, [missing]);
    expect(found).toEqual([]);
  });

  it('a schema behind the code stops start:api, start:worker and start:streams with one line naming the migration and the command', async () => {
    const behind = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
    try {
      await behind.orm.em.getConnection().execute(`delete from mikro_orm_migrations where name like ?`, [`${LAST_MIGRATION}%`]);
      for (const main of [apiMain, workerMain, streamsMain]) {
        const child = spawnNode(main, env(behind.url));
        expect(await exitWithin(child, 30_000)).toEqual({ code: 1, signal: null });
        const lines = child.output().trim().split('\n');
        expect(lines, child.output()).toHaveLength(1);
        expect(lines[0]).toContain(`schema is behind this code (1 migration(s) pending: ${LAST_MIGRATION}); run \`frontrow db migrate\``);
      }
    } finally {
      await behind.drop();
    }
  });

  it('/readyz is 503 SCHEMA_BEHIND while the schema is behind, and 200 once it is migrated', async () => {
    const behind = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
    const app = await buildServer({ orm: behind.orm, inner: testInnerContext(behind.orm) });
    try {
      const connection = behind.orm.em.getConnection();
      const [row] = await connection.execute<{ name: string; executed_at: Date }[]>(
        `delete from mikro_orm_migrations where name like ? returning name, executed_at`,
        [`${LAST_MIGRATION}%`],
      );
      const before = await app.inject({ method: 'GET', url: '/readyz' });
      expect([before.statusCode, before.json()]).toEqual([
        503,
        { status: 'unavailable', reason: 'SCHEMA_BEHIND', pending: [LAST_MIGRATION], run: 'frontrow db migrate' },
      ]);
      await connection.execute(`insert into mikro_orm_migrations (name, executed_at) values (?, ?)`, [row?.name, row?.executed_at]);
      const after = await app.inject({ method: 'GET', url: '/readyz' });
      expect([after.statusCode, after.json()]).toEqual([200, { status: 'ready' }]);
    } finally {
      await app.close();
      await behind.drop();
    }
  });
});

describe('shutdown when nobody reads the output', () => {
  /** Spawns the API, makes its stdout and stderr useless as `spoil` says, logs through them, and SIGTERMs it. */
  async function stopWith(spoil: (server: Spawned) => void, requests: number) {
    const { base, server } = await startApi();
    spoil(server);
    // request lines (and 404 lines) go into the broken or full pipe
    for (let i = 0; i < requests; i++) await fetch(`${base}/trpc/queue.nope?padding=${'x'.repeat(500)}`);
    server.child.kill('SIGTERM');
    return await exitWithin(server, 25_000);
  }

  it('exits (0 or 1) within 20 s of SIGTERM when stdout and stderr are closed pipes', async () => {
    const exit = await stopWith((server) => {
      server.child.stdout?.destroy();
      server.child.stderr?.destroy();
    }, 5);
    expect(exit.signal).toBeNull();
    expect([0, 1]).toContain(exit.code);
  });

  it('exits (0 or 1) within 20 s of SIGTERM when stdout and stderr are pipes nobody reads (full)', async () => {
    const exit = await stopWith((server) => {
      for (const pipe of [server.child.stdout, server.child.stderr]) {
        pipe?.removeAllListeners('data');
        pipe?.pause();
      }
    }, 2_000);
    expect(exit.signal).toBeNull();
    expect([0, 1]).toContain(exit.code);
  });
});
