import type { Command } from 'commander';
import type { RuntimeFactory } from '../runtime.ts';

export function registerDbCommands(program: Command, runtime: RuntimeFactory): void {
  const db = program.command('db').description('database administration');
  db.command('migrate')
    .description('apply pending migrations (a second run applies nothing)')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const rt = await runtime();
      const result = await rt.withRuntime(async (runtime) => ({ applied: runtime.migrationsApplied }), { schema: 'migrate' });
      if (options.json) rt.out(JSON.stringify(result));
      else rt.out(result.applied.length ? `applied: ${result.applied.join(', ')}` : 'database is up to date');
    });
}
