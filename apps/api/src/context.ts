import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock, DomainSettings, JobScheduler, TokenSigner } from '@frontrow/core';
import type { EntityManager } from '@frontrow/db';

/** What procedures run on: tests, the CLI and the worker build the same thing (docs/ARCHITECTURE.md#how-a-request-flows). */
export type InnerContext = {
  em: EntityManager;
  clock: Clock;
  jobs: JobScheduler;
  settings: DomainSettings;
  tokens: TokenSigner;
  /** Fired by procedures that change what a queue watcher sees (admission nudges, leave). */
  events?: ApiEvents;
};

export type ApiEvents = {
  onProcedureDone?: (path: string, durationMs: number, reason: string | undefined) => void;
};

export type Context = InnerContext & {
  /** The raw `Authorization` header, if any. */
  authorization: string | undefined;
  clientIp: string;
  req?: FastifyRequest;
  res?: FastifyReply;
};

/** Per request: a fork of the EntityManager (never the global one) and the caller's headers. */
export function createContextFactory(inner: InnerContext) {
  return ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Context => ({
    ...inner,
    em: inner.em.fork(),
    authorization: req.headers.authorization,
    clientIp: req.ip,
    req,
    res,
  });
}

/** A context with no HTTP request: for `createCallerFactory(router)(...)` in tests and tools. */
export function callerContext(inner: InnerContext, authorization?: string): Context {
  return { ...inner, em: inner.em.fork(), authorization, clientIp: '127.0.0.1' };
}
