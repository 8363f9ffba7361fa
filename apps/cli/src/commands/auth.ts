import { type Command, InvalidArgumentError } from 'commander';
import type { RuntimeFactory } from '../runtime.ts';
import { integer } from './concert.ts';

/** The longest a development identity token may last: a week. */
const MAX_TTL_SECONDS = 7 * 86_400;

export function registerAuthCommands(program: Command, runtime: RuntimeFactory): void {
  const auth = program.command('auth').description('development identity tokens (AUTH_DEV_SECRET)');

  auth
    .command('token')
    .description('mint a development identity token for a user, to send as "Authorization: Bearer <token>"')
    .requiredOption('--user <subject>', 'who the token is for: any subject, e.g. alice or alice@example.com')
    .option('--ttl <seconds>', `how long the token lasts (at most ${MAX_TTL_SECONDS})`, ttl, 3600)
    .option('--operator', "an operator's token: it opens the console (/console) and the operator.* procedures")
    .option('--json', 'machine-readable output: { token, userId, subject, issuer, expiresAt, operator }')
    .action(async (options: { user: string; ttl: number; operator?: boolean; json?: boolean }) => {
      const rt = await runtime();
      const { DEV_ISSUER, mintDevIdentityToken, resolveDevSecret, userIdOf } = await import('@frontrow/core');
      const secret = await resolveDevSecret(rt.config);
      const now = Date.now();
      const operator = options.operator ? { claim: rt.config.AUTH_OPERATOR_CLAIM, role: rt.config.AUTH_OPERATOR_ROLE } : undefined;
      const token = await mintDevIdentityToken(secret, {
        subject: options.user,
        ttlSeconds: options.ttl,
        now,
        ...(operator ? { operator } : {}),
      });
      if (!options.json) return rt.out(token); // the token alone, so `$(frontrow auth token --user alice)` works
      rt.out(
        JSON.stringify({
          token,
          userId: userIdOf(DEV_ISSUER, options.user),
          subject: options.user,
          issuer: DEV_ISSUER,
          expiresAt: new Date((Math.floor(now / 1000) + options.ttl) * 1000).toISOString(),
          operator: options.operator === true,
        }),
      );
    });
}

function ttl(value: string): number {
  const seconds = integer(value);
  if (seconds < 1 || seconds > MAX_TTL_SECONDS) throw new InvalidArgumentError(`expected 1…${MAX_TTL_SECONDS} seconds`);
  return seconds;
}
