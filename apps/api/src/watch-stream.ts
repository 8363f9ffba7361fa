/**
 * `GET /trpc/queue.watch` served by a plain route instead of tRPC's fetch adapter (issue 13: 10,000 open
 * streams on one API process). tRPC's SSE producer wraps each subscription in several async-iterator
 * layers and web streams (~64 KB of heap per open stream, docs/BENCHMARKS.md); this route runs the same
 * procedure (its guards, the one-stream-per-token registry, `watchTicket`) and writes the same frames
 * straight to the socket, with one ping timer for every stream of the process.
 *
 * The wire is tRPC 11's SSE (what `httpSubscriptionLink` and a browser `EventSource` read, docs/API.md):
 * headers, then `connected`, then one `data`/`id` frame per `tracked()` value, `return` when the
 * subscription ends, `serialized-error` (the error shape of every other procedure) when it fails, and a
 * `ping` event every `pingMs`. A request this route does not stream (`?batch=`, `?input=`) goes to tRPC as
 * before, so its answers do not change either.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AnyTRPCProcedure, type TRPCError, getTRPCErrorFromUnknown, getTRPCErrorShape, isTrackedEnvelope } from '@trpc/server';
import { type FastifyHandlerOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
// tRPC's own check of connectionParams (exported for its adapters), so this route refuses exactly what tRPC refuses
import { parseConnectionParamsFromString } from '@trpc/server/unstable-core-do-not-import';
import type { Context } from './context.ts';
import type { AppRouter } from './router.ts';

export const WATCH_PATH = 'queue.watch';

/** tRPC's SSE headers (`sseHeaders`) and the `vary` its resolver adds to every answer, in its (sorted) order. */
const SSE_HEADERS = {
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'content-type': 'text/event-stream',
  vary: 'trpc-accept, accept',
  'x-accel-buffering': 'no',
} as const;

/** tRPC's frames: each field on its line, then two line ends (its producer's `\n\n` after the fields' own). */
const CONNECTED_FRAME = 'event: connected\ndata: {}\n\n\n';
const PING_FRAME = 'event: ping\ndata: \n\n\n';
const RETURN_FRAME = 'event: return\ndata: \n\n\n';

export type WatchRouteOptions = {
  prefix: string;
  /** The same options tRPC's plugin gets: the router and `onError` (and all of it for what tRPC answers). */
  trpcOptions: FastifyHandlerOptions<AppRouter, FastifyRequest, FastifyReply>;
  /** The context of every procedure (`createContextFactory`). */
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
  /** How often every open stream gets a `ping` event (one timer for all of them). */
  pingMs: number;
};

/** The open streams of one server, which the shared ping writes to (server.ts's preClose ends them, as every event stream). */
export type OpenStreams = Set<ServerResponse>;

export function registerWatchRoute(app: FastifyInstance, options: WatchRouteOptions): OpenStreams {
  const { router, onError } = options.trpcOptions;
  const { createContext } = options;
  const config = router._def._config;
  const procedure = (router._def.procedures as unknown as Record<string, AnyTRPCProcedure | undefined>)[WATCH_PATH];
  if (!procedure) throw new Error(`no ${WATCH_PATH} procedure in the router`);
  const serialize = (value: unknown) => JSON.stringify(config.transformer.output.serialize(value));
  const open: OpenStreams = new Set();

  // one timer for every stream of the process (tRPC's producer runs one per stream); a stream whose
  // client does not read (its buffer full) is skipped: it is not idle
  const ping = setInterval(() => {
    for (const res of open) if (!res.writableNeedDrain) res.write(PING_FRAME);
  }, options.pingMs);
  ping.unref();
  app.addHook('onClose', async () => clearInterval(ping));

  app.get(`${options.prefix}/${WATCH_PATH}`, { exposeHeadRoute: false }, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    // not a stream: tRPC answers it as it always did (a batch refused, connectionParams that are not an
    // object of strings refused; both 400)
    if (query.batch !== undefined || !wellFormedConnectionParams(query.connectionParams)) {
      await fastifyRequestHandler({ ...options.trpcOptions, req, res: reply, path: WATCH_PATH });
      return reply;
    }
    reply.hijack();
    const res = reply.raw;
    // the client's going away (or a newer stream of its token, through the registry) ends the subscription
    const gone = new AbortController();
    res.once('close', () => gone.abort());

    let ctx: Context | undefined;
    let iterable: AsyncIterable<unknown> | undefined;
    let failure: TRPCError | undefined;
    try {
      ctx = createContext({ req, res: reply });
      iterable = (await procedure({
        path: WATCH_PATH,
        getRawInput: async () => undefined,
        ctx,
        type: 'subscription',
        signal: gone.signal,
        batchIndex: 0,
      })) as AsyncIterable<unknown>;
    } catch (cause) {
      failure = getTRPCErrorFromUnknown(cause);
    }
    if (res.destroyed) return reply;

    const fail = (error: TRPCError) => {
      onError?.({ error, path: WATCH_PATH, input: undefined, ctx, type: 'subscription', req });
      const shape = getTRPCErrorShape({ config, error, type: 'subscription', path: WATCH_PATH, input: undefined, ctx });
      res.end(`event: serialized-error\ndata: ${serialize(shape)}\n\n\n`);
    };
    for (const [name, value] of Object.entries(SSE_HEADERS)) reply.header(name, value);
    res.writeHead(200, reply.getHeaders() as OutgoingHttpHeaders);
    res.write(CONNECTED_FRAME);
    if (failure || !iterable) {
      fail(failure ?? getTRPCErrorFromUnknown(new Error('queue.watch returned no stream')));
      return reply;
    }

    open.add(res);
    const iterator = iterable[Symbol.asyncIterator]();
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        if (res.destroyed) break;
        const value = next.value;
        const frame = isTrackedEnvelope(value) ? `data: ${serialize(value[1])}\nid: ${value[0]}\n\n\n` : `data: ${serialize(value)}\n\n\n`;
        // a client that does not read: the next state is computed when it has (the older ones are skipped)
        if (!res.write(frame)) await drained(res);
      }
      if (!res.destroyed) res.end(RETURN_FRAME);
    } catch (cause) {
      if (!gone.signal.aborted && !res.destroyed) fail(getTRPCErrorFromUnknown(cause));
    } finally {
      open.delete(res);
      if (!res.destroyed && !res.writableEnded) res.end();
      await iterator.return?.();
    }
    return reply;
  });
  return open;
}

/** What tRPC's resolver takes as `connectionParams` (absent, or a JSON object of strings), by its own check. */
function wellFormedConnectionParams(raw: unknown): boolean {
  if (raw === undefined) return true;
  if (typeof raw !== 'string') return false;
  try {
    parseConnectionParamsFromString(raw);
    return true;
  } catch {
    return false;
  }
}

/** Until the response's buffer drained or the response closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
