/**
 * The typed FrontRow client: every procedure of API.md with its input and output types, over plain JSON.
 * Queries and mutations go through one batching HTTP link; `queue.watch` is a Server-Sent Events stream.
 * The caller's identity token (from the operator's sign-in) travels as `Authorization: Bearer <token>`,
 * the queue token as `X-Queue-Token: <token>` (docs/API.md, "Identity").
 */
import { EventSource } from 'eventsource';
import { type TRPCClient, TRPCClientError, createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AppRouter } from '@frontrow/api';

export type FrontRowClientOptions = {
  /** The API's base URL, e.g. `http://localhost:3000` (the router is at `<url>/trpc`). */
  url: string;
  /**
   * The signed-in user's identity token, or a getter called before every request (return a fresh token
   * from your sign-in library; `undefined` sends none, for `concerts.list` and the queue reads).
   */
  identityToken?: string | (() => string | undefined | Promise<string | undefined>);
  /** A queue token from `queue.enter`; it can be set or replaced later with `setQueueToken`. */
  queueToken?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /**
   * In a browser: its `EventSource` (`globalThis.EventSource`). A browser's EventSource cannot send headers,
   * so `queue.watch` then sends the queue token in tRPC's `connectionParams` (API.md, "Authenticating
   * queue.watch"). Unset: the `eventsource` package's, with the token as a header.
   */
  EventSource?: typeof globalThis.EventSource;
};

export type FrontRowClient = TRPCClient<AppRouter> & {
  /** Sends `token` as the queue token with every later call (`undefined` stops sending one). */
  setQueueToken(token: string | undefined): void;
  /** The queue token sent now, if any. */
  readonly queueToken: string | undefined;
};

export function createFrontRowClient(options: FrontRowClientOptions): FrontRowClient {
  let queueToken = options.queueToken;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = `${options.url.replace(/\/+$/, '')}/trpc`;
  const identity = options.identityToken;
  const headers = async (): Promise<Record<string, string>> => {
    const identityToken = typeof identity === 'function' ? await identity() : identity;
    return {
      ...(identityToken ? { authorization: `Bearer ${identityToken}` } : {}),
      ...(queueToken ? { 'x-queue-token': queueToken } : {}),
    };
  };

  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Node has no EventSource; the `eventsource` package's one can send headers through its fetch
        true: options.EventSource
          ? httpSubscriptionLink({
              url: base,
              EventSource: options.EventSource,
              connectionParams: () => ({ queueToken: queueToken ?? '' }),
            })
          : httpSubscriptionLink({
              url: base,
              EventSource,
              eventSourceOptions: () => ({
                fetch: async (url, init) => fetchImpl(url, { ...init, headers: { ...init.headers, ...(await headers()) } }),
              }),
            }),
        // at most 10 calls a request: the API's default batch cap (API.md, TRPC_MAX_BATCH)
        false: httpBatchLink({ url: base, headers, fetch: fetchImpl, maxURLLength: 4000, maxItems: 10 }),
      }),
    ],
  });

  const extras = {
    setQueueToken(next: string | undefined) {
      queueToken = next;
    },
    get queueToken() {
      return queueToken;
    },
  };
  // The tRPC client is a proxy of procedure paths: put the two extras in front of it.
  return new Proxy(extras, {
    get: (target, property) => (property in target ? Reflect.get(target, property) : Reflect.get(trpc, property)),
  }) as unknown as FrontRowClient;
}

/** The error shape the API sends (API.md, Transport): `data.reason` is the stable thing to branch on. */
export type FrontRowClientError = TRPCClientError<AppRouter>;

/**
 * The stable `reason` of a failed call (`SEAT_UNAVAILABLE`, `BUSY`, …; API.md, "Stable error reasons"),
 * or undefined for anything else (a network failure, a bug).
 */
export function errorReason(error: unknown): string | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data: unknown = error.data;
  if (typeof data === 'object' && data !== null && 'reason' in data && typeof data.reason === 'string') return data.reason;
  return undefined;
}
