import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, ConfigError } from './config.ts';

/**
 * The HMAC secret of queue tokens. With a DATABASE_URL (several instances, production) it must be given,
 * since every API process has to verify every other's tokens. On the embedded database (a local run) one
 * is generated once and kept under DATA_DIR, so tokens survive a restart.
 */
export async function resolveTokenSecret(config: Pick<Config, 'TOKEN_SECRET' | 'DATABASE_URL' | 'DATA_DIR'>): Promise<string> {
  if (config.TOKEN_SECRET) return config.TOKEN_SECRET;
  if (config.DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration: TOKEN_SECRET: required when DATABASE_URL is set (every API instance must share one secret)',
    );
  }
  const file = join(config.DATA_DIR, 'token-secret');
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 32) return kept;
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(config.DATA_DIR, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
