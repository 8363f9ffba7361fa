/**
 * Graceful close: requests in flight finish, then their keep-alive connections close (else a client that
 * keeps its socket would hold the process open). An open queue.watch stream would hold the close until
 * its timeout: end streams so their clients reconnect (to another instance).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export const closeStreams = fp(async (app: FastifyInstance) => {
  const inFlight = new Set<FastifyReply>();
  let closing = false;
  // callback hooks, not async ones: no promise per request for these two
  app.addHook('onRequest', (_req, reply, done) => {
    inFlight.add(reply);
    // 'close' comes after a response ends and also when a client walks away mid-stream
    reply.raw.once('close', () => inFlight.delete(reply));
    done();
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const reply of inFlight) if (isEventStream(reply)) reply.raw.destroy();
  });
});

export function isEventStream(reply: FastifyReply): boolean {
  // a hijacked reply (the queue.watch route, watch-route.ts) set its headers on the raw response
  return String(reply.getHeader('content-type') ?? reply.raw.getHeader('content-type') ?? '').startsWith('text/event-stream');
}
