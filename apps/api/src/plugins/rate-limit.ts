/**
 * QUEUE_ENTER_RATE_LIMIT: `@fastify/rate-limit`'s counting, applied only to `queue.enter` (not globally):
 * one count per call, batched or not, against the client's address and against the signed-in user (many
 * addresses, one account). A refused request answers RATE_LIMITED for every call of its batch.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { InnerContext } from '../context.ts';
import { BEARER } from '../errors.ts';
import { type Calls, procedurePaths } from './calls.ts';

const ENTER = 'queue.enter';

export type QueueEnterRateLimitOptions = {
  /** Calls allowed per minute; 0: no limit (the plugin adds nothing). */
  limit: number;
  inner: InnerContext;
  calls: Calls;
};

export const queueEnterRateLimit = fp(async (app: FastifyInstance, { limit, inner, calls }: QueueEnterRateLimitOptions) => {
  if (limit <= 0) return;
  await app.register(rateLimit, { global: false });
  const byAddress = app.createRateLimit({ max: limit, timeWindow: 60_000 });
  const byUser = app.createRateLimit({ max: limit, timeWindow: 60_000, keyGenerator: (req) => `user:${signedInUsers.get(req)}` });
  const signedInUsers = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (req, reply) => {
    const paths = procedurePaths(req);
    const count = paths.filter((path) => path === ENTER).length;
    if (count === 0) return;
    const user = await signedInUser(inner, req.headers.authorization);
    if (user) signedInUsers.set(req, user);
    let refusal: { ttlInSeconds: number } | undefined;
    for (let call = 0; call < count; call++) {
      for (const limiter of user ? [byAddress, byUser] : [byAddress]) {
        const decision = await limiter(req);
        if (!decision.isAllowed && decision.isExceeded) refusal = decision;
      }
    }
    if (!refusal) return;
    // the whole request is refused, so every call of a batch answers RATE_LIMITED
    reply.header('retry-after', String(refusal.ttlInSeconds));
    return calls.refuse(
      req,
      reply,
      paths,
      'RATE_LIMITED',
      `too many queue entries from your address or account (at most ${limit} a minute); retry later`,
    );
  });
});

/** The user a request's identity token names, if it verifies (cached by the verifier); else undefined. */
async function signedInUser(inner: InnerContext, authorization: string | undefined): Promise<string | undefined> {
  const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
  if (!token) return undefined;
  try {
    return (await inner.identities.verify(token))?.userId;
  } catch {
    return undefined; // the provider's keys unavailable: the address still counts, the procedure answers BUSY
  }
}
