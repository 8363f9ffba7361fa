import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifyRequestHandler, fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { type DatabaseState, type MikroORM, databaseProbe, databaseState } from '@frontrow/core';
import { type InnerContext, createContextFactory } from './context.ts';
import { reasonOf, reportCallError } from './errors.ts';
import type { JobQueueSource } from './metrics.ts';
import { TRPC_PREFIX, createCalls } from './plugins/calls.ts';
import { serverLog } from './plugins/logging.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { probes } from './plugins/probes.ts';
import { queueEnterRateLimit } from './plugins/rate-limit.ts';
import { requestChecks } from './plugins/request-checks.ts';
import { BODY_LIMIT_BYTES, responses } from './plugins/response.ts';
import { HTTP_TIMEOUTS, PROBE_TIMEOUT_MS, WATCH_PING_MS } from './http-limits.ts';
import { closeStreams } from './plugins/streams.ts';
import { plainCalls, sendAsTRPC } from './plain-calls.ts';
import { type AppRouter, appRouter } from './router.ts';
import { WAITING_STATUS_PATH, waitingStatusBody } from './waiting-status.ts';
import { registerWatchRoute } from './watch-route.ts';
import { watchStreams } from './watch-stream.ts';
import { webApp } from './web.ts';

export { BODY_LIMIT_BYTES, HTTP_TIMEOUTS, WATCH_PING_MS };

declare module 'fastify' {
  interface FastifyInstance {
    /** The database's state as this process saw it last: one log line per change (OPERATIONS.md, Logs). */
    databaseState: DatabaseState;
  }
}

export type ServerDeps = {
  orm: MikroORM;
  inner: InnerContext;
  /**
   * Fastify's pino options (`{ level, stream? }`); the server adds request ids and redaction. Off when unset.
   * Without a `stream`, lines go to stdout through a buffer written asynchronously (OPERATIONS.md, Logs).
   */
  logger?: Parameters<typeof serverLog>[0];
  /**
   * `queue.enter` calls allowed per minute (QUEUE_ENTER_RATE_LIMIT), counted per client address and per
   * signed-in user, each call of a batch counted; 0 or unset: no limit.
   */
  queueEnterRateLimit?: number;
  /** Calls allowed in one batched request (TRPC_MAX_BATCH); more are BATCH_TOO_LARGE. Default 10. */
  maxBatch?: number;
  /**
   * Fastify's `trustProxy` (TRUST_PROXY): the proxies whose `X-Forwarded-For` names the client. Unset: the
   * socket's address is the client, whatever the header says.
   */
  trustProxy?: string[];
  /** pg-boss, read by /metrics for the job series. */
  jobQueues?: JobQueueSource;
  /** A built web app (apps/web/dist) to serve at `/` and `/console`; unset: none. */
  webRoot?: string;
  /** How often open `queue.watch` streams get a `ping` event; WATCH_PING_MS unless a test says otherwise. */
  watchPingMs?: number;
  /**
   * Single calls answered without tRPC's fetch adapter (plain-calls.ts); on unless false. Off: every call
   * goes through tRPC's handler, the reference the plain route's answers are compared with in its tests.
   */
  plainCalls?: boolean;
};

/** Calls in one batched request unless TRPC_MAX_BATCH says otherwise. */
export const DEFAULT_MAX_BATCH = 10;

/**
 * The HTTP edge: tRPC at /trpc beside /healthz, /readyz and /metrics. Each concern is a plugin of its own
 * (`plugins/`), registered in the order its hooks must run; `main.ts` only listens and closes.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const calls = createCalls();
  const log = serverLog(deps.logger, calls);
  const app = Fastify({
    ...log.options,
    routerOptions: { maxParamLength: 5000 },
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: HTTP_TIMEOUTS.requestMs,
    keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
    connectionTimeout: HTTP_TIMEOUTS.idleMs,
    http: { headersTimeout: HTTP_TIMEOUTS.headersMs, connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs },
    ...(deps.trustProxy && deps.trustProxy.length > 0 ? { trustProxy: deps.trustProxy } : {}),
    // a request id on every log line, taken from the caller's x-request-id or made up, echoed back
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });
  const database = await databaseProbe(deps.orm);
  const state = databaseState(app.log, database.ping);
  app.decorate('databaseState', state);
  app.addHook('onClose', async () => state.stop());

  await app.register(closeStreams);
  await app.register(requestChecks, { maxBatch: deps.maxBatch ?? DEFAULT_MAX_BATCH, calls });
  await app.register(responses, { calls });
  await app.register(metricsPlugin, {
    em: deps.orm.em,
    database,
    calls,
    jobQueues: deps.jobQueues,
    admissions: deps.inner.admissions,
    clock: deps.inner.clock,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  await app.register(log.plugin);
  await app.register(probes, { database, timeoutMs: PROBE_TIMEOUT_MS });
  await app.register(queueEnterRateLimit, { limit: deps.queueEnterRateLimit ?? 0, inner: deps.inner, calls });

  if (deps.webRoot) await app.register(webApp, { root: deps.webRoot });

  const createContext = createContextFactory(deps.inner);
  const trpcOptions = {
    router: appRouter,
    createContext,
    onError({ error, path, req }) {
      if (path) calls.failed(req, path, { status: getHTTPStatusCodeFromError(error), reason: reasonOf(error) ?? '' });
      reportCallError(error, state, req.log, path ?? 'trpc');
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'];
  // a WAITING token's poll without tRPC's machinery (waiting-status.ts); every other case is the procedure's
  const waitingFirst = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = await waitingStatusBody(deps.inner, req);
    if (body === null) return false;
    sendAsTRPC(reply, 200, body);
    return true;
  };
  if (deps.plainCalls !== false) {
    // single calls without tRPC's fetch adapter, the same procedures and bytes (plain-calls.ts); what the
    // plain routes are not sure of, and every batch, goes to tRPC's handler
    await app.register(plainCalls, { trpcPrefix: TRPC_PREFIX, trpcOptions, createContext, first: { [WAITING_STATUS_PATH]: waitingFirst } });
  } else {
    // HEAD stays with tRPC's route, as before this route existed
    app.get(`${TRPC_PREFIX}/${WAITING_STATUS_PATH}`, { exposeHeadRoute: false }, async (req, reply) => {
      if (await waitingFirst(req, reply)) return reply;
      await fastifyRequestHandler({ ...trpcOptions, req, res: reply, path: WAITING_STATUS_PATH });
      return reply;
    });
  }
  await app.register(fastifyTRPCPlugin, { prefix: TRPC_PREFIX, trpcOptions });
  // queue.watch's streams on a route of their own: the same guards and frames, a fraction of the memory
  // (watch-route.ts). They read by prepared statements only (the token's row, its arrival), never an
  // entity: on the ORM's pool through the process's EntityManager, with no fork of their own.
  registerWatchRoute(app, {
    prefix: TRPC_PREFIX,
    trpcOptions,
    deps: deps.inner,
    streams: watchStreams(deps.watchPingMs ?? WATCH_PING_MS),
  });
  return app;
}
