/**
 * A `queue.watch` stream written straight to the socket (issue 13: 10,000 open streams on one process),
 * with no web framework: the API's route (watch-route.ts, under Fastify) and the streams process
 * (streams/server.ts, on `node:http`) both serve it through `serveWatch`. It runs the guards of every
 * queue-token call (guards.ts: the token's signature, its state from memory or its row), the
 * one-stream-per-token registry and core's `watchTicket`, and writes tRPC 11's SSE frames for them, byte
 * for byte what tRPC's own SSE producer wrote (a test compares them), with one ping timer for every stream
 * of the process. Loads no ORM.
 *
 * The wire (what `httpSubscriptionLink` and a browser `EventSource` read, docs/API.md): headers, then
 * `connected`, then one `data`/`id` frame per state, `return` when the watch ends, `serialized-error` (the
 * error shape of every other procedure) when it fails, and a `ping` event every `pingMs`.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
// tRPC's own check of connectionParams (exported for its adapters), so a stream refuses exactly what tRPC refuses
import { parseConnectionParamsFromString } from '@trpc/server/unstable-core-do-not-import';
import { type TokenSigner, type WatchRegistry, watchTicket } from '@frontrow/core/edge';
import {
  type TicketSource,
  currentTicket,
  openStream,
  reasonedError,
  verifiedQueueToken,
  singleHeader,
  watchEventId,
  watchQueueToken,
} from './guards.ts';
import { subscriptionErrorShape } from './trpc.ts';

export const WATCH_PATH = 'queue.watch';

/** tRPC's SSE headers (`sseHeaders`) and the `vary` its resolver adds to every answer, in its (sorted) order. */
const SSE_HEADERS = {
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'content-type': 'text/event-stream',
  vary: 'trpc-accept, accept',
  'x-accel-buffering': 'no',
} as const;

/** tRPC's frames: each field on its line, then two line ends (its producer's `\n\n` after the fields' own). */
const CONNECTED_FRAME = 'event: connected\ndata: {}\n\n\n';
const PING_FRAME = 'event: ping\ndata: \n\n\n';
const RETURN_FRAME = 'event: return\ndata: \n\n\n';

/** What a stream reads: the token's signer, where its state comes from, and the process's open watches. */
export type WatchDeps = TicketSource & { tokens: TokenSigner; watches?: WatchRegistry | undefined };

/**
 * The open streams of one process, which one timer pings. `close` stops the timer and marks the process
 * closing: a stream still in its guards then opens no stream (the streams open are the server's to end).
 */
export type WatchStreams = { readonly open: Set<ServerResponse>; readonly closing: boolean; close(): void };

export function watchStreams(pingMs: number): WatchStreams {
  const open = new Set<ServerResponse>();
  let closing = false;
  // one timer for every stream of the process (tRPC's producer runs one per stream); a stream whose
  // client does not read (its buffer full) is skipped: it is not idle
  const ping = setInterval(() => {
    for (const res of open) if (!res.writableNeedDrain) res.write(PING_FRAME);
  }, pingMs);
  ping.unref();
  return {
    open,
    get closing() {
      return closing;
    },
    close: () => {
      closing = true;
      clearInterval(ping);
    },
  };
}

export type ServeWatchOptions = {
  deps: WatchDeps;
  streams: WatchStreams;
  /** Headers the server set before (a request id): sent with the stream's own. */
  headers?: OutgoingHttpHeaders;
  /** Every error the stream answers with, for the server's metrics and log (tRPC's `onError`). */
  onError?: (error: TRPCError) => void;
};

/**
 * Serves one `GET /trpc/queue.watch` until the watch ends or the client goes away. The queue token is the
 * `X-Queue-Token` header, else `connectionParams`' `queueToken`. The caller has answered the requests this
 * does not stream (`refusalBeforeStream`).
 */
