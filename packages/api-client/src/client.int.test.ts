/** The typed client against a real server on a port: batching, the token after queue.enter, SSE, reasons. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import { type QueueTicket, admitQueue, createConcert, createTokenSigner, noJobs, systemClock } from '@frontrow/core';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { createFrontRowClient, errorReason } from './client.ts';

let db: TestDatabase;
let app: Awaited<ReturnType<typeof buildServer>>;
let url: string;
const settings = { holdTtlSeconds: 300, defaultMaxActive: 100, defaultActiveTtlSeconds: 600 };
const deps = () => ({ em: db.orm.em, clock: systemClock, jobs: noJobs, settings });

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
  app = await buildServer({
    orm: db.orm,
    inner: { ...deps(), tokens: createTokenSigner('api-client-test-secret-of-32-characters') },
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function concert(): Promise<string> {
  return (await createConcert(deps(), { title: 'Client Live', venue: 'Hall', dates: ['2099-08-01'], maxActive: 1 })).concertId;
}

/** Resolves with the first `count` tickets a subscription delivers, then unsubscribes. */
function watch(client: ReturnType<typeof createFrontRowClient>, count: number, onFirst?: () => Promise<void>): Promise<QueueTicket[]> {
  return new Promise((resolve, reject) => {
    const seen: QueueTicket[] = [];
    const subscription = client.queue.watch.subscribe(undefined, {
      onData: (event) => {
        seen.push(event.data);
        if (seen.length === 1 && onFirst) onFirst().catch(reject);
        if (seen.length === count) {
          subscription.unsubscribe();
          resolve(seen);
        }
      },
      onError: (error) => {
        subscription.unsubscribe();
        reject(error);
      },
    });
  });
}

describe('createFrontRowClient', () => {
  it('sends the token set after queue.enter, on queries and on the queue.watch stream (Authorization header over SSE)', async () => {
    const concertId = await concert();
    const client = createFrontRowClient({ url });
    const ticket = await client.queue.enter.mutate({ concertId, userId: crypto.randomUUID() });
    expect(ticket.status).toBe('WAITING');

    // before setToken: the guard says the token is missing, and errorReason reads the stable reason
    const missing = await client.queue.status.query().catch((error: unknown) => error);
    expect(errorReason(missing)).toBe('TOKEN_MISSING');

    client.setToken(ticket.token);
    expect(client.token).toBe(ticket.token);
    expect((await client.queue.status.query()).token).toBe(ticket.token);

    // the stream sends the ticket on connect, then the admission the worker's round makes
    const tickets = await watch(client, 2, async () => {
      await admitQueue(deps(), { concertId });
    });
    expect(tickets.map((t) => t.status)).toEqual(['WAITING', 'ACTIVE']);
  });

  it('batches the queries made together into one request, and each call gets its own result or reason', async () => {
    const concertId = await concert();
    const requests: string[] = [];
    const counting: typeof fetch = async (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${String(input)}`);
      return await fetch(input, init);
    };
    const client = createFrontRowClient({ url, fetch: counting });
    const [list, bad, balance] = await Promise.allSettled([
      client.concerts.list.query(),
      client.wallet.charge.mutate({ userId: 'not-a-uuid', amount: 10 }),
      client.wallet.balance.query({ userId: crypto.randomUUID() }),
    ]);
    expect(list.status === 'fulfilled' && list.value.some((c) => c.id === concertId)).toBe(true);
    expect(bad.status === 'rejected' && errorReason(bad.reason)).toBe('VALIDATION');
    expect(balance.status === 'fulfilled' && balance.value.balance).toBe(0);
    // the two queries share one GET; the mutation goes as a POST of its own
    expect(requests).toHaveLength(2);
    expect(requests).toContainEqual(expect.stringMatching(/^GET .*\/trpc\/concerts\.list,wallet\.balance\?batch=1/));
    expect(requests).toContainEqual(expect.stringMatching(/^POST .*\/trpc\/wallet\.charge\?batch=1/));
  });

  it('errorReason is undefined for what is not an API error', async () => {
    expect(errorReason(new Error('boom'))).toBeUndefined();
    const offline = createFrontRowClient({ url: 'http://127.0.0.1:9' });
    expect(errorReason(await offline.concerts.list.query().catch((error: unknown) => error))).toBeUndefined();
  });
});
