/**
 * The streams process's HTTP server (`pnpm start:streams`, OPERATIONS.md "The streams process"): the API's
 * `GET /trpc/queue.watch`, the same guards, registry, frames and errors (watch-stream.ts `serveWatch`),
 * beside `/healthz` and `/readyz`, on `node:http` with no web framework and no ORM, so that one process
 * holds 10,000 open streams in a few hundred MB (issue 13, docs/BENCHMARKS.md). Every other request is
 * answered NOT_FOUND in the contract's shape: the API serves it.
 */
import http from 'node:http';
import type pino from 'pino';
import { type DatabaseState, databaseState } from '@frontrow/core/edge';
import { errorBody, reportCallError } from '../errors.ts';
import { HTTP_TIMEOUTS, PROBE_TIMEOUT_MS, WATCH_PING_MS } from '../http-limits.ts';
import { type ReadinessDatabase, readinessCheck } from '../readiness.ts';
import {
  WATCH_PATH,
  type WatchDeps,
  type WatchStreams,
  refusalBeforeStream,
  refuseMethod,
  serveWatch,
  watchStreams,
} from '../watch-stream.ts';

export const STREAM_ROUTE = `/trpc/${WATCH_PATH}`;

export type StreamsServerOptions = {
  deps: WatchDeps;
  database: ReadinessDatabase;
  log: pino.Logger;
  /** How often every open stream gets a `ping` event; WATCH_PING_MS unless a test says otherwise. */
  pingMs?: number;
};

export type StreamsServer = {
  server: http.Server;
  deps: WatchDeps;
  streams: WatchStreams;
  /** The database's state as this process saw it last: one log line per change. */
  database: DatabaseState;
  /** Stops taking connections, ends every open stream (its client reconnects, to another process) and waits for the sockets to close. */
  close(): Promise<void>;
};

export function createStreamsServer(options: StreamsServerOptions): StreamsServer {
  const { log } = options;
  const streams = watchStreams(options.pingMs ?? WATCH_PING_MS);
  const state = databaseState(log, () => options.database.ping());
  const readiness = readinessCheck(options.database, state, PROBE_TIMEOUT_MS);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = requestUrl(req);
    if (!url) return json(res, 400, errorBody('VALIDATION', 'the request target is not a URL path', null));
    const reading = req.method === 'GET' || req.method === 'HEAD';
    if (url.pathname === '/healthz' && reading) return json(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz' && reading) {
      const { status, body } = await readiness();
      return json(res, status, body);
    }
    if (url.pathname === '/metrics' && reading) return send(res, 200, metricsText(streams, options.deps), PROMETHEUS_TEXT);
    if (url.pathname !== STREAM_ROUTE) {
      const message = `this server streams ${WATCH_PATH} only (GET ${STREAM_ROUTE}); send every other call to the API`;
      return json(res, 404, errorBody('NOT_FOUND', message, null));
    }
    // as tRPC answers them: HEAD with no content, POST with a stream saying 405; other methods a plain 405
    if (req.method === 'HEAD') return void res.writeHead(204).end();
    if (req.method === 'POST') return refuseMethod(res);
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return json(res, 405, errorBody('METHOD_NOT_ALLOWED', `${WATCH_PATH} is a subscription: use GET (input in ?input=)`, WATCH_PATH));
    }
    const refusal = refusalBeforeStream(url);
    if (refusal) return send(res, refusal.status, refusal.body);
    await serveWatch(req, res, { deps: options.deps, streams, onError: (error) => reportCallError(error, state, log, WATCH_PATH) });
  };

  const server = http.createServer(
    {
      headersTimeout: HTTP_TIMEOUTS.headersMs,
      requestTimeout: HTTP_TIMEOUTS.requestMs,
      connectionsCheckingInterval: HTTP_TIMEOUTS.checkEveryMs,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'request failed');
        if (!res.headersSent) json(res, 500, errorBody('INTERNAL', 'internal server error', null));
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveMs;
  // a socket silent this long is closed; an open stream is not silent (its ping)
  server.timeout = HTTP_TIMEOUTS.idleMs;

  return {
    server,
    deps: options.deps,
    streams,
    database: state,
    async close() {
      streams.close();
      state.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // an open stream would hold the close until its client leaves: end it (EventSource and the typed client reconnect)
      for (const res of streams.open) res.destroy();
      server.closeIdleConnections();
      await closed;
    },
  };
}

/** The request's target as a URL, or null for one that is not a path (an absolute-form target Node took but WHATWG refuses). */
function requestUrl(req: http.IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body));
}

function send(res: http.ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `/metrics` of the streams process: a few gauges and counters in Prometheus' text format, under the
 * names the API's `/metrics` gives the same figures. Written here rather than with prom-client, which
 * would add ~9 MB to a process whose whole point is its memory (docs/BENCHMARKS.md).
 */
function metricsText(streams: WatchStreams, deps: WatchDeps): string {
  const memory = process.memoryUsage();
  const series: [name: string, type: 'gauge' | 'counter', help: string, value: number][] = [
    ['frontrow_process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', memory.rss],
    ['frontrow_nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', memory.heapUsed],
    ['frontrow_watch_streams_open', 'gauge', 'open queue.watch streams of this process', streams.open.size],
  ];
  if (deps.admissions) {
    const counts = deps.admissions.counts;
    series.push(
      ['frontrow_admission_state_reads_total', 'counter', 'reads of the in-memory admission state (its own connection)', counts.reads],
      ['frontrow_admission_state_notifications_total', 'counter', 'notifications the admission state received', counts.notifications],
    );
  }
  return series.map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`).join('');
}
