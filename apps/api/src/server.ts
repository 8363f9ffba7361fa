import { randomUUID } from 'node:crypto';
import pino from 'pino';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { type DatabaseState, type ErrorReason, databaseState, isDatabaseUnavailable } from '@frontrow/core';
import { MIGRATE_COMMAND, type MikroORM, countRoundTrips, pendingMigrations } from '@frontrow/db';
import { type InnerContext, createContextFactory } from './context.ts';
import { BEARER, errorBody, httpStatusOf, reasonOf } from './errors.ts';
import { type CallOutcome, type JobQueueSource, createMetrics, withTimeout } from './metrics.ts';
import { type AppRouter, appRouter } from './router.ts';
import { webApp } from './web.ts';

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
  logger?: FastifyServerOptions['logger'];
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
};

const TRPC_PREFIX = '/trpc';
const ENTER = 'queue.enter';
/** Calls in one batched request unless TRPC_MAX_BATCH says otherwise. */
export const DEFAULT_MAX_BATCH = 10;
/**
 * How long a client may take (API.md, Limits; OPERATIONS.md): the request line and headers within
 * `headersMs`, the whole request with its body within `requestMs` (Node checks every `checkEveryMs`, so a
 * slow body is cut within their sum, 22 s), an idle keep-alive connection kept `keepAliveMs` (above the
 * 60 s idle timeout of common load balancers, so they close first), and any socket silent for `idleMs`
 * closed (a `queue.watch` stream sends a comment every 15 s). A response being written is not cut:
 * these count the client's side only.
 */
export const HTTP_TIMEOUTS = { headersMs: 10_000, requestMs: 20_000, checkEveryMs: 2_000, keepAliveMs: 65_000, idleMs: 75_000 };
/** The largest request body (API.md, Transport): every input is a few hundred bytes, a batch of them a few KiB. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** How long /readyz and a /metrics scrape wait on the database before answering without it. */
const PROBE_TIMEOUT_MS = 2_000;
/** Log bytes gathered before a write to stdout (a dozen request lines), and the longest a line waits. */
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 1_000;
/** Log bytes kept while stdout does not take them (a stuck reader); lines past it are dropped, not queued. */
const LOG_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** The longest a close waits for the last log lines to reach stdout. */
const LOG_CLOSE_FLUSH_MS = 2_000;

/** Never in a log line: identity and queue tokens, secrets, connection strings (they carry passwords). */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-queue-token"]',
  'headers["x-queue-token"]',
  'queueToken',
  '*.queueToken',
  'AUTH_DEV_SECRET',
  '*.AUTH_DEV_SECRET',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'TOKEN_SECRET',
  '*.TOKEN_SECRET',
  'DATABASE_URL',
  '*.DATABASE_URL',
];
/** Query parameters that may carry a token (an EventSource cannot send headers). */
const SECRET_QUERY_PARAMS = ['token', 'queueToken', 'access_token', 'authorization', 'connectionParams'];

