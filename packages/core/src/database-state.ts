import { isDatabaseUnavailable } from './database-errors.ts';

export type StateLog = {
  warn: (obj: object, msg: string) => void;
  info: (obj: object, msg: string) => void;
};

/** How often a process that saw the database go away checks whether it is back. */
export const DATABASE_PROBE_MS = 2_000;

export type DatabaseState = {
  /**
   * Reports an error: true when it is the database being unavailable (the caller logs nothing more), in
   * which case the first of a run logs one `warn` line and later ones nothing until the database is back.
   */
  failed: (error: unknown, where: string, options?: { unavailable?: boolean }) => boolean;
  /** The database answered: after an outage, one `info` line. */
  answered: () => void;
  stop: () => void;
};

/**
 * One log line per process per change of the database's state (OPERATIONS.md, Logs), not one stack per
 * failed call or retry: `database unavailable` when the first call fails for it, `database available
 * again` when a call or the probe (`select 1` every DATABASE_PROBE_MS while it is down) succeeds.
 */
export function databaseState(log: StateLog, probe: () => Promise<unknown>): DatabaseState {
  let down = false;
  let failures = 0;
  let since = 0;
  let timer: NodeJS.Timeout | undefined;
  const answered = () => {
    if (!down) return;
    down = false;
    clearInterval(timer);
    timer = undefined;
    log.info({ downForMs: Date.now() - since, failedCalls: failures }, 'database available again');
  };
  return {
    failed(error, where, options = {}) {
      if (!options.unavailable && !isDatabaseUnavailable(error)) return false;
      failures++;
      if (down) return true;
      down = true;
      failures = 1;
      since = Date.now();
      log.warn({ where, error: error instanceof Error ? error.message : String(error) }, 'database unavailable');
      timer = setInterval(() => {
        probe().then(answered, () => {});
      }, DATABASE_PROBE_MS);
      timer.unref();
      return true;
    },
    answered,
    stop() {
      clearInterval(timer);
    },
  };
}
