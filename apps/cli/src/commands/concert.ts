import { type Command, InvalidArgumentError } from 'commander';
import type { RuntimeFactory } from '../runtime.ts';

export function registerConcertCommands(program: Command, runtime: RuntimeFactory): void {
  const concert = program.command('concert').description('create, list and close concerts');

  concert
    .command('create')
    .description('create a concert with one performance per date, 50 seats each')
    .requiredOption('--title <title>', 'concert title')
    .requiredOption('--venue <venue>', 'venue name')
    .requiredOption('--dates <dates>', 'comma-separated performance dates, e.g. 2026-12-24,2026-12-25', list)
    .option('--price <won>', 'price of every seat in KRW', integer, 50_000)
    .option('--max-active <n>', 'users admitted at once (default: QUEUE_MAX_ACTIVE)', integer)
    .option('--active-ttl <seconds>', 'how long an admitted user stays admitted (default: QUEUE_ACTIVE_TTL_SECONDS)', integer)
    .option('--opens-at <iso>', 'when the sale opens: entries before it wait in a pre-queue and get a random order then')
    .option('--json', 'machine-readable output')
    .action(
      async (options: {
        title: string;
        venue: string;
        dates: string[];
        price: number;
        maxActive?: number;
        activeTtl?: number;
        opensAt?: string;
        json?: boolean;
      }) => {
        const rt = await runtime();
        const { createConcert } = await import('@frontrow/core');
        const created = await rt.withRuntime(({ deps }) =>
          createConcert(deps, {
            title: options.title,
            venue: options.venue,
            dates: options.dates,
            price: options.price,
            maxActive: options.maxActive,
            activeTtlSeconds: options.activeTtl,
            salesOpenAt: options.opensAt,
          }),
        );
        if (options.json) rt.out(JSON.stringify(created));
        else rt.out(created.concertId);
      },
    );

  concert
    .command('close')
    .description('end the sale: waiting users EXPIRED (SALES_CLOSED), new entries refused; admitted users may still pay')
    .requiredOption('--concert <id>', 'concert id')
    .option('--json', 'machine-readable output')
    .action(async (options: { concert: string; json?: boolean }) => {
      const rt = await runtime();
      const { closeSales } = await import('@frontrow/core');
      const closed = await rt.withRuntime(({ deps }) => closeSales(deps, { concertId: options.concert }));
      if (options.json) rt.out(JSON.stringify(closed));
      else rt.out(`concert ${closed.concertId}: sales closed at ${closed.salesClosedAt}, ${closed.expired} waiting users ended`);
    });

  concert
    .command('list')
    .description('list concerts and their dates')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const rt = await runtime();
      const { listConcerts } = await import('@frontrow/core');
      const concerts = await rt.withRuntime(({ deps }) => listConcerts(deps));
      if (options.json) return rt.out(JSON.stringify(concerts));
      if (concerts.length === 0) return rt.out('no concerts');
      for (const c of concerts) rt.out(`${c.id}\t${c.title}\t${c.venue}\t${c.dates.join(',')}`);
    });
}

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('expected an integer');
  return Number.parseInt(value, 10);
}

export function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}
