/**
 * Where the processes' log lines go and what never goes in them: stdout written in the background without
 * ever blocking the exit, the redacted fields, and a URL's secrets (OPERATIONS.md, Logs). pino only: the
 * API's server log (plugins/logging.ts) and the streams process (streams/) both write through this.
 */
import pino from 'pino';

/** Log bytes gathered before a write to stdout (a dozen request lines), and the longest a line waits. */
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 1_000;
/** Log bytes kept while stdout does not take them (a stuck reader); lines past it are dropped, not queued. */
const LOG_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** The longest a close waits for the last log lines to reach stdout. */
export const LOG_CLOSE_FLUSH_MS = 2_000;

/** Never in a log line: identity and queue tokens, secrets, connection strings (they carry passwords). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-queue-token"]',
  'headers["x-queue-token"]',
  'queueToken',
  '*.queueToken',
  'AUTH_DEV_SECRET',
  '*.AUTH_DEV_SECRET',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'TOKEN_SECRET',
  '*.TOKEN_SECRET',
  'DATABASE_URL',
  '*.DATABASE_URL',
];
/** Query parameters that may carry a token (an EventSource cannot send headers). */
const SECRET_QUERY_PARAMS = ['token', 'queueToken', 'access_token', 'authorization', 'connectionParams'];

export type StdoutLog = ReturnType<typeof pino.destination> & {
  /** Waits (at most `timeoutMs`) for the buffered lines to be written; from then on a stuck stdout is not waited for. */
  close(timeoutMs: number): Promise<void>;
};

/**
 * Stdout without a blocking write per line: lines gather in memory and are written in the background (by
 * libuv's thread pool) once LOG_BUFFER_BYTES are waiting or LOG_FLUSH_MS have passed. pino writes what is
 * left with `flushSync` when the process exits (close-with-grace always ends with `process.exit`, also
 * after an uncaught error); only a hard kill loses the last lines.
 *
 * Stdout may be a pipe whose reader died or stopped reading (a log shipper, `| head`). A closed pipe
 * (EPIPE) makes pino drop further lines. A full one must never block: a write blocked in libuv's thread
 * pool holds the exit forever, where no signal can stop the process (issue 13). So the pipe is put in
 * non-blocking mode, a full pipe's writes are retried in the background with at most
 * LOG_MAX_BUFFER_BYTES waiting in memory (more are dropped), and the exit skips its flush when the close
 * could not flush within LOG_CLOSE_FLUSH_MS or a write is still in flight. Lines still waiting then are
 * lost; the exit is not.
 */
export function stdoutDestination(): StdoutLog {
  // Node opens its own stdout stream in non-blocking mode (a pipe or a socket; a file or a terminal is
  // left as it is): then a full pipe answers a write with EAGAIN, retried later, instead of blocking a
  // thread of libuv's pool, which the exit waits for (forever)
  void process.stdout;
  let stuck = false;
  const stream = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    maxLength: LOG_MAX_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_MS,
    // a pipe in non-blocking mode says EAGAIN instead of blocking: retried in the background, never at exit
    retryEAGAIN: () => !stuck && process.exitCode === undefined,
  });
  // a write that fails for good is a lost line, never an uncaught error
  stream.on('error', () => {});
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    // `_writing`: sonic-boom's own flag of a background write that has not returned (a blocked pipe)
    if (stuck || (stream as unknown as { _writing?: boolean })._writing) return;
    try {
      flushSync();
    } catch {
      // stdout does not take the last lines: they are lost, the exit is not
    }
  };
  return Object.assign(stream, {
    async close(timeoutMs: number) {
      const flushed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        stream.flush(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!flushed) stuck = true;
    },
  });
}

export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  let changed = false;
  for (const name of SECRET_QUERY_PARAMS) {
    if (params.has(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, query)}?${params.toString()}` : url;
}
