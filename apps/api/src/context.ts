import type { FastifyReply, FastifyRequest } from 'fastify';
import type {
  AdmissionMemory,
  Clock,
  DevSignIn,
  DomainSettings,
  EnterBatcher,
  IdentityVerifier,
  JobScheduler,
  TokenSigner,
  WatchRegistry,
} from '@frontrow/core';
import type { EntityManager } from '@frontrow/core';
import { singleHeader } from './guards.ts';

/** What procedures run on: the runtime's `deps` and `edge` (`openRuntime`), or `testInnerContext` in tests (docs/ARCHITECTURE.md#how-a-request-flows). */
export type InnerContext = {
  em: EntityManager;
  clock: Clock;
  jobs: JobScheduler;
  settings: DomainSettings;
  tokens: TokenSigner;
  /** Verifies identity tokens (the operator's sign-in, or development tokens): who the caller is. */
  identities: IdentityVerifier;
  /**
   * Mints a development identity token for a name (`auth.devSignIn`, the web app's sign-in on a local run):
   * set only when the API trusts development tokens and no identity provider (`devSignInFor`).
   */
  devSignIn?: DevSignIn | undefined;
  /** The process's in-memory admission state: WAITING polls and `queue.watch` streams read it, not the database. */
  admissions?: AdmissionMemory;
  /** The open `queue.watch` streams: one per token, at most WATCH_MAX_STREAMS. */
  watches?: WatchRegistry;
  /** Gathers this process's concurrent `queue.enter` calls into groups of one round trip each; without it, each entry alone. */
  entries?: EnterBatcher;
};

export type Context = InnerContext & {
  /** The raw `Authorization` header, if any: the caller's identity token (`Bearer <token>`). */
  authorization: string | undefined;
  /** The raw `X-Queue-Token` header, if any: the caller's queue token. */
  queueToken: string | undefined;
  clientIp: string;
  req?: FastifyRequest;
  res?: FastifyReply;
};

/**
 * Per request: a fork of the EntityManager (never the global one) and the caller's headers. `em` instead
 * of a new fork: for `queue.watch` streams, which share one (see server.ts).
 */
export function createContextFactory(inner: InnerContext) {
  return ({ req, res }: { req: FastifyRequest; res: FastifyReply }, em: EntityManager = inner.em.fork()): Context => ({
    ...inner,
    em,
    authorization: req.headers.authorization,
    queueToken: singleHeader(req.headers['x-queue-token']),
    clientIp: req.ip,
    req,
    res,
  });
}

/** A context with no HTTP request: for `createCallerFactory(router)(...)` in tests and tools. */
export function callerContext(inner: InnerContext, headers: { authorization?: string; queueToken?: string } = {}): Context {
  return { ...inner, em: inner.em.fork(), authorization: headers.authorization, queueToken: headers.queueToken, clientIp: '127.0.0.1' };
}
