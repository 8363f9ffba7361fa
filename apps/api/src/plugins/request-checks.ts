/**
 * The first look at every request: its id (the caller's `x-request-id` or a new one) echoed back, and the
 * transport's checks of a tRPC request before any procedure runs: at most TRPC_MAX_BATCH calls in a batch
 * (BATCH_TOO_LARGE), a bare POST taken as an empty JSON one, and a form refused as any body of another type.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type Calls, procedurePaths } from './calls.ts';

export const requestChecks = fp(async (app: FastifyInstance, { maxBatch, calls }: { maxBatch: number; calls: Calls }) => {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const paths = procedurePaths(req);
    if (paths.length === 0) return;
    if (paths.length > maxBatch) {
      const message = `at most ${maxBatch} calls in one batched request (this one has ${paths.length}); split it`;
      return calls.refuse(req, reply, paths, 'BATCH_TOO_LARGE', message);
    }
    // a mutation without input (queue.leave) is a bare POST: no body is as good as an empty JSON one
    if (req.method === 'POST' && req.headers['content-type'] === undefined && !hasBody(req)) {
      req.raw.headers['content-type'] = 'application/json';
    }
    // tRPC's adapter would read a form (FormData input, which no procedure takes) and fail with a 500: a
    // form is a body of another type, refused as any other
    if (req.method === 'POST' && mediaType(req.headers['content-type']) === 'multipart/form-data') {
      return calls.refuse(req, reply, paths, 'UNSUPPORTED_MEDIA_TYPE', 'send content-type: application/json');
    }
  });
});

/** A content type's media type, lower case, without its parameters (`multipart/form-data; boundary=…`). */
export function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.toLowerCase().split(';', 1)[0]?.trim();
}

/** A request with a body: a length above zero, or a chunked one. */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
