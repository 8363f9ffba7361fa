/**
 * Single tRPC calls without tRPC's fetch adapter: `POST /trpc/<mutation>` and `GET /trpc/<query>` (no
 * input, or `?input=`) run the procedure through tRPC itself (its guards, zod input and output, error
 * mapping: the procedure as the router defines it, called as tRPC's resolver calls it) and write the
 * envelope tRPC writes, byte for byte. tRPC's adapter turns every request into a WHATWG `Request` (with
 * its signals and web streams) and its answer into a `Response`, which costs a flash crowd's mutations
 * (`queue.enter`, `reservations.hold`) a large share of their CPU (docs/BENCHMARKS.md, "Single calls
 * without tRPC's fetch adapter").
 *
 * Anything this route is not sure of goes to tRPC's handler unchanged, before any procedure runs: a batch
 * or any other query parameter on a POST, a content type other than JSON, a body that is not JSON, a
 * streaming accept header, an encoded path. A procedure runs once, here or there, never both. Batches,
 * unknown paths and a method the procedure does not take never reach these routes (tRPC's `/trpc/:path`
 * answers them); `queue.watch` keeps its own route, and `queue.status` is first offered to the admission
 * state (`first`: a WAITING token's answer with no procedure at all).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AnyTRPCProcedure, TRPCError } from '@trpc/server';
import { type FastifyHandlerOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCode } from '@trpc/server/http';
import {
  getErrorShape,
  getTRPCErrorFromUnknown,
  isAsyncIterable,
  isObject,
  isPromise,
  procedurePathToURLPath,
  transformTRPCResponse,
} from '@trpc/server/unstable-core-do-not-import';
import type { Context } from './context.ts';
import { mediaType } from './plugins/request-checks.ts';
import type { AppRouter } from './router.ts';

export type PlainCallsOptions = {
  /** tRPC's prefix (`/trpc`); not `prefix`, which Fastify would put before every route of this scope once more. */
  trpcPrefix: string;
  /** The same options tRPC's plugin gets: the router and `onError` (and all of it for what tRPC answers). */
  trpcOptions: FastifyHandlerOptions<AppRouter, FastifyRequest, FastifyReply>;
  /** The context of every procedure (`createContextFactory`), as tRPC's handler builds it. */
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
  /**
   * An answer tried before the procedure, by path: `queue.status` of a WAITING token from the admission
   * state (waiting-status.ts). True when it answered; false and the call runs here as any other.
   */
  first?: Readonly<Record<string, (req: FastifyRequest, reply: FastifyReply) => Promise<boolean>>>;
};

/** What tRPC's resolver answers a single call with, besides the status and the body (`resolveResponse`). */
const CONTENT_TYPE = 'application/json';
const VARY = 'trpc-accept, accept';

/**
 * One route per query and mutation of the router, in a scope with tRPC's plugin's JSON body parser (the
 * body kept as its text), so that Fastify takes or refuses a body here exactly as on tRPC's route, and what
 * goes to tRPC from here reaches it as from its own route (a multipart form never gets here: the request
 * checks refuse it first).
 */
