/** The bench's side of the wire: typed clients over the bench transport, and a timer around every call. */
import { createFrontRowClient, errorReason, type FrontRowClient, isTRPCClientError } from '@frontrow/api-client';
import type { Recorder } from './recorder.ts';
import type { Transport } from './transport.ts';

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

export type Caller = {
  /** A client of its own for one simulated user (its token is set once it entered). */
  client(token?: string): FrontRowClient;
  /** Runs one call, records its latency and outcome under `procedure`. */
  call<T>(procedure: string, run: () => Promise<T>): Promise<Outcome<T>>;
};

export function createCaller(url: string, transport: Transport, recorder: () => Recorder): Caller {
  // the client wants the global fetch's type; it calls only (url, { method, headers, body, signal }) and reads ok/json()
  const fetch = transport.fetch as unknown as typeof globalThis.fetch;
  return {
    client: (token) => createFrontRowClient({ url, token, fetch }),
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

/** API.md's stable reason, else NETWORK for a failed connection, HTTP_<status> for an answer without a reason. */
export function reasonOf(error: unknown): string {
  const reason = errorReason(error);
  if (reason) return reason;
  if (isTRPCClientError(error)) {
    const status = statusOf(error.meta);
    if (status !== undefined) return `HTTP_${status}`;
    return 'NETWORK';
  }
  return 'UNKNOWN';
}

function statusOf(meta: unknown): number | undefined {
  if (typeof meta !== 'object' || meta === null || !('response' in meta)) return undefined;
  const response = meta.response;
  if (typeof response === 'object' && response !== null && 'status' in response && typeof response.status === 'number')
    return response.status;
  return undefined;
}
