import type { Command } from 'commander';
import { migrate } from '@frontrow/db';
import type { Runtime } from '../runtime.ts';

export function registerDbCommands(program: Command, runtime: () => Runtime): void {
  const db = program.command('db').description('database administration');
  db.command('migrate')
    .description('apply pending migrations (a second run applies nothing)')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const rt = runtime();
      const result = await rt.withOrm((orm) => migrate(orm));
      if (options.json) rt.out(JSON.stringify(result));
      else rt.out(result.applied.length ? `applied: ${result.applied.join(', ')}` : 'database is up to date');
    });
}
