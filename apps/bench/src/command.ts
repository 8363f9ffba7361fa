import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '@frontrow/core';
import type { MikroORM } from '@frontrow/db';
import { ALL_SCENARIOS, CLIENT_KINDS, type ClientKind, SCENARIOS, type Scenario } from './choices.ts';
import type { BenchOptions } from './run.ts';
import { benchUrls, interruptOnSignals, onBenchDatabase, printReport } from './command-parts.ts';

/** What the bench needs from the `frontrow` CLI's runtime: the parsed configuration, an output line, the database. */
export type BenchRuntime = {
  config: Config;
  out: (line: string) => void;
  withOrm: <T>(work: (orm: MikroORM) => Promise<T>) => Promise<T>;
};

type Flags = {
  url: string;
  users?: number;
  concurrency: number;
  concert?: string;
  scenario: Scenario | 'all';
  client: ClientKind;
  duration: number;
  waiting: number[];
  healthz: number;
  pollInterval: number;
  lapse: number;
  expiryWait: number;
  maxActive?: number;
  dates?: number;
  /** `--no-show <share>`: commander names a `--no-` option's value after the rest of its name. */
  show: number;
  arrival: number;
  activeTtl: number;
  shop: number;
  crowd: number[];
  pollEvery: number;
  price: number;
  databaseUrl?: string;
  /** true: the report as JSON on stdout; a file name: the tables on stdout and the JSON in that file. */
  json?: string | true;
  keep?: boolean;
  streams: number;
  streamsUrl?: string;
  statusClients: number;
  connectRate: number;
};

