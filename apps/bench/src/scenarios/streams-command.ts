/** `frontrow bench --scenario streams`: the command's side (flags, configuration, database, output) of streams.ts. */
import { InvalidArgumentError } from 'commander';
import type { MikroORM } from '@frontrow/db';
import type { BenchRuntime as Runtime } from '../command.ts';
import { benchUrls, interruptOnSignals, onBenchDatabase, printReport } from '../command-parts.ts';
import { benchDatabase } from '../database.ts';
import { createProgress } from '../progress.ts';
import { type StreamsReport, formatStreams, runStreams } from './streams.ts';

/** The flags of `frontrow bench` the streams scenario reads. */
export type StreamsFlags = {
  url: string;
  streamsUrl?: string;
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
  const urls = benchUrls(flags.url);
  const [url] = urls;
  if (!url || urls.length > 1) throw new InvalidArgumentError('--url: the streams scenario measures one API process (one URL)');
  const streamsUrls = flags.streamsUrl === undefined ? [] : benchUrls(flags.streamsUrl);
  if (streamsUrls.length > 1) throw new InvalidArgumentError('--streams-url: one streams process (one URL)');
  // each stream and each client is a socket of this process: bounds well past one API process's cap
  if (flags.streams > 100_000) throw new InvalidArgumentError('--streams: at most 100000');
  if (flags.statusClients > 1_000) throw new InvalidArgumentError('--status-clients: at most 1000');
  const { domainSettings, resolveTokenSecret } = await import('@frontrow/core');
  // the API's TOKEN_SECRET, from the configuration as every command reads it (or the embedded database's own)
  const tokenSecret = await resolveTokenSecret(rt.config);
  const progress = createProgress(process.stderr);
  const interrupt = interruptOnSignals(flags.keep ? null : 'its concert');
  const work = async (orm: MikroORM) =>
    await runStreams(
      {
        url,
        streamsUrl: streamsUrls[0],
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
    const report = await onBenchDatabase(rt, flags.databaseUrl, work);
    await printReport(rt, flags.json, report, formatStreams);
    return report;
  } finally {
    interrupt.stop();
  }
}
