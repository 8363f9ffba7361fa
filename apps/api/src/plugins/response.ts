/**
 * What the server answers outside a procedure, and how: Fastify's own refusals (a body too large, a
 * content type no parser takes, a malformed length) and unknown routes in the contract's error shape with
 * a reason, as for a procedure's error; and tRPC's JSON answers sent whole, with a content-length.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { ErrorReason } from '@frontrow/core';
import { errorBody, httpStatusOf } from '../errors.ts';
import { type Calls, TRPC_PREFIX, procedurePaths } from './calls.ts';
import { redactUrl } from './logging.ts';

/** The largest request body (API.md, Transport): every input is a few hundred bytes, a batch of them a few KiB. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export const responses = fp(async (app: FastifyInstance, { calls }: { calls: Calls }) => {
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
    if (paths.length > 0) return calls.refuse(req, reply, paths, answer.reason, answer.message);
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
  app.addHook('onSend', async (_req, reply, payload) => (isCompleteJson(payload) ? await buffered(reply, payload) : payload));
});

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
