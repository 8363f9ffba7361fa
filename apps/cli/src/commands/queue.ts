import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { QueueStats } from '@frontrow/core';
import type { RuntimeFactory } from '../runtime.ts';
import { integer } from './concert.ts';

export function registerQueueCommands(program: Command, runtime: RuntimeFactory): void {
  const queue = program.command('queue').description("watch and tune a concert's waiting room");

  queue
    .command('status')
    .description('waiting users, active users and admissions per minute of a concert')
    .requiredOption('--concert <id>', 'concert id')
    .option('--watch', 'refresh every second until Ctrl-C')
    .option('--json', 'machine-readable output (with --watch, one JSON line per refresh)')
    .action(async (options: { concert: string; watch?: boolean; json?: boolean }) => {
      const rt = await runtime();
      const { queueStats } = await import('@frontrow/core');
      await rt.withRuntime(async ({ deps }) => {
        const show = async () => {
          const stats = await queueStats(deps, { concertId: options.concert });
          rt.out(options.json ? JSON.stringify(stats) : describe(stats));
        };
        await show();
        if (!options.watch) return;
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          while (await pause(1_000, stop.signal)) await show();
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      });
    });

  queue
    .command('config')
    .description("set a concert's waiting-room capacity and admission time; with neither option, show them")
    .requiredOption('--concert <id>', 'concert id')
    .option('--max-active <n>', 'users admitted at once', integer)
    .option('--active-ttl <seconds>', 'how long an admission lasts (applies to admissions from now on)', integer)
    .option('--admit-per-minute <n>', 'admit at most n a minute, spread evenly (0: no cap)', integer)
    .option('--opens-at <iso>', 'when the sale opens: entries before it wait in a pre-queue and get a random order then')
    .option('--arrival-seconds <s>', 'how long an admitted user has to show up before the slot goes to the next', integer)
    .option('--json', 'machine-readable output')
    .action(
      async (options: {
        concert: string;
        maxActive?: number;
        activeTtl?: number;
        admitPerMinute?: number;
        arrivalSeconds?: number;
        opensAt?: string;
        json?: boolean;
      }) => {
        const rt = await runtime();
        const { configureQueue } = await import('@frontrow/core');
        // no job queue here (the runtime of a command has noJobs): the workers' one-second round fills a raised capacity
        const config = await rt.withRuntime(({ deps }) =>
          configureQueue(deps, {
            concertId: options.concert,
            maxActive: options.maxActive,
            activeTtlSeconds: options.activeTtl,
            admitPerMinute: options.admitPerMinute,
            arrivalSeconds: options.arrivalSeconds,
            salesOpenAt: options.opensAt,
          }),
        );
        if (options.json) rt.out(JSON.stringify(config));
        else
          rt.out(
            `concert ${config.concertId}: max active ${config.maxActive}, active ttl ${config.activeTtlSeconds} s, admit per minute ${config.admitPerMinute ?? 'no cap'}, arrival ${config.arrivalSeconds} s${config.salesOpenAt ? `, opens at ${config.salesOpenAt}` : ''}`,
          );
      },
    );

  for (const [name, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    queue
      .command(name)
      .description(paused ? 'stop admitting (waiting users see paused: true)' : 'admit again')
      .requiredOption('--concert <id>', 'concert id')
      .option('--json', 'machine-readable output')
      .action(async (options: { concert: string; json?: boolean }) => {
        const rt = await runtime();
        const { pauseQueue, resumeQueue } = await import('@frontrow/core');
        // no job queue here (noJobs): the workers' one-second round picks up a resume
        const state = await rt.withRuntime(({ deps }) =>
          paused ? pauseQueue(deps, { concertId: options.concert }) : resumeQueue(deps, { concertId: options.concert }),
        );
        rt.out(options.json ? JSON.stringify(state) : `concert ${state.concertId}: admission ${state.paused ? 'paused' : 'running'}`);
      });
  }
}

function describe(stats: QueueStats): string {
  const rate = stats.admitRatePerMinute === null ? 'not measured' : `${stats.admitRatePerMinute.toFixed(1)}/min`;
  return [
    `concert ${stats.concertId}`,
    `waiting ${stats.waiting}`,
    `active ${stats.active}/${stats.maxActive}`,
    `admitted ${stats.admittedLastMinute}/min${stats.admitPerMinute === null ? '' : ` (cap ${stats.admitPerMinute}/min)`}`,
    `no-shows ${stats.noShowsLastMinute}/min (arrival ${stats.arrivalSeconds} s)`,
    `(measured rate ${rate}, admitted through ticket ${stats.admittedThrough})`,
    ...(stats.salesOpenAt && !stats.openedAt ? [`PRE-QUEUE ${stats.preQueue} until ${stats.salesOpenAt}`] : []),
    ...(stats.paused ? ['PAUSED'] : []),
    ...(stats.soldOut ? ['SOLD OUT'] : []),
    ...(stats.salesClosedAt ? [`SALES CLOSED at ${stats.salesClosedAt}`] : []),
  ].join('  ');
}

/** False once `signal` fires: Ctrl-C ends `--watch` with exit code 0. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