export function registerBenchCommands(program: Command, runtime: () => Promise<BenchRuntime>): void {
  program
    .command('bench')
    .description('play a flash crowd against a running API and report throughput, latency and the invariants (docs/BENCHMARKS.md)')
    .requiredOption(
      '--url <url,...>',
      'the API, e.g. http://127.0.0.1:3000, or several processes of it comma-separated (run with QUEUE_ENTER_RATE_LIMIT=0)',
    )
    .addOption(new Option('--scenario <name>', 'what to play').choices([...SCENARIOS, 'all']).default('flow'))
    .addOption(
      new Option('--client <kind>', 'typed: the api-client an app uses; wire: plain JSON per API.md over the same HTTP path as /healthz')
        .choices([...CLIENT_KINDS])
        .default('typed'),
    )
    .option(
      '--users <n>',
      'users of the flow (default 2000) and of the no-show scenario (default 60); payments of the pay scenario (2000)',
      positive,
    )
    .option('--concurrency <n>', 'clients calling at once', positive, 64)
    .option('--duration <seconds>', 'length of each fixed-time scenario (enter, poll, hold-storm, crowd)', positive, 10)
    .option('--waiting <n,...>', 'line depths for the poll scenario, one run each', positives, [1000])
    .option('--concert <id>', 'play this concert instead of creating one per scenario')
    .option('--healthz <seconds>', 'length of each /healthz ceiling run, before and after (0: none)', nonNegative, 5)
    .option('--poll-interval <ms>', 'pause between two queue.status polls of one waiting user in the flow', nonNegative, 200)
    .option('--lapse <n>', 'flow users who hold seats and walk away, to measure hold-expiry lag', nonNegative, 8)
    .option('--expiry-wait <seconds>', 'how long to wait for walked-away holds to be freed', positive, 60)
    .option(
      '--max-active <n>',
      "the flow concert's maxActive (default: half of --concurrency); the no-show concerts' (default 10)",
      positive,
    )
    .option('--dates <n>', "the flow concert's performances, 50 seats each (default: one per 100 users)", positive)
    .option('--no-show <share>', 'no-show scenario: share of the users who never come back after entering (0 to <1)', share, 0.3)
    .option(
      '--arrival <seconds>',
      'no-show scenario: the "after" run\'s arrival window ("before" has one as long as --active-ttl)',
      positive,
      5,
    )
    .option('--active-ttl <seconds>', "no-show scenario: the concerts' active time", positive, 20)
    .option('--shop <ms>', 'no-show scenario: how long a real user stays ACTIVE before queue.leave', nonNegative, 1000)
    .option('--crowd <n,...>', 'crowd scenario: waiting users, one run each (e.g. 1000,100000,1000000)', positives, [100_000])
    .option('--poll-every <seconds>', 'crowd scenario: seconds between two queue.status polls of one waiting user', positiveNumber, 3)
    .option('--price <won>', 'seat price of the concerts the bench creates', positive, 50_000)
    .option('--database-url <url>', 'the database the API runs on (default: DATABASE_URL, else the embedded one)')
    .option('--json [file]', 'print the figures as JSON instead of tables; with a file name, print the tables and write the JSON there')
    .option('--keep', 'keep the concerts the bench creates (by default they are removed after the run, a failed or interrupted one too)')
    .option(
      '--streams <n>',
      'streams scenario: queue.watch streams to open on the API (one process; needs its TOKEN_SECRET)',
      positive,
      10_000,
    )
    .option(
      '--streams-url <url>',
      'streams scenario: open the streams on this process instead (a streams process, `pnpm start:streams`); queue.status stays on --url',
    )
    .option('--status-clients <n>', 'streams scenario: clients polling queue.status beside the streams', positive, 16)
    .option('--connect-rate <n>', 'streams scenario: streams opened per second at most', positive, 2_000)
    .action(async (flags: Flags) => {
      const rt = await runtime();
      if (flags.scenario === 'streams') {
        const { runStreamsCommand } = await import('./scenarios/streams-command.ts');
        await runStreamsCommand(rt, flags);
        return;
      }
      const [
        { DECIMAL_ID, domainSettings, resolveDevSecret, resolveTokenSecret },
        { benchDatabase },
        { createProgress },
        { runBench },
        { formatReport },
        { createTransport },
      ] = await Promise.all([
        import('@frontrow/core'),
        import('./database.ts'),
        import('./progress.ts'),
        import('./run.ts'),
        import('./table.ts'),
        import('./transport.ts'),
      ]);
      const options: BenchOptions = {
        urls: benchUrls(flags.url),
        scenarios: flags.scenario === 'all' ? [...ALL_SCENARIOS] : [flags.scenario],
        client: flags.client,
        users: flags.users ?? 2000,
        concurrency: flags.concurrency,
        concert: flags.concert,
        duration: flags.duration,
        waiting: flags.waiting,
        healthzSeconds: flags.healthz,
        pollMs: flags.pollInterval,
        lapse: flags.lapse,
        expiryWaitSeconds: flags.expiryWait,
        maxActive: flags.maxActive,
        dates: flags.dates,
        noShow: {
          share: flags.show,
          users: flags.users ?? 60,
          maxActive: flags.maxActive ?? 10,
          activeSeconds: flags.activeTtl,
          arrivalSeconds: flags.arrival,
          shopMs: flags.shop,
        },
        crowd: flags.crowd,
        pollEverySeconds: flags.pollEvery,
        price: flags.price,
        keep: flags.keep ?? false,
      };
      if (options.scenarios.includes('no-show')) {
        if (flags.concert !== undefined) throw new InvalidArgumentError('--concert: the no-show scenario plays two concerts of its own');
        if (flags.arrival >= flags.activeTtl)
          throw new InvalidArgumentError(`--arrival ${flags.arrival} must be shorter than --active-ttl ${flags.activeTtl}`);
        if (options.noShow.users < 2 || options.noShow.users > 5000)
          throw new InvalidArgumentError('--users: the no-show scenario plays 2 to 5000 users (each real one polls on its own)');
        if (flags.shop > 60_000) throw new InvalidArgumentError('--shop: at most 60000 ms');
      }
      if (options.scenarios.includes('crowd')) {
        if (flags.concert !== undefined) throw new InvalidArgumentError('--concert: the crowd scenario fills a line of its own');
        if (flags.crowd.some((n) => n > 10_000_000)) throw new InvalidArgumentError('--crowd: at most 10000000 waiting users');
        if (flags.pollEvery > 3_600) throw new InvalidArgumentError('--poll-every: at most 3600 seconds');
      }
      if (flags.concert !== undefined && !DECIMAL_ID.test(flags.concert))
        throw new InvalidArgumentError(`--concert: not a concert id: ${flags.concert}`);
      const transports = options.urls.map((url) => createTransport(url, options.concurrency + 8));
      const progress = createProgress(process.stderr);
      // Ctrl-C (or SIGTERM) ends the run early; the run still removes its concerts unless --keep
      const interrupt = interruptOnSignals(options.keep ? null : 'its concerts');
      // the API's AUTH_DEV_SECRET (or the one kept under DATA_DIR for the embedded database)
      const authSecret = await resolveDevSecret(rt.config);
      // the API's TOKEN_SECRET (or the one kept under DATA_DIR): the crowd signs its pre-filled tokens
      const tokenSecret = options.scenarios.includes('crowd') ? await resolveTokenSecret(rt.config) : undefined;
      const work = async (orm: MikroORM) =>
        await runBench(options, {
          db: benchDatabase(orm, domainSettings(rt.config)),
          transports,
          progress,
          signal: interrupt.signal,
          authSecret,
          ...(tokenSecret ? { tokenSecret } : {}),
        });
      try {
        const report = await onBenchDatabase(rt, flags.databaseUrl, work);
        await printReport(rt, flags.json, report, formatReport);
        if (!report.invariants.passed) {
          process.exitCode = 1;
          process.stderr.write('error: the invariant check failed (see above)\n');
        }
      } finally {
        interrupt.stop();
        for (const transport of transports) transport.close();
      }
    });
}

/** `--healthz 0`, `--lapse 0`: counts and lengths where none is a choice. */
function nonNegative(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number (0 or more)');
  return Number.parseInt(value, 10);
}

function positive(value: string): number {
  const n = nonNegative(value);
  if (n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError('expected a share from 0 to below 1, e.g. 0.3');
  return n;
}

/** A number of seconds above 0 (fractions allowed). */
function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0, e.g. 3 or 0.5');
  return n;
}

function positives(value: string): number[] {
  return value.split(',').map((part) => positive(part));
}