/** The HTTP edge: tRPC at /trpc beside /healthz, /readyz and /metrics. `main.ts` only listens and closes. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  /** Errors of tRPC calls, per request: the outcome of each procedure of a batch, for metrics and logs. */
  const callErrors = new WeakMap<FastifyRequest, Map<string, Omit<CallOutcome, 'procedure'>>>();
  // metric labels only for procedures that exist: a client cannot mint series by calling made-up paths
  const knownProcedures = new Set(Object.keys(appRouter._def.procedures));
  const callOutcomes = (req: FastifyRequest, reply: FastifyReply): CallOutcome[] => {
    const paths = procedurePaths(req);
    const errors = callErrors.get(req);
    return paths.map((path) => {
      const error = errors?.get(path);
      const status = error?.status ?? (paths.length === 1 ? reply.statusCode : 200);
      return { procedure: knownProcedures.has(path) ? path : 'unknown', status, reason: error?.reason ?? '' };
    });
  };

  const stdout = deps.logger && !hasStream(deps.logger) ? stdoutDestination() : undefined;
  const app = Fastify({
    logger: loggerOptions(deps.logger, stdout),
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
    logController: new RequestLog(callOutcomes),
  });
  const roundTrips = await countRoundTrips(deps.orm);
  const admissionMemory = deps.inner.admissions;
  const metrics = createMetrics({
    em: deps.orm.em,
    clock: deps.inner.clock,
    boss: deps.jobQueues,
    timeoutMs: PROBE_TIMEOUT_MS,
    traffic: { roundTrips: roundTrips.read, ...(admissionMemory ? { admissionReads: () => admissionMemory.counts.reads } : {}) },
  });
  const database = databaseState(app.log, () => deps.orm.em.getConnection().execute('select 1'));
  app.decorate('databaseState', database);
  app.addHook('onClose', async () => database.stop());
  const inFlight = new Set<FastifyReply>();

  const maxBatch = deps.maxBatch ?? DEFAULT_MAX_BATCH;
  // one onRequest hook (each hook costs every request): the request id and the in-flight set, then the
  // transport's checks of a tRPC request
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    inFlight.add(reply);
    // 'close' comes after a response ends and also when a client walks away mid-stream
    reply.raw.once('close', () => inFlight.delete(reply));
    const paths = procedurePaths(req);
    if (paths.length === 0) return;
    if (paths.length > maxBatch) {
      const message = `at most ${maxBatch} calls in one batched request (this one has ${paths.length}); split it`;
      return refuse(req, reply, paths, 'BATCH_TOO_LARGE', message);
    }
    // a mutation without input (queue.leave) is a bare POST: no body is as good as an empty JSON one
    if (req.method === 'POST' && req.headers['content-type'] === undefined && !hasBody(req)) {
      req.raw.headers['content-type'] = 'application/json';
    }
  });
  /** Answers every call of the request with one reason, in the contract's shape, before any procedure runs. */
  const refuse = async (req: FastifyRequest, reply: FastifyReply, paths: string[], reason: ErrorReason, message: string) => {
    callErrors.set(req, new Map(paths.map((path) => [path, { status: httpStatusOf(reason), reason }])));
    const body = paths.map((path) => errorBody(reason, message, path));
    await reply
      .code(httpStatusOf(reason))
      .type('application/json')
      .send(isBatch(req) ? body : body[0]);
    return reply;
  };
  // Fastify's own refusals (a body too large, a content type no parser takes, a malformed length) and
  // unknown routes: the contract's error shape with a reason, as for a procedure's error
  app.setErrorHandler(async (error: FastifyError, req, reply) => {
    const answer = fastifyRefusal(error);
    if (!answer) {
      req.log.error({ err: error }, 'request failed');
      return reply
        .code(500)
        .type('application/json')
        .send(errorBody('INTERNAL', 'internal server error', null));
    }
    const paths = procedurePaths(req);
    if (paths.length > 0) return refuse(req, reply, paths, answer.reason, answer.message);
    return reply
      .code(httpStatusOf(answer.reason))
      .type('application/json')
      .send(errorBody(answer.reason, answer.message, null));
  });
  app.setNotFoundHandler(async (req, reply) => {
    const message = `no route ${req.method} ${redactUrl(req.url).split('?')[0]}; procedures are under ${TRPC_PREFIX}/ (see API.md)`;
    return reply
      .code(404)
      .type('application/json')
      .send(errorBody('NOT_FOUND', message, null));
  });
  app.addHook('onResponse', async (req, reply) => {
    // a call that succeeded read the database: after an outage, that is the news
    if (reply.statusCode === 200 && procedurePaths(req).length > 0) database.answered();
    metrics.observeRequest({
      method: req.method,
      route: req.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
      streamed: isEventStream(reply),
      calls: callOutcomes(req, reply),
    });
  });
  // Graceful close: requests in flight finish, then their keep-alive connections close (else a client
  // that keeps its socket would hold the process open). An open queue.watch stream would hold the close
  // until its timeout: end streams so their clients reconnect (to another instance).
  let closing = false;
  // one onSend hook for both (each hook costs every request): the close's `connection: close`, and tRPC's
  // JSON answers sent whole
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return isCompleteJson(payload) ? await buffered(reply, payload) : payload;
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const reply of inFlight) if (isEventStream(reply)) reply.raw.destroy();
  });
  // the last request lines reach stdout before the process exits (pino flushes lines logged later on exit),
  // but a reader that is gone or stuck never holds the close
  if (stdout) app.addHook('onClose', async () => await stdout.close(LOG_CLOSE_FLUSH_MS));

  app.get('/healthz', async () => ({ status: 'ok' }));
  // once the schema has every migration of this code it stays so (migrations only go forward)
  let schemaCurrent = false;
  app.get('/readyz', async (_req, reply) => {
    let pending: string[];
    try {
      await withTimeout(deps.orm.em.getConnection().execute('select 1'), PROBE_TIMEOUT_MS);
      pending = schemaCurrent ? [] : await withTimeout(pendingMigrations(deps.orm), PROBE_TIMEOUT_MS);
    } catch (error) {
      database.failed(error, 'readyz', { unavailable: true });
      return reply.code(503).send({ status: 'unavailable', reason: 'BUSY' });
    }
    if (pending.length > 0) return reply.code(503).send({ status: 'unavailable', reason: 'SCHEMA_BEHIND', pending, run: MIGRATE_COMMAND });
    schemaCurrent = true;
    database.answered();
    return { status: 'ready' };
  });
  app.get('/metrics', async (_req, reply) => {
    await metrics.refresh();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const limit = deps.queueEnterRateLimit ?? 0;
  if (limit > 0) {
    // the plugin's counting, applied only to queue.enter (not globally): one count per call, batched or not,
    // against the client's address and against the signed-in user (many addresses, one account)
    await app.register(rateLimit, { global: false });
    const byAddress = app.createRateLimit({ max: limit, timeWindow: 60_000 });
    const byUser = app.createRateLimit({ max: limit, timeWindow: 60_000, keyGenerator: (req) => `user:${signedInUsers.get(req)}` });
    const signedInUsers = new WeakMap<FastifyRequest, string>();
    app.addHook('onRequest', async (req, reply) => {
      const paths = procedurePaths(req);
      const calls = paths.filter((path) => path === ENTER).length;
      if (calls === 0) return;
      const user = await signedInUser(deps.inner, req.headers.authorization);
      if (user) signedInUsers.set(req, user);
      let refusal: { ttlInSeconds: number } | undefined;
      for (let call = 0; call < calls; call++) {
        for (const limiter of user ? [byAddress, byUser] : [byAddress]) {
          const decision = await limiter(req);
          if (!decision.isAllowed && decision.isExceeded) refusal = decision;
        }
      }
      if (!refusal) return;
      // the whole request is refused, so every call of a batch answers RATE_LIMITED
      reply.header('retry-after', String(refusal.ttlInSeconds));
      return refuse(
        req,
        reply,
        paths,
        'RATE_LIMITED',
        `too many queue entries from your address or account (at most ${limit} a minute); retry later`,
      );
    });
  }

  if (deps.webRoot) await app.register(webApp, { root: deps.webRoot });

  await app.register(fastifyTRPCPlugin, {
    prefix: TRPC_PREFIX,
    trpcOptions: {
      router: appRouter,
      createContext: createContextFactory(deps.inner),
      onError({ error, path, req }) {
        const reason = reasonOf(error);
        const status = getHTTPStatusCodeFromError(error);
        if (path) {
          const errors = callErrors.get(req) ?? new Map<string, Omit<CallOutcome, 'procedure'>>();
          errors.set(path, { status, reason: reason ?? '' });
          callErrors.set(req, errors);
        }
        // the database away: one line when that starts (and one when it ends), not one per call
        if (reason === 'BUSY') {
          const cause = databaseCause(error);
          if (cause) database.failed(cause, path ?? 'trpc');
        }
        // a bug, not a client's mistake or a busy database: the one case worth an error line
        if (reason === undefined && status >= 500) req.log.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });
  return app;
}

/** One line per request when it completes, with the outcome of each tRPC call; probes log at debug. */
class RequestLog extends LogController {
  readonly #calls: (req: FastifyRequest, reply: FastifyReply) => CallOutcome[];
  constructor(calls: (req: FastifyRequest, reply: FastifyReply) => CallOutcome[]) {
    super();
    this.#calls = calls;
  }
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const route = req.routeOptions.url;
    const probe = route === '/healthz' || route === '/readyz' || route === '/metrics';
    const calls = this.#calls(req, reply);
    const line = {
      method: req.method,
      url: redactUrl(req.url),
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime),
      ...(calls.length > 0 ? { calls } : {}),
    };
    // an answer with a reason (BUSY included) or a probe's 503 is expected: no error line, no stack
    const expected =
      reply.statusCode < 500 || probe || (calls.length > 0 && calls.every((call) => call.status < 500 || call.reason !== ''));
    if (!expected) req.log.error({ ...line, ...(error ? { err: error } : {}) }, 'request completed');
    else if (probe) req.log.debug(line, 'request completed');
    else if (reply.statusCode >= 500) req.log.warn(line, 'request completed');
    else req.log.info(line, 'request completed');
  }
}

/**
 * A tRPC answer that is one JSON document: not a `queue.watch` event stream, not a chunked batch stream.
 * The adapter sends every answer as a fetch `Response`, whose body Fastify would write chunk by chunk
 * (chunked encoding); read whole and sent as one buffer with a content-length, it costs a little less
 * CPU (most of a Response's cost is its body stream, which the read pays too).
 */
function isCompleteJson(payload: unknown): payload is Response & { body: ReadableStream<Uint8Array> } {
  if (!(payload instanceof Response) || payload.body === null) return false;
  const type = payload.headers.get('content-type') ?? '';
  return type.startsWith('application/json') && !payload.headers.has('transfer-encoding');
}

/** The Response's body as a buffer, with its status and headers set as Fastify sets those of a Response. */
async function buffered(reply: FastifyReply, response: Response & { body: ReadableStream<Uint8Array> }): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  // a reader, not `for await` or `arrayBuffer()`: less than half the cost of either for a one-chunk body
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) chunks.push(chunk.value);
  reply.code(response.status);
  for (const [name, value] of response.headers) reply.header(name, value);
  return Buffer.concat(chunks);
}

