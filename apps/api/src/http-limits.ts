/** The HTTP limits of every FrontRow server: the API (server.ts) and the streams process (streams/server.ts). */

/** A `ping` event on every open `queue.watch` stream this often, so proxies do not cut an idle one (API.md). */
export const WATCH_PING_MS = 15_000;

/**
 * How long a client may take (API.md, Limits; OPERATIONS.md): the request line and headers within
 * `headersMs`, the whole request with its body within `requestMs` (Node checks every `checkEveryMs`, so a
 * slow body is cut within their sum, 22 s), an idle keep-alive connection kept `keepAliveMs` (above the
 * 60 s idle timeout of common load balancers, so they close first), and any socket silent for `idleMs`
 * closed (a `queue.watch` stream sends a comment every 15 s). A response being written is not cut:
 * these count the client's side only.
 */
export const HTTP_TIMEOUTS = { headersMs: 10_000, requestMs: 20_000, checkEveryMs: 2_000, keepAliveMs: 65_000, idleMs: 75_000 };
/** How long /readyz and a /metrics scrape wait on the database before answering without it. */
export const PROBE_TIMEOUT_MS = 2_000;
