import { z } from 'zod';

/** Every setting of every FrontRow process, parsed once from the environment (docs/OPERATIONS.md#configuration). */
export const configSchema = z
  .object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOLD_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
    QUEUE_MAX_ACTIVE: z.coerce.number().int().min(1).max(1_000_000).default(100),
    QUEUE_ACTIVE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
    QUEUE_ARRIVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
    /** How long a finished queue token is kept (docs/OPERATIONS.md#configuration): past it, a payment replay is TOKEN_INVALID. */
    QUEUE_TOKEN_RETENTION_SECONDS: z.coerce.number().int().min(3600).max(31_536_000).default(86_400),
    QUEUE_ENTER_RATE_LIMIT: z.coerce.number().int().min(0).default(60),
    /** How long an API process gathers concurrent `queue.enter` calls into one group (ms); 0: one turn of the event loop. */
    QUEUE_ENTER_BATCH_MS: z.coerce.number().int().min(0).max(1000).default(2),
    /** The most entries an API process writes in one group (1: every entry alone). */
    QUEUE_ENTER_BATCH_MAX: z.coerce.number().int().min(1).max(1000).default(100),
    TRPC_MAX_BATCH: z.coerce.number().int().min(1).max(100).default(10),
    /** Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges, comma-separated; unset: none. */
    TRUST_PROXY: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ''),
      )
      .pipe(z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()])).min(1))
      .optional(),
    WATCH_MAX_STREAMS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    WEB_ROOT: z.string().min(1).optional(),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    AUTH_ISSUER: z.string().min(1).max(1000).optional(),
    AUTH_AUDIENCE: z.string().min(1).max(1000).optional(),
    AUTH_JWKS_COOLDOWN_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    AUTH_OPERATOR_CLAIM: z.string().min(1).max(200).default('roles'),
    AUTH_OPERATOR_ROLE: z.string().min(1).max(200).default('frontrow-operator'),
    AUTH_DEV_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    WALLET_MAX_BALANCE: z.coerce.number().int().min(1).max(1_000_000_000_000).default(100_000_000),
  })
  .superRefine((config, ctx) => {
    // a provider's tokens are only trusted for one issuer and one audience: both must be named
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
      if (config.AUTH_JWKS_URL && !config[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'required with AUTH_JWKS_URL' });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** Never echoed in an error message (a connection string carries a password). */
const SECRET_VARIABLES = new Set(['TOKEN_SECRET', 'AUTH_DEV_SECRET', 'DATABASE_URL']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; an invalid value throws a ConfigError naming each bad variable and why. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set": `PORT= pnpm start` should not be a parse error.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    const value = present[name];
    const shown = SECRET_VARIABLES.has(name) || value === undefined ? '' : ` (got "${value}")`;
    return `${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** The domain's settings out of the process configuration. */
export function domainSettings(config: Config): import('./deps.ts').DomainSettings {
  return {
    holdTtlSeconds: config.HOLD_TTL_SECONDS,
    defaultMaxActive: config.QUEUE_MAX_ACTIVE,
    defaultActiveTtlSeconds: config.QUEUE_ACTIVE_TTL_SECONDS,
    defaultArrivalSeconds: config.QUEUE_ARRIVAL_SECONDS,
    walletMaxBalance: config.WALLET_MAX_BALANCE,
  };
}
