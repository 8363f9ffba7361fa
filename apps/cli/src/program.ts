import { readFileSync } from 'node:fs';
import { registerBenchCommands } from '@frontrow/bench';
import { Command } from 'commander';
import { registerAuthCommands } from './commands/auth.ts';
import { registerConcertCommands } from './commands/concert.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerQueueCommands } from './commands/queue.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerWalletCommands } from './commands/wallet.ts';
import type { RuntimeFactory } from './runtime.ts';

/**
 * The command groups, one module each, in the order `--help` lists them. A group module declares its
 * commands and options with commander only, and imports what an action runs (core, the ORM, pg-boss, the
 * API, the bench) inside the action: `--help` and a light command never load what they do not run.
 */
const COMMAND_GROUPS: ((program: Command, runtime: RuntimeFactory) => void)[] = [
  registerDbCommands,
  registerConcertCommands,
  registerQueueCommands,
  registerAuthCommands,
  registerWalletCommands,
  registerStartCommand,
  registerBenchCommands,
];

/** The `frontrow` admin CLI. `runtime` is created lazily so `--help` works without configuration. */
export function buildProgram(runtime: RuntimeFactory): Command {
  const program = new Command('frontrow')
    .description('FrontRow admin commands')
    .version(cliVersion(), '-V, --version', 'print the version of frontrow')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  for (const register of COMMAND_GROUPS) register(program, runtime);
  return program;
}

/** The `version` of apps/cli/package.json. */
export function cliVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string') throw new Error('apps/cli/package.json has no version');
  return version;
}
