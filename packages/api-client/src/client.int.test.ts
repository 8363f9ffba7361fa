/** The typed client against a real server on a port: batching, the token after queue.enter, SSE, reasons. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import {
  type QueueTicket,
  admitQueue,
  createConcert,
  createIdentityVerifier,
  createTokenSigner,
  mintDevIdentityToken,
  noJobs,
  systemClock,
} from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { createFrontRowClient, errorReason } from './client.ts';

let db: TestDatabase;
let app: Awaited<ReturnType<typeof buildServer>>;
let url: string;
const settings = testSettings;
const AUTH_SECRET = 'api-client-test-auth-secret-of-32-characters';
const signIn = (subject: string = crypto.randomUUID()) => mintDevIdentityToken(AUTH_SECRET, { subject });
const deps = () => ({ em: db.orm.em, clock: systemClock, jobs: noJobs, settings });

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
  app = await buildServer({
    orm: db.orm,
    inner: {
      ...deps(),
      tokens: createTokenSigner('api-client-test-secret-of-32-characters'),
      identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
    },
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
  it('sends the identity token, and the queue token set after queue.enter, on queries and on the queue.watch stream (X-Queue-Token over SSE)', async () => {
    const concertId = await concert();
    const identityToken = await signIn('alice');
    const client = createFrontRowClient({ url, identityToken });
    const ticket = await client.queue.enter.mutate({ concertId });
    expect(ticket.status).toBe('WAITING');

    // before setQueueToken: the guard says the token is missing, and errorReason reads the stable reason
    const missing = await client.queue.status.query().catch((error: unknown) => error);
    expect(errorReason(missing)).toBe('TOKEN_MISSING');

    client.setQueueToken(ticket.token);
    expect(client.queueToken).toBe(ticket.token);
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
    const client = createFrontRowClient({ url, fetch: counting, identityToken: await signIn() });
    const [list, bad, balance] = await Promise.allSettled([
      client.concerts.list.query(),
      client.wallet.charge.mutate({ amount: 0.5 }),
      client.wallet.balance.query(),
    ]);
    expect(list.status === 'fulfilled' && list.value.some((c) => c.id === concertId)).toBe(true);
    expect(bad.status === 'rejected' && errorReason(bad.reason)).toBe('VALIDATION');
    expect(balance.status === 'fulfilled' && balance.value.balance).toBe(0);
    // the two queries share one GET; the mutation goes as a POST of its own
    expect(requests).toHaveLength(2);
    expect(requests).toContainEqual(expect.stringMatching(/^GET .*\/trpc\/concerts\.list,wallet\.balance\?batch=1/));
    expect(requests).toContainEqual(expect.stringMatching(/^POST .*\/trpc\/wallet\.charge\?batch=1/));
  });

  it('splits more calls than the API takes in one batch (10) into several requests, so none is BATCH_TOO_LARGE', async () => {
    const requests: string[] = [];
    const counting: typeof fetch = async (input, init) => {
      requests.push(String(input));
      return await fetch(input, init);
    };
    const client = createFrontRowClient({ url, fetch: counting });
    const lists = await Promise.all(Array.from({ length: 25 }, () => client.concerts.list.query()));
    expect(lists).toHaveLength(25);
    expect(requests.map((r) => (new URL(r).pathname.split('/').pop() ?? '').split(',').length)).toEqual([10, 10, 5]);
  });

  it('asks a token getter before every request, so a refreshed identity token is used at once; without one, AUTH_MISSING', async () => {
    const tokens = [await signIn('getter-1'), await signIn('getter-2')];
    let calls = 0;
    let current: string | undefined = tokens[0];
    const client = createFrontRowClient({
      url,
      identityToken: () => {
        calls++;
        return current;
      },
    });
    const first = await client.wallet.balance.query();
    current = tokens[1];
    const second = await client.wallet.balance.query();
    expect(first.userId).not.toBe(second.userId);
    expect(calls).toBe(2);
    current = undefined;
    expect(errorReason(await client.wallet.balance.query().catch((error: unknown) => error))).toBe('AUTH_MISSING');
  });

  it('errorReason is undefined for what is not an API error', async () => {
    expect(errorReason(new Error('boom'))).toBeUndefined();
    const offline = createFrontRowClient({ url: 'http://127.0.0.1:9' });
    expect(errorReason(await offline.concerts.list.query().catch((error: unknown) => error))).toBeUndefined();
  });
});
