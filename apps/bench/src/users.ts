/** Simulated users: each has a client of its own (no batching across users) and, once entered, a token. */
import { randomUUID } from 'node:crypto';
import { DEV_ISSUER, mintDevIdentityToken, userIdOf } from '@frontrow/core';
import type { BenchClient } from './client.ts';
import type { BenchEnv } from './env.ts';
import { forEachConcurrently, sleep, waitFor } from './pool.ts';

export type TicketStatus = 'PRE_QUEUE' | 'WAITING' | 'ACTIVE' | 'COMPLETED' | 'EXPIRED' | 'CANCELLED';

export type BenchUser = { userId: string; client: BenchClient; status: TicketStatus };

/** How long a simulated user's identity token lasts: longer than any bench run. */
const IDENTITY_TTL_SECONDS = 86_400;

export type SignedIn = { userId: string; identity: string };

/** Identity tokens minted ahead of a timed phase (`signInAhead`), so minting does not load the shared cores. */
const mintedAhead = new WeakMap<BenchEnv, SignedIn[]>();

/** A new made-up user, signed in with a development identity token. */
export async function mintUser(env: BenchEnv): Promise<SignedIn> {
  const subject = `bench-${randomUUID()}`;
  const identity = await mintDevIdentityToken(env.authSecret, { subject, ttlSeconds: IDENTITY_TTL_SECONDS });
  return { userId: userIdOf(DEV_ISSUER, subject), identity };
}

/**
 * Mints `count` users' identity tokens now, for the next entries to use. The bench shares the machine's
 * cores with the server: a token minted during a timed phase would be client CPU taken from the server
 * (a user who signs in does so before the opening minute, not during it). Untimed.
 */
export async function signInAhead(env: BenchEnv, count: number): Promise<void> {
  const pool = mintedAhead.get(env) ?? [];
  mintedAhead.set(env, pool);
  for (let i = 0; i < count; i++) pool.push(await mintUser(env));
}

/**
 * Enters one new user into the concert's line, signed in with a development identity token (AUTH_DEV_SECRET,
 * as `frontrow auth token` mints; one minted ahead when there is one); null if the API refused (the reason
 * is recorded).
 */
export async function enterUser(env: BenchEnv, concertId: string): Promise<BenchUser | null> {
  const { userId, identity } = mintedAhead.get(env)?.pop() ?? (await mintUser(env));
  const client = env.caller.client(identity);
  const entered = await env.caller.call('queue.enter', () => client.enter({ concertId }));
  if (!entered.ok) return null;
  client.setQueueToken(entered.value.token);
  return { userId, client, status: entered.value.status };
}

/** Enters `count` users, `concurrency` at a time; those the API refused are left out. */
export async function enterUsers(env: BenchEnv, concertId: string, count: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  await forEachConcurrently(count, env.concurrency, async () => {
    const user = await enterUser(env, concertId);
    if (user) users.push(user);
  });
  return users;
}

/**
 * Polls `queue.status` every `pollMs` while the user waits; returns the first status that is not WAITING,
 * or SOLD_OUT when the line is told the concert sold out (nobody is admitted to wait for seats that are gone).
 */
export async function waitAdmitted(env: BenchEnv, user: BenchUser, timeoutMs: number): Promise<TicketStatus | 'SOLD_OUT'> {
  const deadline = performance.now() + timeoutMs;
  while ((user.status === 'WAITING' || user.status === 'PRE_QUEUE') && performance.now() < deadline) {
    const polled = await env.caller.call('queue.status', () => user.client.status());
    if (polled.ok) {
      user.status = polled.value.status;
      if (user.status === 'WAITING' && polled.value.soldOut) return 'SOLD_OUT';
    }
    if (user.status === 'WAITING' || user.status === 'PRE_QUEUE') await sleep(env.pollMs);
  }
  return user.status;
}

/** Setup: waits until the database shows `count` ACTIVE tokens, then marks the users ACTIVE. */
export async function waitAllAdmitted(env: BenchEnv, concertId: string, users: BenchUser[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `${users.length} users to be admitted to concert ${concertId} (is a worker running?)`,
    async () => ((await env.db.activeCount(concertId)) >= users.length ? true : undefined),
    timeoutMs,
    200,
  );
  for (const user of users) user.status = 'ACTIVE';
}
