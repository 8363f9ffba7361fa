/** `frontrow bench --scenario streams`: the command's side (flags, configuration, database, output) of streams.ts. */
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { MikroORM } from '@frontrow/db';
import type { BenchRuntime as Runtime } from '../command.ts';
import { benchDatabase } from '../database.ts';
import { createProgress } from '../progress.ts';
import { type StreamsReport, formatStreams, runStreams } from './streams.ts';

/** The flags of `frontrow bench` the streams scenario reads. */
export type StreamsFlags = {
  url: string;
  duration: number;
  streams: number;
  statusClients: number;
  connectRate: number;
  databaseUrl?: string;
  json?: string | true;
  keep?: boolean;
};

/** Every stream is answered (opened, refused or reset) within this, or the run goes on with those that were. */
const CONNECT_TIMEOUT_SECONDS = 600;

export async function runStreamsCommand(rt: Runtime, flags: StreamsFlags): Promise<StreamsReport> {
  const urls = flags.url
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url.length > 0);
  const [url] = urls;
  if (!url || urls.length > 1) throw new InvalidArgumentError('--url: the streams scenario measures one API process (one URL)');
  const { domainSettings, resolveTokenSecret } = await import('@frontrow/core');
  // the API's TOKEN_SECRET, from the configuration as every command reads it (or the embedded database's own)
  const tokenSecret = await resolveTokenSecret(rt.config);
  const progress = createProgress(process.stderr);
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) return;
    process.stderr.write(`\ninterrupted: stopping the run${flags.keep ? '' : ' and removing its concert'}\n`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const work = async (orm: MikroORM) =>
    await runStreams(
      {
        url,
        streams: flags.streams,
        seconds: flags.duration,
        statusClients: flags.statusClients,
        connectPerSecond: flags.connectRate,
        tokenSecret,
        connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
        keep: flags.keep ?? false,
      },
      { db: benchDatabase(orm, domainSettings(rt.config)), progress, signal: interrupt.signal },
    );
  try {
    const report = flags.databaseUrl ? await withDatabase(flags.databaseUrl, work) : await rt.withOrm(work);
    if (flags.json === true) rt.out(JSON.stringify(report, null, 2));
    else rt.out(formatStreams(report));
    if (typeof flags.json === 'string') await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function withDatabase<T>(databaseUrl: string, work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const { openOrm } = await import('@frontrow/db');
  const orm = await openOrm({ databaseUrl, poolSize: 4 });
  try {
    return await work(orm);
  } finally {
    await orm.close(true);
  }
}
