import { join } from 'node:path';
import type { Config } from '@frontrow/core';
import type { MikroORM } from '@frontrow/db';

/** What every command gets: the parsed configuration and a way to reach the database. */
export type Runtime = {
  config: Config;
  out: (line: string) => void;
  /** Opens the ORM on DATABASE_URL, or on the embedded server under DATA_DIR; closes it afterwards. */
  withOrm: <T>(work: (orm: MikroORM) => Promise<T>) => Promise<T>;
};

/** Made on a command's first use, never for `--help`: core and the ORM load only when a command needs them. */
export type RuntimeFactory = () => Promise<Runtime>;

export async function createRuntime(
  env: Record<string, string | undefined>,
  out: (line: string) => void = (line) => console.log(line),
): Promise<Runtime> {
  const [{ parseConfig }, { openOrm }] = await Promise.all([import('@frontrow/core'), import('@frontrow/db')]);
  const config = parseConfig(env);
  return {
    config,
    out,
    async withOrm(work) {
      // the embedded entry is a development install's only (a production install leaves it out)
      const embedded = config.DATABASE_URL
        ? null
        : await (await import('@frontrow/db/embedded')).attachEmbeddedPostgres({ dataDir: join(config.DATA_DIR, 'pg') });
      const databaseUrl = config.DATABASE_URL ?? embedded?.url;
      if (!databaseUrl) throw new Error('no database');
      try {
        const orm = await openOrm({ databaseUrl, poolSize: 4 });
        try {
          return await work(orm);
        } finally {
          await orm.close(true);
        }
      } finally {
        await embedded?.stop();
      }
    },
  };
}
