/**
 * The streams process (`pnpm start:streams`, streams/main.ts) as an operator runs it: beside an API
 * process on one database, it streams the API's queue tokens (the same first frame as the API's stream of
 * the token) and follows the line as the admitter moves it (LISTEN/NOTIFY, no poll), with neither the ORM
 * nor a web framework loaded; SIGTERM ends its open streams and exits 0, also when nobody reads its output.
 * Its refusals at start are in edge-process.test.ts with the API's and the worker's.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { admitQueue, createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { freePort } from '@frontrow/db';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import {
  type Spawned,
  TEST_TOKEN_SECRET,
  exitWithin,
  repoRoot,
  spawnNode,
  startApiProcess,
  stopSpawned,
  streamsMain,
  tempDir,
  waitForReady,
} from './processes.ts';

let db: TestDatabase;
let api: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
  api = (await startApiProcess(db.url)).base;
});
afterAll(async () => {
  await stopSpawned();
  await db?.drop();
});

async function startStreams(env: Record<string, string> = {}): Promise<{ base: string; server: Spawned }> {
  const base = `http://127.0.0.1:${await freePort()}`;
  const server = spawnNode(streamsMain, {
    DATABASE_URL: db.url,
    PORT: new URL(base).port,
    HOST: '127.0.0.1',
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    DB_POOL_SIZE: '2',
    LOG_LEVEL: 'info',
    ...env,
  });
  await waitForReady(base, server);
  return { base, server };
}

/** A concert with one place and two in line (no worker admits here): the token this returns is the second. */
async function waitingToken(): Promise<{ concertId: string; token: string }> {
  const { concertId } = await createConcert(testDeps(db.orm), { title: 'S', venue: 'V', dates: ['2099-06-01'], maxActive: 1 });
  let token = '';
  for (let i = 0; i < 2; i++) {
    const user = await signIn();
    const res = await fetch(`${api}/trpc/queue.enter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: user.authorization },
      body: JSON.stringify({ concertId }),
    });
    token = ((await res.json()) as { result: { data: { token: string } } }).result.data.token;
  }
  return { concertId, token };
}

/** A stream read as text as it arrives, until `ready` holds (or the stream ends). */
async function watch(base: string, token: string) {
  const res = await fetch(`${base}/trpc/queue.watch`, { headers: { 'x-queue-token': token } });
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  let text = '';
  return {
    until: async (ready: (text: string) => boolean): Promise<string> => {
      while (!ready(text)) {
        const next = await reader.read();
        if (next.done) return text;
        text += decoder.decode(next.value, { stream: true });
      }
      return text;
    },
    ended: async (): Promise<boolean> => {
      for (;;) {
        const next = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (next.done) return true;
      }
    },
    cancel: () => reader.cancel(),
  };
}

/** The first `data:` frame of a stream's text. */
const firstData = (text: string) => /\ndata: \{"token".*\nid: .*\n/.exec(text)?.[0];

describe('the streams process', () => {
  it("streams the API's queue tokens as the API does and follows the line, loading neither the ORM nor a web framework", async () => {
    const logDir = await tempDir('frontrow-modules-');
    onTestFinished(() => rm(logDir, { recursive: true, force: true }));
    const moduleLog = join(logDir, 'modules.txt');
    const { base } = await startStreams({
      NODE_OPTIONS: `--import ${join(repoRoot, 'apps/api/test/loaded-modules.ts')}`,
      FRONTROW_TEST_MODULE_LOG: moduleLog,
    });
    const { concertId, token } = await waitingToken();

    const [fromStreams, fromApi] = [await watch(base, token), await watch(api, token)];
    const [streamed, apiStreamed] = await Promise.all([fromStreams, fromApi].map((s) => s.until((text) => firstData(text) !== undefined)));
    expect(firstData(streamed ?? '')).toContain('"status":"WAITING","position":2');
    expect(firstData(streamed ?? '')).toBe(firstData(apiStreamed ?? ''));
    await fromApi.cancel();

    // the line moves (what the worker's admitter does): the stream hears it from the database, unasked
    await db.orm.em.getConnection().execute('update concert set max_active = 2 where id = ?', [concertId]);
    await admitQueue(testDeps(db.orm), { concertId });
    expect(await fromStreams.until((text) => text.includes('"status":"ACTIVE"'))).toContain('"status":"ACTIVE"');
    await fromStreams.cancel();

    const modules = (await readFile(moduleLog, 'utf8')).split('\n');
    expect(modules.some((url) => url.includes('/apps/api/src/streams/server.ts'))).toBe(true);
    expect(modules.filter((url) => /@mikro-orm|\/fastify\/|\/fastify@|\/entities\/|prom-client/.test(url))).toEqual([]);
  });

  it('ends its open streams and exits 0 within 20 s of SIGTERM', async () => {
    const { base, server } = await startStreams();
    const { token } = await waitingToken();
    const stream = await watch(base, token);
    await stream.until((text) => text.includes('"status":"WAITING"'));
    server.child.kill('SIGTERM');
    // an open stream not ended by the close would hold it up until close-with-grace gives up (20 s, exit 1)
    await stream.ended();
    expect(await exitWithin(server, 20_000)).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('"msg":"stopped"');
  });

  it('exits within 20 s of SIGTERM when its stdout and stderr are closed pipes', async () => {
    const { base, server } = await startStreams();
    server.child.stdout?.destroy();
    server.child.stderr?.destroy();
    // lines go into the broken pipes
    for (let i = 0; i < 5; i++) await fetch(`${base}/trpc/queue.nope?padding=${'x'.repeat(500)}`);
    server.child.kill('SIGTERM');
    const exit = await exitWithin(server, 20_000);
    expect(exit.signal).toBeNull();
    expect([0, 1]).toContain(exit.code);
  });
});
