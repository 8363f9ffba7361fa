/** What `frontrow bench`'s two command paths share (the scenarios' run, and the streams scenario's). */
import { writeFile } from 'node:fs/promises';
import type { MikroORM } from '@frontrow/db';
import type { BenchRuntime } from './command.ts';

/** `--url a,b/`: each API's base URL, trimmed, without a trailing slash. */
export function benchUrls(flag: string): string[] {
  return flag
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url.length > 0);
}

/**
 * Ctrl-C (or SIGTERM) ends the run early, saying what is left to do (`removing`: what the run removes
 * after, unless --keep). `stop()` gives the signals back once the run ended.
 */
export function interruptOnSignals(removing: string | null): { signal: AbortSignal; stop: () => void } {
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) return;
    process.stderr.write(`\ninterrupted: stopping the run${removing ? ` and removing ${removing}` : ''}\n`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: interrupt.signal,
    stop: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Runs `work` on `--database-url` when given, else on the runtime's database (DATABASE_URL or the embedded one). */
export async function onBenchDatabase<T>(
  rt: BenchRuntime,
  databaseUrl: string | undefined,
  work: (orm: MikroORM) => Promise<T>,
): Promise<T> {
  if (!databaseUrl) return await rt.withOrm(work);
  const { openOrm } = await import('@frontrow/db');
  const orm = await openOrm({ databaseUrl, poolSize: 4 });
  try {
    return await work(orm);
  } finally {
    await orm.close(true);
  }
}

/** The report as tables (`--json` unset), as JSON on stdout (`--json`), or as tables and JSON in a file (`--json FILE`). */
export async function printReport<R>(
  rt: BenchRuntime,
  json: string | true | undefined,
  report: R,
  format: (report: R) => string,
): Promise<void> {
  if (json === true) rt.out(JSON.stringify(report, null, 2));
  else rt.out(format(report));
  if (typeof json === 'string') await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
}
