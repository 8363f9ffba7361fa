/**
 * The bench's side of the wire. Two clients with one interface:
 * - `typed`: the project's typed client (`@frontrow/api-client`, tRPC's batching link), as an app would call;
 * - `wire`: API.md's plain JSON over the same keep-alive transport as the `/healthz` ceiling, one request per
 *   call, so that on a machine where the bench shares the cores with the server, a procedure and `/healthz`
 *   cost the client the same and their ratio measures the server.
 * Both are typed by the API's router; a timer records every call.
 */
import { createFrontRowClient, errorReason, type FrontRowClient, isTRPCClientError } from '@frontrow/api-client';
import type { ClientKind } from './choices.ts';
import type { Recorder } from './recorder.ts';
import type { Transport } from './transport.ts';

type Api = FrontRowClient;
type In<F> = F extends (input: infer I, ...rest: never[]) => unknown ? I : never;
type Out<F> = F extends (...args: never[]) => Promise<infer O> ? O : never;

export type QueueTicket = Out<Api['queue']['status']['query']>;

/** The procedures a simulated user calls, typed by the API's router. */
export type BenchClient = {
  setQueueToken(token: string): void;
  enter(input: In<Api['queue']['enter']['mutate']>): Promise<Out<Api['queue']['enter']['mutate']>>;
  status(): Promise<QueueTicket>;
  leave(): Promise<Out<Api['queue']['leave']['mutate']>>;
  availableDates(input: In<Api['concerts']['availableDates']['query']>): Promise<Out<Api['concerts']['availableDates']['query']>>;
  seats(input: In<Api['concerts']['seats']['query']>): Promise<Out<Api['concerts']['seats']['query']>>;
  hold(input: In<Api['reservations']['hold']['mutate']>): Promise<Out<Api['reservations']['hold']['mutate']>>;
  charge(input: In<Api['wallet']['charge']['mutate']>): Promise<Out<Api['wallet']['charge']['mutate']>>;
  pay(input: In<Api['payments']['pay']['mutate']>): Promise<Out<Api['payments']['pay']['mutate']>>;
};

export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Thrown out of a scenario on the first RATE_LIMITED answer: a bench needs the limit off. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor() {
    super(
      'the server rate-limits queue.enter (RATE_LIMITED): restart the API with QUEUE_ENTER_RATE_LIMIT=0 to bench it; a flash crowd from one address is what the limit exists to stop',
    );
  }
}

/** A failed call of the wire client: the API's stable reason, or HTTP_<status> when the answer had none. */
export class WireError extends Error {
  override name = 'WireError';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export type Caller = {
  /** A client of its own for one signed-in simulated user (its queue token is set once it entered). */
  client(identityToken: string): BenchClient;
  /** Runs one call, records its latency and outcome under `procedure`. */
  call<T>(procedure: string, run: () => Promise<T>): Promise<Outcome<T>>;
};

/** Users are spread over the API processes round-robin, one process per user for all its calls. */
export function createCaller(transports: Transport[], kind: ClientKind, recorder: () => Recorder): Caller {
  let next = 0;
  return {
    client: (identityToken) => {
      const transport = transports[next++ % transports.length];
      if (!transport) throw new Error('no API to call');
      return kind === 'typed' ? typedClient(transport, identityToken) : wireClient(transport, identityToken);
    },
    async call(procedure, run) {
      const started = performance.now();
      try {
        const value = await run();
        recorder().record(procedure, performance.now() - started);
        return { ok: true, value };
      } catch (error) {
        const reason = reasonOf(error);
        recorder().record(procedure, performance.now() - started, reason);
        if (reason === 'RATE_LIMITED') throw new RateLimitedError();
        return { ok: false, reason };
      }
    },
  };
}

function typedClient(transport: Transport, identityToken: string): BenchClient {
  // the client wants the global fetch's type; it calls only (url, { method, headers, body, signal }) and reads ok/json()
  const api = createFrontRowClient({ url: transport.origin, identityToken, fetch: transport.fetch as unknown as typeof globalThis.fetch });
  return {
    setQueueToken: (next) => api.setQueueToken(next),
    enter: (input) => api.queue.enter.mutate(input),
    status: () => api.queue.status.query(),
    leave: () => api.queue.leave.mutate(),
    availableDates: (input) => api.concerts.availableDates.query(input),
    seats: (input) => api.concerts.seats.query(input),
    hold: (input) => api.reservations.hold.mutate(input),
    charge: (input) => api.wallet.charge.mutate(input),
    pay: (input) => api.payments.pay.mutate(input),
  };
}

/** API.md, Transport: a query is `GET /trpc/<path>?input=<JSON>`, a mutation `POST /trpc/<path>` with the JSON body. */
function wireClient(transport: Transport, identityToken: string): BenchClient {
  let queueToken: string | undefined;
  const headers = (json: boolean): Record<string, string> => ({
    authorization: `Bearer ${identityToken}`,
    ...(queueToken ? { 'x-queue-token': queueToken } : {}),
    ...(json ? { 'content-type': 'application/json' } : {}),
  });
  const answer = async <T>(response: Promise<{ status: number; json(): Promise<unknown> }>): Promise<T> => {
    const res = await response;
    const body = (await res.json()) as { result?: { data: T }; error?: { message?: string; data?: { reason?: string } } };
    if (res.status === 200 && body.result) return body.result.data;
    throw new WireError(body.error?.data?.reason ?? `HTTP_${res.status}`, body.error?.message ?? `HTTP ${res.status}`);
  };
  const query = <T>(path: string, input?: unknown) =>
    answer<T>(
      transport.fetch(
        `${transport.origin}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
        {
          headers: headers(false),
        },
      ),
    );
  const mutation = <T>(path: string, input?: unknown) =>
    answer<T>(
      transport.fetch(`${transport.origin}/trpc/${path}`, {
        method: 'POST',
        // tRPC wants the JSON content type on every mutation, with or without a body
        headers: headers(true),
        body: input === undefined ? undefined : JSON.stringify(input),
      }),
    );
  return {
    setQueueToken: (next) => {
      queueToken = next;
    },
    enter: (input) => mutation('queue.enter', input),
    status: () => query('queue.status'),
    leave: () => mutation('queue.leave'),
    availableDates: (input) => query('concerts.availableDates', input),
    seats: (input) => query('concerts.seats', input),
    hold: (input) => mutation('reservations.hold', input),
    charge: (input) => mutation('wallet.charge', input),
    pay: (input) => mutation('payments.pay', input),
  };
}

/** API.md's stable reason, else NETWORK for a failed connection, HTTP_<status> for an answer without a reason. */
export function reasonOf(error: unknown): string {
  if (error instanceof WireError) return error.reason;
  const reason = errorReason(error);
  if (reason) return reason;
  if (isTRPCClientError(error)) {
    const status = statusOf(error.meta);
    if (status !== undefined) return `HTTP_${status}`;
    return 'NETWORK';
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return 'NETWORK';
  return 'UNKNOWN';
}

function statusOf(meta: unknown): number | undefined {
  if (typeof meta !== 'object' || meta === null || !('response' in meta)) return undefined;
  const response = meta.response;
  if (typeof response === 'object' && response !== null && 'status' in response && typeof response.status === 'number')
    return response.status;
  return undefined;
}