function isEventStream(reply: FastifyReply): boolean {
  return String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
}

type StdoutLog = ReturnType<typeof pino.destination> & {
  /** Waits (at most `timeoutMs`) for the buffered lines to be written; from then on a stuck stdout is not waited for. */
  close(timeoutMs: number): Promise<void>;
};

/**
 * Stdout without a blocking write per line: lines gather in memory and are written in the background (by
 * libuv's thread pool) once LOG_BUFFER_BYTES are waiting or LOG_FLUSH_MS have passed. pino writes what is
 * left with `flushSync` when the process exits (close-with-grace always ends with `process.exit`, also
 * after an uncaught error); only a hard kill loses the last lines.
 *
 * Stdout may be a pipe whose reader died or stopped reading (a log shipper, `| head`). A closed pipe
 * (EPIPE) makes pino drop further lines. A full one must never block: a write blocked in libuv's thread
 * pool holds the exit forever, where no signal can stop the process (issue 13). So the pipe is put in
 * non-blocking mode, a full pipe's writes are retried in the background with at most
 * LOG_MAX_BUFFER_BYTES waiting in memory (more are dropped), and the exit skips its flush when the close
 * could not flush within LOG_CLOSE_FLUSH_MS or a write is still in flight. Lines still waiting then are
 * lost; the exit is not.
 */
