/**
 * The tRPC calls of a request, as the plugins see them: which procedures it calls (`/trpc/a.b,c.d`), and
 * the outcome of each (status and reason) for the metrics and the request's log line. Not a plugin: the
 * shared ledger the server builds once and hands to the plugins that record or read outcomes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorReason } from '@frontrow/core';
import { errorBody, httpStatusOf } from '../errors.ts';
import type { CallOutcome } from '../metrics.ts';
import { appRouter } from '../router.ts';

export const TRPC_PREFIX = '/trpc';
/** tRPC's route. `queue.status`, `queue.watch` and every single call (plain-calls.ts) also have routes of their own, counted in /metrics as this one. */
export const TRPC_ROUTE = `${TRPC_PREFIX}/:path`;

/** The route pattern a request is counted under: a procedure's own route (`/trpc/queue.watch`) as tRPC's. */
export function routeLabel(req: FastifyRequest): string {
  const route = req.routeOptions.url;
  if (route === undefined) return 'unmatched';
  return route.startsWith(`${TRPC_PREFIX}/`) ? TRPC_ROUTE : route;
}

export type Calls = {
  /** The error of one call of the request (tRPC's onError). */
  failed(req: FastifyRequest, path: string, outcome: Omit<CallOutcome, 'procedure'>): void;
  /** Each call's procedure (or `unknown`), status and reason. */
  outcomes(req: FastifyRequest, reply: FastifyReply): CallOutcome[];
  /** Answers every call of the request with one reason, in the contract's shape, before any procedure runs. */
  refuse(req: FastifyRequest, reply: FastifyReply, paths: string[], reason: ErrorReason, message: string): Promise<FastifyReply>;
};

export function createCalls(): Calls {
  /** Errors of tRPC calls, per request: the outcome of each procedure of a batch, for metrics and logs. */
  const callErrors = new WeakMap<FastifyRequest, Map<string, Omit<CallOutcome, 'procedure'>>>();
  // metric labels only for procedures that exist: a client cannot mint series by calling made-up paths
  const knownProcedures = new Set(Object.keys(appRouter._def.procedures));
  return {
    failed(req, path, outcome) {
      const errors = callErrors.get(req) ?? new Map<string, Omit<CallOutcome, 'procedure'>>();
      errors.set(path, outcome);
      callErrors.set(req, errors);
    },
    outcomes(req, reply) {
      const paths = procedurePaths(req);
      const errors = callErrors.get(req);
      return paths.map((path) => {
        const error = errors?.get(path);
        const status = error?.status ?? (paths.length === 1 ? reply.statusCode : 200);
        return { procedure: knownProcedures.has(path) ? path : 'unknown', status, reason: error?.reason ?? '' };
      });
    },
    async refuse(req, reply, paths, reason, message) {
      callErrors.set(req, new Map(paths.map((path) => [path, { status: httpStatusOf(reason), reason }])));
      const body = paths.map((path) => errorBody(reason, message, path));
      await reply
        .code(httpStatusOf(reason))
        .type('application/json')
        .send(isBatch(req) ? body : body[0]);
      return reply;
    },
  };
}

/** The tRPC procedures a request calls: `/trpc/a.b,c.d?batch=1` → ['a.b', 'c.d']; [] for other routes. */
export function procedurePaths(req: FastifyRequest): string[] {
  const route = req.routeOptions.url;
  if (route === TRPC_ROUTE) {
    const params = req.params as { path?: unknown };
    return typeof params.path === 'string' ? params.path.split(',') : [];
  }
  // a procedure served on a route of its own (`/trpc/queue.status`, `/trpc/queue.watch`)
  if (route?.startsWith(`${TRPC_PREFIX}/`)) return [route.slice(TRPC_PREFIX.length + 1)];
  return [];
}

function isBatch(req: FastifyRequest): boolean {
  const query = req.query as { batch?: unknown };
  return query.batch === '1' || query.batch === 'true';
}
