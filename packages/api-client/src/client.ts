/**
 * The typed FrontRow client: every procedure of API.md with its input and output types, over plain JSON.
 * Queries and mutations go through one batching HTTP link; `queue.watch` is a Server-Sent Events stream.
 * The queue token travels as `Authorization: Bearer <token>` on both.
 */
import { EventSource } from 'eventsource';
import { type TRPCClient, TRPCClientError, createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AppRouter } from '@frontrow/api';

export type FrontRowClientOptions = {
  /** The API's base URL, e.g. `http://localhost:3000` (the router is at `<url>/trpc`). */
  url: string;
  /** A queue token from `queue.enter`; it can be set or replaced later with `setToken`. */
  token?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
};

export type FrontRowClient = TRPCClient<AppRouter> & {
  /** Sends `token` with every later call (`undefined` stops sending one). */
  setToken(token: string | undefined): void;
  /** The token sent now, if any. */
  readonly token: string | undefined;
};

export function createFrontRowClient(options: FrontRowClientOptions): FrontRowClient {
  let token = options.token;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = `${options.url.replace(/\/+$/, '')}/trpc`;
  const authorization = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Node has no EventSource; the `eventsource` package's one can send headers through its fetch
        true: httpSubscriptionLink({
          url: base,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (url, init) => fetchImpl(url, { ...init, headers: { ...init.headers, ...authorization() } }),
          }),
        }),
        false: httpBatchLink({ url: base, headers: authorization, fetch: fetchImpl, maxURLLength: 4000 }),
      }),
    ],
  });

  const extras = {
    setToken(next: string | undefined) {
      token = next;
    },
    get token() {
      return token;
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
