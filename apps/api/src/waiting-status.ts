import type { FastifyRequest } from 'fastify';
import { type QueueTicket, toQueueTicket } from '@frontrow/core';
import type { InnerContext } from './context.ts';
import { memoryTicket } from './trpc.ts';

/** The one procedure answered here before tRPC: `GET /trpc/queue.status`, the hottest call of a flash crowd. */
export const WAITING_STATUS_PATH = 'queue.status';

/**
 * `queue.status` of a WAITING (or PRE_QUEUE) token, answered from the process's in-memory admission state
 * without tRPC's request machinery (issue 16): tRPC's fetch adapter turns every request into a WHATWG
 * `Request` with its signals and streams and back, which costs a poll several times the CPU of the answer
 * itself (docs/BENCHMARKS.md, "A waiting poll without tRPC's machinery"). The answer is what tRPC would
 * send, byte for byte: the same guard (`memoryTicket`: the token's signature, then the memory), the same
 * `toQueueTicket`, the same envelope. Anything else (no token, a forged one, a token the memory cannot
 * answer, an input or a batch of more than this call) returns null and runs the procedure as any other call, so
 * every error and every other status keeps its one home there.
 */
export async function waitingStatusBody(inner: InnerContext, req: FastifyRequest): Promise<string | null> {
  const batch = batchOf(req.query);
  if (batch === null) return null;
  const token = req.headers['x-queue-token'];
  if (typeof token !== 'string') return null;
  const ticket = await memoryTicket(inner, token);
  if (!ticket) return null;
  const data: QueueTicket = toQueueTicket(token, ticket);
  const one = `{"result":{"data":${JSON.stringify(data)}}}`;
  return batch ? `[${one}]` : one;
}

/**
 * Whether the query string is one this path answers: none at all (a plain GET, as API.md shows), or the
 * typed client's batch of this one call with no input (`?batch=1&input={}`); null for anything else
 * (an input tRPC would validate, a longer batch).
 */
function batchOf(query: unknown): boolean | null {
  const q = query as Record<string, unknown>;
  const keys = Object.keys(q);
  if (keys.length === 0) return false;
  if (q.batch !== '1' || keys.some((key) => key !== 'batch' && key !== 'input')) return null;
  return q.input === undefined || q.input === '{}' ? true : null;
}