function stdoutDestination(): StdoutLog {
  // Node opens its own stdout stream in non-blocking mode (a pipe or a socket; a file or a terminal is
  // left as it is): then a full pipe answers a write with EAGAIN, retried later, instead of blocking a
  // thread of libuv's pool, which the exit waits for (forever)
  void process.stdout;
  let stuck = false;
  const stream = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    maxLength: LOG_MAX_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_MS,
    // a pipe in non-blocking mode says EAGAIN instead of blocking: retried in the background, never at exit
    retryEAGAIN: () => !stuck && process.exitCode === undefined,
  });
  // a write that fails for good is a lost line, never an uncaught error
  stream.on('error', () => {});
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    // `_writing`: sonic-boom's own flag of a background write that has not returned (a blocked pipe)
    if (stuck || (stream as unknown as { _writing?: boolean })._writing) return;
    try {
      flushSync();
    } catch {
      // stdout does not take the last lines: they are lost, the exit is not
    }
  };
  return Object.assign(stream, {
    async close(timeoutMs: number) {
      const flushed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        stream.flush(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!flushed) stuck = true;
    },
  });
}

function hasStream(logger: NonNullable<ServerDeps['logger']>): boolean {
  return typeof logger === 'object' && 'stream' in logger && logger.stream !== undefined;
}