export async function plainCalls(app: FastifyInstance, options: PlainCallsOptions): Promise<void> {
  const { router, onError } = options.trpcOptions;
  if (options.trpcOptions.responseMeta) throw new Error('plain calls do not apply responseMeta: drop it or the plain route');
  const config = router._def._config;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const procedures = router._def.procedures as unknown as Record<string, AnyTRPCProcedure>;
  for (const [path, procedure] of Object.entries(procedures)) {
    const type = procedure._def.type;
    if (type === 'subscription') continue;
    const first = options.first?.[path];
    const urlPath = procedurePathToURLPath(path, config.pathSeparator);
    const url = `${options.trpcPrefix}/${urlPath}`;
    const toTRPC = async (req: FastifyRequest, reply: FastifyReply) => {
      await fastifyRequestHandler({ ...options.trpcOptions, req, res: reply, path: urlPath });
      return reply;
    };
    // HEAD stays with tRPC's route (answered 204 there)
    app.route({
      method: type === 'mutation' ? 'POST' : 'GET',
      url,
      exposeHeadRoute: false,
      handler: async (req, reply) => {
        if (first && (await first(req, reply))) return reply;
        const raw = type === 'mutation' ? bodyInput(req, url) : queryInput(req, url);
        if (raw === null) return toTRPC(req, reply);
        // from here on the call is this route's: it never goes to tRPC, whatever happens
        let input: unknown;
        // the procedure's signal: aborted when the client leaves before its answer, as tRPC's
        const left = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableEnded) left.abort();
        };
        reply.raw.once('close', onClose);
        let ctx: Context | undefined;
        let read = false;
        let text: string;
        let status = 200;
        const failed = (error: TRPCError, at: string | undefined, withInput: unknown) => {
          onError?.({ error, path: at, input: withInput, ctx, type, req });
          const answer = { error: getErrorShape({ config, ctx, error, input: withInput, path: at, type }) };
          status = getHTTPStatusCode([answer], [error]);
          return answer;
        };
        try {
          ctx = options.createContext({ req, res: reply });
          const data = await procedure({
            path,
            // as tRPC: the input is deserialized when a guard or the procedure first asks for it, and a
            // transformer's failure is the caller's BAD_REQUEST
            getRawInput: async () => {
              if (!read) {
                try {
                  input = raw.json === undefined ? undefined : config.transformer.input.deserialize(raw.json);
                } catch (cause) {
                  throw new TRPCError({ code: 'BAD_REQUEST', cause });
                }
                read = true;
              }
              return input;
            },
            ctx,
            type,
            signal: left.signal,
            batchIndex: 0,
          });
          // as tRPC: a stream-like answer has no place in a single call (an error without a path)
          const body = isDataStream(data)
            ? failed(
                new TRPCError({
                  code: 'UNSUPPORTED_MEDIA_TYPE',
                  message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink',
                }),
                undefined,
                undefined,
              )
            : { result: { data } };
          // serialized here, so an answer that cannot be (a transformer's or JSON's failure) is an error
          // shaped as tRPC shapes it, not Fastify's
          text = JSON.stringify(transformTRPCResponse(config, body as never));
        } catch (cause) {
          text = JSON.stringify(
            transformTRPCResponse(config, failed(getTRPCErrorFromUnknown(cause), path, read ? input : undefined) as never),
          );
        }
        reply.raw.off('close', onClose);
        return sendAsTRPC(reply, status, text);
      },
    });
  }
}

/** `body` sent as tRPC sends a single call's answer. */
export function sendAsTRPC(reply: FastifyReply, status: number, body: string): FastifyReply {
  // tRPC's headers in the order its buffered Response gives them (sorted); a buffer, so Fastify adds no charset
  return reply.code(status).header('content-type', CONTENT_TYPE).header('vary', VARY).send(Buffer.from(body));
}

/** A POST's input as tRPC reads it, or null for anything tRPC should see itself. `{ json: undefined }`: no input. */
function bodyInput(req: FastifyRequest, url: string): { json: unknown } | null {
  // no query string at all (a batch, connectionParams, ...) and the path as routed, not encoded
  if (req.url !== url || streamingAccept(req) || !isJson(req.headers['content-type'])) return null;
  const body = req.body;
  // a bare POST (no body): tRPC reads an empty text, no input
  if (body === undefined || body === '') return { json: undefined };
  if (typeof body !== 'string') return null;
  return parsed(body);
}

/** A GET's input (`?input=` and nothing else), or null for anything tRPC should see itself. */
function queryInput(req: FastifyRequest, url: string): { json: unknown } | null {
  if (streamingAccept(req)) return null;
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !isJson(contentType)) return null;
  if (req.url === url) return { json: undefined };
  // a fragment (which Node keeps in the request line and tRPC's URL parser drops) is tRPC's to read
  if (!req.url.startsWith(`${url}?`) || req.url.includes('#')) return null;
  // tRPC reads the query string with URLSearchParams: so does this route, to read the same input
  const params = new URLSearchParams(req.url.slice(url.length + 1));
  const names = [...params.keys()];
  if (names.length !== 1 || names[0] !== 'input') return null;
  const input = params.get('input');
  return input ? parsed(input) : { json: undefined };
}

function parsed(text: string): { json: unknown } | null {
  try {
    return { json: JSON.parse(text) };
  } catch {
    return null; // tRPC words this one (after the procedure's guards)
  }
}

/** tRPC's own test of a JSON content type: the media type, case-insensitive, before any parameter. */
function isJson(contentType: string | undefined): boolean {
  return mediaType(contentType) === CONTENT_TYPE;
}

/** A client asking for tRPC's streamed answers (which tRPC refuses for a single call). */
function streamingAccept(req: FastifyRequest): boolean {
  return req.headers['trpc-accept'] !== undefined || (req.headers.accept?.includes('application/jsonl') ?? false);
}

/** tRPC's `isDataStream`: an async iterable, or an object with a promise or an async iterable in it. */
function isDataStream(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (isAsyncIterable(value)) return true;
  return Object.values(value).some(isPromise) || Object.values(value).some(isAsyncIterable);
}
