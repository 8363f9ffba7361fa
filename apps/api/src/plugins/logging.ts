/**
 * The server's log: pino's options (request ids, redaction of tokens and secrets, a URL's query secrets),
 * one line per completed request with the outcome of each tRPC call (`RequestLog`, Fastify's log
 * controller), and stdout written in the background without ever blocking the exit (OPERATIONS.md, Logs).
 */
import type pino from 'pino';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { LogController } from 'fastify';
import fp from 'fastify-plugin';
import type { CallOutcome } from '../metrics.ts';
import type { Calls } from './calls.ts';
import { LOG_CLOSE_FLUSH_MS, REDACTED_PATHS, redactUrl, stdoutDestination } from '../log-output.ts';

export { redactUrl };

/**
 * Fastify's `logger` and `logController` for `logger` (`{ level, stream? }`; off when unset), and the
 * plugin that lets the last lines reach stdout on close. Without a `stream`, lines go to stdout through
 * a buffer written asynchronously.
 */
export function serverLog(logger: FastifyServerOptions['logger'] | undefined, calls: Calls) {
  const stdout = logger && !hasStream(logger) ? stdoutDestination() : undefined;
  return {
    options: { logger: loggerOptions(logger, stdout), logController: new RequestLog((req, reply) => calls.outcomes(req, reply)) },
    // the last request lines reach stdout before the process exits (pino flushes lines logged later on exit),
    // but a reader that is gone or stuck never holds the close
    plugin: fp(async (app: FastifyInstance) => {
      if (stdout) app.addHook('onClose', async () => await stdout.close(LOG_CLOSE_FLUSH_MS));
    }),
  };
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

function hasStream(logger: NonNullable<FastifyServerOptions['logger'] | undefined>): boolean {
  return typeof logger === 'object' && 'stream' in logger && logger.stream !== undefined;
}

function loggerOptions(
  logger: FastifyServerOptions['logger'] | undefined,
  stdout: pino.DestinationStream | undefined,
): FastifyServerOptions['logger'] {
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