function loggerOptions(logger: ServerDeps['logger'], stdout: pino.DestinationStream | undefined): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  return {
    ...base,
    ...(stdout ? { stream: stdout } : {}),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      // Fastify's default request serializer, minus the query string's secrets
      req: (req: { method?: unknown; url?: unknown; ip?: unknown }) => ({
        method: typeof req.method === 'string' ? req.method : undefined,
        url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
        remoteAddress: typeof req.ip === 'string' ? req.ip : undefined,
      }),
    },
  };
}

/** The tRPC procedures a request calls: `/trpc/a.b,c.d?batch=1` → ['a.b', 'c.d']; [] for other routes. */
function procedurePaths(req: FastifyRequest): string[] {
  if (req.routeOptions.url !== `${TRPC_PREFIX}/:path`) return [];
  const params = req.params as { path?: unknown };
  return typeof params.path === 'string' ? params.path.split(',') : [];
}

function isBatch(req: FastifyRequest): boolean {
  const query = req.query as { batch?: unknown };
  return query.batch === '1' || query.batch === 'true';
}

/** The database error behind a BUSY answer, if the database being away is what it was. */
function databaseCause(error: Error): unknown {
  for (let cause: unknown = error.cause; cause !== undefined; cause = cause instanceof Error ? cause.cause : undefined) {
    if (isDatabaseUnavailable(cause)) return cause;
  }
  return undefined;
}

/** A request with a body: a length above zero, or a chunked one. */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

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

/** What Fastify refused before a route ran, as the contract's reason; undefined for a fault of ours. */
function fastifyRefusal(error: FastifyError): { reason: ErrorReason; message: string } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { reason: 'UNSUPPORTED_MEDIA_TYPE', message: 'send content-type: application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { reason: 'PAYLOAD_TOO_LARGE', message: `the request body is larger than ${BODY_LIMIT_BYTES} bytes` };
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return { reason: 'PAYLOAD_TOO_LARGE', message: `the request body is larger than ${BODY_LIMIT_BYTES} bytes` };
  if (status === 415) return { reason: 'UNSUPPORTED_MEDIA_TYPE', message: 'send content-type: application/json' };
  if (status >= 400 && status < 500) return { reason: 'VALIDATION', message: 'the request is malformed (its body, length or encoding)' };
  return undefined;
}

export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  let changed = false;
  for (const name of SECRET_QUERY_PARAMS) {
    if (params.has(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, query)}?${params.toString()}` : url;
}
