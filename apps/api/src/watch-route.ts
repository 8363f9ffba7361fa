/**
 * `GET /trpc/queue.watch` in the API, on a route of its own instead of tRPC's fetch adapter and SSE
 * producer (~64 KB of heap per open stream, docs/BENCHMARKS.md): `serveWatch` (watch-stream.ts) writes
 * the same frames. A request it does not stream (`?batch=1`, `connectionParams` that are not an object of
 * strings) goes to tRPC as before, so its answers do not change either.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FastifyHandlerOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { AppRouter } from './router.ts';
import { WATCH_PATH, type WatchDeps, type WatchStreams, refusalBeforeStream, serveWatch } from './watch-stream.ts';

export type WatchRouteOptions = {
  prefix: string;
  /** The same options tRPC's plugin gets: the router and `onError` (and all of it for what tRPC answers). */
  trpcOptions: FastifyHandlerOptions<AppRouter, FastifyRequest, FastifyReply>;
  deps: WatchDeps;
  streams: WatchStreams;
};

export function registerWatchRoute(app: FastifyInstance, options: WatchRouteOptions): void {
  const { onError } = options.trpcOptions;
  // before the server closes: a stream still in its guards then opens no stream to hold the close up
  app.addHook('preClose', async () => options.streams.close());
  app.get(`${options.prefix}/${WATCH_PATH}`, { exposeHeadRoute: false }, async (req, reply) => {
    // not a stream: tRPC answers it as it always did (a batch refused, connectionParams that are not an
    // object of strings refused; both 400)
    if (refusalBeforeStream(new URL(req.url, 'http://localhost'))) {
      await fastifyRequestHandler({ ...options.trpcOptions, req, res: reply, path: WATCH_PATH });
      return reply;
    }
    reply.hijack();
    await serveWatch(req.raw, reply.raw, {
      deps: options.deps,
      streams: options.streams,
      // what the server's hooks set (the request id)
      headers: reply.getHeaders() as OutgoingHttpHeaders,
      onError: (error) => onError?.({ error, path: WATCH_PATH, input: undefined, ctx: undefined, type: 'subscription', req }),
    });
    return reply;
  });
}
