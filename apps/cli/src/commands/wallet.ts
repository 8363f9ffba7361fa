import { type Command, InvalidArgumentError } from 'commander';
import type { RuntimeFactory } from '../runtime.ts';
import { integer } from './concert.ts';

export function registerWalletCommands(program: Command, runtime: RuntimeFactory): void {
  const wallet = program.command('wallet').description("an operator's hand on users' wallets");

  wallet
    .command('charge')
    .description("top up a user's wallet, written to the ledger as an ADJUSTMENT with its reason")
    .requiredOption('--user <subject>', "the user's subject at the identity provider (the `sub` of their token)")
    .requiredOption('--amount <won>', 'KRW to add, 1…1,000,000', integer)
    .option('--reason <text>', 'why, kept in the ledger (at most 200 characters)', 'operator top-up')
    .option('--issuer <iss>', 'the identity provider the subject belongs to (default: AUTH_ISSUER, else frontrow-dev)')
    .option('--idempotency-key <key>', 'a retry with the same key charges once')
    .option('--json', 'machine-readable output: { userId, balance, transactionId }')
    .action(async (options: { user: string; amount: number; reason: string; issuer?: string; idempotencyKey?: string; json?: boolean }) => {
      const rt = await runtime();
      const { DEV_ISSUER, adjustWallet, userIdOf } = await import('@frontrow/core');
      const issuer = options.issuer ?? rt.config.AUTH_ISSUER ?? DEV_ISSUER;
      if (options.user.length === 0) throw new InvalidArgumentError('--user: expected a subject');
      const userId = userIdOf(issuer, options.user);
      const charged = await rt.withRuntime(({ deps }) =>
        adjustWallet(deps, { userId, amount: options.amount, reason: options.reason, idempotencyKey: options.idempotencyKey }),
      );
      if (options.json) rt.out(JSON.stringify(charged));
      else rt.out(`${options.user} (${userId}): balance ${charged.balance} KRW`);
    });
}