export async function serveWatch(req: IncomingMessage, res: ServerResponse, options: ServeWatchOptions): Promise<void> {
  const { deps } = options;
  // the client's going away (or a newer stream of its token, through the registry) ends the watch
  const gone = new AbortController();
  res.once('close', () => gone.abort());

  let started: { token: string; ticket: Awaited<ReturnType<typeof currentTicket>>; stream: ReturnType<typeof openStream> } | undefined;
  let failure: TRPCError | undefined;
  try {
    const queueToken = watchQueueToken(singleHeader(req.headers['x-queue-token']), req.url ?? '/');
    const { token, claims } = await verifiedQueueToken({ queueToken, tokens: deps.tokens });
    const ticket = await currentTicket(deps, claims);
    // one live stream per token (a new one ends the old), at most WATCH_MAX_STREAMS per process
    started = { token, ticket, stream: openStream(deps.watches, claims.tokenId, gone.signal) };
  } catch (cause) {
    failure = asTRPCError(cause);
  }
  // the client went away during the guards, or the server began to close meanwhile (its close ended the
  // streams open then; this one would hold it up): no stream
  if (res.destroyed || options.streams.closing) {
    started?.stream?.close();
    res.destroy();
    return;
  }

  const fail = (error: TRPCError) => {
    options.onError?.(error);
    res.end(errorFrame(error));
  };
  if (!started) {
    writeStreamHead(res, options.headers);
    fail(failure ?? asTRPCError(new Error('queue.watch opened no stream')));
    return;
  }

  const { token, ticket, stream } = started;
  const signal = stream?.signal ?? gone.signal;
  options.streams.open.add(res);
  const watch = watchTicket(deps, { token, ticket, signal });
  try {
    writeStreamHead(res, options.headers);
    for (let next = await watch.next(); !next.done; next = await watch.next()) {
      if (res.destroyed) break;
      const state = next.value;
      // a client that does not read: the next state is computed when it has (the older ones are skipped)
      if (!res.write(`data: ${JSON.stringify(state)}\nid: ${watchEventId(state)}\n\n\n`)) await drained(res);
    }
    if (!res.destroyed) res.end(RETURN_FRAME);
  } catch (cause) {
    if (!signal.aborted && !res.destroyed) fail(asTRPCError(cause));
  } finally {
    options.streams.open.delete(res);
    stream?.close();
    if (!res.destroyed && !res.writableEnded) res.end();
    await watch.return(undefined);
  }
}

/** The stream's head: status, headers and the `connected` frame. */
function writeStreamHead(res: ServerResponse, headers: OutgoingHttpHeaders | undefined): void {
  // set one by one, not as writeHead's argument: a server's hooks read them back (`getHeader`: is this a stream?)
  for (const [name, value] of Object.entries({ ...headers, ...SSE_HEADERS })) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(200);
  res.write(CONNECTED_FRAME);
}

function errorFrame(error: TRPCError): string {
  return `event: serialized-error\ndata: ${JSON.stringify(subscriptionErrorShape(error, WATCH_PATH))}\n\n\n`;
}

/**
 * A request for `queue.watch` with another method than GET, as tRPC answers it (the procedure is a
 * subscription, so the answer is a stream): the stream's head, then METHOD_NOT_ALLOWED as its
 * `serialized-error`. For the streams process; the API leaves it to tRPC (a test holds the two equal).
 */
export function refuseMethod(res: ServerResponse): void {
  writeStreamHead(res, undefined);
  res.end(errorFrame(new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${WATCH_PATH} method` })));
}

/** tRPC's own check of `connectionParams` (absent, or a JSON object of strings): its refusal, if any. */
function connectionParamsRefusal(raw: string | null): TRPCError | undefined {
  if (raw === null) return undefined;
  try {
    parseConnectionParamsFromString(raw);
    return undefined;
  } catch (error) {
    return getTRPCErrorFromUnknown(error);
  }
}

/**
 * tRPC's answer to a `queue.watch` request it does not stream: a batch (`Cannot batch subscription calls`,
 * in a batch's array) and `connectionParams` that are not a JSON object of strings, both 400 in the
 * contract's error shape. Null: a request to stream. The streams process answers with it; the API only
 * asks whether there is one and leaves the answer to tRPC itself (a test holds the two servers' answers
 * equal).
 */
export function refusalBeforeStream(url: URL): { status: number; body: string } | null {
  // tRPC reads connectionParams before it looks at the batch
  // given twice, the first counts (URLSearchParams.get, as tRPC and serveWatch read it)
  const error = connectionParamsRefusal(url.searchParams.get('connectionParams'));
  // tRPC refuses these before it knows the procedure: no path in the shape
  if (error)
    return { status: getHTTPStatusCodeFromError(error), body: JSON.stringify({ error: subscriptionErrorShape(error, undefined) }) };
  if (isBatch(url)) {
    const batch = new TRPCError({ code: 'BAD_REQUEST', message: 'Cannot batch subscription calls' });
    return { status: getHTTPStatusCodeFromError(batch), body: JSON.stringify([{ error: subscriptionErrorShape(batch, WATCH_PATH) }]) };
  }
  return null;
}

/** A batched call, as tRPC tells one: `?batch=1` (any other value is a single call). */
function isBatch(url: URL): boolean {
  return url.searchParams.get('batch') === '1';
}

/** The error a stream answers with: a guard's refusal as it is, a reason mapped as the procedures map it, else a 500. */
function asTRPCError(cause: unknown): TRPCError {
  if (cause instanceof TRPCError) return cause;
  return reasonedError(cause) ?? getTRPCErrorFromUnknown(cause);
}

/** Until the response's buffer drained or the response closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
