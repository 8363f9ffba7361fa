/**
 * The edge of a real API process (`start:api`): a client that sends its request slowly is cut off within
 * 30 s, while a `queue.watch` stream (a long response, not a slow request) stays open.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { freePort } from '@frontrow/db';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import { type Spawned, TEST_AUTH_SECRET, TEST_TOKEN_SECRET, apiMain, spawnNode, stopSpawned, waitForReady } from './processes.ts';

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

async function startApi(env: Record<string, string> = {}): Promise<{ base: string; port: number; server: Spawned }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawnNode(apiMain, {
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    DB_POOL_SIZE: '2',
    LOG_LEVEL: 'info',
    ...env,
  });
  await waitForReady(base, server);
  return { base, port, server };
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
