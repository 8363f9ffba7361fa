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
  app.addHook('onRequest', async (_req, reply) => {
    inFlight.add(reply);
    // 'close' comes after a response ends and also when a client walks away mid-stream
    reply.raw.once('close', () => inFlight.delete(reply));
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const reply of inFlight) if (isEventStream(reply)) reply.raw.destroy();
  });
});

export function isEventStream(reply: FastifyReply): boolean {
  return String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
}
