import { Command } from 'commander';
import { registerAuthCommands } from './commands/auth.ts';
import { registerBenchCommands } from './commands/bench.ts';
import { registerConcertCommands } from './commands/concert.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerQueueCommands } from './commands/queue.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerWalletCommands } from './commands/wallet.ts';
import type { Runtime } from './runtime.ts';

/** The `frontrow` admin CLI. `runtime` is created lazily so `--help` works without configuration. */
export function buildProgram(runtime: () => Runtime): Command {
  const program = new Command('frontrow')
    .description('FrontRow admin commands')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  registerDbCommands(program, runtime);
  registerConcertCommands(program, runtime);
  registerQueueCommands(program, runtime);
  registerAuthCommands(program, runtime);
  registerWalletCommands(program, runtime);
  registerStartCommand(program, runtime);
  registerBenchCommands(program, runtime);
  return program;
}
